// The routing sink (src/vscode/core/routingSink.ts) and the panel's store behind it: the
// pipeline adapter turns pipeline events into one stream at a time (speculative tokens never
// stream, a stale generation event is ignored, a throwing sink never breaks a completion), and
// Explain-style streams get the store's own positive ids; the latest stream wins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineEvent } from '../../../src/completion/pipeline';
import type { GeneratedToken } from '../../../src/engine/generate';
import { PanelStateStore } from '../../../src/vscode/core/panelState';
import {
  pipelineRouting,
  type RoutingEnd,
  type RoutingShown,
  type RoutingSink,
  type RoutingStart,
} from '../../../src/vscode/core/routingSink';
import type { HostMessage } from '../../../src/webview/protocol';

const tok = (id: number, text = `t${id}`): GeneratedToken => ({
  id,
  text,
  logprob: -1,
  routing: [{ layer: 0, experts: [id % 4], weights: [1] }],
});
const token = (requestId: number, t: GeneratedToken, speculative = false): PipelineEvent => ({
  type: 'token',
  requestId,
  speculative,
  token: t,
});
const generation = (
  requestId: number,
  outcome: 'done' | 'cancelled' | 'error',
  text: string,
  speculative = false,
): PipelineEvent => ({
  type: 'generation',
  requestId,
  speculative,
  outcome,
  finishReason: undefined,
  stats: undefined,
  fit: undefined,
  modelMs: 1,
  rawText: text,
  text,
  discarded: undefined,
});

/** A sink recording calls as lines: start:<n> file, token:<n> id, end:<n> outcome, shown. */
function recorder() {
  const calls: string[] = [];
  let streams = 0;
  const sink: Pick<RoutingSink, 'start' | 'shown'> = {
    start(meta: RoutingStart) {
      const n = ++streams;
      calls.push(`start:${n} ${meta.file}`);
      return {
        token: (t: GeneratedToken) => void calls.push(`token:${n} ${t.id}`),
        end: (r: RoutingEnd) => void calls.push(`end:${n} ${r.outcome} ${JSON.stringify(r.text)}`),
      };
    },
    shown: (s: RoutingShown) => void calls.push(`shown ${s.file} ${JSON.stringify(s.text)}`),
  };
  return { sink, calls };
}

const file = () => ({ file: 'src/a.ts', languageId: 'typescript' });

test('pipeline adapter: one stream per request; its generation ends it; shown replaces it', () => {
  const { sink, calls } = recorder();
  const r = pipelineRouting(sink, file, (m) => assert.fail(m));
  r.onEvent({ type: 'debounce', requestId: 1, delayMs: 5, superseded: false });
  r.onEvent(token(1, tok(10)));
  r.onEvent(token(1, tok(11)));
  r.onEvent(token(2, tok(20), true)); // speculative: never streams
  r.onEvent(generation(2, 'done', 'x', true));
  r.onEvent(token(3, tok(30))); // a newer request replaces request 1's stream
  r.onEvent(generation(1, 'cancelled', '')); // stale: ignored
  r.onEvent(generation(3, 'done', 'foo'));
  r.onEvent(generation(3, 'done', 'foo')); // once only
  r.onShown({
    text: 'foo',
    tokens: [tok(30)],
    latencyMs: 9,
    uri: 'file:///ws/src/a.ts',
    languageId: 'typescript',
  });
  r.onEvent(token(3, tok(31))); // after shown: a new stream
  assert.deepEqual(calls, [
    'start:1 src/a.ts',
    'token:1 10',
    'token:1 11',
    'start:2 src/a.ts',
    'token:2 30',
    'end:2 done "foo"',
    'shown file:///ws/src/a.ts "foo"',
    'start:3 src/a.ts',
    'token:3 31',
  ]);
});

test('pipeline adapter: a throwing sink is logged and never reaches the pipeline', () => {
  const warnings: string[] = [];
  const sink: Pick<RoutingSink, 'start' | 'shown'> = {
    start() {
      throw new Error('webview gone');
    },
    shown() {
      throw new Error('no panel');
    },
  };
  const r = pipelineRouting(sink, file, (m) => warnings.push(m));
  r.onEvent(token(1, tok(1)));
  r.onEvent(generation(1, 'done', 'a'));
  r.onShown({ text: 'a', tokens: [], latencyMs: 1, uri: 'a.ts', languageId: 'typescript' });
  assert.deepEqual(warnings, ['routing panel: webview gone', 'routing panel: no panel']);
  const throwingFile = pipelineRouting(
    recorder().sink,
    () => {
      throw new Error('no editor');
    },
    (m) => warnings.push(m),
  );
  throwingFile.onEvent(token(2, tok(2)));
  assert.equal(warnings.at(-1), 'routing panel: no editor');
});

test('store: streams get positive ids of their own; the latest stream wins', () => {
  const sent: HostMessage[] = [];
  const store = new PanelStateStore((m) => sent.push(m));
  // Explain streams (no pipeline request id anywhere) ...
  const explain = store.start({ file: 'src/b.py', languageId: 'python' });
  explain.token(tok(1));
  // ... a completion starts meanwhile: it takes the live view.
  const completion = store.start({ file: 'src/a.ts', languageId: 'typescript' });
  explain.token(tok(2)); // ignored: replaced
  completion.token(tok(3));
  explain.end({ outcome: 'cancelled', text: '' }); // ignored: not the live stream
  assert.equal(store.state.live?.file, 'src/a.ts');
  assert.deepEqual(
    store.state.live?.tokens.map((t) => t.id),
    [3],
  );
  store.shown({
    text: 'doc',
    tokens: [tok(1), tok(2)],
    latencyMs: 3,
    file: 'src/b.py',
    languageId: 'python',
  });
  completion.token(tok(4)); // the shown text replaced it too
  assert.equal(store.state.live?.status, 'shown');
  const ids = sent.flatMap((m) =>
    m.type === 'liveStart' || m.type === 'liveShown'
      ? [m.live.requestId]
      : m.type === 'liveToken' || m.type === 'liveCancelled'
        ? [m.requestId]
        : [],
  );
  assert.deepEqual(ids, [1, 1, 2, 2, 3]);
  assert.ok(ids.every((id) => Number.isSafeInteger(id) && id > 0));
  // A stream that ends with nothing gives the view back to the last shown text.
  const empty = store.start({ file: 'src/a.ts', languageId: 'typescript' });
  empty.end({ outcome: 'done', text: '' });
  assert.equal(store.state.live?.requestId, 3);
  const failed = store.start({ file: 'src/a.ts', languageId: 'typescript' });
  failed.token(tok(5));
  failed.end({ outcome: 'done', text: 'x' }); // done with text: stays until shown
  assert.equal(store.state.live?.status, 'generating');
});
