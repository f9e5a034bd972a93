// The completion pipeline's request flow, one stage per module, called in this order:
//   secrets → mode → context → cache (exact, type-through, a running generation to share)
//   → debounce → engine (request.ts: FIM prompt fitted by tokens in the engine; generations.ts:
//   one shared KV slot) → postprocess → gate (confidence, syntax) → cache put.
// Plain Node: no vscode import. Cancellation is an AbortSignal; the VS Code adapter bridges its
// CancellationToken. A cancelled request resolves to null at once; the generation it started is
// aborted when a newer request needs the engine, or `reuseGraceMs` after its last waiter left
// (a request typed through it may still attach meanwhile).
// A request cut short by cancellation or an error caches nothing (the same spot is asked again
// later); one cut short by time caches what passed the gate, never a "none" from a partial output.
import { CancelledError } from '../format/errors';
import type { GeneratedToken, GenerationResult, GenerationStats } from '../engine/generate';
import { CompletionCache } from './cache';
import {
  DEFAULT_CONTEXT_OPTIONS,
  buildContext,
  type CompletionContext,
  type ContextOptions,
} from './context';
import { Debouncer, realSleep } from './debounce';
import {
  DEFAULT_MIN_CONFIDENCE,
  confidence,
  confidenceGate,
  confidentLines,
  syntaxGate,
  syntaxWindow,
} from './gate';
import { Generations, type Generation, type GenerationOutcome } from './generations';
import { decideMode, type CompletionMode } from './mode';
import { blockEnd, postprocess } from './postprocess';
import { completeOptions, promptInput } from './request';
import { DEFAULT_SECRET_PATTERNS, secretPattern } from '../language/secrets';
import { cursorLine } from '../language/text';
import type {
  CompletionEngine,
  CompletionRequest,
  CompletionSettings,
  NoneCode,
  PipelineEvent,
  Suggestion,
  SyntaxVerdict,
} from './types';

export type {
  CompletionEngine,
  CompletionRequest,
  CompletionSettings,
  NoneCode,
  PipelineEvent,
  Suggestion,
} from './types';
export { engineClientAdapter } from './completionEngine';
export { MAX_EXTRA_CHARS, MAX_EXTRA_FILES, SINGLE_LINE_MAX_TOKENS } from './request';

export const DEFAULT_COMPLETION_SETTINGS: CompletionSettings = {
  maxTokens: 64,
  temperature: 0,
  debounceMs: 75,
  contextLines: 128,
  secretPatterns: [...DEFAULT_SECRET_PATTERNS],
  extraContext: true,
  maxTimeMs: 1000,
  multiline: true,
  minConfidence: DEFAULT_MIN_CONFIDENCE,
};

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

/**
 * Characters of prefix and suffix sent per token of model context: generous (code averages
 * 3–4 characters per token) so that the engine's token budget is what cuts, not this cap.
 */
const CHARS_PER_CONTEXT_TOKEN = 6;

/** What the cache keeps with each suggestion. */
interface Payload {
  /** All streamed tokens; their texts concatenate to the raw text. */
  tokens: GeneratedToken[];
  stats?: GenerationStats;
  /** Raw characters before the suggestion's first one (postprocess rule 0). */
  start: number;
  /** Why there is no suggestion (text ''). */
  none?: { code: NoneCode; reason: string };
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
  private readonly generations: Generations;
  private seq = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private disposed = false;
  /** The loaded model's context in tokens (sizes the character window); unknown: defaults. */
  private contextLength: number | undefined;

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
    this.generations = new Generations(this.sleep, options.reuseGraceMs ?? 100, log);
  }

  /** The loaded model changed: its context sizes the window; old suggestions are not its own. */
  setModel(info: { contextLength: number } | null): void {
    this.contextLength = info?.contextLength;
    this.generations.abortAll();
    this.cache.clear();
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
    const cancelled = (): null => {
      this.emit({ type: 'cancelled', requestId });
      return null;
    };
    if (req.signal?.aborted) return cancelled();

    // Cache, or a running generation this request can share.
    const first = await this.fromCacheOrRunning(req, prepared, 0);
    if (first !== undefined) return first;
    if (req.signal?.aborted) return cancelled();
    this.generations.abortIdle();

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

    const g = this.startGeneration(req, prepared, s, false);
    return (await this.awaitGeneration(g, req, prepared, debounceMs)) ?? null;
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
    const prepared = this.prepare(next, s, ++this.seq);
    if (!prepared) return;
    const { ctx } = prepared;
    if (this.cache.has(next.uri, ctx.prefix, ctx.suffix)) return;
    if (this.generations.find(next.uri, ctx)) return;
    this.startGeneration(next, prepared, s, true);
  }

  /** Aborts running generations; later calls return null. */
  dispose(): void {
    this.disposed = true;
    this.generations.abortAll();
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
    const window = this.contextLength ? this.contextLength * CHARS_PER_CONTEXT_TOKEN : Infinity;
    const c = buildContext(req.text, req.offset, {
      ...o,
      contextLines: s.contextLines,
      maxPrefixChars: Math.min(o.maxPrefixChars, Math.floor(window * 0.75)),
      maxSuffixChars: Math.min(o.maxSuffixChars, Math.floor(window * 0.25)),
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
    const running = this.generations.find(req.uri, p.ctx);
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
      const why = hit.value.none ?? { code: 'empty' as const, reason: 'no suggestion' };
      this.none(p.requestId, why.code, source ? why.reason : `${why.reason} (cached)`);
      return null;
    }
    const start = hit.value.start + hit.typed.length;
    const tokens = tokensInRange(hit.value.tokens, start, start + hit.text.length);
    const suggestion: Suggestion = {
      text: hit.text,
      source: source ?? hit.source,
      latencyMs: this.now() - p.t0 - debounceMs,
      debounceMs,
      tokens,
      stats: hit.value.stats,
      confidence: confidence(tokens),
      requestId: p.requestId,
    };
    this.emit({ type: 'suggestion', requestId: p.requestId, suggestion });
    return suggestion;
  }

  private startGeneration(
    req: CompletionRequest,
    p: Prepared,
    s: CompletionSettings,
    speculative: boolean,
  ): Generation {
    return this.generations.start({ uri: req.uri, ctx: p.ctx, speculative }, (g) =>
      this.runEngine(g, req, p, s),
    );
  }

  private async runEngine(
    g: Generation,
    req: CompletionRequest,
    p: Prepared,
    s: CompletionSettings,
  ): Promise<GenerationOutcome> {
    const { ctx, mode, requestId } = p;
    const t0 = this.now();
    const multi = mode.kind === 'multi-line';
    const tokens: GeneratedToken[] = [];
    const onToken = (t: GeneratedToken): void => {
      tokens.push(t);
      this.emit({ type: 'token', requestId, speculative: g.speculative, token: t });
      g.text += t.text ?? '';
      // Stop as soon as the block is known to have ended, or a finished line was a guess: the
      // rest would be cut anyway (postprocess, confidentLines).
      if (!multi || g.finished) return;
      const lines = g.text.split('\n').length - 1;
      if (
        blockEnd(g.text, mode.blockIndent, false) >= 0 ||
        ((t.text ?? '').includes('\n') && confidentLines(tokens, s.minConfidence) < lines)
      ) {
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
        fit: result?.fit,
        modelMs: this.now() - t0,
        rawText: g.text,
        text,
        discarded,
      });
    let result: GenerationResult | undefined;
    try {
      result = await this.engine.complete(
        {
          input: promptInput(req, ctx, s),
          options: completeOptions(ctx, mode, s, this.routerProbs),
          slot: this.options.slot ?? 'completion',
        },
        { signal: g.controller.signal, onToken },
      );
    } catch (e) {
      if (!isCancellation(e)) {
        event('error');
        throw e;
      }
    }
    const cancelled = result === undefined || result.finishReason === 'cancelled';
    if (!g.finished && cancelled) {
      event('cancelled', result);
      return { kind: 'cancelled' };
    }
    if (tokens.some((t) => t.text === null)) {
      event('error', result);
      throw new Error('the model has no tokenizer: completions need one');
    }
    // Out of time: what came so far is shown if it makes a suggestion, never cached as "none".
    const partial = result?.finishReason === 'time';
    const verdict = await this.judge(g.text, tokens, req, ctx, mode, s);
    if (!verdict.ok && partial) {
      event('done', result, '', `${verdict.reason} (out of time)`);
      return { kind: 'none', reason: `out of time (${verdict.reason})` };
    }
    const text = verdict.ok ? verdict.text : '';
    this.cache.put(req.uri, ctx.prefix, ctx.suffix, text, {
      tokens,
      stats: result?.stats,
      start: verdict.ok ? verdict.start : 0,
      none: verdict.ok ? undefined : { code: verdict.code, reason: verdict.reason },
    });
    event('done', result, text, verdict.ok ? undefined : verdict.reason);
    return { kind: 'cached' };
  }

  /** Postprocess, then the gate: the text to show, or why there is none. */
  private async judge(
    raw: string,
    tokens: GeneratedToken[],
    req: CompletionRequest,
    ctx: CompletionContext,
    mode: CompletionMode,
    s: CompletionSettings,
  ): Promise<
    { ok: true; text: string; start: number } | { ok: false; code: NoneCode; reason: string }
  > {
    const post = postprocess(raw, {
      prefix: ctx.prefix,
      suffix: ctx.suffix,
      languageId: req.languageId,
      mode,
    });
    if (!post.ok) return { ok: false, code: 'empty', reason: post.reason };
    if (post.text.includes('\n')) {
      // A block is shown up to the first line the model was unsure of (rule: gate.ts).
      const keep = confidentLines(tokens, s.minConfidence);
      const lines = post.text.split('\n');
      if (keep === 0) {
        return { ok: false, code: 'low-confidence', reason: 'low confidence in its first line' };
      }
      if (keep < lines.length) post.text = lines.slice(0, keep).join('\n').trimEnd();
      if (post.text.trim() === '') return { ok: false, code: 'empty', reason: 'empty' };
    }
    const covering = tokensInRange(tokens, post.start, post.start + post.text.length);
    const conf = confidenceGate(confidence(covering), s.minConfidence);
    if (!conf.ok) return conf;
    let verdict: SyntaxVerdict | undefined;
    if (this.engine.checkSyntax) {
      // No signal: the check is short, and a block end seen while streaming aborts the
      // generation's own signal on purpose.
      try {
        const { before, after } = syntaxWindow(req.text, req.offset);
        verdict = await this.engine.checkSyntax(
          { languageId: req.languageId, before, insert: post.text, after },
          {},
        );
      } catch (e) {
        // A parser failure must not cost the suggestion; the log says why the gate was open.
        if (!isCancellation(e)) this.log(`syntax check failed: ${String(e)}`);
      }
    }
    const syntax = syntaxGate(verdict);
    if (!syntax.ok) return syntax;
    return { ok: true, text: post.text, start: post.start };
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
    let outcome: GenerationOutcome | 'aborted';
    try {
      outcome = await this.generations.wait(g, req.signal);
    } catch (e) {
      this.emit({ type: 'error', requestId: p.requestId, message: String(e) });
      throw e;
    }
    if (outcome === 'aborted') {
      this.emit({ type: 'cancelled', requestId: p.requestId });
      return null;
    }
    if (outcome.kind === 'cancelled') {
      this.none(p.requestId, 'cancelled', 'generation cancelled');
      return null;
    }
    if (outcome.kind === 'none') {
      this.none(p.requestId, 'timeout', outcome.reason);
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

  private none(requestId: number, code: NoneCode, reason: string): void {
    this.emit({ type: 'none', requestId, code, reason });
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
