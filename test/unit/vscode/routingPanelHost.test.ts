// The routing panel's host side without VS Code: the HTML shell's Content-Security-Policy and
// the live view's rules (stream, shown, fall back after a cancelled or empty generation), fed
// from pipeline events through the routing-sink adapter as in the extension.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineEvent } from '../../../src/completion/pipeline';
import type { GeneratedToken } from '../../../src/engine/generate';
import { contentSecurityPolicy, makeNonce, panelHtml } from '../../../src/vscode/core/panelHtml';
import { PanelStateStore } from '../../../src/vscode/core/panelState';
import { pipelineRouting } from '../../../src/vscode/core/routingSink';
import type { HostMessage } from '../../../src/webview/protocol';

test('panel HTML: strict CSP with a nonce, only webview-resource assets, no inline code', () => {
  const html = panelHtml({
    cspSource: 'https://x.vscode-cdn.net',
    scriptUri: 'https://x.vscode-cdn.net/ext/media/panel.js',
    styleUri: 'https://x.vscode-cdn.net/ext/media/panel.css',
    nonce: 'abc123',
  });
  const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? '';
  assert.equal(
    csp,
    "default-src 'none'; style-src https://x.vscode-cdn.net; img-src https://x.vscode-cdn.net data:; " +
      "font-src https://x.vscode-cdn.net; script-src 'nonce-abc123'",
  );
  assert.equal(csp, contentSecurityPolicy('https://x.vscode-cdn.net', 'abc123'));
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1);
  assert.match(
    scripts[0]![1]!,
    /nonce="abc123" src="https:\/\/x\.vscode-cdn\.net\/ext\/media\/panel\.js"/,
  );
  assert.equal(scripts[0]![2], '', 'no inline script');
  assert.doesNotMatch(html, /<style|style="/);
  assert.notEqual(makeNonce(), makeNonce());
  assert.ok(makeNonce().length >= 22);
});

const tok = (id: number, text: string): GeneratedToken => ({
  id,
  text,
  logprob: -1,
  routing: [{ layer: 0, experts: [id % 4, (id + 1) % 4], weights: [0.6, 0.4] }],
});
const tokenEvent = (requestId: number, t: GeneratedToken, speculative = false): PipelineEvent => ({
  type: 'token',
  requestId,
  speculative,
  token: t,
});
const generation = (
  requestId: number,
  outcome: 'done' | 'cancelled' | 'error',
  text: string,
): PipelineEvent => ({
  type: 'generation',
  requestId,
  speculative: false,
  outcome,
  finishReason: undefined,
  stats: undefined,
  fit: undefined,
  modelMs: 1,
  rawText: text,
  text,
  discarded: text === '' ? 'empty' : undefined,
});

test('live view: streams, shows, falls back to the last shown completion', () => {
  const sent: HostMessage[] = [];
  const store = new PanelStateStore((m) => sent.push(m));
  const routing = pipelineRouting(
    store,
    () => ({ file: 'src/a.ts', languageId: 'typescript' }),
    (m) => assert.fail(m),
  );
  routing.onEvent(tokenEvent(1, tok(5, 'foo')));
  routing.onEvent(tokenEvent(1, tok(6, '()')));
  assert.deepEqual(
    sent.map((m) => m.type),
    ['liveStart', 'liveToken', 'liveToken'],
  );
  assert.equal(store.state.live?.status, 'generating');
  assert.equal(store.state.live?.file, 'src/a.ts');
  assert.deepEqual(
    store.state.live?.tokens.map((t) => [t.text, t.routing[0]?.experts]),
    [
      ['foo', [1, 2]],
      ['()', [2, 3]],
    ],
  );

  routing.onEvent(generation(1, 'done', 'foo()'));
  routing.onShown({
    text: 'foo',
    tokens: [tok(5, 'foo')],
    latencyMs: 12,
    uri: 'src/a.ts',
    languageId: 'typescript',
  });
  assert.equal(store.state.live?.status, 'shown');
  assert.equal(store.state.live?.shownText, 'foo');
  assert.equal(store.state.live?.tokens.length, 1);
  const shownId = store.state.live?.requestId;

  // A speculative precompute never streams into the view.
  sent.length = 0;
  routing.onEvent(tokenEvent(2, tok(7, 'x'), true));
  assert.equal(sent.length, 0);

  // A new request streams, then is cancelled: back to request 1's completion.
  routing.onEvent(tokenEvent(3, tok(8, 'bar')));
  assert.equal(store.state.live?.status, 'generating');
  assert.deepEqual(
    store.state.live?.tokens.map((t) => t.text),
    ['bar'],
  );
  routing.onEvent(generation(3, 'cancelled', ''));
  assert.equal(store.state.live?.requestId, shownId);
  const last = sent.at(-1);
  assert.ok(last?.type === 'liveCancelled' && last.fallback?.requestId === shownId);

  // A generation that ends with nothing to show also falls back.
  routing.onEvent(tokenEvent(4, tok(9, '}')));
  routing.onEvent(generation(4, 'done', ''));
  assert.equal(store.state.live?.requestId, shownId);

  // resend() hands a reloaded webview the whole state.
  sent.length = 0;
  store.resend();
  assert.deepEqual(sent, [{ type: 'state', state: store.state }]);
});
