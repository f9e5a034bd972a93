// Shared generations: the engine has one completion KV slot, so engine calls run one at a time,
// each after the previous one settled. A generation runs for whoever waits for it: the request
// that started it, or a later request typed through it (its output so far already confirms what
// was typed since). A generation nobody waits for any more keeps running `graceMs` for a request
// to attach, then it is aborted; a new request that needs the engine for something else aborts
// it at once. Speculative generations (after an accept) run without waiters.
import { MAX_TYPED_CHARS, SUFFIX_HEAD_CHARS } from './cache';
import type { CompletionContext } from './context';

/** How a generation ended for its waiters. */
export type GenerationOutcome =
  /** The result is in the cache (text '' = no suggestion there). */
  | { kind: 'cached' }
  /** Nothing to show and nothing cached (out of time before anything worth showing). */
  | { kind: 'none'; reason: string }
  | { kind: 'cancelled' };

export interface Generation {
  uri: string;
  prefix: string;
  suffix: string;
  speculative: boolean;
  controller: AbortController;
  /** Streamed raw text. */
  text: string;
  /** Stopped on purpose (block end seen while streaming): the result counts. */
  finished: boolean;
  waiters: number;
  grace: AbortController | null;
  done: Promise<GenerationOutcome>;
}

export class Generations {
  private readonly running = new Set<Generation>();
  /** Each engine call waits for the previous one to settle. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
    private readonly graceMs: number,
    private readonly log: (m: string) => void,
  ) {}

  /** Starts `run` after the running engine call; whatever else runs is stale now and aborted. */
  start(
    key: { uri: string; ctx: CompletionContext; speculative: boolean },
    run: (g: Generation) => Promise<GenerationOutcome>,
  ): Generation {
    for (const g of this.running) this.abort(g);
    const g: Generation = {
      uri: key.uri,
      prefix: key.ctx.prefix,
      suffix: key.ctx.suffix,
      speculative: key.speculative,
      controller: new AbortController(),
      text: '',
      finished: false,
      waiters: 0,
      grace: null,
      done: Promise.resolve({ kind: 'cancelled' }),
    };
    const p = this.chain.then(() =>
      g.controller.signal.aborted ? ({ kind: 'cancelled' } as const) : run(g),
    );
    this.chain = p.catch(() => {});
    g.done = p.finally(() => this.running.delete(g));
    // Nobody may be waiting any more when it fails: log instead of an unhandled rejection.
    g.done.catch((e: unknown) => {
      if (g.waiters === 0) {
        this.log(`completion failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    this.running.add(g);
    return g;
  }

  /** A running generation whose result this request can use (same state, or typed through). */
  find(uri: string, ctx: CompletionContext): Generation | undefined {
    const head = ctx.suffix.slice(0, SUFFIX_HEAD_CHARS);
    for (const g of this.running) {
      if (g.controller.signal.aborted && !g.finished) continue;
      if (g.uri !== uri || g.suffix.slice(0, SUFFIX_HEAD_CHARS) !== head) continue;
      const typedLength = ctx.prefix.length - g.prefix.length;
      if (typedLength < 0 || typedLength > MAX_TYPED_CHARS) continue;
      if (!ctx.prefix.startsWith(g.prefix)) continue;
      // Only when the output so far already confirms what was typed since.
      if (g.text.startsWith(ctx.prefix.slice(g.prefix.length))) return g;
    }
    return undefined;
  }

  /** Aborts generations nobody waits for (a new request needs the engine). */
  abortIdle(): void {
    for (const g of this.running) if (g.waiters === 0) this.abort(g);
  }

  abortAll(): void {
    for (const g of this.running) this.abort(g);
    this.running.clear();
  }

  /**
   * Waits for `g` on behalf of a request: its outcome, or 'aborted' when the request's signal
   * fired first (the generation then runs on for the grace period).
   */
  async wait(
    g: Generation,
    signal: AbortSignal | undefined,
  ): Promise<GenerationOutcome | 'aborted'> {
    g.waiters++;
    g.grace?.abort();
    g.grace = null;
    const ABORTED = Symbol('aborted');
    let onAbort = (): void => {};
    const aborted = new Promise<typeof ABORTED>((resolve) => {
      onAbort = () => resolve(ABORTED);
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    let left = false;
    try {
      const outcome = await Promise.race([g.done, aborted]);
      left = outcome === ABORTED;
      return left ? 'aborted' : (outcome as GenerationOutcome);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      g.waiters--;
      // Only a waiter that left a running generation starts its grace: a settled one is over.
      if (left && g.waiters === 0 && !g.speculative && !g.controller.signal.aborted) {
        this.startGrace(g);
      }
    }
  }

  private abort(g: Generation): void {
    g.grace?.abort();
    g.grace = null;
    g.controller.abort();
  }

  private startGrace(g: Generation): void {
    if (this.graceMs <= 0) {
      this.abort(g);
      return;
    }
    const grace = new AbortController();
    g.grace = grace;
    void this.sleep(this.graceMs, grace.signal).then(() => {
      if (!grace.signal.aborted && g.waiters === 0) this.abort(g);
    });
  }
}
