import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeTokens, softmaxF32, topKIndices } from '../../../src/format/routing';
import { fixtureNames, loadExpected, loadSpec, NEAR_TIE } from '../fixtureData';

const close = (a: number, b: number, tol = 1e-6): boolean => Math.abs(a - b) <= tol;

test('softmax -> top-2 without renormalisation keeps the raw probabilities', () => {
  // z = [0, ln 2, ln 3, ln 4]: p = [1, 2, 3, 4] / 10.
  const z = Float32Array.from([0, Math.log(2), Math.log(3), Math.log(4)]);
  const r = routeTokens(z, 2, false);
  assert.deepEqual(r.experts, [3, 2]);
  assert.ok(close(r.weights[0]!, 0.4) && close(r.weights[1]!, 0.3), `${r.weights}`);
  assert.ok(close(r.probs[0]!, 0.1) && close(r.probs[1]!, 0.2));
});

test('renormalised top-2 weights sum to 1 and equal softmax over the chosen logits', () => {
  const z = Float32Array.from([0, Math.log(2), Math.log(3), Math.log(4)]);
  const r = routeTokens(z, 2, true);
  assert.deepEqual(r.experts, [3, 2]);
  assert.ok(close(r.weights[0]!, 4 / 7) && close(r.weights[1]!, 3 / 7), `${r.weights}`);
  // Same as top-k on the logits, then softmax over those k (Mixtral's formulation).
  const sub = softmaxF32([z[3]!, z[2]!]);
  assert.ok(close(r.weights[0]!, sub[0]!) && close(r.weights[1]!, sub[1]!));
});

test('ties are broken towards the lower expert index', () => {
  const r = routeTokens(Float32Array.from([1, 3, 3, 0, 3]), 2, false);
  assert.deepEqual(r.experts, [1, 2]);
  assert.deepEqual(topKIndices([5, 5, 5, 5], 3), [0, 1, 2]);
  const all = routeTokens(new Float32Array(4), 4, true);
  assert.deepEqual(all.experts, [0, 1, 2, 3]);
  assert.ok(all.weights.every((w) => w === 0.25));
});

test('large logits do not overflow (stable softmax)', () => {
  const r = routeTokens(Float32Array.from([1000, 999, -1000]), 1, false);
  assert.deepEqual(r.experts, [0]);
  assert.ok(close(r.weights[0]!, 1 / (1 + Math.exp(-1))));
  assert.equal(r.probs[2], 0);
});

test('top-k out of range is rejected', () => {
  assert.throws(() => routeTokens(new Float32Array(4), 0, false), RangeError);
  assert.throws(() => routeTokens(new Float32Array(4), 5, false), RangeError);
});

test("routeTokens reproduces transformers' routers on their own router logits", () => {
  for (const name of fixtureNames()) {
    const spec = loadSpec(name);
    for (const input of loadExpected(name).inputs) {
      for (const layer of input.routing) {
        layer.topk.forEach((experts, pos) => {
          const r = routeTokens(
            Float32Array.from(layer.routerLogits[pos]!),
            spec.topK,
            spec.normTopKProb,
          );
          const where = `${name} layer ${layer.layer} position ${pos}`;
          if (layer.margins[pos]! >= NEAR_TIE) {
            assert.deepEqual([...r.experts].sort(), [...experts].sort(), where);
          }
          experts.forEach((e, j) => {
            const at = r.experts.indexOf(e);
            if (at < 0) return;
            assert.ok(close(r.weights[at]!, layer.weights[pos]![j]!), `${where}: expert ${e}`);
          });
        });
      }
    }
  }
});
