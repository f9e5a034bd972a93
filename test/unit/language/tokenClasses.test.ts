// Token classes: the TypeScript scanner for TS/JS, the lexer for other languages, and the
// mapping of model tokens (character ranges) to classes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  classOfRange,
  classifyText,
  classifyTokens,
  type ClassSpan,
} from '../../../src/language/tokenClasses';
import { languageOfPath } from '../../../src/language/languages';
import { mulberry32 } from '../../../src/engine/sampler';

const pairs = (text: string, lang: string) =>
  classifyText(text, lang)
    .filter((s) => s.cls !== 'whitespace')
    .map((s) => [text.slice(s.start, s.end), s.cls]);

function assertCovers(text: string, spans: ClassSpan[]): void {
  let pos = 0;
  for (const s of spans) {
    assert.equal(s.start, pos, `gap or overlap at ${pos}`);
    assert.ok(s.end > s.start);
    pos = s.end;
  }
  assert.equal(pos, text.length);
}

test('TypeScript: keywords, contextual keywords, regex vs division, templates, bigint, comments', () => {
  const text =
    'const re = /a+b/g; let x = a / b;\ntype T = `x${ {a: 1}.a + `in${y}` }z`;\nconst n = 1n; // hi\n/** doc */ async function f() { await g(); }';
  assert.deepEqual(pairs(text, 'typescript'), [
    ['const', 'keyword'], ['re', 'identifier'], ['=', 'operator'], ['/a+b/g', 'string'],
    [';', 'operator'], ['let', 'keyword'], ['x', 'identifier'], ['=', 'operator'],
    ['a', 'identifier'], ['/', 'operator'], ['b', 'identifier'], [';', 'operator'],
    ['type', 'keyword'], ['T', 'identifier'], ['=', 'operator'], ['`x${', 'string'],
    ['{', 'operator'], ['a', 'identifier'], [':', 'operator'], ['1', 'number'], ['}.', 'operator'],
    ['a', 'identifier'], ['+', 'operator'], ['`in${', 'string'], ['y', 'identifier'],
    ['}`', 'string'], ['}z`', 'string'], [';', 'operator'], ['const', 'keyword'],
    ['n', 'identifier'], ['=', 'operator'], ['1n', 'number'], [';', 'operator'],
    ['// hi', 'comment'], ['/** doc */', 'comment'], ['async', 'keyword'], ['function', 'keyword'],
    ['f', 'identifier'], ['()', 'operator'], ['{', 'operator'], ['await', 'keyword'],
    ['g', 'identifier'], ['();', 'operator'], ['}', 'operator'],
  ]); // prettier-ignore
  assertCovers(text, classifyText(text, 'typescript'));
});

test('JSX scans as code (no parser: children text reads as identifiers); junk does not throw', () => {
  assert.deepEqual(pairs('const e = <b>hi</b>;', 'typescriptreact').slice(3), [
    ['<', 'operator'], ['b', 'identifier'], ['>', 'operator'], ['hi', 'identifier'],
    ['</', 'operator'], ['b', 'identifier'], ['>;', 'operator'],
  ]); // prettier-ignore
  for (const t of ['"abc', '/* open', '`tpl ${x', "'x\n", '/']) {
    assertCovers(t, classifyText(t, 'javascript'));
  }
});

test('Python: triple-quoted and prefixed strings, comments, decorators', () => {
  const text =
    'def f(x):\n    """doc\n    more"""\n    return rb\'\\x00\' + f"{x}" # c\n@dec\nNone';
  assert.deepEqual(pairs(text, 'python'), [
    ['def', 'keyword'], ['f', 'identifier'], ['(', 'operator'], ['x', 'identifier'],
    ['):', 'operator'], ['"""doc\n    more"""', 'string'], ['return', 'keyword'],
    ["rb'\\x00'", 'string'], ['+', 'operator'], ['f"{x}"', 'string'], ['# c', 'comment'],
    ['@', 'operator'], ['dec', 'identifier'], ['None', 'keyword'],
  ]); // prettier-ignore
});

test('C and Rust: block comments, hex and float numbers, keywords', () => {
  assert.deepEqual(pairs('int main() { /* c */ return 0x1F + 1.5e3; } // x', 'c'), [
    ['int', 'keyword'], ['main', 'identifier'], ['()', 'operator'], ['{', 'operator'],
    ['/* c */', 'comment'], ['return', 'keyword'], ['0x1F', 'number'], ['+', 'operator'],
    ['1.5e3', 'number'], [';', 'operator'], ['}', 'operator'], ['// x', 'comment'],
  ]); // prettier-ignore
  assert.deepEqual(pairs('fn main() { let s = "a\\"b"; }', 'rust'), [
    ['fn', 'keyword'], ['main', 'identifier'], ['()', 'operator'], ['{', 'operator'],
    ['let', 'keyword'], ['s', 'identifier'], ['=', 'operator'], ['"a\\"b"', 'string'],
    [';', 'operator'], ['}', 'operator'],
  ]); // prettier-ignore
});

test('spans cover any input, junk included', () => {
  const rnd = mulberry32(7);
  const alphabet = 'ab1 \n\t"\'`/*#\\{}$é✓\u{1F600}\uD800<>-.0x';
  const chars = [...alphabet];
  for (let n = 0; n < 200; n++) {
    let t = '';
    const len = Math.floor(rnd() * 60);
    for (let i = 0; i < len; i++) t += chars[Math.floor(rnd() * chars.length)];
    for (const lang of [
      'typescript',
      'javascriptreact',
      'python',
      'c',
      'ruby',
      'sql',
      'html',
      'x',
    ]) {
      assertCovers(t, classifyText(t, lang));
    }
  }
  assert.deepEqual(classifyText('', 'typescript'), []);
});

test('token ranges: most non-whitespace characters win, ties the earliest', () => {
  const text = 'foo(" x")\n  ';
  const spans = classifyText(text, 'typescript');
  assert.equal(classOfRange(spans, 0, 3), 'identifier'); // foo
  assert.equal(classOfRange(spans, 2, 4), 'identifier'); // o( : tie → earliest
  assert.equal(classOfRange(spans, 3, 9), 'string'); // (" x") : 4 string chars vs 2
  assert.equal(classOfRange(spans, 9, 12), 'whitespace');
  assert.equal(classOfRange(spans, 5, 5), 'other');
  const ranges = [
    { start: 0, end: 3 },
    { start: 3, end: 5 },
    { start: 5, end: 9 },
    { start: 9, end: 12 },
  ];
  assert.deepEqual(
    classifyTokens(spans, ranges),
    ranges.map((r) => classOfRange(spans, r.start, r.end)),
  );
});

test('languageOfPath', () => {
  const cases: [string, string | null][] = [
    ['src/a.ts', 'typescript'],
    ['x/App.TSX', 'typescriptreact'],
    ['lib.mjs', 'javascript'],
    ['a/b/c.py', 'python'],
    ['main.rs', 'rust'],
    ['x.hpp', 'cpp'],
    ['run.sh', 'shellscript'],
    ['C:\\w\\Prog.cs', 'csharp'],
    ['Makefile', 'makefile'],
    ['README', null],
    ['.gitignore', null],
    ['data.bin', null],
  ];
  for (const [p, want] of cases) assert.equal(languageOfPath(p), want, p);
});
