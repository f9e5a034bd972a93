// Explain Selection's doc comment without VS Code (src/explain/docComment.ts): where the comment
// goes (above the code; inside the body for Python), the fill-in-the-middle prompt around it, the
// engine request, and the model's text shaped into a comment or refused with a reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  docCommentPrompt,
  docCommentRequest,
  docCommentStyle,
  docCommentSummary,
  EXPLAIN_WINDOW_CHARS,
  shapeDocComment,
} from '../../../src/explain/docComment';

test('docCommentStyle: block comments, hash lines, Rust doc lines, Python docstrings', () => {
  assert.deepEqual(docCommentStyle('typescript'), { open: '/**', line: ' * ', close: ' */' });
  assert.deepEqual(docCommentStyle('java'), { open: '/**', line: ' * ', close: ' */' });
  assert.deepEqual(docCommentStyle('python'), { open: '"""', line: '', close: '"""' });
  assert.deepEqual(docCommentStyle('shellscript'), { open: '#', line: '# ', close: '' });
  assert.deepEqual(docCommentStyle('rust'), { open: '///', line: '/// ', close: '' });
});

test('docCommentPrompt: above the selection, at its first line, with its indentation', () => {
  const text = 'class A {\n  add(a, b) {\n    return a + b;\n  }\n}\n';
  const start = text.indexOf('add') + 1; // a selection may start mid-line
  const end = text.indexOf('  }\n}') + 3;
  const p = docCommentPrompt(text, 'typescript', start, end);
  assert.equal(p.anchor, text.indexOf('  add'));
  assert.equal(p.bodyIndent, '  ');
  assert.equal(p.prefix, 'class A {\n  /**\n   * ');
  assert.equal(p.suffix, '\n   */\n' + text.slice(p.anchor));
});

test('docCommentPrompt: a Python docstring goes inside the body, CRLF lines too', () => {
  const text = 'x = 1\r\n\tdef f(a):\r\n\t\treturn a\r\n';
  const start = text.indexOf('def');
  const p = docCommentPrompt(text, 'python', start, text.length);
  assert.equal(p.anchor, text.indexOf('\t\treturn'), 'the start of the line after the def');
  assert.equal(p.bodyIndent, '\t    ');
  assert.ok(p.prefix.endsWith('\tdef f(a):\r\n\t    """\n\t    '));
  assert.equal(p.suffix, '\n\t    """\n\t\treturn a\r\n');
  // A def on the last line without a line end: the docstring goes at the end.
  const last = 'def g():';
  assert.equal(docCommentPrompt(last, 'python', 0, last.length).anchor, last.length);
});

test('docCommentPrompt: a selection at offset 0, and the windows around the anchor', () => {
  const text = '\nfn main() {}\n';
  assert.equal(docCommentPrompt(text, 'rust', 0, 1).anchor, 0, 'an empty first line');
  const before = 'a'.repeat(10_000) + '\n';
  const body = 'function f() {\n' + '  x();\n'.repeat(2000) + '}\n';
  const long = before + body;
  const p = docCommentPrompt(long, 'javascript', before.length, long.length);
  assert.equal(p.prefix, 'a'.repeat(EXPLAIN_WINDOW_CHARS - 1) + '\n/**\n * ');
  // The whole selection stays in the suffix even when it is longer than the window.
  assert.equal(p.suffix, '\n */\n' + body);
  const short = docCommentPrompt(long, 'javascript', before.length, before.length + 20);
  assert.equal(short.suffix, '\n */\n' + body.slice(0, EXPLAIN_WINDOW_CHARS));
});

test('docCommentRequest: fill-in-the-middle on the explain slot, stopping at a comment end', () => {
  const p = docCommentPrompt('function f() {}\n', 'typescript', 0, 10);
  assert.deepEqual(docCommentRequest(p, 'src/f.ts'), {
    input: {
      kind: 'fim',
      prefix: p.prefix,
      suffix: p.suffix,
      path: 'src/f.ts',
      shares: { suffix: 0.6 },
    },
    options: {
      maxTokens: 96,
      temperature: 0,
      topP: 1,
      stop: ['*/', '"""', '\n\n'],
      fullProbs: true,
    },
    slot: 'explain',
  });
});

test('shapeDocComment: markers stripped, repeats dropped, indented in the style', () => {
  const raw =
    'Adds two numbers and returns the sum.\n * @param a The first number.\n' +
    ' * @param a The first number.\n * Returns their sum.  ';
  const c = shapeDocComment(raw, { bodyIndent: '  ', style: docCommentStyle('typescript') });
  assert.ok(c.ok);
  assert.deepEqual(c.lines, [
    'Adds two numbers and returns the sum.',
    '@param a The first number.',
    'Returns their sum.',
  ]);
  assert.equal(
    c.text,
    '  /**\n   * Adds two numbers and returns the sum.\n   * @param a The first number.\n' +
      '   * Returns their sum.\n   */\n',
  );
  const py = shapeDocComment('Return the first item of the list.', {
    bodyIndent: '    ',
    style: docCommentStyle('python'),
  });
  assert.ok(py.ok);
  assert.equal(py.text, '    """\n    Return the first item of the list.\n    """\n');
  const sh = shapeDocComment('# Prints the greeting to stdout for the user.', {
    bodyIndent: '',
    style: docCommentStyle('shellscript'),
  });
  assert.ok(sh.ok);
  assert.equal(sh.text, '#\n# Prints the greeting to stdout for the user.\n');
});

test('shapeDocComment: what is not prose is refused with the reason', () => {
  const style = docCommentStyle('typescript');
  assert.deepEqual(shapeDocComment('', { bodyIndent: '', style }), { ok: false, reason: 'empty' });
  const digits = shapeDocComment('1000000000000000', { bodyIndent: '', style });
  assert.equal(digits.ok, false);
  const code = shapeDocComment('if (a) { return b; } else { return c; }', {
    bodyIndent: '',
    style,
  });
  assert.deepEqual(code, { ok: false, reason: 'reads as code, not prose' });
});

test('docCommentSummary: the prose on one line, capped', () => {
  assert.equal(docCommentSummary(['Adds.', 'Returns.']), 'MoE Lens: Adds. Returns.');
  assert.equal(docCommentSummary(['x'.repeat(500)]).length, 'MoE Lens: '.length + 200);
});
