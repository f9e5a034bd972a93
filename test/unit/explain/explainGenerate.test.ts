// Explain's engine side without VS Code (src/explain/chat.ts, generate.ts): the instruct-model
// request, one generation with its tokens handed on as they stream, and the batching of streamed
// text into ordered, non-overlapping editor appends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompletionEngine } from '../../../src/completion/types';
import type { GeneratedToken, GenerationResult } from '../../../src/engine/generate';
import { chatExplainRequest, EXPLANATION_HEADER } from '../../../src/explain/chat';
import { BatchedAppender, explainGenerate } from '../../../src/explain/generate';

const tok = (id: number, text: string | null): GeneratedToken => ({
  id,
  text,
  logprob: -0.5,
  routing: [{ layer: 0, experts: [id % 4], weights: [1] }],
});

function fakeEngine(tokens: GeneratedToken[], text: string | null) {
  const calls: { params: unknown; signal: AbortSignal | undefined }[] = [];
  const engine: Pick<CompletionEngine, 'complete'> = {
    async complete(params, opts) {
      calls.push({ params, signal: opts.signal });
      for (const t of tokens) opts.onToken?.(t);
      return { text, finishReason: 'stop', stats: { prefillMs: 42 } } as GenerationResult;
    },
  };
  return { engine, calls };
}

test('chatExplainRequest: system and user messages with the code fenced, explain slot', () => {
  const p = chatExplainRequest('x++', 'c');
  assert.equal(p.slot, 'explain');
  assert.deepEqual(p.input, {
    kind: 'chat',
    messages: [
      { role: 'system', content: 'You are a concise, precise programming assistant.' },
      { role: 'user', content: 'Explain what this c code does.\n\n```c\nx++\n```' },
    ],
  });
  assert.deepEqual(p.options, {
    maxTokens: 512,
    temperature: 0,
    topP: 1,
    stop: [],
    fullProbs: true,
  });
  assert.equal(EXPLANATION_HEADER, '# Explanation\n\n');
});

test('explainGenerate: tokens handed on in order and kept; text, prefill time, signal', async () => {
  const tokens = [tok(1, 'Adds'), tok(2, ' two'), tok(3, null)];
  const { engine, calls } = fakeEngine(tokens, 'Adds two');
  const seen: GeneratedToken[] = [];
  const signal = new AbortController().signal;
  const params = chatExplainRequest('a + b', 'typescript');
  const g = await explainGenerate(engine, params, { signal, onToken: (t) => seen.push(t) });
  assert.deepEqual(seen, tokens);
  assert.deepEqual(g, { text: 'Adds two', tokens, latencyMs: 42 });
  assert.equal(calls[0]?.params, params);
  assert.equal(calls[0]?.signal, signal);
  // No text from the engine (no tokenizer): ''.
  const none = await explainGenerate(fakeEngine([], null).engine, params, {});
  assert.equal(none.text, '');
});

test('explainGenerate: an engine error reaches the caller', async () => {
  const engine: Pick<CompletionEngine, 'complete'> = {
    complete: async () => {
      throw new Error('engine down');
    },
  };
  await assert.rejects(explainGenerate(engine, chatExplainRequest('x', 'c'), {}), /engine down/);
});

test('BatchedAppender: pushes batched, appends in order and never overlapping', async () => {
  const appended: string[] = [];
  let running = 0;
  let overlapped = false;
  const appender = new BatchedAppender(async (text) => {
    overlapped ||= running > 0;
    running++;
    await new Promise((r) => setTimeout(r, 5));
    appended.push(text);
    running--;
  });
  appender.push('a');
  appender.push('b');
  const first = appender.flush();
  appender.push('c');
  const second = appender.flush();
  await appender.flush(); // nothing new: waits for the appends under way
  assert.deepEqual(appended, ['ab', 'c']);
  await Promise.all([first, second]);
  assert.equal(overlapped, false);
});

test('BatchedAppender: start flushes on an interval, stop flushes the rest', async () => {
  const appended: string[] = [];
  const appender = new BatchedAppender(async (text) => void appended.push(text));
  appender.start(5);
  appender.push('one');
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(appended, ['one']);
  appender.push('two');
  await appender.stop();
  assert.deepEqual(appended, ['one', 'two']);
  appender.push('three');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(appended, ['one', 'two'], 'stopped: no more timed flushes');
});
