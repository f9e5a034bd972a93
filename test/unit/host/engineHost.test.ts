// The engine host process through its typed client: streaming, cancellation, and recovery from
// a killed engine (pending calls fail cleanly; the next call restarts it and reloads the model).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../../src/convert/convert';
import { EngineClient, EngineCrashedError } from '../../../src/host/engineClient';
import { FIXTURES_DIR, loadExpected } from '../fixtureData';

const work = mkdtempSync(join(tmpdir(), 'moe-lens-host-'));
const modelDir = join(work, 'mixtral');
const expected = loadExpected('mixtral');
const client = new EngineClient({
  hostPath: join(__dirname, '..', '..', '..', 'src', 'host', 'engineHost.ts'),
  execArgv: ['--import', 'tsx'],
  backoffMs: 10,
});

before(async () => {
  await convertCheckpoint(join(FIXTURES_DIR, 'mixtral'), modelDir, { dtype: 'fp32' });
});
after(() => {
  client.dispose();
  rmSync(work, { recursive: true, force: true });
});

const load = () => client.call('load', { modelDir, executionProvider: 'cpu', threads: 1 });
const greedy = (maxTokens: number) => ({
  input: { kind: 'ids' as const, ids: expected.greedy.prompt },
  options: { maxTokens, temperature: 0, topP: 1 },
  slot: 'completion',
});

test('load reports the model; complete streams tokens equal to transformers greedy decoding', async () => {
  const info = await load();
  assert.equal(info.architecture, 'MixtralForCausalLM');
  const streamed: number[] = [];
  const result = await client.call('complete', greedy(expected.greedy.generated.length), {
    onToken: (t) => streamed.push(t.id),
  });
  assert.deepEqual(streamed, expected.greedy.generated);
  assert.equal(result.finishReason, 'length');
});

test('an aborted request stops early with finishReason cancelled', async () => {
  const controller = new AbortController();
  let n = 0;
  const result = await client.call('complete', greedy(100_000), {
    signal: controller.signal,
    onToken: () => {
      if (++n === 3) controller.abort();
    },
  });
  assert.equal(result.finishReason, 'cancelled');
  assert.ok(n < 100, `stopped after ${n} tokens`);
});

test('bad input in the engine is a user error, not a crash', async () => {
  const pid = client.pid;
  await assert.rejects(
    client.call('complete', { ...greedy(4), input: { kind: 'ids', ids: [1, 99999] } }),
    /outside the vocabulary/,
  );
  assert.equal(client.pid, pid);
});

test('a killed engine fails the pending call cleanly and restarts with the model on the next', async () => {
  const pending = client.call('complete', greedy(100_000), {
    onToken: () => {
      if (client.pid) process.kill(client.pid, 'SIGKILL');
    },
  });
  await assert.rejects(pending, (e: unknown) => e instanceof EngineCrashedError);
  const streamed: number[] = [];
  await client.call('complete', greedy(expected.greedy.generated.length), {
    onToken: (t) => streamed.push(t.id),
  });
  assert.deepEqual(streamed, expected.greedy.generated);
});

test('a failed load restores the previous model and says so; the engine keeps serving it', async () => {
  await load();
  await assert.rejects(
    client.call('load', {
      modelDir: join(work, 'no-such-model'),
      executionProvider: 'cpu',
      threads: 1,
    }),
    (e: Error) => {
      assert.match(e.message, /no-such-model/);
      assert.match(e.message, /the previous model .*mixtral is loaded again/);
      return true;
    },
  );
  const r = await client.call('complete', greedy(2));
  assert.equal(r.finishReason, 'length', 'the previous model still completes');
});

test('a request cancelled while queued behind a long one is answered at once and never runs', async () => {
  await load();
  const first = new AbortController();
  let firstTokens = 0;
  const long = client.call('complete', greedy(100_000), {
    signal: first.signal,
    onToken: () => void firstTokens++,
  });
  const second = new AbortController();
  let secondTokens = 0;
  const queued = client.call('complete', greedy(100_000), {
    signal: second.signal,
    onToken: () => void secondTokens++,
  });
  // Let the long one start streaming, then cancel the queued one.
  while (firstTokens < 2) await new Promise((r) => setTimeout(r, 5));
  second.abort();
  await assert.rejects(queued, /cancel/i);
  assert.ok(
    !(await Promise.race([long.then(() => true), Promise.resolve(false)])),
    'long still runs',
  );
  first.abort();
  assert.equal((await long).finishReason, 'cancelled');
  assert.equal(secondTokens, 0, 'the cancelled request never ran');
  const r = await client.call('complete', greedy(2));
  assert.equal(r.finishReason, 'length', 'the engine keeps serving');
});

test('analyze with a language id returns each token’s syntax class (classified in the engine process)', async () => {
  // The stand-in code model: it has a tokenizer (the fixture checkpoints do not).
  const tiny = join(__dirname, '..', '..', '..', 'models', 'tiny-test');
  await client.call('load', { modelDir: tiny, executionProvider: 'cpu', threads: 1 });
  const text = 'const x = 1; // note\nreturn "s";\n';
  const a = await client.call('analyze', {
    text,
    maxTokens: 64,
    fullProbs: false,
    languageId: 'typescript',
    slot: 'analysis',
  });
  assert.equal(a.classes?.length, a.tokens.length);
  assert.ok(a.classes?.includes('keyword'), JSON.stringify(a.classes));
  const plain = await client.call('analyze', { text, maxTokens: 64, fullProbs: false, slot: 'a' });
  assert.equal(plain.classes, undefined, 'no language id: no classes');
});
