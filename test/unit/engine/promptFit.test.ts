// Prompt fitting (src/engine/promptFit.ts) with the default model's real tokenizer and context:
// no prompt built from text overflows, cuts fall on line boundaries, the prefix keeps its end and
// an anchored start while the user types, and Explain / a 3,000-line prefix complete.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTokenizer, type Tokenizer } from '../../../src/engine/tokenizer';
import {
  ANCHOR_LINES,
  HEAL_ROOM,
  keepEnd,
  keepStart,
  promptBudget,
  splitLines,
} from '../../../src/engine/promptFit';
import { useEngine } from '../engineFixture';

const ROOT = join(__dirname, '..', '..', '..');
const engine = useEngine('moe-lens-code');
let tok: Tokenizer | undefined;
async function tokenizer(): Promise<Tokenizer> {
  tok ??= await loadTokenizer(join(ROOT, 'models', 'moe-lens-code'));
  return tok;
}

/** 3,000 lines of real code (our own sources, repeated). */
function longFile(lines = 3000): string {
  const src = readFileSync(join(ROOT, 'src', 'completion', 'pipeline.ts'), 'utf8').split('\n');
  return Array.from({ length: lines }, (_, i) => src[i % src.length] ?? '').join('\n') + '\n';
}

test('splitLines keeps every character', () => {
  for (const t of ['', 'a', 'a\n', 'a\nb', '\n\n', 'x\n\ny\n']) {
    assert.equal(splitLines(t).join(''), t);
  }
});

test('keepEnd: within budget, the text’s end, starting at an anchored line', async () => {
  const t = await tokenizer();
  const text = longFile(200);
  const cut = keepEnd(t, text, 300);
  assert.ok(cut.ids.length <= 300, `${cut.ids.length} tokens`);
  assert.ok(text.endsWith(cut.text));
  assert.equal(cut.dropped % ANCHOR_LINES, 0, 'first kept line is a multiple of the anchor');
  assert.equal(text.slice(0, text.length - cut.text.length).split('\n').length - 1, cut.dropped);
  assert.deepEqual(cut.ids, t.encodeOrdinary(cut.text));
  // Not wasteful: one more anchor chunk would not have fit.
  const more = splitLines(text)
    .slice(cut.dropped - ANCHOR_LINES)
    .join('');
  assert.ok(t.encodeOrdinary(more).length > 300);
});

test('keepEnd: typing on the last line keeps the start until it must move (KV reuse)', async () => {
  const t = await tokenizer();
  let text = longFile(120) + '  const value = ';
  const first = keepEnd(t, text, 400).dropped;
  let moves = 0;
  let last = first;
  for (const ch of 'computeSomething(alpha, beta, gamma);') {
    text += ch;
    const d = keepEnd(t, text, 400).dropped;
    if (d !== last) moves++;
    assert.ok(d >= last, 'the start only moves forward');
    last = d;
  }
  assert.ok(moves <= 1, `start moved ${moves} times over 37 keystrokes`);
});

test('keepEnd / keepStart: a single line longer than the budget is cut inside it', async () => {
  const t = await tokenizer();
  const line = 'x = [' + Array.from({ length: 400 }, (_, i) => i).join(', ') + '];';
  const end = keepEnd(t, line, 50);
  assert.ok(end.ids.length <= 50 && end.text.length > 0 && line.endsWith(end.text));
  const start = keepStart(t, line, 50);
  assert.ok(start.ids.length <= 50 && start.text.length > 0 && line.startsWith(start.text));
});

test('keepStart: within budget, the text’s start cut after a whole line', async () => {
  const t = await tokenizer();
  const text = longFile(100);
  const cut = keepStart(t, text, 120);
  assert.ok(cut.ids.length <= 120);
  assert.ok(text.startsWith(cut.text) && cut.text.endsWith('\n'));
  assert.equal(cut.kept + cut.dropped, splitLines(text).length);
});

test('promptBudget leaves room for the generation, at most half the context', () => {
  assert.equal(promptBudget(512, 64), 512 - 64 - HEAL_ROOM);
  assert.equal(promptBudget(512, 100_000), 256 - HEAL_ROOM);
});

test('a 3,000-line prefix, a long suffix and big extra files fit the 512-token model', () => {
  const e = engine();
  const ctx = e.model.config.contextLength;
  const big = longFile(3000);
  const built = e.prompt(
    {
      kind: 'fim',
      prefix: big + 'const x = ',
      suffix: ';\n' + longFile(500),
      path: 'src/big.ts',
      extra: [{ path: 'src/other.ts', text: longFile(400) }],
    },
    64,
  );
  assert.ok(built.ids.length <= ctx - 64, `${built.ids.length} tokens`);
  assert.ok(built.fit.prefixLinesDropped > 2900);
  assert.ok(built.fit.suffixLinesDropped > 400);
  assert.equal(built.fit.extraFilesCut, 1);
  // The suffix and the extra file stay within their shares; the prefix gets the rest.
  const text = e.requireTokenizer().decode(built.ids);
  assert.ok(
    text.endsWith('const x =<|fim_middle|>'),
    'healed prefix end, then the middle sentinel',
  );
});

test('complete: a 3,000-line prefix and a 200-line Explain selection succeed (no overflow)', async () => {
  const e = engine();
  const s = e.complete(
    { kind: 'fim', prefix: longFile(3000), suffix: '' },
    {
      maxTokens: 8,
      temperature: 0,
      topP: 1,
    },
    'fit-a',
  );
  let r = await s.next();
  while (!r.done) r = await s.next();
  assert.notEqual(r.value.finishReason, 'cancelled');
  assert.ok(r.value.stats.promptTokens <= e.model.config.contextLength - 8);
  // Explain: the selection is the suffix and gets most of the budget.
  const selection = longFile(200);
  const x = e.complete(
    {
      kind: 'fim',
      prefix: longFile(50) + '/**\n * ',
      suffix: '\n */\n' + selection,
      shares: { suffix: 0.6 },
    },
    { maxTokens: 96, temperature: 0, topP: 1, stop: ['*/'] },
    'fit-b',
  );
  let rx = await x.next();
  while (!rx.done) rx = await x.next();
  assert.ok(rx.value.fit && rx.value.fit.suffixLinesDropped > 0);
  assert.ok(rx.value.stats.promptTokens <= e.model.config.contextLength - 96);
});

test('a text prompt too long for the context keeps its end', () => {
  const e = engine();
  const built = e.prompt({ kind: 'text', prompt: longFile(1000) }, 64);
  assert.ok(built.ids.length <= e.model.config.contextLength - 64);
  assert.ok(built.fit.prefixLinesDropped > 900);
});
