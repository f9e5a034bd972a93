// Post-processing: every rule cuts the end off the raw text (never inserts), so the suggestion
// is a prefix of the model's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompletionMode } from '../../../src/completion/mode';
import {
  blockEnd,
  bracketCut,
  duplicateLineCut,
  postprocess,
  repetitionCut,
  suffixOverlap,
} from '../../../src/completion/postprocess';

const single: CompletionMode = { kind: 'single-line', reason: '' };
const multi = (blockIndent: number): CompletionMode => ({
  kind: 'multi-line',
  blockIndent,
  reason: '',
});

function pp(raw: string, prefix: string, suffix: string, mode = single, languageId = 'typescript') {
  const r = postprocess(raw, { prefix, suffix, mode, languageId });
  if (r.ok) assert.ok(raw.startsWith(r.text), 'the result is a prefix of the raw text');
  return r.ok ? r.text : null;
}

test('single-line stops at the first line break and trims trailing whitespace', () => {
  assert.equal(pp('a + b;  \nreturn c;', 'const x = ', '\n'), 'a + b;');
  assert.equal(pp('a + b;\r\nmore', 'const x = ', '\r\n'), 'a + b;');
});

test('duplicate suffix: closers already after the cursor are trimmed', () => {
  assert.equal(pp('a, b)', 'call(', ')'), 'a, b');
  assert.equal(pp('a, b);', 'call(', ');\n'), 'a, b');
  assert.equal(pp('world"', 'const s = "hello ', '";'), 'world');
  assert.equal(pp("x'];", "const v = obj['", "'];"), 'x');
  assert.equal(pp('1, 2]', 'const xs = [', ']'), '1, 2');
});

test('duplicate suffix: a single shared letter is not trimmed, a longer run is', () => {
  assert.equal(suffixOverlap('return a', 'a'), 0);
  assert.equal(suffixOverlap('foo(bar', 'bar)'), 3 - 3); // 'bar' is three letters: kept
  assert.equal(suffixOverlap('x = value', 'value)'), 5);
  assert.equal(suffixOverlap('abc);', ');'), 2);
});

test('duplicate suffix: generated lines equal to the next line of the document are cut', () => {
  const prefix = 'function f() {\n  const a = 1;\n  ';
  const suffix = '\n  return a;\n}\n';
  assert.equal(pp('const b = 2;\n  return a;\n}', prefix, suffix, multi(0)), 'const b = 2;');
  // a single line that is the next line: discarded
  assert.equal(pp('return a;', prefix, suffix), null);
});

test('brackets: a closer for a bracket the suffix already closes stops the suggestion', () => {
  // `{` auto-closed by the editor: the `}` is already below the cursor
  const prefix = 'function f() {';
  const suffix = '\n}\n';
  assert.equal(pp('\n  return 1;\n}', prefix, suffix, multi(0)), '\n  return 1;');
});

test('brackets: a closer not present after the cursor is kept, then the block ends', () => {
  const prefix = 'function f() {';
  const suffix = '\n\nfunction g() {}\n';
  assert.equal(
    pp('\n  return 1;\n}\n\nfunction h() {}', prefix, suffix, multi(0)),
    '\n  return 1;\n}',
  );
});

test('brackets: an outer closer at another indentation belongs to the outer block', () => {
  const prefix = 'class A {\n  m() {';
  const suffix = '\n}\n';
  assert.equal(pp('\n    x();\n  }\n  n() {}', prefix, suffix, multi(2)), '\n    x();\n  }');
});

test('brackets: mismatched closers stop; brackets in strings and comments do not count', () => {
  assert.equal(bracketCut('a]b', 'f(', ')', 'typescript'), 1);
  assert.equal(bracketCut('(a]', 'x = ', '', 'typescript'), 2);
  assert.equal(pp('")" + x', 'f(', ')'), '")" + x');
  assert.equal(pp('a) // )', 'f(', ''), 'a) // )');
  assert.equal(pp('a)) + 1', 'f(', ''), 'a)');
  // python: `#` comments, triple quotes
  assert.equal(bracketCut('"""(\n"""\n)', 'f(', '', 'python'), 10);
  assert.equal(bracketCut('x  # )', 'f(', ')', 'python'), 6);
  // inside a string opened before the cursor
  assert.equal(pp('a)b', 'const s = "(', '"'), 'a)b');
});

test('block end: indentation back at the opener line ends a multi-line completion', () => {
  assert.equal(blockEnd('\n    x = 1\n    y = 2\nz = 3', 0, true), '\n    x = 1\n    y = 2'.length);
  assert.equal(blockEnd('\n    x = 1\n  }\n  foo()', 2, true), '\n    x = 1\n  }'.length);
  // streaming: undetermined until the dedented line shows a character
  assert.equal(blockEnd('\n    x = 1\n', 0, false), -1);
  assert.equal(blockEnd('\n    x = 1', 0, false), -1);
  assert.equal(blockEnd('x = 1', 0, false), -1);
  assert.equal(blockEnd('\n    x = 1\n  ', 2, false), -1);
  assert.equal(blockEnd('\n    x = 1\nz', 0, false), '\n    x = 1'.length);
  assert.equal(blockEnd('\n    x = 1\n}', 0, false), -1, 'a closer line is kept whole');
  // two blank lines end it too
  assert.equal(blockEnd('\n  a\n\n\n  b', 0, true), '\n  a'.length);
  const py = pp('\n    return x + 1\n\nprint(f(2))', 'def f(x):', '\n', multi(0), 'python');
  assert.equal(py, '\n    return x + 1');
});

test('discards: empty, whitespace only, repeating the line above', () => {
  assert.equal(pp('   ', 'x = ', ''), null);
  assert.equal(pp('\nfoo', 'x = ', ''), null);
  assert.equal(pp('import a from "a";', 'import a from "a";\n', '\n'), null);
  assert.equal(pp('import b from "b";', 'import a from "a";\n', '\n'), 'import b from "b";');
  assert.equal(pp('= 2;', '  let a = 1;\n  let b ', '\n'), '= 2;');
  assert.equal(pp('= 1;', '  let a = 1;\n  let a ', '\n'), null);
  // closers at different depths are different lines
  assert.equal(pp('}', 'if (a) {\n  if (b) {\n    x;\n  }\n', '\n'), '}');
  assert.equal(pp('}', 'if (a) {\n  if (b) {\n    x;\n  }\n  ', '\n'), null);
});

test('multi-line keeps inner lines and nested brackets balanced', () => {
  const prefix = 'const o = {';
  const suffix = '\n};\n';
  const raw = '\n  a: [1, 2],\n  b: { c: 3 },\n};\nconst p = 1;';
  assert.equal(pp(raw, prefix, suffix, multi(0)), '\n  a: [1, 2],\n  b: { c: 3 },');
});

test('a suggestion is cut at the first replacement character (undecodable bytes)', () => {
  const r = postprocess('abc\uFFFD\uFFFDdef', {
    prefix: 'const x = ',
    suffix: '',
    languageId: 'typescript',
    mode: { kind: 'single-line', reason: 'test' },
  });
  assert.deepEqual(r, { ok: true, text: 'abc', start: 0 });
  const none = postprocess('\uFFFD\uFFFD', {
    prefix: 'const x = ',
    suffix: '',
    languageId: 'typescript',
    mode: { kind: 'single-line', reason: 'test' },
  });
  assert.equal(none.ok, false);
});

test('repetition: a unit repeated three times is kept once; indentation and pairs are not loops', () => {
  const loop = 'e.prototype.prototype.prototype.prototype';
  assert.equal(loop.slice(0, repetitionCut(loop)), 'e.prototype');
  assert.equal(repetitionCut('a, b'), 4);
  assert.equal(repetitionCut('x = [0, 0]'), 10, 'two repeats are fine');
  const indented = 'if (a) {\n        b();\n        c();\n}';
  assert.equal(repetitionCut(indented), indented.length, 'whitespace runs are not loops');
  assert.equal(repetitionCut('// ----------'), 13, 'a run of one character is a separator');
  assert.equal(pp('foo(1)(1)(1)(1)', 'const x = ', ''), 'foo(1)');
});

test('degenerate output from eval:editor is cut: a repeated field line, a run of zeros', () => {
  const multi = { kind: 'multi-line' as const, blockIndent: 2, reason: 'test' };
  // comlink.ts:547: the model repeated `message: 'error',`.
  const r = postprocess("type: 'error',\n    message: 'error',\n    message: 'error',\n  });", {
    prefix: '  postMessage({\n    ',
    suffix: '\n',
    languageId: 'typescript',
    mode: multi,
  });
  assert.deepEqual(r, { ok: true, text: "type: 'error',\n    message: 'error',", start: 0 });
  assert.equal(duplicateLineCut('}\n}\n'), '}\n}\n'.length, 'short lines may repeat');
  // moment offset.js:138: `// 10000000000…` with a mean log p of -0.53.
  const zeros = postprocess('// 10000000000000000000000000', {
    prefix: '  ',
    suffix: '\n',
    languageId: 'javascript',
    mode: { kind: 'single-line', reason: 'test' },
  });
  assert.deepEqual(zeros, { ok: false, reason: 'empty' });
});
