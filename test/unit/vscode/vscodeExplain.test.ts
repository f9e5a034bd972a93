// "Explain Selection" wired to the routing panel, against the in-memory vscode mock: the
// generation streams into the live view as a stream of its own (positive ids, no pipeline
// events), is then shown whole, and the result is offered (a doc comment inserted above the
// code) or written beside it (instruct models); a failed generation gives the view back.
import '../vscodeMock';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { GeneratedToken } from '../../../src/engine/generate';
import * as explain from '../../../src/vscode/commands/explain';
import { COMMANDS } from '../../../src/vscode/core/commandIds';
import { defaultSettings } from '../../../src/vscode/core/settingsSchema';
import { RoutingPanel } from '../../../src/vscode/routingPanel';
import type { HostMessage } from '../../../src/webview/protocol';
import { commands, Position, state, textDocument, Uri, window, workspace } from '../vscodeMock';

const tok = (id: number, text: string): GeneratedToken => ({
  id,
  text,
  logprob: -0.5,
  routing: [{ layer: 0, experts: [id % 4], weights: [1] }],
});

const CODE = 'const a = 1;\n  function add(x, y) {\n    return x + y;\n  }\n';

interface Call {
  method: string;
  params: { input: { kind: string; prefix?: string } };
}

function setup(opts: { chat: boolean; tokens: GeneratedToken[]; fail?: Error }) {
  const calls: Call[] = [];
  const panel = new RoutingPanel(Uri.file('/ext') as never, { warn: () => {}, info: () => {} });
  const deps: explain.ExplainDeps = {
    client: {
      async call(method: string, params: unknown, o: { onToken?: (t: GeneratedToken) => void }) {
        calls.push({ method, params } as Call);
        for (const t of opts.tokens) o.onToken?.(t);
        if (opts.fail) throw opts.fail;
        const text = opts.tokens.map((t) => t.text).join('');
        return { text, finishReason: 'stop', stats: { prefillMs: 7 } };
      },
    } as never,
    engine: { ensureLoaded: async () => ({ chat: opts.chat }) } as never,
    routing: panel,
    settings: { current: defaultSettings() } as never,
    log: { error: () => {}, info: () => {} },
  };
  const subs = explain.register(deps);
  // The panel is open and its webview ready: it receives what streams.
  panel.show('live');
  const webview = state.panels[0]!;
  webview.receive({ type: 'ready' });
  webview.posted.length = 0;
  return {
    calls,
    panel,
    posted: () => webview.posted as HostMessage[],
    dispose: () => {
      for (const s of subs) s.dispose();
      panel.dispose();
    },
  };
}

function selectFunction() {
  const doc = textDocument('/ws/src/add.ts', CODE);
  const inserts: [Position, string][] = [];
  window.activeTextEditor = {
    document: doc,
    selection: { isEmpty: false, start: new Position(1, 2), end: new Position(3, 3) },
    edit: async (cb: (b: { insert(p: Position, t: string): void }) => void) => {
      cb({ insert: (p, t) => inserts.push([p, t]) });
      return true;
    },
  };
  return inserts;
}

const saved = { ...window };
beforeEach(() => {
  Object.assign(window, saved);
  state.reset();
});

test('a doc comment: its routing streams into the panel, then it is offered and inserted', async () => {
  const tokens = [tok(1, 'Adds two numbers'), tok(2, ' and returns'), tok(3, ' their sum.')];
  const t = setup({ chat: false, tokens });
  const inserts = selectFunction();
  window.showInformationMessage = (async (text: string, ...items: string[]) => {
    state.messages.push({ kind: 'info', text });
    return items[0];
  }) as never;
  try {
    await commands.executeCommand(COMMANDS.explainSelection);
    assert.equal(t.calls.length, 1);
    assert.equal(t.calls[0]?.params.input.kind, 'fim');
    assert.ok(t.calls[0]?.params.input.prefix?.endsWith('const a = 1;\n  /**\n   * '));
    const types = t.posted().map((m) => m.type);
    assert.deepEqual(types, [
      'view',
      'liveStart',
      'liveToken',
      'liveToken',
      'liveToken',
      'liveShown',
    ]);
    const ids = t
      .posted()
      .flatMap((m) => (m.type === 'liveStart' || m.type === 'liveShown' ? [m.live.requestId] : []));
    assert.ok(
      ids.every((id) => id > 0),
      `positive stream ids: ${ids.join(', ')}`,
    );
    const live = t.panel.store.state.live;
    assert.equal(live?.status, 'shown');
    assert.equal(live?.file, 'src/add.ts');
    assert.equal(live?.tokens.length, 3);
    assert.deepEqual(state.messages, [
      { kind: 'info', text: 'MoE Lens: Adds two numbers and returns their sum.' },
    ]);
    assert.deepEqual(inserts, [
      [new Position(1, 0), '  /**\n   * Adds two numbers and returns their sum.\n   */\n'],
    ]);
  } finally {
    window.activeTextEditor = undefined;
    t.dispose();
  }
});

test('a failed generation: the live view falls back, the error is shown once', async () => {
  const t = setup({ chat: false, tokens: [tok(1, 'Adds')], fail: new Error('engine down') });
  selectFunction();
  try {
    await commands.executeCommand(COMMANDS.explainSelection);
    const types = t.posted().map((m) => m.type);
    assert.deepEqual(types, ['view', 'liveStart', 'liveToken', 'liveCancelled']);
    assert.equal(t.panel.store.state.live, null, 'nothing was shown before');
    assert.deepEqual(state.messages, [
      { kind: 'error', text: 'MoE Lens: explain failed: engine down' },
    ]);
  } finally {
    window.activeTextEditor = undefined;
    t.dispose();
  }
});

test('an instruct model: the explanation streams into a Markdown document beside the code', async () => {
  const tokens = [tok(1, 'It adds'), tok(2, ' x and y.')];
  const t = setup({ chat: true, tokens });
  selectFunction();
  let text = '';
  const out = {
    get lineCount() {
      return text.split('\n').length;
    },
    lineAt: (line: number) => ({
      range: { end: new Position(line, (text.split('\n')[line] ?? '').length) },
    }),
  };
  Object.assign(workspace, { openTextDocument: async () => out });
  Object.assign(window, {
    showTextDocument: async () => ({
      document: out,
      edit: async (cb: (b: { insert(p: Position, s: string): void }) => void) => {
        cb({ insert: (_p, s) => (text += s) }); // appends only: at the end
        return true;
      },
    }),
  });
  try {
    await commands.executeCommand(COMMANDS.explainSelection);
    assert.equal(t.calls[0]?.params.input.kind, 'chat');
    assert.equal(text, '# Explanation\n\nIt adds x and y.');
    assert.equal(t.panel.store.state.live?.status, 'shown');
    assert.equal(t.panel.store.state.live?.shownText, 'It adds x and y.');
  } finally {
    window.activeTextEditor = undefined;
    t.dispose();
  }
});
