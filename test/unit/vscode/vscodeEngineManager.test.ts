// The engine manager with a fake engine client: lazy loading under a progress notification, one
// notification per distinct load error (no storm, no retry per keystroke), reload on settings
// changes, idle unload, crash and "no model" handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelInfo } from '../../../src/engine/engine';
import { CancelledError, MoeLensError } from '../../../src/format/errors';
import { EngineCrashedError } from '../../../src/host/engineClient';
import type { LoadParams } from '../../../src/host/protocol';
import {
  describeLoadError,
  EngineManager,
  LOADING_TITLE,
  type EngineClientLike,
  type Timers,
  withHangTimeout,
} from '../../../src/vscode/core/engineManager';
import { ErrorDeduper } from '../../../src/vscode/core/errorNotifier';
import { defaultSettings, type MoeLensSettings } from '../../../src/vscode/core/settingsSchema';

const INFO: ModelInfo = {
  architecture: 'Qwen3MoeForCausalLM',
  layers: 2,
  moeLayers: [0, 1],
  experts: 8,
  topK: 2,
  sharedExperts: 0,
  totalParams: 1_000_000,
  activeParamsPerToken: 300_000,
  dtype: 'int4',
  executionProvider: 'cpu',
  fim: { order: 'psm' },
  contextLength: 512,
  chat: false,
};

class FakeClient {
  loads: LoadParams[] = [];
  unloads = 0;
  disposed = false;
  /** Model folders whose load fails with this error. */
  failing = new Map<string, Error>();
  call = (async (method: string, params: unknown) => {
    if (method === 'load') {
      const p = params as LoadParams;
      this.loads.push(p);
      await new Promise((r) => setImmediate(r));
      const err = this.failing.get(p.modelDir);
      if (err) throw err;
      return {
        ...INFO,
        executionProvider: p.executionProvider === 'auto' ? 'cpu' : p.executionProvider,
      };
    }
    if (method === 'unload') {
      this.unloads++;
      return null;
    }
    throw new Error(`unexpected ${method}`);
  }) as unknown as EngineClientLike['call'];
  dispose(): void {
    this.disposed = true;
  }
}

class FakeTimers implements Timers {
  pending = new Map<number, { fn: () => void; ms: number }>();
  private next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  fireAll(): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const t of all) t.fn();
  }
}

function setup(overrides: Partial<MoeLensSettings> = {}) {
  const settings: MoeLensSettings = { ...defaultSettings(), modelPath: '/models/a', ...overrides };
  const client = new FakeClient();
  const timers = new FakeTimers();
  const errors: string[] = [];
  const progress: string[] = [];
  const manager = new EngineManager({
    client,
    settings: () => settings,
    resolveModelDir: (s) => {
      if (s === '') throw new MoeLensError('no converted model in /ext/models');
      return s;
    },
    withProgress: (title, detail, task) => {
      progress.push(`${title} ${detail}`);
      return task();
    },
    showError: (m) => errors.push(m),
    log: { info: () => {}, warn: () => {}, error: () => {} },
    timers,
  });
  const states: string[] = [];
  manager.onDidChangeState((s) => states.push(s.kind));
  return { settings, client, timers, errors, progress, manager, states };
}

test('loads lazily, once, under the progress notification; concurrent callers share the load', async () => {
  const { client, manager, progress, states } = setup({ threads: 2, executionProvider: 'cpu' });
  assert.equal(manager.state.kind, 'unloaded');
  assert.equal(client.loads.length, 0, 'nothing loads before the first need');
  const [a, b] = await Promise.all([manager.ensureLoaded(), manager.ensureLoaded()]);
  assert.equal(a, b);
  await manager.ensureLoaded();
  assert.deepEqual(client.loads, [{ modelDir: '/models/a', executionProvider: 'cpu', threads: 2 }]);
  assert.deepEqual(progress, [`${LOADING_TITLE} a`]);
  assert.deepEqual(states, ['loading', 'ready']);
  assert.equal(manager.info?.architecture, 'Qwen3MoeForCausalLM');
});

test('a corrupt model: one notification, no retry per keystroke, explicit retries', async () => {
  const { client, manager, errors } = setup();
  client.failing.set('/models/a', new MoeLensError('/models/a/model.onnx: sha256 mismatch'));
  for (let i = 0; i < 5; i++) await assert.rejects(manager.ensureLoaded(), MoeLensError);
  assert.equal(client.loads.length, 1, 'the failed folder is not reloaded on every request');
  assert.deepEqual(errors, ['/models/a/model.onnx: sha256 mismatch']);
  assert.equal(manager.state.kind, 'error');
  await assert.rejects(manager.ensureLoaded({ explicit: true }), MoeLensError);
  assert.equal(client.loads.length, 2, 'an explicit action tries again');
  assert.equal(errors.length, 1, 'the same error is not notified twice');
});

test('a model that crashes the engine while loading gets one clear message', async () => {
  const { client, manager, errors } = setup();
  client.failing.set('/models/a', new EngineCrashedError('engine process exited (SIGSEGV)'));
  await assert.rejects(manager.ensureLoaded(), /crashed while loading \/models\/a/);
  await assert.rejects(manager.ensureLoaded());
  assert.equal(client.loads.length, 1);
  assert.equal(errors.length, 1);
  assert.match(errors[0] as string, /may be corrupt/);
});

test('no model folder at all is one notification too', async () => {
  const { manager, errors, client } = setup({ modelPath: '' });
  await assert.rejects(manager.ensureLoaded(), /no converted model/);
  await assert.rejects(manager.ensureLoaded(), /no converted model/);
  assert.equal(client.loads.length, 0);
  assert.equal(errors.length, 1);
});

test('changing the model settings clears failures and reloads a loaded or failed model', async () => {
  const { settings, client, manager, errors } = setup();
  client.failing.set('/models/a', new MoeLensError('/models/a: not found'));
  await assert.rejects(manager.ensureLoaded());
  settings.modelPath = '/models/b';
  manager.settingsChanged((k) => k === 'modelPath');
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(manager.state.kind, 'ready');
  assert.deepEqual(
    client.loads.map((l) => l.modelDir),
    ['/models/a', '/models/b'],
  );
  // Settings that are not load parameters do not reload.
  manager.settingsChanged((k) => k === 'maxTokens');
  await manager.ensureLoaded();
  assert.equal(client.loads.length, 2);
  // Back to the broken folder after a change: tried again and notified again.
  settings.modelPath = '/models/a';
  manager.settingsChanged((k) => k === 'modelPath');
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(client.loads.length, 3);
  assert.equal(errors.length, 2);
});

test('loadCandidate validates a folder; success makes the setting change free', async () => {
  const { settings, client, manager, errors } = setup();
  client.failing.set('/bad', new MoeLensError('/bad/genai_config.json: not found'));
  await assert.rejects(manager.loadCandidate('/bad'), /not found/);
  assert.equal(errors.length, 0, 'the caller reports candidate failures');
  assert.equal(manager.state.kind, 'unloaded');
  await manager.loadCandidate('/good');
  settings.modelPath = '/good';
  manager.settingsChanged((k) => k === 'modelPath');
  await manager.ensureLoaded();
  assert.deepEqual(
    client.loads.map((l) => l.modelDir),
    ['/bad', '/good'],
  );
});

test('idle unload after the configured minutes; touch re-arms; the next need reloads', async () => {
  const { client, manager, timers, states } = setup({ idleUnloadMinutes: 5 });
  await manager.ensureLoaded();
  assert.equal(timers.pending.size, 1);
  assert.equal([...timers.pending.values()][0]?.ms, 5 * 60_000);
  manager.touch();
  assert.equal(timers.pending.size, 1, 're-armed, not stacked');
  timers.fireAll();
  await new Promise((r) => setImmediate(r));
  assert.equal(client.unloads, 1);
  assert.equal(manager.state.kind, 'unloaded');
  await manager.ensureLoaded();
  assert.equal(client.loads.length, 2);
  assert.deepEqual(states, ['loading', 'ready', 'unloaded', 'loading', 'ready']);
});

test('idle unload off (0) never arms a timer', async () => {
  const { manager, timers } = setup({ idleUnloadMinutes: 0 });
  await manager.ensureLoaded();
  manager.touch();
  assert.equal(timers.pending.size, 0);
});

test('completion errors: crashes and cancellations are not notified; "no model" reloads', async () => {
  const { client, manager, errors } = setup();
  await manager.ensureLoaded();
  manager.reportError(new CancelledError());
  manager.reportError(new EngineCrashedError('engine process exited (SIGKILL)'));
  assert.equal(errors.length, 0);
  assert.equal(manager.state.kind, 'ready', 'the client reloads the model after a crash');
  manager.reportError(new MoeLensError('no model loaded'));
  assert.equal(manager.state.kind, 'unloaded');
  await manager.ensureLoaded();
  assert.equal(client.loads.length, 2);
  manager.reportError(new MoeLensError('/models/a: deleted'));
  manager.reportError(new MoeLensError('/models/a: deleted'));
  assert.deepEqual(errors, ['/models/a: deleted']);
});

test('dispose disposes the client', () => {
  const { client, manager } = setup();
  manager.dispose();
  assert.ok(client.disposed);
});

test('describeLoadError names the folder once', () => {
  assert.equal(describeLoadError(new MoeLensError('/m/x: bad'), '/m'), '/m/x: bad');
  assert.equal(describeLoadError(new MoeLensError('bad format'), '/m'), '/m: bad format');
  assert.match(describeLoadError(new Error('boom'), '/m'), /^cannot load \/m: boom/);
});

test('ErrorDeduper: once per distinct message until reset', () => {
  const d = new ErrorDeduper();
  assert.equal(d.shouldShow('a  b'), true);
  assert.equal(d.shouldShow('a b'), false, 'whitespace does not make a new message');
  assert.equal(d.shouldShow('c'), true);
  d.reset();
  assert.equal(d.shouldShow('a b'), true);
});

test('completion calls carry the hang timeout (a hung engine is killed and restarted)', async () => {
  const seen: unknown[] = [];
  const client = {
    call: (async (_m: string, _p: unknown, o: unknown) => {
      seen.push(o);
      return { text: '', finishReason: 'eos', stats: {} };
    }) as unknown as EngineClientLike['call'],
    dispose() {},
  };
  const signal = new AbortController().signal;
  await withHangTimeout(client, 1234).call(
    'complete',
    {
      input: { kind: 'ids', ids: [1] },
      options: { maxTokens: 1, temperature: 0, topP: 1 },
      slot: 's',
    },
    { signal },
  );
  assert.deepEqual(seen, [{ signal, timeoutMs: 1234 }]);
});
