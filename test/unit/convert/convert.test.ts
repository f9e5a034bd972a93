// The converter and the engine against Hugging Face transformers itself: every fixture is
// converted to ONNX and run by onnxruntime; log-probs, top-k expert sets, KV-cached decoding and
// greedy generation must match what transformers computed (test/fixtures/models/*/expected.json).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../../src/convert/convert';
import { MoeModel } from '../../../src/engine/model';
import { generate } from '../../../src/engine/generate';
import { FIXTURES_DIR, NEAR_TIE, fixtureNames, loadExpected, logSoftmax } from '../fixtureData';

const work = mkdtempSync(join(tmpdir(), 'moe-lens-convert-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** max |log_softmax(onnx) - expected| over every position and vocabulary entry. */
function maxLogprobError(logits: Float32Array, expected: number[][], vocab: number): number {
  let err = 0;
  expected.forEach((row, t) => {
    const lp = logSoftmax(logits.subarray(t * vocab, (t + 1) * vocab));
    row.forEach((v, i) => (err = Math.max(err, Math.abs((lp[i] as number) - v))));
  });
  return err;
}

for (const name of fixtureNames()) {
  describe(`${name}: fp32 ONNX equals transformers`, () => {
    const expected = loadExpected(name);
    let model: MoeModel;
    before(async () => {
      await convertCheckpoint(join(FIXTURES_DIR, name), join(work, name), { dtype: 'fp32' });
      model = await MoeModel.load(join(work, name), { executionProvider: 'cpu', threads: 1 });
    });
    after(async () => model?.dispose());

    test('log-probs within 1e-4 and identical top-k expert sets (near-ties aside)', async () => {
      const V = model.config.vocabSize;
      for (const input of expected.inputs) {
        const { logits, routing } = await model.forward(
          model.newSlot(),
          input.ids,
          input.ids.length,
        );
        assert.ok(maxLogprobError(logits, input.logprobs, V) <= 1e-4);
        let compared = 0;
        for (const r of input.routing) {
          const li = model.config.moeLayers.indexOf(r.layer);
          assert.ok(li >= 0, `layer ${r.layer} is an MoE layer`);
          input.ids.forEach((_, t) => {
            if ((r.margins[t] as number) < NEAR_TIE) return;
            const got = [...(routing[t]?.[li]?.experts ?? [])].sort((a, b) => a - b);
            const want = [...(r.topk[t] as number[])].sort((a, b) => a - b);
            assert.deepEqual(got, want, `token ${t} layer ${r.layer}`);
            compared++;
          });
        }
        assert.ok(compared > 0);
      }
    });

    test('KV-cached decoding (one token at a time, and in chunks) equals full recomputation', async () => {
      const V = model.config.vocabSize;
      const ids = expected.inputs[0]!.ids;
      const full = (await model.forward(model.newSlot(), ids, ids.length)).logits;
      const slot = model.newSlot();
      let err = 0;
      for (let t = 0; t < ids.length; t++) {
        const { logits } = await model.forward(slot, [ids[t]!], 1);
        for (let v = 0; v < V; v++) err = Math.max(err, Math.abs(logits[v]! - full[t * V + v]!));
      }
      assert.ok(err <= 1e-4, `token-by-token max error ${err}`);
      const chunked = model.newSlot();
      await model.forward(chunked, ids.slice(0, 5), 1);
      const { logits } = await model.forward(chunked, ids.slice(5), ids.length - 5);
      const tail = full.subarray(5 * V);
      let errChunk = 0;
      for (let i = 0; i < tail.length; i++) {
        errChunk = Math.max(errChunk, Math.abs(logits[i]! - tail[i]!));
      }
      assert.ok(errChunk <= 1e-4, `chunked max error ${errChunk}`);
    });

    test('greedy generation reproduces transformers, reusing the KV prefix', async () => {
      const slot = model.newSlot();
      const run = async () => {
        const ids: number[] = [];
        const stream = generate(model, null, slot, expected.greedy.prompt, {
          maxTokens: expected.greedy.generated.length,
          temperature: 0,
          topP: 1,
        });
        let r = await stream.next();
        while (!r.done) {
          ids.push(r.value.id);
          assert.equal(r.value.routing.length, model.config.moeLayers.length);
          r = await stream.next();
        }
        return { ids, stats: r.value.stats };
      };
      const first = await run();
      assert.deepEqual(first.ids, expected.greedy.generated);
      assert.equal(first.stats.reusedTokens, 0);
      const second = await run();
      assert.deepEqual(second.ids, expected.greedy.generated);
      assert.equal(second.stats.reusedTokens, expected.greedy.prompt.length - 1);
    });
  });
}
