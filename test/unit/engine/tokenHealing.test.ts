// Token healing on the shipped default model's tokenizer and engine: a prompt ending inside a
// token (a fresh line's indentation, a half-typed word) is cut back to the token boundary and
// the model regenerates the dropped text, constrained and unreported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PromptInput } from '../../../src/engine/engine';
import { HEAL_ROOM } from '../../../src/engine/promptFit';
import { HealingConstraint, healTail } from '../../../src/engine/tokenHealing';
import { useEngine } from '../engineFixture';

const engine = useEngine('moe-lens-code');

test('healTail drops the last token of ASCII text, never more', () => {
  const tok = engine().requireTokenizer();
  // The text before the cut and the dropped text, as the prompt builder sees them.
  const splitHealTail = (text: string): { head: string; tail: string } | null => {
    const h = healTail(tok, tok.encodeOrdinary(text));
    return h && { head: tok.decode(h.ids), tail: h.tail };
  };
  assert.deepEqual(splitHealTail('function add(a, b) {\n  '), {
    head: 'function add(a, b) {',
    tail: '\n  ',
  });
  const word = splitHealTail('const x = cons');
  assert.ok(word && word.tail.endsWith('cons') && 'const x = cons' === word.head + word.tail);
  assert.equal(splitHealTail('x'), null, 'a single token: nothing before it to keep');
  assert.equal(splitHealTail('const s = "héé'), null, 'non-ASCII tails are left alone');
  assert.equal(splitHealTail('function add(a, b) {'), null, 'a typed bracket is a boundary');
  assert.equal(splitHealTail('const total = xs.reduce('), null);
});

test('the constraint keeps exactly the tokens consistent with the healed text', () => {
  const tok = engine().requireTokenizer();
  const h = new HealingConstraint(tok, '\n  ');
  const logits = new Float32Array(tok.vocabSize);
  h.mask(logits);
  const kept = [...logits.keys()].filter((id) => logits[id] === 0);
  assert.ok(kept.length > 0);
  for (const id of kept) {
    const t = tok.decode([id]);
    assert.ok(t.startsWith('\n  ') || '\n  '.startsWith(t), JSON.stringify(t));
    assert.ok(!tok.specialIds.has(id));
  }
  assert.ok(kept.includes(tok.encodeOrdinary('\n  ')[0]!), 'the dropped token itself stays');
  // consume: hidden while inside the healed text, the rest of the token passes through
  assert.equal(h.consume('\n '), '');
  assert.ok(h.active);
  assert.equal(h.consume(' return'), 'return');
  assert.ok(!h.active);
  assert.equal(h.consume(' a'), ' a');
});

test('a FIM prompt at a fresh line: one token shorter, and the reported text starts after the cursor', async () => {
  const input: PromptInput = {
    kind: 'fim',
    prefix: 'function add(a, b) {\n  ',
    suffix: '\n}\n',
  };
  const plain = engine().prompt({ ...input, heal: false });
  const healed = engine().prompt(input);
  assert.equal(plain.heal, '');
  assert.equal(healed.heal, '\n  ');
  assert.equal(healed.ids.length, plain.ids.length - 1);
  const stream = engine().complete(
    input,
    { maxTokens: 12, temperature: 0, topP: 1, stop: ['\n'] },
    'heal-test',
  );
  const pieces: string[] = [];
  let r = await stream.next();
  while (!r.done) {
    pieces.push(r.value.text ?? '');
    r = await stream.next();
  }
  assert.equal(pieces.join(''), r.value.text, 'the increments concatenate to the text');
  assert.ok(
    !/^\s/.test(r.value.text ?? ''),
    `no re-typed indentation: ${JSON.stringify(r.value.text)}`,
  );
  assert.notEqual(r.value.text, '', 'the healed newline did not count as the stop sequence');
  assert.ok(
    r.value.stats.decodeTokens > pieces.length,
    'the healing token ran but was not reported',
  );
});

test('generation that reaches the end of the context stops there instead of failing', async () => {
  // Healing tokens do not count in maxTokens, so a caller that left exactly maxTokens of room
  // can be one or two tokens short: the context end must finish the generation ('length').
  const ctx = engine().model.config.contextLength;
  let body = '';
  const input = (): PromptInput => ({
    kind: 'fim',
    prefix: `${body}function f() {\n  `,
    suffix: '',
  });
  while (engine().prompt(input()).ids.length < ctx - 8) body += 'x = 1;\n';
  // The prompt fills the budget exactly (context − maxTokens − HEAL_ROOM; the token healing
  // drops counts in it): nothing is cut.
  const room = ctx - engine().prompt(input()).ids.length - 1 - HEAL_ROOM;
  const stream = engine().complete(
    input(),
    { maxTokens: room, minTokens: room, temperature: 0, topP: 1 },
    'heal-ctx',
  );
  let r = await stream.next();
  while (!r.done) r = await stream.next();
  assert.equal(r.value.finishReason, 'length');
  assert.equal(r.value.fit?.prefixLinesDropped, 0);
  assert.ok(engine().slot('heal-ctx').length <= ctx, 'the context is not overflowed');
});
