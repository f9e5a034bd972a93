// The client side of the engine host: forks the engine process, proxies typed calls to it, and
// restarts it (with back-off) after a crash or a hang. Pending calls fail cleanly with an
// EngineCrashedError; the next call starts a fresh process and reloads the last model. No vscode
// import: the extension and the tests use it alike.
import { fork, type ChildProcess } from 'node:child_process';
import type { GeneratedToken } from '../engine/generate';
import { CancelledError, ContextOverflowError, MoeLensError } from '../format/errors';
import { offlineEnv } from '../engine/offline';
import type {
  EngineApi,
  HostRequest,
  HostResponse,
  LoadParams,
  Method,
  WireError,
} from './protocol';

/** Why calls in flight (or started) after dispose() end. */
const DISPOSED = 'engine client is disposed';

export class EngineCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineCrashedError';
  }
}

/** The typed error a wire error stands for. */
export function fromWire(e: WireError): Error {
  if (e.overflow) return new ContextOverflowError(e.overflow.tokens, e.overflow.limit);
  if (e.kind === 'cancelled') return new CancelledError(e.message);
  if (e.kind === 'user') return new MoeLensError(e.message);
  return new Error(e.message);
}

export interface EngineClientOptions {
  /** Path of the bundled engine host script (dist/engineHost.js). */
  hostPath: string;
  execArgv?: string[];
  log?: (message: string) => void;
  /** First restart delay; doubles per consecutive crash up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Per-method overrides of DEFAULT_TIMEOUT_MS. */
  timeouts?: Partial<Record<Method, number>>;
}

export interface CallOptions {
  signal?: AbortSignal;
  onToken?: (token: GeneratedToken) => void;
  /**
   * Kill and restart the engine if the call takes longer (a hung native call); default
   * DEFAULT_TIMEOUT_MS of the method, 0 for none. The time includes waiting behind earlier calls.
   */
  timeoutMs?: number;
}

/**
 * Every call ends: far above what a working engine needs (a 30 B model loads in minutes; a
 * completion's decoding is bounded by maxTimeMs), so only a hung native call reaches them.
 */
export const DEFAULT_TIMEOUT_MS: Readonly<Record<Method, number>> = {
  load: 20 * 60_000,
  complete: 5 * 60_000,
  score: 20 * 60_000,
  analyze: 20 * 60_000,
  encode: 2 * 60_000,
  checkSyntax: 2 * 60_000,
  unload: 2 * 60_000,
};

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onToken?: (token: GeneratedToken) => void;
}

export class EngineClient {
  private child: ChildProcess | null = null;
  private starting: Promise<ChildProcess> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lastLoad: LoadParams | null = null;
  private crashes = 0;
  private lastCrashAt = 0;
  private disposed = false;

  constructor(private readonly opts: EngineClientOptions) {}

  get running(): boolean {
    return this.child !== null;
  }

  /** pid of the engine process, if one runs (for tests and the log). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async call<M extends Method>(
    method: M,
    params: EngineApi[M]['params'],
    opts: CallOptions = {},
  ): Promise<EngineApi[M]['result']> {
    if (this.disposed) throw new MoeLensError(DISPOSED);
    if (opts.signal?.aborted) throw new CancelledError();
    const child = await this.ensureStarted(method !== 'load');
    // Disposed or aborted while the engine started: an abort event that already fired would never
    // reach the engine, and the request would run in full.
    if (this.disposed) throw new CancelledError(DISPOSED);
    if (opts.signal?.aborted) throw new CancelledError();
    const id = this.nextId++;
    return new Promise<EngineApi[M]['result']>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => this.post(child, { type: 'cancel', id });
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, {
        resolve: (v) => {
          cleanup();
          // Remember only a load that worked: a crash then reloads a model known to load.
          if (method === 'load') this.lastLoad = params as LoadParams;
          resolve(v as EngineApi[M]['result']);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
        onToken: opts.onToken,
      });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const timeoutMs =
        opts.timeoutMs ?? this.opts.timeouts?.[method] ?? DEFAULT_TIMEOUT_MS[method];
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.opts.log?.(`engine call ${method} exceeded ${timeoutMs} ms; restarting the engine`);
          child.kill('SIGKILL');
        }, timeoutMs);
      }
      this.post(child, { type: 'call', id, method, params });
    });
  }

  dispose(): void {
    this.disposed = true;
    this.child?.kill();
    this.child = null;
    // Calls in flight end now, and their timers with them: the process that would answer is gone.
    const err = new CancelledError(DISPOSED);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private post(child: ChildProcess, msg: HostRequest): void {
    if (child.connected) child.send(msg);
  }

  private backoff(): number {
    const base = this.opts.backoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30_000;
    return this.crashes === 0 ? 0 : Math.min(max, base * 2 ** (this.crashes - 1));
  }

  /** Starts the engine if needed; after a crash, reloads the last model first. */
  private async ensureStarted(reload: boolean): Promise<ChildProcess> {
    if (this.child) return this.child;
    if (!this.starting) {
      this.starting = (async () => {
        const delay = this.backoff();
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        const child = await this.spawn();
        if (reload && this.lastLoad) {
          this.opts.log?.(`engine restarted; reloading ${this.lastLoad.modelDir}`);
          await this.request(child, 'load', this.lastLoad);
        }
        return child;
      })().finally(() => {
        this.starting = null;
      });
    }
    return this.starting;
  }

  private request(child: ChildProcess, method: Method, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post(child, { type: 'call', id, method, params });
    });
  }

  private spawn(): Promise<ChildProcess> {
    return new Promise((resolve, reject) => {
      const child = fork(this.opts.hostPath, [], {
        execArgv: this.opts.execArgv ?? [],
        // Telemetry off in the child whatever its module order (engine/offline.ts); the extension
        // host's own environment is left as it is.
        env: offlineEnv(process.env),
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'advanced',
      });
      child.stderr?.on('data', (d: Buffer) => this.opts.log?.(d.toString().trimEnd()));
      child.on('message', (msg: HostResponse) => {
        if (msg.type === 'ready') {
          if (this.disposed) {
            // Disposed while it started: it must not run on without a client.
            child.kill();
            reject(new CancelledError(DISPOSED));
            return;
          }
          this.child = child;
          resolve(child);
          return;
        }
        const p = this.pending.get(msg.id);
        if (!p) return;
        if (msg.type === 'token') {
          p.onToken?.(msg.token);
        } else if (msg.type === 'result') {
          this.pending.delete(msg.id);
          p.resolve(msg.result);
        } else {
          this.pending.delete(msg.id);
          p.reject(fromWire(msg.error));
        }
      });
      child.on('error', (e) => reject(e));
      child.on('exit', (code, signal) => {
        if (this.child === child) this.child = null;
        if (this.disposed) return;
        const now = Date.now();
        // A minute without a crash resets the back-off.
        this.crashes = now - this.lastCrashAt > 60_000 ? 1 : this.crashes + 1;
        this.lastCrashAt = now;
        const why = `engine process exited (${signal ?? `code ${code}`})`;
        this.opts.log?.(`${why}; it restarts on the next request`);
        const err = new EngineCrashedError(`${why}; the request was not completed`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        reject(err);
      });
    });
  }
}
