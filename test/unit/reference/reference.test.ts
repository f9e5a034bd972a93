// The TypeScript reference forward against Hugging Face transformers' own outputs for the tiny
// random checkpoints in test/fixtures/models (fp32 eager, see test/fixtures/make_fixtures.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceForward } from '../../../src/reference/forward';
import {
  argmax,
  fixtureNames,
  loadExpected,
  loadSpec,
  loadWeights,
  logSoftmax,
  NEAR_TIE,
} from '../fixtureData';

const LOGPROB_TOL = 1e-4;
const WEIGHT_TOL = 1e-4;

const names = fixtureNames();

test('all four architectures have a fixture', () => {
  const archs = names.map((n) => loadExpected(n).architecture).sort();
  assert.deepEqual(archs, [
    'MixtralForCausalLM',
    'OlmoeForCausalLM',
    'Qwen2MoeForCausalLM',
    'Qwen3MoeForCausalLM',
  ]);
});

for (const name of names) {
  test(`reference forward matches transformers: ${name}`, async (t) => {
    const expected = loadExpected(name);
    const spec = loadSpec(name);
    assert.equal(spec.architecture, expected.architecture);
    const weights = await loadWeights(name);

    let maxLogprobErr = 0;
    let maxRouterLogitErr = 0;
    let compared = 0;
    let skipped = 0;
    for (const input of expected.inputs) {
      const out = referenceForward(spec, weights, input.ids);
      assert.equal(out.logits.length, input.ids.length);
      out.logits.forEach((logits, pos) => {
        const lp = logSoftmax(logits);
        const want = input.logprobs[pos] as number[];
        assert.equal(lp.length, want.length, `vocab size at position ${pos}`);
        for (let v = 0; v < lp.length; v++) {
          maxLogprobErr = Math.max(
            maxLogprobErr,
            Math.abs((lp[v] as number) - (want[v] as number)),
          );
        }
      });

      assert.deepEqual(
        out.routing.map((r) => r.layer),
        input.routing.map((r) => r.layer),
        'MoE layer indices',
      );
      input.routing.forEach((want, j) => {
        const got = out.routing[j]!;
        want.topk.forEach((experts, pos) => {
          const z = got.logits[pos]!;
          (want.routerLogits[pos] as number[]).forEach((v, e) => {
            maxRouterLogitErr = Math.max(maxRouterLogitErr, Math.abs((z[e] as number) - v));
          });
          if ((want.margins[pos] as number) < NEAR_TIE) {
            skipped++;
            return;
          }
          compared++;
          const where = `${name} input ${input.ids.length} layer ${want.layer} position ${pos}`;
          const gotExperts = got.experts[pos]!;
          assert.deepEqual([...gotExperts].sort(), [...experts].sort(), `top-k set, ${where}`);
          experts.forEach((e, r) => {
            const w = got.weights[pos]![gotExperts.indexOf(e)]!;
            const diff = Math.abs(w - want.weights[pos]![r]!);
            assert.ok(diff <= WEIGHT_TOL, `weight of expert ${e} off by ${diff}, ${where}`);
          });
        });
      });
    }
    t.diagnostic(
      `${name}: max |logprob err| ${maxLogprobErr.toExponential(2)}, max |router logit err| ` +
        `${maxRouterLogitErr.toExponential(2)}, top-k compared ${compared}, near-ties skipped ${skipped}`,
    );
    assert.ok(maxLogprobErr <= LOGPROB_TOL, `${name}: max |logprob err| ${maxLogprobErr}`);

    const ids = [...expected.greedy.prompt];
    for (let i = 0; i < expected.greedy.generated.length; i++) {
      const out = referenceForward(spec, weights, ids);
      ids.push(argmax(out.logits[out.logits.length - 1]!));
    }
    assert.deepEqual(ids.slice(expected.greedy.prompt.length), expected.greedy.generated);
  });
}
