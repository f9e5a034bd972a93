// Single-line vs multi-line vs no completion, from the cursor's line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideMode, opensBlock, type ModeInput } from '../../../src/completion/mode';

const mode = (linePrefix: string, lineSuffix = '', more: Partial<ModeInput> = {}) =>
  decideMode({
    linePrefix,
    lineSuffix,
    prevLine: '',
    languageId: 'typescript',
    multiline: true,
    ...more,
  });

test('end of an ordinary line: single-line', () => {
  assert.equal(mode('  const x = ').kind, 'single-line');
  assert.equal(mode('  foo.bar', '   ').kind, 'single-line');
});

test('only closers after the cursor (Copilot regex): single-line', () => {
  for (const rest of [')', '))', ');', '}', ']', '"', "')", '`;', ') {', ' ) ,', '>']) {
    assert.equal(mode('  call(a, ', rest).kind, 'single-line', JSON.stringify(rest));
  }
});

test('other text after the cursor: no automatic completion; explicit gives single-line', () => {
  assert.equal(mode('  const ', 'x = 1;').kind, 'skip');
  assert.equal(mode('  foo(', 'bar)').kind, 'skip');
  assert.equal(mode('  const ', 'x = 1;', { explicit: true }).kind, 'single-line');
});

test('a line opening a block: multi-line, with the opening line indentation', () => {
  const m = mode('    function f() {');
  assert.equal(m.kind, 'multi-line');
  assert.equal(m.kind === 'multi-line' && m.blockIndent, 4);
  assert.equal(mode('  const xs = [').kind, 'multi-line');
  assert.equal(mode('  call(').kind, 'multi-line');
  assert.equal(mode('  const f = () =>').kind, 'multi-line');
  assert.equal(mode('def f(x):', '', { languageId: 'python' }).kind, 'multi-line');
  assert.equal(mode('  label:', '', { languageId: 'typescript' }).kind, 'single-line');
  assert.equal(mode('items.each do', '', { languageId: 'ruby' }).kind, 'multi-line');
});

test('the first (empty, indented) line of a block: multi-line from the opener', () => {
  const m = mode('    ', '', { prevLine: '  if (x) {' });
  assert.equal(m.kind, 'multi-line');
  assert.equal(m.kind === 'multi-line' && m.blockIndent, 2);
  // not deeper than the opener: not inside its block
  assert.equal(mode('  ', '', { prevLine: '  if (x) {' }).kind, 'single-line');
  assert.equal(mode('    ', '', { prevLine: '  x = 1;' }).kind, 'single-line');
});

test('multiline off, or closers after an opener: single-line', () => {
  assert.equal(mode('function f() {', '', { multiline: false }).kind, 'single-line');
  assert.equal(mode('function f() {', '}').kind, 'single-line');
});

test('opensBlock', () => {
  assert.ok(opensBlock('if (a) {  ', 'c'));
  assert.ok(!opensBlock('x = {}', 'c'));
  assert.ok(opensBlock('for x in y:', 'python'));
  assert.ok(!opensBlock('', 'python'));
});
