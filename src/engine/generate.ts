// Generation: prefill (reusing the slot's KV prefix, in chunks so cancellation is prompt), then
// the decode loop. Each generated token is fed back before it is reported, so its routing is the
// routing computed when it was the input, and the KV ends up holding the whole output for reuse.
import { CancelledError, MoeLensError } from '../format/errors';
import type { KvSlot } from './kvCache';
import type { LayerRouting } from '../format/routing';
import type { MoeModel } from './model';
import type { PromptFit } from './promptFit';
import { HealingConstraint } from './tokenHealing';
import { Sampler } from './sampler';
import { StopMatcher } from './stopSequences';
import { IncrementalDecoder } from './detokenizer';
import type { Tokenizer } from './tokenizer';

export interface GenerateOptions {
  maxTokens: number;
  temperature: number;
  topP: number;
  seed?: number;
  stop?: string[];
  /**
   * Wall-clock budget for decoding, ms. The clock starts after prefill, so a cold start, a long
   * prompt or a loaded machine cannot use it up before the first token (prefill is bounded by
   * the context length instead).
   */
  maxTimeMs?: number;
  signal?: AbortSignal;
  /** Include each layer's full router distribution. */
  fullProbs?: boolean;
  /** Tokens per prefill chunk (cancellation takes effect between chunks). */
  prefillChunk?: number;
  /** End tokens are masked until this many tokens are generated (default 0). */
  minTokens?: number;
  /**
   * Token healing (tokenHealing.ts): the text the prompt's last token stood for, which the
   * prompt no longer contains. Generation first regenerates it, constrained, without reporting it.
   */
  heal?: string;
}

export type FinishReason = 'stop' | 'length' | 'time' | 'eos' | 'cancelled';

export interface GeneratedToken {
  id: number;
  /** Text increment; increments concatenate to the result text. null without a tokenizer. */
  text: string | null;
  logprob: number;
  routing: LayerRouting[];
}

export interface GenerationStats {
  promptTokens: number;
  reusedTokens: number;
  prefillMs: number;
  timeToFirstTokenMs: number;
  decodeTokens: number;
  decodeTokensPerSecond: number;
  executionProvider: string;
  peakRssMb: number;
}

export interface GenerationResult {
  text: string | null;
  finishReason: FinishReason;
  stats: GenerationStats;
  /** What fitting the prompt to the context cut (prompts built from text, promptFit.ts). */
  fit?: PromptFit;
}

const now = (): number => performance.now();

export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/**
 * Feeds `prompt` into `slot`, reusing its longest common prefix; returns the last logits.
 * At least one token is always fed, since the logits of the last prompt token are needed.
 */
export async function prefill(
  model: MoeModel,
  slot: KvSlot,
  prompt: number[],
  chunk: number,
  signal?: AbortSignal,
): Promise<{ logits: Float32Array; reused: number }> {
  if (prompt.length === 0) throw new MoeLensError('empty prompt: nothing to condition on');
  const reused = Math.min(slot.commonPrefix(prompt), prompt.length - 1);
  slot.truncate(reused);
  let logits: Float32Array = new Float32Array(0);
  for (let start = reused; start < prompt.length; start += chunk) {
    if (signal?.aborted) throw new CancelledError();
    ({ logits } = await model.forward(slot, prompt.slice(start, start + chunk), 1));
  }
  return { logits, reused };
}

export async function* generate(
  model: MoeModel,
  tokenizer: Tokenizer | null,
  slot: KvSlot,
  prompt: number[],
  opts: GenerateOptions,
): AsyncGenerator<GeneratedToken, GenerationResult> {
  const t0 = now();
  let deadline = Infinity;
  const sampler = new Sampler({ temperature: opts.temperature, topP: opts.topP, seed: opts.seed });
  const decoder = tokenizer ? new IncrementalDecoder(tokenizer) : null;
  const stops = new StopMatcher(opts.stop ?? []);
  const healing = opts.heal && tokenizer ? new HealingConstraint(tokenizer, opts.heal) : null;
  // End tokens, and any other special token: a sentinel (`<|fim_middle|>`, `<|file_sep|>`) or
  // turn marker in the output means the model has left the text it was asked for; its literal
  // text must never reach the editor.
  const eos = new Set([
    ...model.config.eosTokenIds,
    ...(tokenizer?.eosTokenIds ?? []),
    ...(tokenizer?.specialIds ?? []),
  ]);
  const stats: GenerationStats = {
    promptTokens: prompt.length,
    reusedTokens: 0,
    prefillMs: 0,
    timeToFirstTokenMs: 0,
    decodeTokens: 0,
    decodeTokensPerSecond: 0,
    executionProvider: model.executionProvider,
    peakRssMb: 0,
  };
  let text = tokenizer ? '' : null;
  let finishReason: FinishReason = 'length';
  let decodeStart = 0;
  // Reported one step late, so text held back by the stop matcher at the end can join the
  // last token and the increments always concatenate to `text`.
  let pending: GeneratedToken | null = null;
  let visible = 0; // generated tokens with reported text (healing tokens are not)
  try {
    const pre = await prefill(model, slot, prompt, opts.prefillChunk ?? 128, opts.signal);
    let logits = pre.logits;
    stats.reusedTokens = pre.reused;
    stats.prefillMs = now() - t0;
    decodeStart = now();
    if (opts.maxTimeMs !== undefined) deadline = decodeStart + opts.maxTimeMs;
    while (visible < opts.maxTokens) {
      if (opts.signal?.aborted) throw new CancelledError();
      if (now() > deadline) {
        finishReason = 'time';
        break;
      }
      // 1. pick the next token from the distribution of the last position
      const healingStep = healing?.active ?? false;
      if (healing && healingStep) {
        healing.mask(logits); // only tokens consistent with the text being healed
      } else if (visible < (opts.minTokens ?? 0)) {
        // Not allowed to end yet: end and special tokens get no probability.
        for (const e of eos) if (e < logits.length) logits[e] = -Infinity;
      }
      const { id, logprob } = sampler.sample(logits);
      if (stats.decodeTokens === 0) stats.timeToFirstTokenMs = now() - t0;
      if (eos.has(id)) {
        finishReason = 'eos';
        break;
      }
      // 2. feed it: its routing and the next distribution come from this one step. A full
      // context ends the generation (healing tokens can take a prompt that left room for
      // maxTokens past it).
      if (slot.length >= model.config.contextLength) break;
      const step = await model.forward(slot, [id], 1, opts.fullProbs);
      logits = step.logits;
      stats.decodeTokens++;
      // 3. text increment, held back while it may be the start of a stop sequence
      let piece: string | null = null;
      let stopped = false;
      if (decoder && text !== null) {
        let increment = decoder.push(id);
        if (healing && healingStep) increment = healing.consume(increment);
        // Regenerating the healed text only: nothing to report for this token.
        if (healingStep && increment === '') continue;
        const r = stops.push(increment);
        piece = r.emit;
        stopped = r.stopped;
        text += piece;
      }
      visible++;
      if (pending) yield pending;
      pending = { id, text: piece, logprob, routing: step.routing[0] ?? [] };
      if (stopped) {
        finishReason = 'stop';
        break;
      }
    }
  } catch (e) {
    if (!(e instanceof CancelledError)) throw e;
    finishReason = 'cancelled';
  }
  if (decoder && text !== null && finishReason !== 'stop' && pending) {
    const tail = stops.push(decoder.flush()).emit + stops.flush();
    text += tail;
    pending.text = (pending.text ?? '') + tail;
  }
  if (pending) yield pending;
  const decodeSeconds = (now() - decodeStart) / 1000;
  stats.decodeTokensPerSecond = decodeSeconds > 0 ? stats.decodeTokens / decodeSeconds : 0;
  stats.peakRssMb = peakRssMb();
  return { text, finishReason, stats };
}
