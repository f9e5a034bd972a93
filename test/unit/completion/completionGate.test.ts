// The quality gate (src/completion/gate.ts): confidence, syntax verdicts, the syntax window,
// Explain's prose check.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SYNTAX_LINES_AFTER,
  SYNTAX_LINES_BEFORE,
  confidence,
  confidenceGate,
  confidentLines,
  dedupeLines,
  proseGate,
  syntaxGate,
  syntaxWindow,
} from '../../../src/completion/gate';
import { checkSyntax } from '../../../src/language/syntaxCheck';

const tok = (logprob: number) => ({ id: 0, text: 'x', logprob, routing: [] });

test('confidence is the mean token log-probability; the gate compares it', () => {
  assert.equal(confidence([tok(-1), tok(-3)]), -2);
  assert.equal(confidence([]), 0);
  assert.deepEqual(confidenceGate(-1, -1.5), { ok: true });
  const low = confidenceGate(-2, -1.5);
  assert.ok(!low.ok && low.code === 'low-confidence');
});

test('syntaxGate words the verdict; no verdict (no checker) is open', () => {
  assert.deepEqual(syntaxGate(undefined), { ok: true });
  const bad = syntaxGate({ method: 'parser', errorsBefore: 0, errorsAfter: 2, ok: false });
  assert.ok(!bad.ok);
  assert.match(bad.reason, /breaks the code \(parse errors 0 → 2\)/);
});

/** A file of many top-level functions. */
function file(functions: number): string {
  return Array.from(
    { length: functions },
    (_, i) => `export function f${i}(a: number): number {\n  const b = a + ${i};\n  return b;\n}\n`,
  ).join('\n');
}

test('syntaxWindow: whole top-level statements around the cursor, bounded', () => {
  const text = file(600); // 3,000 lines
  const offset = text.indexOf('return b;', text.length / 2) + 'return '.length;
  const w = syntaxWindow(text, offset);
  const before = w.before.split('\n').length;
  const after = w.after.split('\n').length;
  assert.ok(before > SYNTAX_LINES_BEFORE && before < SYNTAX_LINES_BEFORE + 10, `${before}`);
  assert.ok(after > SYNTAX_LINES_AFTER && after < SYNTAX_LINES_AFTER + 10, `${after}`);
  assert.match(w.before, /^export function/, 'starts at a statement');
  assert.ok(w.after.trimEnd().endsWith('}'), 'ends after a whole statement');
  assert.match(text.slice(offset + w.after.length), /^export function/);
  // The window parses clean, so an insertion that swallows the rest is caught.
  const broken = checkSyntax({ languageId: 'typescript', ...w, insert: '{' });
  assert.equal(broken.errorsBefore, 0);
  assert.equal(broken.ok, false);
  assert.equal(checkSyntax({ languageId: 'typescript', ...w, insert: 'b' }).ok, true);
  const small = syntaxWindow('x = 1;\ny = ', 11);
  assert.deepEqual(small, { before: 'x = 1;\ny = ', after: '' });
});

test('proseGate: Explain keeps sentences, drops digit runs, code and loops', () => {
  assert.ok(proseGate('Returns the sum of the two numbers, or zero when empty.').ok);
  assert.ok(!proseGate('1000000000000000000000').ok);
  assert.ok(!proseGate('if (a) { return b; } else { return c; }').ok);
  assert.ok(!proseGate('the the the the').ok);
  assert.ok(!proseGate('ok').ok);
});

test('dedupeLines drops a sentence the model wrote again', () => {
  const line = '@param key - The value to check.';
  assert.deepEqual(dedupeLines([line, 'Returns it.', `  ${line}`, line]), [line, 'Returns it.']);
});

test('confidentLines: a block is kept up to its first unsure line', () => {
  const t = (text: string, logprob: number) => ({ id: 0, text, logprob, routing: [] });
  const block = [
    t('const', -0.2),
    t(' b', -0.4),
    t(' = a;', -0.3),
    t('\n  ', -0.1), // indentation alone counts for no line
    t('return', -0.5),
    t(' b;', -0.5),
    t('\n  ', -0.1),
    t('x', -4),
    t('.y', -3),
  ];
  assert.equal(confidentLines(block, -1), 2);
  assert.equal(confidentLines(block, -5), 3);
  assert.equal(confidentLines([t('zz', -3), t('\n', 0), t('ok', 0)], -1), 0);
});
