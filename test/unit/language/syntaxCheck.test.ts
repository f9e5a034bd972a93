// The syntax gate: a suggestion is dropped when inserting it adds a syntax error (TypeScript's
// parser for JS/TS, bracket and quote balance elsewhere), judged relative to the same window
// without it, since real windows start and end mid-construct. Cases come from editing traces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkSyntax,
  repeatedOperator,
  type SyntaxCheckResult,
} from '../../../src/language/syntaxCheck';

function check(
  languageId: string,
  before: string,
  insert: string,
  after = '\n',
): SyntaxCheckResult {
  return checkSyntax({ languageId, before, insert, after });
}

function assertFails(r: SyntaxCheckResult, method: SyntaxCheckResult['method']): void {
  assert.equal(r.method, method);
  assert.equal(r.ok, false, 'the suggestion fails');
  assert.ok(r.reason !== undefined && r.reason.length > 0, 'a failure says why');
}

function assertPasses(r: SyntaxCheckResult, method: SyntaxCheckResult['method']): void {
  assert.equal(r.method, method);
  assert.equal(r.ok, true, `the suggestion passes (${r.reason ?? ''})`);
  assert.equal(r.reason, undefined);
  assert.ok(r.errorsAfter <= r.errorsBefore);
}

// A window of a real-looking TS file: `before` starts mid-function, `after` ends mid-class.
const TS_BEFORE = `    const head = ctx.suffix.slice(0, SUFFIX_HEAD_CHARS);
    for (const g of this.running) {
      if (g.uri !== uri || g.suffix.slice(0, SUFFIX_HEAD_CHARS) !== head) continue;
    }
    return undefined;
  }

  private promptFor(ctx: CompletionContext, settings: CompletionSettings): PromptInput {
    const multi = ctx.mode.kind === 'multi-line';
    const input: PromptInput = `;
const TS_AFTER = `
    if (multi && /\\n[ \\t]*$/.test(ctx.prefix)) input.minTokens = 1;
    return input;
  }

  private record(req: CompletionRequest, text: string): void {
    this.cache.put(req.uri, text, {`;

test('JS/TS: the typed `=` repeated is a parse error', () => {
  for (const languageId of ['typescript', 'javascript']) {
    for (const [before, insert] of [
      ['const x = ', '= this.y;'],
      ['const ', '= options.a'],
      ['const includePrerelease = ', '= this.options.loose;'],
    ] as const) {
      const r = check(languageId, before, insert);
      assertFails(r, 'parser');
      assert.match(r.reason ?? '', /parse error/, 'the parser catches it, not rule 3');
    }
  }
  // Mid-file too.
  assertFails(
    check('typescript', TS_BEFORE + '\n    const ', '= options.a', '\n' + TS_AFTER),
    'parser',
  );
});

test('JS/TS: an error moved into the suggestion fails even when the count stays the same', () => {
  // `const x = \n  return x;` has one error (at `return`); `const x = = this.y;` has one (at the
  // second `=`): the same count, but the new error is inside the suggestion.
  const r = check('typescript', 'function f() {\n  const x = ', '= this.y;', '\n  return x;\n}\n');
  assertFails(r, 'parser');
  assert.equal(r.errorsBefore, 1);
  assert.equal(r.errorsAfter, 1);
});

test('JS/TS: the e2e log suggestion `add(*(a, b) => a.isl(a.is)` fails', () => {
  assertFails(check('typescript', 'const sum = ', 'add(*(a, b) => a.isl(a.is)'), 'parser');
  const before = 'export function total(items: number[]): number {\n  const sum = ';
  const after = '\n  return sum;\n}\n';
  assertFails(check('typescript', before, 'add(*(a, b) => a.isl(a.is)', after), 'parser');
  assertPasses(check('typescript', before, 'items.reduce((a, b) => a + b, 0);', after), 'parser');
});

test('JS/TS: a correct single-line completion in a window that starts mid-function passes', () => {
  const insert = "{ kind: 'fim', prefix: ctx.prefix, suffix: ctx.suffix };";
  const r = check('typescript', TS_BEFORE, insert, TS_AFTER);
  assertPasses(r, 'parser');
  assert.ok(r.errorsBefore > 0, 'the window alone has errors (it ends mid-class)');
  // The same spot with a bracket too many fails.
  assertFails(
    check('typescript', TS_BEFORE, 'makePrompt(ctx.prefix, ctx.suffix));', TS_AFTER),
    'parser',
  );
  // Known limit: a suggestion that leaves the statement as unfinished as it was adds no error
  // (the `Expression expected` at the cursor moves to after the suggestion), so it passes.
  const open = check('typescript', TS_BEFORE, 'makePrompt(ctx.prefix,', TS_AFTER);
  assertPasses(open, 'parser');
  assert.equal(open.errorsAfter, open.errorsBefore);
});

test('JS/TS: a correct block body passes, an unclosed one fails', () => {
  const before = 'function f(a) {\n  ';
  const after = '\n}';
  assertPasses(check('javascript', before, 'const b = a * 2;\n  return b + 1;', after), 'parser');
  assertPasses(
    check('javascript', before, 'if (a) {\n    return 1;\n  }\n  return 0;', after),
    'parser',
  );
  assertFails(check('javascript', before, 'if (a) {\n    return 1;', after), 'parser');
});

test('JS: TypeScript-only syntax is a syntax error in a .js file', () => {
  const before = 'function area(w, h) {\n  ';
  const insert = 'const a: number = w * h;\n  return a;';
  assertFails(check('javascript', before, insert, '\n}\n'), 'parser');
  assertFails(check('javascriptreact', before, insert, '\n}\n'), 'parser');
  assertPasses(check('typescript', before, insert, '\n}\n'), 'parser');
  assertPasses(check('javascript', before, 'const a = w * h;\n  return a;', '\n}\n'), 'parser');
});

test('JS/TS: a suggestion that completes the code passes (fewer errors than without it)', () => {
  const r = check('typescript', 'const total = compute(a, ', 'b);', '\nconsole.log(total);\n');
  assertPasses(r, 'parser');
  assert.equal(r.errorsAfter, 0);
  assert.ok(r.errorsBefore > 0);
});

test('TSX: JSX children parse; a mismatched closing tag fails', () => {
  const before = [
    'export function Card(props: { name: string }) {',
    '  return (',
    '    <div className="card">',
    '      ',
  ].join('\n');
  const after = '\n    </div>\n  );\n}\n';
  assertPasses(check('typescriptreact', before, '<span>{props.name}</span>', after), 'parser');
  assertFails(check('typescriptreact', before, '<span>{props.name}</div>', after), 'parser');
  // Read as plain TypeScript the same correct JSX is full of errors: the script kind matters.
  assert.ok(check('typescript', before, '<span>{props.name}</span>', after).errorsBefore > 0);
  assertPasses(check('javascriptreact', before, '<b>{props.name}</b>', after), 'parser');
});

test('JS/TS: a window starting inside a block comment or a template string still passes', () => {
  // `before` starts in a doc comment: ` * ... */` parses as errors before the cursor.
  const comment =
    ' * Returns the sum.\n * @param a first\n */\nfunction sum(a: number, b: number) {\n  ';
  const r1 = check('typescript', comment, 'return a + b;', '\n}\n');
  assertPasses(r1, 'parser');
  assert.ok(r1.errorsBefore > 0, 'the window has errors of its own');
  assertFails(check('typescript', comment, 'return a + + ;', '\n}\n'), 'parser');

  // `before` starts in a template string: its closing backtick opens one that runs to the end.
  const template =
    '${user.name}!`;\n}\n\nexport function add(a: number, b: number): number {\n  const sum = ';
  const r2 = check('typescript', template, 'a + b;', '\n  return sum;\n}\n');
  assertPasses(r2, 'parser');
  assert.ok(r2.errorsBefore > 0, 'the window has errors of its own');
});

test('Python: an unbalanced `)` fails, the balanced one passes', () => {
  const before = 'def area(w, h):\n    result = compute(w, h';
  const after = '\n    return result\n';
  assertPasses(check('python', before, ')', after), 'balance');
  // Without the suggestion the `(` is open (one error); with `))` it is closed and a stray `)`
  // added (one error): the count alone would pass it, the place does not.
  const r = check('python', before, '))', after);
  assertFails(r, 'balance');
  assert.equal(r.errorsBefore, 1);
  assert.equal(r.errorsAfter, 1);
  assertFails(check('python', 'items = [1, 2', ', 3)', '\n'), 'balance');
  // A closer the text after the cursor already has (an auto-closed bracket) makes one too many.
  assertFails(check('python', 'print(name', ')', ')\n'), 'balance');
  assertPasses(check('python', 'print(name', ', end="")'), 'balance');
});

test('Python: strings and comments are not brackets; an unterminated string fails', () => {
  assertPasses(check('python', 'print(', '"a)" + label)'), 'balance');
  assertPasses(check('python', 'x = 1  ', "# don't (close) this"), 'balance');
  assertFails(check('python', 'name = ', '"Ada'), 'balance');
  assertFails(check('python', 'def f():\n    ', 'return g(x'), 'balance');
  // A window that starts inside a docstring, with no definition line to start lexing from: its
  // closing `"""` opens a string that runs to the end, so the insertion is not judged.
  const docstring = 'Return the area.\n    """\n    return ';
  const r = check('python', docstring, 'w * h', '\n\ndef g():\n    pass\n');
  assertPasses(r, 'balance');
  assert.ok(r.errorsBefore > 0);
  // A bracket opened after the suggestion but closed by the text after the cursor passes.
  assertPasses(check('python', 'total = sum(', 'x for x in items', ')\n'), 'balance');
});

test('Python: docstrings, and windows that start inside one', () => {
  // With a `def` line in the window, lexing starts there and the window's `"""` parity is right.
  const window = [
    'Return the area.',
    '    """',
    '    return w * h',
    '',
    '',
    'def scale(x, factor):',
    '    """Scale x."""',
    '    return multiply(x, ',
  ].join('\n');
  assertPasses(check('python', window, 'factor)', '\n'), 'balance');
  assertFails(check('python', window, 'factor))', '\n'), 'balance');
  // Writing and closing the docstring the cursor is in passes; leaving one open fails.
  const after = '\n    return w * h\n\n\ndef g(x):\n    """Return x (as is)."""\n    return x\n';
  assertPasses(
    check('python', 'def area(w, h):\n    """', 'Return the area."""', after),
    'balance',
  );
  assertFails(check('python', 'def area(w, h):\n    ', '"""Return the area.', after), 'balance');
  assertPasses(
    check('python', 'def area(w, h):\n    ', '"""Return the area."""', after),
    'balance',
  );
});

test('other code languages: brackets balance relative to the window', () => {
  const before = 'func main() {\n\tfmt.Println(';
  assertPasses(check('go', before, '"hello")', '\n}\n'), 'balance');
  assertFails(check('go', before, '"hello"))', '\n}\n'), 'balance');
  assertFails(check('go', before, '"hello"]', '\n}\n'), 'balance');
  // A window ending mid-function (an open `{` in both versions) is not held against it.
  assertPasses(
    check('rust', 'fn main() {\n    let v = vec![1, 2', ', 3];', '\n    let n = 1;'),
    'balance',
  );
});

test('rule 3: a repeated binary-only operator fails in every language', () => {
  assertFails(check('python', 'x = ', '= 1'), 'balance');
  assert.match(check('python', 'x = ', '= 1').reason ?? '', /repeats the operator '='/);
  assertFails(check('go', 'x := ', ':= 1'), 'balance');
  assertFails(check('elixir', 'x = ', '= 1'), 'none');
  assertFails(check('typescript', 'const x = ', '= this.y;'), 'parser');
  // Typed together, `=` and `= 1` are `==`: not a repeat, and valid Python.
  assertPasses(check('python', 'if x =', '= 1:'), 'balance');
});

test('repeatedOperator: whole tokens, separated by whitespace or not merging', () => {
  assert.equal(repeatedOperator('x = ', '= 1'), '=');
  assert.equal(repeatedOperator('x =', ' = 1'), '=');
  assert.equal(repeatedOperator('x = ', '=1'), '=');
  assert.equal(repeatedOperator('x =', '= 1'), null, '`x == 1`');
  assert.equal(repeatedOperator('x = ', '=> 1'), null, 'a different operator');
  assert.equal(repeatedOperator('x = ', '== 1'), null, 'a different operator');
  assert.equal(repeatedOperator('a == ', '== b'), '==');
  assert.equal(repeatedOperator('n += ', '+= 1'), '+=');
  assert.equal(repeatedOperator('n +=', '+= 1'), '+=', '`+=+=` lexes as two');
  assert.equal(repeatedOperator('f = () =>', ' => 1'), '=>');
  assert.equal(repeatedOperator('x = ', '-1'), null, 'unary operators may follow');
  assert.equal(repeatedOperator('a - ', '- b'), null, '`-` can be unary: not binary-only');
  assert.equal(repeatedOperator('x = y', ' = 1'), null);
  assert.equal(repeatedOperator('', '= 1'), null);
});

test('languages without a check pass unchecked', () => {
  for (const languageId of ['markdown', 'plaintext', 'html', 'shellscript', 'haskell', 'unknown']) {
    const r = check(languageId, "It's ", 'a) test');
    assert.deepEqual(r, { method: 'none', errorsBefore: 0, errorsAfter: 0, ok: true });
  }
});

test('empty and odd inputs never throw', () => {
  for (const languageId of ['typescript', 'python', 'go', 'markdown']) {
    for (const [b, i, a] of [
      ['', '', ''],
      ['', 'x', ''],
      ['\r\n', '}\r\n', '\r\n'],
      ['"""', "'''", '`'],
      ['/* ', '*/', ''],
    ] as const) {
      const r = check(languageId, b, i, a);
      assert.equal(typeof r.ok, 'boolean');
    }
  }
  assertPasses(check('typescript', '', '', ''), 'parser');
});
