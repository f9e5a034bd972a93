// Routing statistics against a hand-computed fixture (E = 4, k = 2, one MoE layer, two files),
// and analyzeText on the real engine (tiny-test): offsets, entropies and internal consistency.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  RoutingStatsAccumulator,
  entropy,
  imbalance,
  normalise,
  type StatsToken,
} from '../../../src/analysis/routingStats';
import { analyzeText } from '../../../src/analysis/analyzeText';
import { Engine } from '../../../src/engine/engine';

const close = (a: number, b: number, eps = 1e-9) =>
  assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);
const closeAll = (a: number[], b: number[], eps = 1e-9) => {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => close(x, b[i] as number, eps));
};

function tok(
  id: number,
  text: string,
  cls: string,
  experts: number[],
  entropy?: number,
  topKMass?: number,
): StatsToken {
  const r: StatsToken['routing'][number] = { layer: 0, experts };
  if (entropy !== undefined) r.entropy = entropy;
  if (topKMass !== undefined) r.topKMass = topKMass;
  return { id, text, cls, routing: [r] };
}

test('hand-computed fixture: every statistic', () => {
  const acc = new RoutingStatsAccumulator({
    model: 'm',
    experts: 4,
    topK: 2,
    moeLayers: [0],
    vocabMinCount: 2,
  });
  acc.addFile('typescript', [
    tok(10, 'a', 'identifier', [0, 1], 1.0, 0.8),
    tok(11, 'b', 'keyword', [0, 2], 0.5, 0.6),
    tok(10, 'a', 'identifier', [1, 0], 0.3, 1.0),
  ]);
  acc.addFile('python', [tok(12, 'c', 'string', [0, 1])]);
  const s = acc.result(2);
  assert.equal(s.files, 2);
  assert.equal(s.tokens, 4);
  close(s.tokensPerSecond, 2);
  const l = s.layers[0]!;
  assert.equal(l.layer, 0);
  closeAll(l.load, [0.5, 0.375, 0.125, 0]);
  close(l.cv, Math.sqrt(0.0390625) / 0.25);
  close(l.maxViolation, 1);
  close(l.meanEntropy, 0.6);
  close(l.topKMass, 0.8);
  close(l.repeatTop1, 0.5); // pairs within a file only: (t0,t1) same, (t1,t2) not
  close(l.repeatTop1Chance, 0.75 ** 2 + 0.25 ** 2);
  assert.deepEqual(l.coactivation, [
    [1, 0.75, 0.25, 0],
    [1, 1, 0, 0],
    [1, 0, 1, 0],
    [0, 0, 0, 0],
  ]);
  assert.deepEqual(Object.keys(l.classShares), ['identifier', 'keyword', 'string']);
  closeAll(l.classShares.identifier!, [0.5, 0.5, 0, 0]);
  closeAll(l.classShares.keyword!, [0.5, 0, 0.5, 0]);
  closeAll(l.languageShares.typescript!, [0.5, 1 / 3, 1 / 6, 0]);
  closeAll(l.languageShares.python!, [0.5, 0.5, 0, 0]);
  assert.deepEqual(l.vocabulary, [
    { expert: 0, tokens: [{ text: 'a', share: 1, count: 2 }] },
    { expert: 1, tokens: [{ text: 'a', share: 1, count: 2 }] },
    { expert: 2, tokens: [] },
    { expert: 3, tokens: [] },
  ]);
});

test('layers without a router and out-of-range expert ids are ignored', () => {
  const acc = new RoutingStatsAccumulator({ model: 'm', experts: 2, topK: 1, moeLayers: [1] });
  acc.addFile('x', [
    { id: 1, text: 'x', cls: 'other', routing: [{ layer: 0, experts: [0] }] },
    { id: 1, text: 'x', cls: 'other', routing: [{ layer: 1, experts: [5] }] },
    { id: 1, text: 'x', cls: 'other', routing: [{ layer: 1, experts: [1] }] },
  ]);
  const l = acc.result(1).layers[0]!;
  assert.equal(l.layer, 1);
  assert.deepEqual(l.load, [0, 1]);
});

test('normalise, imbalance and entropy', () => {
  assert.deepEqual(normalise([1, 3]), [0.25, 0.75]);
  assert.deepEqual(normalise([0, 0]), [0, 0]);
  assert.deepEqual(imbalance([0.25, 0.25, 0.25, 0.25]), { cv: 0, maxViolation: 0 });
  const { cv, maxViolation } = imbalance([1, 0]);
  close(cv, 1);
  close(maxViolation, 1);
  close(entropy([0.5, 0.5]), Math.log(2));
  close(entropy([1, 0, 0]), 0);
  close(entropy([0.25, 0.25, 0.25, 0.25]), Math.log(4));
});

test('analyzeText on the real engine: offsets, entropies in [0, ln E], consistent statistics', async () => {
  const engine = await Engine.open(join(__dirname, '..', '..', '..', 'models', 'tiny-test'), {
    executionProvider: 'cpu',
    threads: 1,
  });
  try {
    const text = 'export function add(a: number, b: number): number {\n  return a + b; // é ✓\n}\n';
    const info = engine.info();
    const a = await analyzeText(engine, text, { maxTokens: 1024 });
    assert.equal(a.truncated, false);
    assert.equal(a.tokens.map((t) => t.text).join(''), text);
    for (const t of a.tokens) assert.equal(text.slice(t.start, t.end), t.text);
    assert.equal(a.tokens[0]!.logprob, null);
    const lnE = Math.log(info.experts);
    for (const t of a.tokens) {
      assert.equal(t.routing.length, info.moeLayers.length);
      for (const r of t.routing) {
        assert.ok(r.entropy >= 0 && r.entropy <= lnE + 1e-6, `entropy ${r.entropy}`);
        assert.ok(r.topKMass > 0 && r.topKMass <= 1 + 1e-6, `mass ${r.topKMass}`);
        assert.equal(r.probs, undefined, 'full distributions dropped by default');
      }
    }
    // Routing only (workspace statistics): the same routing, no log-probs computed.
    const fast = await analyzeText(engine, text, { maxTokens: 1024, logprobs: false });
    assert.deepEqual(
      fast.tokens.map((t) => t.routing.map((r) => r.experts)),
      a.tokens.map((t) => t.routing.map((r) => r.experts)),
    );
    assert.ok(fast.tokens.every((t) => t.logprob === null));
    assert.ok(a.tokens.slice(1).every((t) => typeof t.logprob === 'number' && t.logprob <= 0));

    const cut = await analyzeText(engine, text, { maxTokens: 5, fullProbs: true });
    assert.equal(cut.tokens.length, 5);
    assert.equal(cut.truncated, true);
    assert.equal(cut.totalTokens, a.tokens.length);
    assert.equal(cut.tokens[0]!.routing[0]!.probs?.length, info.experts);

    const acc = new RoutingStatsAccumulator({
      model: 'tiny',
      experts: info.experts,
      topK: info.topK,
      moeLayers: info.moeLayers,
    });
    acc.addFile(
      'typescript',
      a.tokens.map((t) => ({ ...t, cls: 'other' })),
    );
    const s = acc.result(1);
    for (const l of s.layers) {
      close(
        l.load.reduce((x, y) => x + y, 0),
        1,
        1e-9,
      );
      assert.ok(l.meanEntropy >= 0 && l.meanEntropy <= lnE + 1e-6);
      close(
        l.classShares.other!.reduce((x, y) => x + y, 0),
        1,
        1e-9,
      );
      l.coactivation.forEach((row, i) => {
        if (l.load[i]! > 0) assert.equal(row[i], 1);
      });
    }
  } finally {
    await engine.dispose();
  }
});

test('analyzeText on a 1 MB file: only the first tokens are encoded and scored', async () => {
  const engine = await Engine.open(join(__dirname, '..', '..', '..', 'models', 'tiny-test'), {
    executionProvider: 'cpu',
    threads: 1,
  });
  try {
    const big = 'const x = [' + '1, '.repeat(350_000) + '];\n';
    const a = await analyzeText(engine, big, { maxTokens: 64, logprobs: false });
    assert.equal(a.tokens.length, 64);
    assert.equal(a.truncated, true);
    // The tokenizer itself copes with the whole file (no call-stack overflow).
    assert.ok(engine.requireTokenizer().encodeOrdinary(big).length > 64);
  } finally {
    await engine.dispose();
  }
});
