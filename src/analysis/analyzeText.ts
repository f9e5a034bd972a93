// Teacher-forced routing analysis of one text: tokenise (special-token strings stay text), score
// with the full router distribution, and attach to every token its character range, its
// surprise, and per MoE layer the routing entropy and top-k mass. The full distributions are
// dropped unless asked for: a workspace of big-model tokens would not fit through the IPC.
import type { Engine } from '../engine/engine';
import { entropy } from './routingStats';
import type { LayerRouting } from '../format/routing';
import type { TokenClass } from '../language/tokenClasses';

export interface AnalyzedRouting extends LayerRouting {
  /** Entropy of softmax(z) in nats, in [0, ln E]. */
  entropy: number;
  /** Router probability mass of the chosen experts, Σ_{e∈S} p_e. */
  topKMass: number;
}

export interface AnalyzedToken {
  id: number;
  /** Text increment; increments concatenate to the analysed text. */
  text: string;
  /** Character range [start, end) of `text` in the analysed text. */
  start: number;
  end: number;
  /** log p(token | tokens before it); null for the first token. */
  logprob: number | null;
  routing: AnalyzedRouting[];
}

export interface AnalyzedText {
  tokens: AnalyzedToken[];
  /** Tokens of the text before the cut at maxTokens (of its first maxTokens × 32 characters). */
  totalTokens: number;
  truncated: boolean;
  /** Time spent scoring (ms). */
  scoreMs: number;
  /** Syntax class of each token, when the caller named the language (src/language/tokenClasses). */
  classes?: TokenClass[];
}

export interface AnalyzeOptions {
  /** Tokens analysed from the start of the text (default 1024). */
  maxTokens?: number;
  /** Keep each layer's full router distribution (`probs`). */
  fullProbs?: boolean;
  /** Compute each token's log p (default true; statistics-only analyses skip it: faster). */
  logprobs?: boolean;
  signal?: AbortSignal;
  /** KV slot: analyses run on their own, so the completion prefix survives. */
  slot?: string;
}

export const DEFAULT_ANALYZE_TOKENS = 1024;

export function withRouterStats(r: LayerRouting, keepProbs: boolean): AnalyzedRouting {
  const probs = r.probs ?? [];
  let mass = 0;
  for (const e of r.experts) mass += probs[e] ?? 0;
  const out: AnalyzedRouting = {
    layer: r.layer,
    experts: r.experts,
    weights: r.weights,
    entropy: entropy(probs),
    topKMass: mass,
  };
  if (keepProbs && r.probs) out.probs = r.probs;
  return out;
}

export async function analyzeText(
  engine: Engine,
  text: string,
  opts: AnalyzeOptions = {},
): Promise<AnalyzedText> {
  const max = opts.maxTokens ?? DEFAULT_ANALYZE_TOKENS;
  // Tokenise only what can be analysed (a token is rarely longer than 32 characters): a 1 MB
  // file then costs what its first 32k characters cost. totalTokens is then a lower bound.
  const all = engine.requireTokenizer().encodeOrdinary(text.slice(0, max * 32));
  const ids = all.slice(0, max);
  if (ids.length === 0) return { tokens: [], totalTokens: 0, truncated: false, scoreMs: 0 };
  const t0 = performance.now();
  const scored = await engine.score(
    ids,
    {
      fullProbs: true,
      logprobs: opts.logprobs ?? true,
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
    opts.slot ?? 'analysis',
  );
  const scoreMs = performance.now() - t0;
  const texts = engine.tokenTexts(ids);
  const tokens: AnalyzedToken[] = [];
  let pos = 0;
  for (const [i, s] of scored.entries()) {
    const t = texts[i] ?? '';
    tokens.push({
      id: s.id,
      text: t,
      start: pos,
      end: pos + t.length,
      logprob: s.logprob,
      routing: s.routing.map((r) => withRouterStats(r, opts.fullProbs === true)),
    });
    pos += t.length;
  }
  const truncated = all.length > ids.length || text.length > max * 32;
  return { tokens, totalTokens: all.length, truncated, scoreMs };
}
