// The completion pipeline, one stage per module, called in this order:
//   secrets → mode → context → cache (exact, type-through, a running generation to share)
//   → debounce → engine (FIM prompt, KV slot 'completion') → postprocess → cache put.
// Plain Node: no vscode import. Cancellation is an AbortSignal; the VS Code adapter bridges its
// CancellationToken. A cancelled request resolves to null at once; the generation it started is
// aborted when a newer request needs the engine, or `reuseGraceMs` after its last waiter left
// (a request typed through it may still attach meanwhile).
import type { PromptInput } from '../engine/engine';
import { CancelledError } from '../engine/errors';
import type {
  FinishReason,
  GeneratedToken,
  GenerationResult,
  GenerationStats,
} from '../engine/generate';
import type { CompleteOptions } from '../host/protocol';
import { CompletionCache, MAX_TYPED_CHARS, SUFFIX_HEAD_CHARS } from './cache';
import {
  DEFAULT_CONTEXT_OPTIONS,
  buildContext,
  type CompletionContext,
  type ContextOptions,
} from './context';
import { Debouncer, realSleep } from './debounce';
import { decideMode, type CompletionMode } from './mode';
import { blockEnd, postprocess } from './postprocess';
import { DEFAULT_SECRET_PATTERNS, secretPattern } from './secrets';
import { cursorLine } from './text';

/** What the pipeline needs from an engine; EngineClient fits through engineClientAdapter. */
export interface CompletionEngine {
  complete(
    params: { input: PromptInput; options: CompleteOptions; slot: string },
    opts: { signal?: AbortSignal; onToken?: (t: GeneratedToken) => void },
  ): Promise<GenerationResult>;
}

/** The engine host's client (src/host/engineClient.ts) as a CompletionEngine. */
export function engineClientAdapter(client: {
  call(
    method: 'complete',
    params: { input: PromptInput; options: CompleteOptions; slot: string },
    opts: { signal?: AbortSignal; onToken?: (t: GeneratedToken) => void },
  ): Promise<GenerationResult>;
}): CompletionEngine {
  return { complete: (params, opts) => client.call('complete', params, opts) };
}

/** An in-process Engine (src/engine/engine.ts) as a CompletionEngine (tests, benchmarks). */
export function inProcessEngine(engine: {
  complete(
    input: PromptInput,
    opts: CompleteOptions & { signal?: AbortSignal },
    slot: string,
  ): AsyncGenerator<GeneratedToken, GenerationResult>;
}): CompletionEngine {
  return {
    async complete(params, opts) {
      const stream = engine.complete(
        params.input,
        { ...params.options, signal: opts.signal },
        params.slot,
      );
      let r = await stream.next();
      while (!r.done) {
        opts.onToken?.(r.value);
        r = await stream.next();
      }
      return r.value;
    },
  };
}

export interface CompletionSettings {
  maxTokens: number;
  temperature: number;
  debounceMs: number;
  contextLines: number;
  secretPatterns: string[];
  extraContext: boolean;
  maxTimeMs: number;
  multiline: boolean;
}

export const DEFAULT_COMPLETION_SETTINGS: CompletionSettings = {
  maxTokens: 64,
  temperature: 0,
  debounceMs: 75,
  contextLines: 128,
  secretPatterns: [...DEFAULT_SECRET_PATTERNS],
  extraContext: true,
  maxTimeMs: 1000,
  multiline: true,
};

export interface CompletionRequest {
  /** Cache identity of the document (uri.toString()). */
  uri: string;
  /** File system path (or uri path), matched against the secret patterns. */
  path: string;
  /** Workspace-relative path shown to the model as the file header (never the home folder). */
  displayPath?: string;
  languageId: string;
  /** The whole document and the cursor's offset in it. */
  text: string;
  offset: number;
  /** Other files as context (most stable first); used when `extraContext` is on. */
  extraFiles?: { path: string; text: string }[];
  signal?: AbortSignal;
  /** Triggered by the user (command, shortcut): no debounce, mid-line allowed. */
  explicit?: boolean;
}

export interface Suggestion {
  /** Text to insert at the cursor. */
  text: string;
  source: 'model' | 'cache' | 'typed-through';
  /** Request → suggestion, without the debounce wait (ms). */
  latencyMs: number;
  /** Time spent in the debounce wait (ms). */
  debounceMs: number;
  /** The generated tokens covering `text` (with their routing), for the routing panel. */
  tokens: GeneratedToken[];
  stats?: GenerationStats;
  requestId: number;
}

export type PipelineEvent =
  | { type: 'skip'; requestId: number; reason: string }
  | { type: 'hit'; requestId: number; source: 'cache' | 'typed-through'; empty: boolean }
  | { type: 'debounce'; requestId: number; delayMs: number; superseded: boolean }
  | {
      type: 'generation';
      requestId: number;
      speculative: boolean;
      outcome: 'done' | 'cancelled' | 'error';
      finishReason: FinishReason | undefined;
      stats: GenerationStats | undefined;
      modelMs: number;
      rawText: string;
      /** The suggestion after postprocessing ('' if discarded, see `discarded`). */
      text: string;
      discarded: string | undefined;
    }
  /** A generated token as it streams (the routing panel's live view). */
  | { type: 'token'; requestId: number; speculative: boolean; token: GeneratedToken }
  | { type: 'suggestion'; requestId: number; suggestion: Suggestion }
  | { type: 'none'; requestId: number; reason: string }
  | { type: 'cancelled'; requestId: number }
  | { type: 'error'; requestId: number; message: string };

export interface PipelineOptions {
  /** Clock and timer (benchmarks run on simulated time). */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  cacheSize?: number;
  /** How long a generation nobody waits for keeps running for a request to attach (ms). */
  reuseGraceMs?: number;
  /** Context window options beyond the `contextLines` setting. */
  context?: Partial<Omit<ContextOptions, 'contextLines'>>;
  /** Adaptive debounce (default on). */
  adaptiveDebounce?: boolean;
  /** KV slot of the engine. */
  slot?: string;
}

/** Single-line completions are short (Copilot: p50 line length is 19 characters). */
export const SINGLE_LINE_MAX_TOKENS = 32;
export const MAX_EXTRA_FILES = 3;
export const MAX_EXTRA_CHARS = 3000;

interface Payload {
  /** All streamed tokens; their texts concatenate to the raw text the suggestion is a prefix of. */
  tokens: GeneratedToken[];
  stats?: GenerationStats;
}

interface Generation {
  uri: string;
  prefix: string;
  suffix: string;
  speculative: boolean;
  controller: AbortController;
  /** Streamed raw text and tokens. */
  text: string;
  tokens: GeneratedToken[];
  /** Block end seen while streaming: stopped on purpose, the result counts. */
  finished: boolean;
  /** The prompt did not fit the model's context: the window was shrunk, worth one retry. */
  overflow: boolean;
  waiters: number;
  grace: AbortController | null;
  /** The postprocessed suggestion ('' = none), or null if cancelled. */
  done: Promise<string | null>;
}

interface Prepared {
  requestId: number;
  t0: number;
  ctx: CompletionContext;
  mode: CompletionMode;
}

/** The generated tokens covering chars [start, end) of their concatenated text. */
export function tokensInRange(
  tokens: GeneratedToken[],
  start: number,
  end: number,
): GeneratedToken[] {
  const out: GeneratedToken[] = [];
  let pos = 0;
  for (const t of tokens) {
    const len = (t.text ?? '').length;
    if (pos < end && pos + len > start) out.push(t);
    pos += len;
    if (pos >= end) break;
  }
  return out;
}

function isCancellation(e: unknown): boolean {
  return e instanceof CancelledError || (e instanceof Error && e.name === 'CancelledError');
}

export class CompletionPipeline {
  onEvent?: (e: PipelineEvent) => void;
  /** Ask the engine for each layer's full router distribution (the routing panel is open). */
  routerProbs = false;
  private readonly cache: CompletionCache<Payload>;
  private readonly debouncer: Debouncer;
  private readonly generations = new Set<Generation>();
  /** Engine calls run one at a time (one KV slot); each waits for the previous to settle. */
  private engineChain: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private disposed = false;
  /** Cap on prefix + suffix chars, learned when a prompt overflowed the model's context. */
  private windowChars = Infinity;

  constructor(
    private readonly engine: CompletionEngine,
    private readonly settings: () => CompletionSettings,
    private readonly log: (m: string) => void = () => {},
    private readonly options: PipelineOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? realSleep;
    this.cache = new CompletionCache<Payload>(options.cacheSize ?? 250);
    this.debouncer = new Debouncer({
      baseMs: settings().debounceMs,
      adaptive: options.adaptiveDebounce ?? true,
      now: this.now,
      sleep: this.sleep,
    });
  }

  /** The suggestion for the cursor, or null (skipped, nothing useful, cancelled, superseded). */
  async complete(req: CompletionRequest): Promise<Suggestion | null> {
    const requestId = ++this.seq;
    // A newer request supersedes any request still in its debounce wait.
    this.debouncer.supersede();
    if (!req.explicit) this.debouncer.keystroke();
    const s = this.settings();
    const prepared = this.prepare(req, s, requestId);
    if (!prepared) return null;
    const { ctx } = prepared;
    const cancelled = (): null => {
      this.emit({ type: 'cancelled', requestId });
      return null;
    };
    if (req.signal?.aborted) return cancelled();

    // Cache, or a running generation this request can share.
    const first = await this.fromCacheOrRunning(req, prepared, 0);
    if (first !== undefined) return first;
    if (req.signal?.aborted) return cancelled();
    this.abortIdleGenerations();

    // Debounce.
    let debounceMs = 0;
    if (!req.explicit) {
      this.debouncer.setBaseMs(s.debounceMs);
      const delayMs = this.debouncer.delay();
      const start = this.now();
      const ok = await this.debouncer.wait(req.signal, delayMs);
      debounceMs = this.now() - start;
      this.emit({ type: 'debounce', requestId, delayMs, superseded: !ok });
      if (!ok) return req.signal?.aborted ? cancelled() : null;
      // A generation may have finished or started meanwhile.
      const again = await this.fromCacheOrRunning(req, prepared, debounceMs);
      if (again !== undefined) return again;
      if (req.signal?.aborted) return cancelled();
    }

    // Generate (once more with a smaller window if the prompt overflowed the model's context).
    const gen = this.startGeneration(req, ctx, prepared.mode, s, false, requestId);
    const result = await this.awaitGeneration(gen, req, prepared, debounceMs);
    if (!gen.overflow || req.signal?.aborted) return result ?? null;
    const retry = this.prepare(req, s, requestId);
    if (!retry) return null;
    const again = this.startGeneration(req, retry.ctx, retry.mode, s, false, requestId);
    return (
      (await this.awaitGeneration(again, req, { ...retry, t0: prepared.t0 }, debounceMs)) ?? null
    );
  }

  /**
   * The user accepted `suggestion` for `req`: precompute the suggestion at the position after
   * it, in the background, into the cache (the next request there is then a hit, or shares the
   * running generation).
   */
  accepted(req: CompletionRequest, suggestion: string): void {
    if (this.disposed || suggestion.length === 0) return;
    const next: CompletionRequest = {
      ...req,
      text: req.text.slice(0, req.offset) + suggestion + req.text.slice(req.offset),
      offset: req.offset + suggestion.length,
      explicit: false,
      signal: undefined,
    };
    const s = this.settings();
    const requestId = ++this.seq;
    const prepared = this.prepare(next, s, requestId);
    if (!prepared) return;
    const { ctx } = prepared;
    if (this.cache.has(next.uri, ctx.prefix, ctx.suffix)) return;
    if (this.runningFor(next.uri, ctx)) return;
    this.startGeneration(next, ctx, prepared.mode, s, true, requestId);
  }

  /** Aborts running generations; later calls return null. */
  dispose(): void {
    this.disposed = true;
    for (const g of this.generations) g.controller.abort();
    this.generations.clear();
    this.cache.clear();
  }

  // --- stages ---------------------------------------------------------------------------------

  /** Secrets → mode → context; null (with a skip event) when there is nothing to complete. */
  private prepare(
    req: CompletionRequest,
    s: CompletionSettings,
    requestId: number,
  ): Prepared | null {
    const t0 = this.now();
    const skip = (reason: string): null => {
      this.emit({ type: 'skip', requestId, reason });
      return null;
    };
    if (this.disposed) return skip('disposed');
    const secret = secretPattern(req.path, s.secretPatterns);
    if (secret !== null) return skip(`secret file (matches ${secret})`);
    const mode = decideMode({
      ...cursorLine(req.text, req.offset),
      languageId: req.languageId,
      multiline: s.multiline,
      explicit: req.explicit,
    });
    if (mode.kind === 'skip') return skip(mode.reason);
    const o = { ...DEFAULT_CONTEXT_OPTIONS, ...this.options.context };
    const c = buildContext(req.text, req.offset, {
      ...o,
      contextLines: s.contextLines,
      maxPrefixChars: Math.min(o.maxPrefixChars, Math.floor(this.windowChars * 0.75)),
      maxSuffixChars: Math.min(o.maxSuffixChars, Math.floor(this.windowChars * 0.25)),
    });
    if (!c.ok) return skip(c.reason);
    return { requestId, t0, ctx: c.context, mode };
  }

  /** A suggestion from the cache or a shared generation; null: nothing to show; undefined: go on. */
  private async fromCacheOrRunning(
    req: CompletionRequest,
    p: Prepared,
    debounceMs: number,
  ): Promise<Suggestion | null | undefined> {
    const cached = this.fromCache(req, p, debounceMs);
    if (cached !== undefined) return cached;
    const running = this.runningFor(req.uri, p.ctx);
    if (!running) return undefined;
    return this.awaitGeneration(running, req, p, debounceMs);
  }

  private fromCache(
    req: CompletionRequest,
    p: Prepared,
    debounceMs: number,
    source?: Suggestion['source'],
  ): Suggestion | null | undefined {
    const hit = this.cache.get(req.uri, p.ctx.prefix, p.ctx.suffix);
    if (!hit) return undefined;
    if (!source) {
      this.emit({
        type: 'hit',
        requestId: p.requestId,
        source: hit.source,
        empty: hit.text === '',
      });
    }
    if (hit.text === '') {
      this.emit({ type: 'none', requestId: p.requestId, reason: 'no suggestion here (cached)' });
      return null;
    }
    const start = hit.typed.length;
    const suggestion: Suggestion = {
      text: hit.text,
      source: source ?? hit.source,
      latencyMs: this.now() - p.t0 - debounceMs,
      debounceMs,
      tokens: tokensInRange(hit.value.tokens, start, start + hit.text.length),
      stats: hit.value.stats,
      requestId: p.requestId,
    };
    this.emit({ type: 'suggestion', requestId: p.requestId, suggestion });
    return suggestion;
  }

  /** A running generation whose result this request can use (same state, or typed through). */
  private runningFor(uri: string, ctx: CompletionContext): Generation | undefined {
    const head = ctx.suffix.slice(0, SUFFIX_HEAD_CHARS);
    for (const g of this.generations) {
      if (g.controller.signal.aborted && !g.finished) continue;
      if (g.uri !== uri || g.suffix.slice(0, SUFFIX_HEAD_CHARS) !== head) continue;
      const typedLength = ctx.prefix.length - g.prefix.length;
      if (typedLength < 0 || typedLength > MAX_TYPED_CHARS) continue;
      if (!ctx.prefix.startsWith(g.prefix)) continue;
      const typed = ctx.prefix.slice(g.prefix.length);
      // Only when the output so far already confirms what was typed since.
      if (g.text.startsWith(typed)) return g;
    }
    return undefined;
  }

  /** Aborts generations nobody waits for (a new request needs the engine for something else). */
  private abortIdleGenerations(): void {
    for (const g of this.generations) if (g.waiters === 0) this.abort(g);
  }

  private abort(g: Generation): void {
    g.grace?.abort();
    g.grace = null;
    g.controller.abort();
  }

  private startGeneration(
    req: CompletionRequest,
    ctx: CompletionContext,
    mode: CompletionMode,
    s: CompletionSettings,
    speculative: boolean,
    requestId: number,
  ): Generation {
    // The engine has one completion slot: whatever else runs is stale now.
    for (const g of this.generations) this.abort(g);
    const g: Generation = {
      uri: req.uri,
      prefix: ctx.prefix,
      suffix: ctx.suffix,
      speculative,
      controller: new AbortController(),
      text: '',
      tokens: [],
      finished: false,
      overflow: false,
      waiters: 0,
      grace: null,
      done: Promise.resolve(null),
    };
    const run = this.engineChain.then(() => this.runEngine(g, req, ctx, mode, s, requestId));
    this.engineChain = run.catch(() => {});
    g.done = run.finally(() => this.generations.delete(g));
    // Nobody may be waiting any more when it fails: log instead of an unhandled rejection.
    g.done.catch((e: unknown) => {
      if (g.waiters === 0) {
        this.log(`completion failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    this.generations.add(g);
    return g;
  }

  private async runEngine(
    g: Generation,
    req: CompletionRequest,
    ctx: CompletionContext,
    mode: CompletionMode,
    s: CompletionSettings,
    requestId: number,
  ): Promise<string | null> {
    if (g.controller.signal.aborted) return null;
    const t0 = this.now();
    const multi = mode.kind === 'multi-line';
    const input: PromptInput = { kind: 'fim', prefix: ctx.prefix, suffix: ctx.suffix };
    if (req.displayPath) input.path = req.displayPath;
    if (s.extraContext && req.extraFiles && req.extraFiles.length > 0) {
      const extra = this.extraFiles(req, s);
      if (extra.length > 0) input.extra = extra;
    }
    const options: CompleteOptions = {
      maxTokens: multi ? s.maxTokens : Math.min(s.maxTokens, SINGLE_LINE_MAX_TOKENS),
      temperature: s.temperature,
      topP: s.temperature > 0 ? 0.95 : 1,
      stop: multi ? ['\n\n\n'] : ['\n'],
    };
    if (s.maxTimeMs > 0) options.maxTimeMs = s.maxTimeMs;
    // A fresh, empty line in a block (the user pressed Enter to write code there): the model may
    // not end the middle before writing anything.
    if (multi && /\n[ \t]*$/.test(ctx.prefix)) options.minTokens = 1;
    if (this.routerProbs) options.fullProbs = true;
    const onToken = (t: GeneratedToken): void => {
      g.tokens.push(t);
      this.emit({ type: 'token', requestId, speculative: g.speculative, token: t });
      g.text += t.text ?? '';
      // Stop as soon as the block is known to have ended: the rest would be cut anyway.
      if (multi && !g.finished && blockEnd(g.text, mode.blockIndent, false) >= 0) {
        g.finished = true;
        g.controller.abort();
      }
    };
    const event = (
      outcome: 'done' | 'cancelled' | 'error',
      result?: GenerationResult,
      text = '',
      discarded?: string,
    ): void =>
      this.emit({
        type: 'generation',
        requestId,
        speculative: g.speculative,
        outcome,
        finishReason: result?.finishReason,
        stats: result?.stats,
        modelMs: this.now() - t0,
        rawText: g.text,
        text,
        discarded,
      });
    let result: GenerationResult | undefined;
    try {
      result = await this.engine.complete(
        { input, options, slot: this.options.slot ?? 'completion' },
        { signal: g.controller.signal, onToken },
      );
    } catch (e) {
      const overflow = /context of (\d+) tokens exceeds the model's (\d+)/.exec(String(e));
      if (overflow) {
        // Prompt + output must fit the model's context: shrink the window (chars per token vary
        // with the tokenizer) and let the request retry once.
        const [total, limit] = [Number(overflow[1]), Number(overflow[2])];
        const promptTokens = Math.max(1, total - g.tokens.length);
        const budget = limit - options.maxTokens - 16;
        const ratio = Math.max(0.1, Math.min(0.9, budget / promptTokens));
        const chars = ctx.prefix.length + ctx.suffix.length;
        this.windowChars = Math.min(this.windowChars, Math.floor(chars * ratio));
        this.log(`${String(e)}: context window now ${this.windowChars} chars`);
        g.overflow = true;
        event('error');
        return null;
      }
      if (!isCancellation(e)) {
        event('error');
        throw e;
      }
    }
    if (!g.finished && (result === undefined || result.finishReason === 'cancelled')) {
      event('cancelled', result);
      return null;
    }
    if (g.tokens.some((t) => t.text === null)) {
      event('error', result);
      throw new Error('the model has no tokenizer: completions need one');
    }
    const post = postprocess(g.text, {
      prefix: ctx.prefix,
      suffix: ctx.suffix,
      languageId: req.languageId,
      mode,
    });
    const text = post.ok ? post.text : '';
    this.cache.put(req.uri, ctx.prefix, ctx.suffix, text, {
      tokens: g.tokens,
      stats: result?.stats,
    });
    event('done', result, text, post.ok ? undefined : post.reason);
    return text;
  }

  /**
   * Waits for `g` on behalf of a request: its suggestion, null when cancelled or nothing to
   * show, undefined when its result does not fit this request (typed past it).
   */
  private async awaitGeneration(
    g: Generation,
    req: CompletionRequest,
    p: Prepared,
    debounceMs: number,
  ): Promise<Suggestion | null | undefined> {
    g.waiters++;
    g.grace?.abort();
    g.grace = null;
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      g.waiters--;
      if (g.waiters === 0 && !g.speculative && !g.controller.signal.aborted) this.startGrace(g);
    };
    const ABORTED = Symbol('aborted');
    let onAbort = (): void => {};
    const aborted = new Promise<typeof ABORTED>((resolve) => {
      onAbort = () => resolve(ABORTED);
      if (req.signal?.aborted) onAbort();
      req.signal?.addEventListener('abort', onAbort, { once: true });
    });
    let outcome: string | null | typeof ABORTED;
    try {
      outcome = await Promise.race([g.done, aborted]);
    } catch (e) {
      left = true;
      g.waiters--;
      this.emit({ type: 'error', requestId: p.requestId, message: String(e) });
      throw e;
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
    }
    if (outcome === ABORTED) {
      leave();
      this.emit({ type: 'cancelled', requestId: p.requestId });
      return null;
    }
    left = true;
    g.waiters--;
    if (outcome === null) {
      this.emit({ type: 'none', requestId: p.requestId, reason: 'generation cancelled' });
      return null;
    }
    // The generation cached its result: this is an exact hit, or typed through it; undefined
    // if the suggestion turned out not to start with what was typed since.
    return this.fromCache(
      req,
      p,
      debounceMs,
      g.prefix === p.ctx.prefix ? 'model' : 'typed-through',
    );
  }

  private startGrace(g: Generation): void {
    const ms = this.options.reuseGraceMs ?? 100;
    if (ms <= 0) {
      this.abort(g);
      return;
    }
    const grace = new AbortController();
    g.grace = grace;
    void this.sleep(ms, grace.signal).then(() => {
      if (!grace.signal.aborted && g.waiters === 0) this.abort(g);
    });
  }

  /** Other files for the prompt: not the current one, not secret, capped at whole lines. */
  private extraFiles(
    req: CompletionRequest,
    s: CompletionSettings,
  ): { path: string; text: string }[] {
    const out: { path: string; text: string }[] = [];
    for (const f of req.extraFiles ?? []) {
      if (out.length >= MAX_EXTRA_FILES) break;
      if (f.path === req.path || secretPattern(f.path, s.secretPatterns) !== null) continue;
      let text = f.text;
      if (text.length > MAX_EXTRA_CHARS) {
        const cut = text.lastIndexOf('\n', MAX_EXTRA_CHARS);
        text = text.slice(0, cut > 0 ? cut + 1 : MAX_EXTRA_CHARS);
      }
      if (text.includes('\0')) continue;
      out.push({ path: f.path, text });
    }
    return out;
  }

  private emit(e: PipelineEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(e);
    } catch (err) {
      this.log(`onEvent handler failed: ${String(err)}`);
    }
  }
}
