// `bench` on the shipped default model (context 512): a prompt may fill the whole context (the
// issue's time-to-first-token figure is for a 512-token prompt); decode is then timed on the
// same last positions of the window; a prompt longer than the context is a clear error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBench } from '../../../src/engine/bench';
import { useEngine } from '../engineFixture';

const engine = useEngine('moe-lens-code');

test('a prompt as long as the context: time to first token, then decode at the window end', async () => {
  const ctx = engine().model.config.contextLength;
  assert.equal(ctx, 512);
  const r = await runBench(engine(), { promptTokens: ctx, decodeTokens: 8, runs: 1, threads: 1 });
  assert.equal(r.prefill.tokens, 512);
  assert.deepEqual([r.decode.tokens, r.decode.startPosition], [8, 504]);
  assert.ok(r.timeToFirstTokenMs >= (r.prefill.tokens / r.prefill.tokensPerSecond) * 1000 - 1e-6);
  assert.ok(r.decode.tokensPerSecond > 0 && Number.isFinite(r.decode.tokensPerSecond));
});

test('a short prompt decodes right after itself', async () => {
  const r = await runBench(engine(), { promptTokens: 16, decodeTokens: 4, runs: 1, threads: 1 });
  assert.equal(r.decode.startPosition, 16);
});

test('a prompt longer than the context, or decode as long as it, is refused clearly', async () => {
  await assert.rejects(
    runBench(engine(), { promptTokens: 513, decodeTokens: 8, runs: 1, threads: 1 }),
    /--prompt-tokens 513 exceeds the model's context of 512/,
  );
  await assert.rejects(
    runBench(engine(), { promptTokens: 16, decodeTokens: 512, runs: 1, threads: 1 }),
    /--decode-tokens 512 must be below the context of 512/,
  );
});
