// The anchored context window: the prompt prefix stays byte-identical at its start while the user
// types within a chunk of lines, the suffix is bounded at a line boundary, odd files are skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildContext,
  followingLines,
  type CompletionContext,
} from '../../../src/completion/context';
import { cursorLine, indentWidth } from '../../../src/language/text';

const lines = (n: number, make = (i: number) => `line ${i} = compute(${i});`) =>
  Array.from({ length: n }, (_, i) => make(i)).join('\n') + '\n';

/** Offset of (line, column). */
function at(text: string, line: number, column = 0): number {
  let off = 0;
  for (let l = 0; l < line; l++) off = text.indexOf('\n', off) + 1;
  return off + column;
}

function ctx(text: string, offset: number, o = {}): CompletionContext {
  const r = buildContext(text, offset, o);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.context;
}

test('small file: prefix is everything before the cursor, suffix everything after', () => {
  const text = 'a\nbc\nd\n';
  const c = ctx(text, 3);
  assert.equal(c.prefix, 'a\nb');
  assert.equal(c.suffix, 'c\nd\n');
  assert.equal(c.line, 1);
  assert.equal(c.windowStartLine, 0);
});

test('window start is a multiple of anchorLines with at least contextLines lines before', () => {
  const text = lines(400);
  for (const line of [0, 50, 127, 128, 129, 159, 160, 200, 399]) {
    const offset = at(text, line, 3);
    const c = ctx(text, offset, { contextLines: 128, anchorLines: 32 });
    assert.equal(c.windowStartLine % 32, 0, `line ${line}`);
    assert.ok(c.windowStartLine <= Math.max(0, line - 128), `line ${line}: ${c.windowStartLine}`);
    assert.ok(line - c.windowStartLine < 128 + 32, `line ${line}`);
    assert.equal(c.prefix, text.slice(at(text, c.windowStartLine), offset), `line ${line}`);
  }
});

test('typing within a chunk keeps the prefix start byte-identical and the suffix unchanged', () => {
  let text = lines(300);
  let offset = at(text, 200, 5);
  const first = ctx(text, offset);
  const typed = 'foo(bar);\n  baz\n  qux';
  for (const ch of typed) {
    text = text.slice(0, offset) + ch + text.slice(offset);
    offset++;
    const c = ctx(text, offset);
    assert.equal(c.windowStartLine, first.windowStartLine);
    assert.ok(c.prefix.startsWith(first.prefix), 'prefix only grows at its end');
    assert.equal(c.suffix, first.suffix, 'suffix stays the same, line breaks included');
  }
});

test('the window start moves by a whole chunk when the cursor crosses a chunk boundary', () => {
  const text = lines(400);
  const a = ctx(text, at(text, 159, 2));
  const b = ctx(text, at(text, 160, 2));
  assert.equal(a.windowStartLine, 0);
  assert.equal(b.windowStartLine, 32);
});

test('suffix: rest of the line plus suffixLines whole lines, cut at a line boundary', () => {
  const text = lines(100);
  const c = ctx(text, at(text, 10, 4), { suffixLines: 32 });
  const after = followingLines(c.suffix);
  assert.ok(c.suffix.startsWith(' 10 = compute(10);\n'));
  assert.ok(c.suffix.endsWith('line 42 = compute(42);\n'));
  assert.equal(after.length, 33); // 32 lines and the '' after the final line break
  const capped = ctx(text, at(text, 10, 4), { maxSuffixChars: 100 });
  assert.ok(capped.suffix.length <= 100);
  assert.ok(capped.suffix.endsWith('\n'), 'cut at a line boundary');
});

test('char caps: long lines move the start by whole chunks, then lines, then 256-char steps', () => {
  const long = lines(300, (i) => `x${i}`.padEnd(200, '.'));
  const c = ctx(long, at(long, 250, 10), { maxPrefixChars: 6000 });
  assert.ok(c.prefix.length <= 6000);
  const start = c.windowStartLine;
  // still anchored while typing on the line
  const c2 = ctx(
    long.slice(0, at(long, 250, 10)) + 'z' + long.slice(at(long, 250, 10)),
    at(long, 250, 11),
    {
      maxPrefixChars: 6000,
    },
  );
  assert.equal(c2.windowStartLine, start);
  assert.ok(c2.prefix.startsWith(c.prefix));
  // a single huge line: the prefix keeps its end, its start moves in 256-char steps
  const one = 'y'.repeat(1500);
  const h1 = ctx(one, 1400, { maxPrefixChars: 1000, maxLineChars: 5000 });
  const h2 = ctx(one, 1401, { maxPrefixChars: 1000, maxLineChars: 5000 });
  assert.ok(h1.prefix.length <= 1000);
  assert.equal(h1.prefixStart % 256, 0);
  assert.equal(h1.prefixStart, h2.prefixStart);
});

test('huge, binary and minified files are skipped with a reason', () => {
  const huge = buildContext('x'.repeat(100), 5, { maxFileChars: 50 });
  assert.ok(!huge.ok && /too large/.test(huge.reason));
  const binary = buildContext('abc\0def', 2);
  assert.ok(!binary.ok && /binary/.test(binary.reason));
  const minified = buildContext('a'.repeat(5000), 10);
  assert.ok(!minified.ok && /line too long/.test(minified.reason));
});

test('edges: empty document, cursor at 0, CRLF lines', () => {
  assert.deepEqual(ctx('', 0).prefix, '');
  const c0 = ctx('\nabc', 0);
  assert.equal(c0.prefix, '');
  assert.equal(c0.suffix, '\nabc');
  const crlf = 'a = 1\r\nb = \r\nc\r\n';
  const cl = cursorLine(crlf, crlf.indexOf('b = ') + 4);
  assert.equal(cl.line, 1);
  assert.equal(cl.linePrefix, 'b = ');
  assert.equal(cl.lineSuffix, '');
  assert.equal(cl.prevLine, 'a = 1');
});

test('cursorLine: the nearest non-blank line above; indentWidth counts tabs to tab stops', () => {
  const text = 'if x:\n\n   \n    y';
  const cl = cursorLine(text, text.length);
  assert.equal(cl.prevLine, 'if x:');
  assert.equal(cl.linePrefix, '    y');
  assert.equal(cursorLine('\n\nab', 3).prevLine, '');
  assert.equal(indentWidth('\t  x'), 6);
  assert.equal(indentWidth('  \tx'), 4);
});
