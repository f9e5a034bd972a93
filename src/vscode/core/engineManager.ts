// Owns the one engine client of the extension: loads the model lazily on first need (behind a
// progress notification), reloads when the model settings change, unloads after idle minutes,
// and turns load failures into one clear notification per distinct error (never a storm; a
// folder that failed is not retried on every keystroke, only after a settings change or an
// explicit action). Crash restarts are the client's job (src/host/engineClient.ts).
// vscode-free: the UI arrives as callbacks, so the unit tests drive it with fakes.
import { NO_MODEL_LOADED } from '../../host/protocol';
import { basename } from 'node:path';
import type { ModelInfo } from '../../engine/engine';
import { CancelledError, MoeLensError } from '../../format/errors';
import type { GeneratedToken } from '../../engine/generate';
import { EngineCrashedError, type EngineClient } from '../../host/engineClient';
import type { EngineApi, LoadParams } from '../../host/protocol';
import { ErrorDeduper, errorMessage } from './errorNotifier';
import { Emitter, type IDisposable } from './lifecycle';
import { RELOAD_KEYS, type MoeLensSettings, type SettingKey } from './settingsSchema';

export type EngineClientLike = Pick<EngineClient, 'call' | 'dispose'>;

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type EngineState =
  | { kind: 'unloaded'; reason?: string }
  | { kind: 'loading'; modelDir: string }
  | { kind: 'ready'; modelDir: string; info: ModelInfo; loadMs: number }
  | { kind: 'error'; message: string };

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface EngineManagerDeps {
  client: EngineClientLike;
  settings: () => Pick<
    MoeLensSettings,
    'modelPath' | 'executionProvider' | 'threads' | 'idleUnloadMinutes'
  >;
  /** moeLens.modelPath → model folder (throws a MoeLensError if there is none). */
  resolveModelDir: (setting: string) => string;
  /** Runs `task` under a progress notification. */
  withProgress: <T>(title: string, detail: string, task: () => Promise<T>) => Promise<T>;
  /** Shows an error notification (already de-duplicated here). */
  showError: (message: string) => void;
  log: Logger;
  timers?: Timers;
  now?: () => number;
}

export const LOADING_TITLE = 'MoE Lens: loading model…';

/**
 * A completion call taking longer than this is a hung engine: the client kills and restarts it.
 * Far above any real request (maxTimeMs bounds decoding; prefill is chunked).
 */
export const HANG_TIMEOUT_MS = 30_000;

/** The client's `complete` with the hang timeout, in the shape engineClientAdapter takes. */
export function withHangTimeout(
  client: EngineClientLike,
  timeoutMs = HANG_TIMEOUT_MS,
): {
  call<M extends 'complete' | 'checkSyntax'>(
    method: M,
    params: EngineApi[M]['params'],
    opts: { signal?: AbortSignal; onToken?: (t: GeneratedToken) => void },
  ): Promise<EngineApi[M]['result']>;
} {
  return {
    call: (method, params, opts) => client.call(method, params, { ...opts, timeoutMs }),
  };
}

/** The engine host's answer when a call arrives without a model (e.g. a failed reload). */
const NO_MODEL = NO_MODEL_LOADED;

function keyOf(p: LoadParams): string {
  return `${p.modelDir}|${p.executionProvider}|${p.threads}`;
}

/** One line a user can act on, for a failed load of `dir`. */
export function describeLoadError(e: unknown, dir: string): string {
  if (e instanceof EngineCrashedError) {
    return `the engine crashed while loading ${dir}; the model may be corrupt (${e.message})`;
  }
  const message = errorMessage(e);
  if (e instanceof MoeLensError) return message.includes(dir) ? message : `${dir}: ${message}`;
  return `cannot load ${dir}: ${message.split(' at ')[0]}`;
}

export class EngineManager implements IDisposable {
  private _state: EngineState = { kind: 'unloaded' };
  private loaded: { key: string; info: ModelInfo } | null = null;
  private loading: { key: string; promise: Promise<ModelInfo> } | null = null;
  /** Load keys that failed, with their message. */
  private readonly failures = new Map<string, string>();
  private readonly notified = new ErrorDeduper();
  /** Bumped by every load and unload: a stale completion must not overwrite newer state. */
  private generation = 0;
  private idleTimer: unknown = undefined;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly _onDidChangeState = new Emitter<EngineState>();
  readonly onDidChangeState = this._onDidChangeState.event;

  constructor(private readonly deps: EngineManagerDeps) {
    this.timers = deps.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    this.now = deps.now ?? Date.now;
  }

  get state(): EngineState {
    return this._state;
  }

  /** The loaded model's info, if any. */
  get info(): ModelInfo | undefined {
    return this._state.kind === 'ready' ? this._state.info : undefined;
  }

  /** Load parameters from the settings; throws a MoeLensError if no model folder resolves. */
  loadParams(modelDir?: string): LoadParams {
    const s = this.deps.settings();
    return {
      modelDir: modelDir ?? this.deps.resolveModelDir(s.modelPath),
      executionProvider: s.executionProvider,
      threads: s.threads,
    };
  }

  /**
   * Resolves once the configured model is loaded (loading it if needed). A configuration that
   * already failed rejects at once unless `explicit` (a user action) asks to try again.
   */
  async ensureLoaded(opts: { explicit?: boolean } = {}): Promise<ModelInfo> {
    let params: LoadParams;
    try {
      params = this.loadParams();
    } catch (e) {
      const message = errorMessage(e);
      const st = this._state;
      if (st.kind !== 'error' || st.message !== message) this.setState({ kind: 'error', message });
      this.notify(message);
      throw e;
    }
    const key = keyOf(params);
    if (this.loaded?.key === key) return this.loaded.info;
    if (this.loading?.key === key) return this.loading.promise;
    const failed = this.failures.get(key);
    if (failed !== undefined && !opts.explicit) throw new MoeLensError(failed);
    return this.startLoad(params, key, true);
  }

  /**
   * Loads `dir` to validate it (Select Model…): the caller reports failures itself. On success
   * the engine holds that model, so pointing the setting at it does not load it again.
   */
  loadCandidate(dir: string): Promise<ModelInfo> {
    const params = this.loadParams(dir);
    return this.startLoad(params, keyOf(params), false);
  }

  /** Marks activity: restarts the idle-unload countdown. */
  touch(): void {
    this.scheduleIdleUnload();
  }

  /** Frees the model (the engine process stays up, empty); the next need loads it again. */
  async unload(reason: string): Promise<void> {
    this.cancelIdleUnload();
    if (!this.loaded && !this.loading) return;
    this.generation++;
    this.loaded = null;
    this.loading = null;
    this.setState({ kind: 'unloaded', reason });
    this.deps.log.info(`unloading the model (${reason})`);
    try {
      await this.deps.client.call('unload', {});
    } catch (e) {
      this.deps.log.warn(`unload: ${errorMessage(e)}`);
    }
  }

  /** Reacts to settings changes: load parameters reload the model, idle minutes re-arm. */
  settingsChanged(affects: (key: SettingKey) => boolean): void {
    if (RELOAD_KEYS.some(affects)) {
      // A changed configuration deserves a fresh attempt and a fresh notification.
      this.failures.clear();
      this.notified.reset();
      if (this.loaded || this.loading || this._state.kind === 'error') {
        this.deps.log.info('model settings changed; reloading');
        this.ensureLoaded().catch(() => undefined); // failures are notified by ensureLoaded
      }
    }
    if (affects('idleUnloadMinutes')) this.scheduleIdleUnload();
  }

  /**
   * An error from a completion request: crashes are logged (the client restarts the engine on
   * the next request), user errors are notified once, cancellations ignored.
   */
  reportError(e: unknown): void {
    if (e instanceof CancelledError) return;
    const message = errorMessage(e);
    if (e instanceof EngineCrashedError) {
      this.deps.log.warn(`${message}; the engine restarts on the next request`);
      return;
    }
    if (e instanceof MoeLensError) {
      if (message === NO_MODEL) {
        // The engine lost its model (a reload after a crash failed): load it again next time.
        this.deps.log.warn('the engine has no model; it loads again on the next request');
        this.generation++;
        this.loaded = null;
        this.setState({ kind: 'unloaded', reason: 'engine restarted' });
        return;
      }
      this.deps.log.warn(message);
      this.notify(message);
      return;
    }
    this.deps.log.error(e instanceof Error ? (e.stack ?? message) : message);
  }

  dispose(): void {
    this.cancelIdleUnload();
    this._onDidChangeState.dispose();
    this.deps.client.dispose();
  }

  private startLoad(params: LoadParams, key: string, notify: boolean): Promise<ModelInfo> {
    const gen = ++this.generation;
    const dir = params.modelDir;
    const t0 = this.now();
    this.cancelIdleUnload();
    this.setState({ kind: 'loading', modelDir: dir });
    this.deps.log.info(
      `loading ${dir} (execution provider ${params.executionProvider}, threads ${params.threads || 'auto'})`,
    );
    const promise = this.deps
      .withProgress(LOADING_TITLE, basename(dir), () => this.deps.client.call('load', params))
      .then(
        (info) => {
          const loadMs = this.now() - t0;
          this.deps.log.info(
            `loaded ${info.architecture} (${info.dtype}) on ${info.executionProvider} in ${loadMs} ms`,
          );
          this.failures.delete(key);
          if (gen === this.generation) {
            this.loaded = { key, info };
            this.loading = null;
            this.notified.reset();
            this.setState({ kind: 'ready', modelDir: dir, info, loadMs });
            this.scheduleIdleUnload();
          }
          return info;
        },
        (e: unknown) => {
          const message = describeLoadError(e, dir);
          this.deps.log.error(`load failed: ${message}`);
          this.failures.set(key, message);
          if (gen === this.generation) {
            // The engine host restored the previous model (its error says so), but the settings
            // ask for this one: completions wait until it loads (the error state says why).
            this.loaded = null;
            this.loading = null;
            this.setState(notify ? { kind: 'error', message } : { kind: 'unloaded' });
          }
          if (notify) this.notify(message);
          throw new MoeLensError(message);
        },
      );
    this.loading = { key, promise };
    return promise;
  }

  private notify(message: string): void {
    if (this.notified.shouldShow(message)) this.deps.showError(message);
  }

  private setState(state: EngineState): void {
    this._state = state;
    this._onDidChangeState.fire(state);
  }

  private cancelIdleUnload(): void {
    if (this.idleTimer !== undefined) this.timers.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private scheduleIdleUnload(): void {
    this.cancelIdleUnload();
    const minutes = this.deps.settings().idleUnloadMinutes;
    if (minutes <= 0 || !this.loaded) return;
    this.idleTimer = this.timers.setTimeout(() => {
      this.idleTimer = undefined;
      void this.unload(`idle for ${minutes} min`);
    }, minutes * 60_000);
  }
}
