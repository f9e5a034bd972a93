// activate() against the in-memory vscode mock: everything contributed is registered (the
// routing panel's serializer too) and owned by context.subscriptions; a missing or corrupt model
// gives exactly one error notification while the editor keeps asking; with the built engine host
// (dist/engineHost.js, `npm run build`) and the stand-in model in models/, the first request
// loads it under the progress notification, the status bar names it, and the open routing panel
// follows the completion (model, stream, shown) through the routing sink.
import '../vscodeMock';
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execSync } from 'node:child_process';
import { join } from 'node:path';
import { activate } from '../../../src/extension';
import { COMMANDS, INTERNAL_COMMANDS } from '../../../src/vscode/core/commandIds';
import { PANEL_VIEW_TYPE } from '../../../src/vscode/routingPanel';
import type { HostMessage } from '../../../src/webview/protocol';
import {
  CancellationTokenSource,
  commands,
  InlineCompletionTriggerKind,
  positionAt,
  state,
  textDocument,
  Uri,
  window,
} from '../vscodeMock';

const ROOT = join(__dirname, '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'moe-lens-activate-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Provider {
  provideInlineCompletionItems(...args: unknown[]): Promise<unknown>;
}

let subscriptions: { dispose(): unknown }[] = [];

const TINY = join(ROOT, 'models', 'tiny-test');

function start(extensionPath: string, config: Record<string, unknown> = {}) {
  for (const [k, v] of Object.entries(config)) state.config.set(`moeLens.${k}`, v);
  subscriptions = [];
  const version = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  ).version;
  activate({
    subscriptions,
    extensionPath,
    extensionUri: Uri.file(extensionPath),
    extension: { packageJSON: { version } },
  } as never);
  const provider = state.providers[0]?.provider as Provider;
  const text = 'const x = 1;\nfunction f() {\n  return \n}\n';
  const offset = text.indexOf('return ') + 'return '.length;
  const request = (path = '/ws/src/a.ts') =>
    provider.provideInlineCompletionItems(
      textDocument(path, text),
      positionAt(text, offset),
      { triggerKind: InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: undefined },
      new CancellationTokenSource().token,
    );
  return { request, status: () => state.statusItems[0] };
}

function stop(): void {
  for (const d of subscriptions.reverse()) d.dispose();
}

beforeEach(() => state.reset());

test('activate registers every contributed command, the provider and the status bar', () => {
  const { status } = start(join(work, 'empty-ext'));
  try {
    for (const id of [...Object.values(COMMANDS), ...Object.values(INTERNAL_COMMANDS)]) {
      assert.ok(state.commands.has(id), `${id} registered`);
    }
    assert.equal(state.providers.length, 1);
    assert.equal(status()?.shown, true);
    assert.equal(status()?.text, '$(sparkle) MoE Lens');
    assert.equal(status()?.command, INTERNAL_COMMANDS.statusMenu);
    assert.ok(state.serializers.has(PANEL_VIEW_TYPE), 'the routing panel is restored on reload');
  } finally {
    stop();
  }
  assert.equal(state.commands.size, 0, 'every command disposed with the subscriptions');
  assert.equal(state.serializers.size, 0);
  assert.equal(state.providers.length, 0);
  assert.equal(status()?.disposed, true);
});

test('no model anywhere: one error notification however often the editor asks', async () => {
  const { request, status } = start(join(work, 'empty-ext'));
  try {
    for (let i = 0; i < 4; i++) assert.equal(await request(), undefined);
    const errors = state.messages.filter((m) => m.kind === 'error');
    assert.equal(errors.length, 1, JSON.stringify(state.messages));
    assert.match(errors[0]?.text ?? '', /no converted model/);
    assert.match(status()?.text ?? '', /^\$\(error\)/);
  } finally {
    stop();
  }
});

test('toggle flips moeLens.enable and the status bar shows it', async () => {
  const { status } = start(join(work, 'empty-ext'));
  try {
    await commands.executeCommand(COMMANDS.toggle);
    assert.equal(state.config.get('moeLens.enable'), false);
    assert.match(status()?.text ?? '', /^\$\(circle-slash\)/);
    await commands.executeCommand(COMMANDS.toggle);
    assert.equal(state.config.get('moeLens.enable'), true);
  } finally {
    stop();
  }
});

const built = existsSync(join(ROOT, 'dist', 'engineHost.js'));
const skip = built ? false : 'dist/engineHost.js not built (npm run build)';

test(
  'a corrupt model folder: one clear notification, the editor stays usable',
  { skip },
  async () => {
    const bad = join(work, 'corrupt-model');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'genai_config.json'), '{ not json');
    const { request } = start(ROOT, { modelPath: bad, threads: 1 });
    try {
      for (let i = 0; i < 3; i++) assert.equal(await request(), undefined);
      const errors = state.messages.filter((m) => m.kind === 'error');
      assert.equal(errors.length, 1, JSON.stringify(state.messages));
      assert.match(errors[0]?.text ?? '', /corrupt-model/);
    } finally {
      stop();
    }
  },
);

test('the stand-in model loads lazily on the first request, once', { skip }, async () => {
  const { request, status } = start(ROOT, {
    threads: 1,
    executionProvider: 'cpu',
    debounceMs: 0,
    maxTokens: 4,
    // The random stand-in always suggests something; the trained default may rightly suggest nothing.
    modelPath: TINY,
    minConfidence: -20, // a random model is never confident
  });
  try {
    assert.equal(state.progress.length, 0, 'nothing loads at activation');
    const first = (await request()) as { insertText: string }[];
    assert.equal(first.length, 1);
    assert.ok((first[0]?.insertText ?? '').length > 0);
    await request();
    assert.deepEqual(state.progress, ['MoE Lens: loading model…']);
    assert.deepEqual(state.messages, []);
    assert.match(status()?.text ?? '', /^\$\(sparkle\) tiny-test \d+ ms$/);
    const tooltip = status()?.tooltip?.value ?? '';
    assert.match(tooltip, /Execution provider: cpu/);
    assert.match(tooltip, /Last suggestion: cache hit/);
  } finally {
    stop();
  }
});

test('the open routing panel follows the model and the completion shown', { skip }, async () => {
  const { request } = start(ROOT, {
    threads: 1,
    executionProvider: 'cpu',
    debounceMs: 0,
    maxTokens: 4,
    modelPath: TINY,
    minConfidence: -20, // a random model is never confident
  });
  try {
    await commands.executeCommand(COMMANDS.showRoutingPanel);
    const webview = state.panels[0];
    assert.ok(webview, 'the command opened the panel');
    webview.receive({ type: 'ready' });
    const items = (await request()) as { insertText: string }[];
    assert.equal(items.length, 1);
    const posted = webview.posted as HostMessage[];
    const types = posted.map((m) => m.type);
    assert.equal(types[0], 'state');
    assert.ok(types.includes('model'), types.join(' '));
    const start = types.indexOf('liveStart');
    assert.ok(start > 0 && types[start + 1] === 'liveToken', types.join(' '));
    const shown = [...posted].reverse().find((m) => m.type === 'liveShown');
    assert.ok(shown?.type === 'liveShown');
    assert.equal(shown.live.file, 'src/a.ts', 'a workspace-relative path, not a URI');
    assert.ok(shown.live.requestId > 0);
    assert.ok(items[0]?.insertText.startsWith(shown.live.shownText ?? '\0'));
  } finally {
    stop();
  }
});

test(
  'a killed engine recovers on the next request, without a notification',
  { skip },
  async (t) => {
    if (process.platform !== 'linux') return t.skip('finds the engine process with ps');
    const { request } = start(ROOT, {
      threads: 1,
      executionProvider: 'cpu',
      debounceMs: 0,
      maxTokens: 4,
      modelPath: TINY,
      minConfidence: -20, // a random model is never confident
    });
    try {
      assert.equal(((await request('/ws/one.ts')) as unknown[]).length, 1);
      const pids = execSync(`ps -o pid=,args= --ppid ${process.pid}`, { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.includes('engineHost.js'))
        .map((line) => Number(line.trim().split(/\s+/)[0]));
      assert.ok(pids.length > 0, 'the engine host runs as a child process');
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      // Another document: the pipeline's cache cannot answer, the engine must.
      // The random stand-in may rightly have nothing to show here: what counts is that the
      // restarted engine answered (a generation that finished, not an error).
      await request('/ws/two.ts');
      const restarted = state.logs.findIndex((l) => l.includes('engine restarted'));
      assert.ok(restarted >= 0, JSON.stringify(state.logs.slice(-5)));
      assert.ok(
        state.logs.slice(restarted).some((l) => /generation done/.test(l)),
        JSON.stringify(state.logs.slice(-5)),
      );
      assert.deepEqual(state.messages, []);
      assert.ok(state.logs.some((l) => l.includes('engine process exited (SIGKILL)')));
    } finally {
      stop();
    }
  },
);

test(
  'Convert Checkpoint…: pickers, the bundled converter in a child, then "Use This Model"',
  { skip: existsSync(join(ROOT, 'dist', 'cli.js')) ? false : 'dist/cli.js not built' },
  async () => {
    const out = join(work, 'converted');
    const dialogs = [join(ROOT, 'test', 'fixtures', 'models', 'qwen3moe'), out];
    const saved = { ...window };
    window.showOpenDialog = (async () => [Uri.file(dialogs.shift() as string)]) as never;
    window.showQuickPick = (async (items: { label: string }[]) =>
      items.find((i) => i.label === 'fp32')) as never;
    window.showInformationMessage = (async (text: string, ...items: string[]) => {
      state.messages.push({ kind: 'info', text });
      return items.includes('Use This Model') ? 'Use This Model' : undefined;
    }) as never;
    start(ROOT); // the extension's dist/cli.js runs the conversion
    try {
      await commands.executeCommand(COMMANDS.convertCheckpoint);
      assert.deepEqual(
        state.messages.filter((m) => m.kind === 'error'),
        [],
      );
      assert.ok(existsSync(join(out, 'genai_config.json')));
      assert.equal(state.config.get('moeLens.modelPath'), out);
    } finally {
      Object.assign(window, saved);
      stop();
    }
  },
);
