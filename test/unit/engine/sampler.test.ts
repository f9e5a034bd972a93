import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, logSoftmax, type SamplingOptions } from '../../../src/engine/sampler';
import { MoeLensError } from '../../../src/format/errors';

const close = (a: number, b: number, eps = 1e-5): boolean => Math.abs(a - b) <= eps;

function logits(values: number[]): Float32Array {
  return Float32Array.from(values);
}

/** Float64 reference: log softmax of v at temperature 1. */
function refLogProb(v: Float32Array, id: number): number {
  const max = Math.max(...v);
  let sum = 0;
  for (const x of v) sum += Math.exp(x - max);
  return v[id]! - max - Math.log(sum);
}

/** A vocabulary-sized, peaked distribution like a code model's. */
function bigLogits(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 8 - 4;
  }
  out[1234] = 14;
  out[777] = 13.2;
  out[99_000] = 12.5;
  return out;
}

function draws(opts: SamplingOptions, l: Float32Array, n: number): number[] {
  const s = new Sampler(opts);
  return Array.from({ length: n }, () => s.sample(l).id);
}

test('greedy picks the argmax, lowest index on exact ties, with the model logprob', () => {
  const s = new Sampler({ temperature: 0, topP: 1 });
  const l = logits([0.5, 3, -1, 3, 2.9]);
  const r = s.sample(l);
  assert.equal(r.id, 1);
  assert.ok(close(r.logprob, refLogProb(l, 1)));
  assert.equal(s.sample(logits([-Infinity, NaN, -5])).id, 2);
  const big = bigLogits(151_936, 1);
  assert.equal(s.sample(big).id, 1234);
});

test('logprob is under the raw distribution, whatever the sampling settings', () => {
  const l = logits([1, 2, 3, 0.5, -2]);
  for (const opts of [
    { temperature: 0.3, topP: 0.9, seed: 3 },
    { temperature: 2, topP: 1, seed: 4 },
    { temperature: 1, topP: 0.5, topK: 2, seed: 5 },
  ]) {
    const s = new Sampler(opts);
    for (let i = 0; i < 50; i++) {
      const r = s.sample(l);
      assert.ok(close(r.logprob, refLogProb(l, r.id)), JSON.stringify(opts));
    }
  }
});

test('logSoftmax matches a float64 reference and sums to 1', () => {
  const l = logits([1000, 999, 998, -Infinity, 0]);
  const ls = logSoftmax(l);
  for (let i = 0; i < l.length; i++) {
    if (l[i] === -Infinity) assert.equal(ls[i], -Infinity);
    else assert.ok(close(ls[i]!, refLogProb(l, i), 1e-3), `${i}`);
  }
  let total = 0;
  for (const x of ls) total += Math.exp(x);
  assert.ok(close(total, 1));
});

test('sampling is reproducible for a seed and differs across seeds', () => {
  const l = bigLogits(10_000, 2);
  for (const o of [
    { temperature: 1.5, topP: 1 },
    { temperature: 1.5, topP: 0.95 },
    { temperature: 2, topP: 0.9, topK: 40 },
  ]) {
    const a = draws({ ...o, seed: 7 }, l, 100);
    const b = draws({ ...o, seed: 7 }, l, 100);
    const c = draws({ ...o, seed: 8 }, l, 100);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(new Set(a).size > 1, 'should not be deterministic across draws');
  }
});

test('top-p 0.0001 and top-k 1 equal greedy', () => {
  const big = bigLogits(151_936, 3);
  const tie = logits([1, 5, 5, 2]);
  for (const o of [
    { temperature: 1, topP: 0.0001, seed: 1 },
    { temperature: 5, topP: 1, topK: 1, seed: 2 },
  ]) {
    const s = new Sampler(o);
    for (let i = 0; i < 20; i++) {
      assert.equal(s.sample(big).id, 1234);
      assert.equal(s.sample(tie).id, 1);
    }
  }
});

test('empirical frequencies follow the probabilities', () => {
  const p = [0.5, 0.3, 0.15, 0.05];
  const l = logits(p.map(Math.log));
  const n = 20_000;
  const check = (opts: SamplingOptions, want: number[]): void => {
    const counts = new Array<number>(p.length).fill(0);
    for (const id of draws(opts, l, n)) counts[id]!++;
    for (let i = 0; i < p.length; i++) {
      const freq = counts[i]! / n;
      // ~5 standard deviations at n = 20000.
      assert.ok(Math.abs(freq - want[i]!) < 0.02, `${JSON.stringify(opts)} id ${i}: ${freq}`);
    }
  };
  check({ temperature: 1, topP: 1, seed: 11 }, p);
  // Nucleus 0.7 keeps {0.5, 0.3}, renormalized.
  check({ temperature: 1, topP: 0.7, seed: 12 }, [0.625, 0.375, 0, 0]);
  // Top-3, renormalized.
  check({ temperature: 1, topP: 1, topK: 3, seed: 13 }, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]);
  // Temperature 0.5 squares the probabilities.
  const sq = p.map((x) => x * x);
  const z = sq.reduce((a, b) => a + b);
  check(
    { temperature: 0.5, topP: 1, seed: 14 },
    sq.map((x) => x / z),
  );
});

// Its speed belongs in benchmarks, not here: a wall-clock bound fails on a loaded machine.
test('top-p on a 150k vocabulary, peaked or flat: draws from the nucleus, model logprobs', () => {
  const big = bigLogits(151_936, 4);
  const model = logSoftmax(big);
  const drawn = (temperature: number) => {
    const s = new Sampler({ temperature, topP: 0.95, seed: 5 });
    return Array.from({ length: 20 }, () => s.sample(big));
  };
  // At temperature 0.8 the three peaks hold over 95% of the mass: the nucleus is exactly them.
  for (const t of drawn(0.8)) {
    assert.ok([1234, 777, 99_000].includes(t.id), `id ${t.id} outside the nucleus`);
    assert.ok(Math.abs(t.logprob - (model[t.id] ?? NaN)) < 1e-4, 'the model logprob');
  }
  // At temperature 3 the noise holds most of the mass: the nucleus is most of the vocabulary.
  const flat = drawn(3);
  for (const t of flat) {
    assert.ok(Number.isInteger(t.id) && t.id >= 0 && t.id < big.length, `id ${t.id}`);
    assert.ok(Math.abs(t.logprob - (model[t.id] ?? NaN)) < 1e-4, 'the model logprob');
  }
  assert.ok(new Set(flat.map((t) => t.id)).size > 10, 'flat draws spread over the vocabulary');
});

test('top-p keeps exactly the smallest high-probability set (flat tail)', () => {
  // Weights 8, 4, 2, 1 and then 1000 ids at 0.01 (mass 10): total 25.
  const values = [
    Math.log(8),
    Math.log(4),
    Math.log(2),
    0,
    ...new Array<number>(1000).fill(Math.log(0.01)),
  ];
  const l = logits(values);
  // 0.5 of 25 = 12.5: 8 + 4 + 2 = 14 >= 12.5 but 8 + 4 = 12 < 12.5, so ids {0, 1, 2}.
  const seen = new Set(draws({ temperature: 1, topP: 0.5, seed: 9 }, l, 3000));
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    [0, 1, 2],
  );
  // 0.9 of 25 = 22.5: 15 + 750 tail ids at 0.01 reach it; the lowest-index tail ids are kept.
  const tail = draws({ temperature: 1, topP: 0.9, seed: 10 }, l, 5000).filter((id) => id >= 4);
  assert.ok(tail.length > 0);
  assert.ok(Math.max(...tail) < 4 + 750 + 2, `${Math.max(...tail)}`);
  assert.ok(Math.max(...tail) > 4 + 600, `${Math.max(...tail)}`);
});

test('rejects bad options', () => {
  assert.throws(() => new Sampler({ temperature: -1, topP: 1 }), MoeLensError);
  assert.throws(() => new Sampler({ temperature: NaN, topP: 1 }), MoeLensError);
  assert.throws(() => new Sampler({ temperature: 1, topP: 0 }), MoeLensError);
  assert.throws(() => new Sampler({ temperature: 1, topP: 1.5 }), MoeLensError);
  assert.throws(() => new Sampler({ temperature: 1, topP: 1, topK: 1.5 }), MoeLensError);
  assert.throws(() => new Sampler({ temperature: 1, topP: 1 }).sample(new Float32Array(0)));
});
