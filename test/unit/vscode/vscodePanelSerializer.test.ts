// The routing panel survives a window reload: VS Code hands the panel and the state its webview
// saved to our serializer (registered at activation; activation event onWebviewPanel), which
// checks that state (core/panelRestore.ts), seeds the host's store with it and makes the panel
// ours again: strict CSP with a nonce, assets only from media/, validated messages, and the whole
// state resent after the webview's `ready`. Against the in-memory vscode mock.
import '../vscodeMock';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, test } from 'node:test';
import { RoutingStatsAccumulator } from '../../../src/analysis/routingStats';
import type { GeneratedToken } from '../../../src/engine/generate';
import { activate } from '../../../src/extension';
import { parseSavedPanelState } from '../../../src/vscode/core/panelRestore';
import {
  PANEL_VIEW_TYPE,
  registerPanelSerializer,
  RoutingPanel,
} from '../../../src/vscode/routingPanel';
import type { Analysis, HostMessage, PanelState } from '../../../src/webview/protocol';
import { state, Uri, WebviewPanel } from '../vscodeMock';

const ROOT = join(__dirname, '..', '..', '..');
const EXT = Uri.file('/ext') as never;
const tok = (id: number, text: string): GeneratedToken => ({
  id,
  text,
  logprob: -0.25,
  routing: [{ layer: 0, experts: [id % 4, (id + 1) % 4], weights: [0.7, 0.3] }],
});

function textAnalysis(): Analysis {
  const acc = new RoutingStatsAccumulator({ model: 'tiny', experts: 4, topK: 2, moeLayers: [0] });
  const tokens = [tok(1, 'const'), tok(2, ' x'), tok(3, ' ='), tok(4, ' 1')];
  acc.addFile(
    'typescript',
    tokens.map((t) => ({ ...t, text: t.text ?? '', cls: 'other' })),
  );
  return {
    kind: 'text',
    title: 'src/a.ts',
    languageId: 'typescript',
    tokens: tokens.map((t) => ({
      id: t.id,
      text: t.text ?? '',
      logprob: null,
      routing: t.routing,
    })),
    truncated: false,
    stats: acc.result(0.5),
  };
}

let warnings: string[] = [];
const log = { warn: (m: string) => void warnings.push(m), info: () => {} };

/** A first window: the panel shows a completion and an analysis; what its webview saved. */
function savedByFirstWindow(): PanelState & { selectedToken: number; analysisLayer: number } {
  const first = new RoutingPanel(EXT, log);
  try {
    first.shown({
      text: 'foo()',
      tokens: [tok(5, 'foo'), tok(6, '()')],
      latencyMs: 12,
      file: 'file:///ws/src/a.ts',
      languageId: 'typescript',
    });
    first.analysis(textAnalysis());
    // The webview keeps what the host sent (setState: plain JSON) plus its own view settings.
    const saved = JSON.parse(JSON.stringify(first.store.state)) as PanelState;
    return { ...saved, selectedToken: 1, analysisLayer: -1 };
  } finally {
    first.dispose();
  }
}

async function restoreInto(panel: RoutingPanel, saved: unknown): Promise<WebviewPanel> {
  const serializer = state.serializers.get(PANEL_VIEW_TYPE);
  assert.ok(serializer, 'a serializer for the panel view type');
  const restored = new WebviewPanel(PANEL_VIEW_TYPE, 'MoE Lens: Expert Routing');
  await serializer.deserializeWebviewPanel(restored, saved);
  void panel;
  return restored;
}

beforeEach(() => {
  state.reset();
  warnings = [];
});

test('a restored panel shows its last state, with the strict CSP and the ready handshake', async () => {
  const saved = savedByFirstWindow();
  state.reset();
  const panel = new RoutingPanel(EXT, log);
  const visibility: boolean[] = [];
  panel.onDidChangeVisibility((v) => visibility.push(v));
  const sub = registerPanelSerializer(panel);
  try {
    const restored = await restoreInto(panel, saved);
    // Scripts on, resources only from the extension's media/ folder.
    assert.equal(restored.webview.options.enableScripts, true);
    assert.deepEqual(
      restored.webview.options.localResourceRoots?.map((u) => u.path),
      ['/ext/media'],
    );
    const html = restored.webview.html;
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce && nonce.length >= 22, csp);
    assert.match(csp, /^default-src 'none'; /);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.ok(
      html.includes(
        `<script nonce="${nonce}" src="https://mock.vscode-cdn.net/ext/media/panel.js"></script>`,
      ),
    );
    assert.ok(html.includes('href="https://mock.vscode-cdn.net/ext/media/panel.css"'));
    assert.deepEqual(visibility, [true], 'the pipeline asks for full router probs again');
    assert.equal(panel.visible, true);

    // Nothing is posted before the webview says ready; then the whole restored state.
    assert.deepEqual(restored.posted, []);
    restored.receive({ type: 'ready' });
    const [first] = restored.posted as HostMessage[];
    assert.ok(first?.type === 'state');
    assert.deepEqual(first.state, {
      model: null, // the model is this host's: none loaded yet
      live: saved.live,
      analysis: saved.analysis,
      view: 'analysis',
    });
    assert.equal(first.state.live?.file, 'src/a.ts');
    assert.deepEqual(warnings, []);

    // The panel is ours: the command reveals it (no second panel), messages are validated.
    panel.show('live');
    assert.equal(state.panels.length, 0, 'no new panel created');
    assert.equal(restored.reveals, 1);
    assert.deepEqual(restored.posted.at(-1), { type: 'view', view: 'live' });
    restored.receive({ type: 'export', format: 'exe', name: 'x', data: '' });
    assert.deepEqual(warnings, ['routing panel: ignored a message that is not a panel message']);

    // A new completion streams with an id of its own after the restored one.
    const stream = panel.start({ file: 'src/a.ts', languageId: 'typescript' });
    stream.token(tok(7, 'bar'));
    const start = restored.posted.find((m) => (m as HostMessage).type === 'liveStart');
    assert.ok(start && (start as { live: { requestId: number } }).live.requestId > 1);
    // It is cancelled: the view falls back to the restored completion.
    stream.end({ outcome: 'cancelled', text: '' });
    assert.deepEqual(panel.store.state.live, saved.live);

    // Hidden, then closed: the pipeline stops asking for full distributions.
    restored.setVisible(false);
    restored.dispose();
    assert.deepEqual(visibility, [true, false, false]);
    assert.equal(panel.visible, false);
  } finally {
    sub.dispose();
    panel.dispose();
  }
  assert.equal(state.serializers.size, 0, 'the serializer is disposed with its subscription');
});

test('a hostile or foreign saved state is dropped whole; the panel still restores', async () => {
  const panel = new RoutingPanel(EXT, log);
  const sub = registerPanelSerializer(panel);
  try {
    const hostile = JSON.parse(
      '{"__proto__": {"polluted": true}, "view": "analysis",' +
        ' "live": {"status": "shown", "requestId": 1, "file": "a", "languageId": "ts", "tokens": "x"}}',
    );
    const restored = await restoreInto(panel, hostile);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] as string,
      /restored without its last state: not a panel state \(tokens\)/,
    );
    restored.receive({ type: 'ready' });
    assert.deepEqual(restored.posted, [
      { type: 'state', state: { model: null, live: null, analysis: null, view: 'live' } },
    ]);
    // A second restore while a panel is open: one panel at a time.
    const extra = await restoreInto(panel, undefined);
    assert.equal(extra.disposed, true);
    assert.equal(restored.disposed, false);
  } finally {
    sub.dispose();
    panel.dispose();
  }
});

test('parseSavedPanelState: the protocol shapes pass, anything else does not', () => {
  const saved = savedByFirstWindow();
  const ok = parseSavedPanelState(saved);
  assert.ok(ok.ok);
  assert.deepEqual(ok.state, { live: saved.live, analysis: saved.analysis, view: 'analysis' });
  // A generation a reload cut short is not restored; the rest is.
  const cut = parseSavedPanelState({ ...saved, live: { ...saved.live, status: 'generating' } });
  assert.ok(cut.ok && cut.state.live === null && cut.state.analysis !== null);
  assert.deepEqual(parseSavedPanelState(null), { ok: false, reason: 'nothing saved' });
  const bad: unknown[] = [
    'state',
    [saved],
    { ...saved, view: 'settings' },
    { ...saved, analysis: { ...saved.analysis, kind: 'other' } },
    { ...saved, live: { ...saved.live, requestId: 1.5 } },
    {
      ...saved,
      live: { ...saved.live, tokens: [{ text: 'a', id: 1, logprob: 'x', routing: [] }] },
    },
    { ...saved, live: { ...saved.live, tokens: Array.from({ length: 100_001 }, () => null) } },
    {
      ...saved,
      analysis: {
        ...saved.analysis,
        stats: { ...saved.analysis?.stats, layers: [{ layer: 0, load: ['1'] }] },
      },
    },
    {
      ...saved,
      analysis: { kind: 'workspace', title: 't', stats: saved.analysis?.stats, skipped: [1] },
    },
  ];
  for (const b of bad) {
    const r = parseSavedPanelState(b);
    assert.equal(r.ok, false, JSON.stringify(b).slice(0, 120));
  }
});

test('activate registers the serializer; package.json activates on a restored panel', () => {
  const subscriptions: { dispose(): unknown }[] = [];
  activate({
    subscriptions,
    extensionPath: '/nowhere',
    extensionUri: EXT,
    extension: { packageJSON: { version: '0' } },
  } as never);
  try {
    assert.ok(state.serializers.has(PANEL_VIEW_TYPE));
  } finally {
    for (const d of subscriptions.reverse()) d.dispose();
  }
  assert.equal(state.serializers.size, 0);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    activationEvents: string[];
  };
  assert.ok(pkg.activationEvents.includes(`onWebviewPanel:${PANEL_VIEW_TYPE}`));
  assert.ok(pkg.activationEvents.includes('onStartupFinished'));
});
