// Teacher-forced scoring: log p(token_t | tokens_<t) and the routing of every token. Sequences
// longer than the context run as overlapping windows: each window re-reads the second half of the
// previous one as context and scores only its own new tokens.
import { CancelledError, MoeLensError } from '../format/errors';
import type { LayerRouting } from '../format/routing';
import type { MoeModel } from './model';
import type { KvSlot } from './kvCache';
import { logSoftmaxAt } from './sampler';

export interface ScoredToken {
  id: number;
  /** null for the very first token (nothing conditions it). */
  logprob: number | null;
  routing: LayerRouting[];
}

export interface ScoreOptions {
  signal?: AbortSignal;
  fullProbs?: boolean;
  /** Tokens per forward call. */
  chunk?: number;
  /** Window length; defaults to the model's context length. */
  window?: number;
  /**
   * Compute log p of each token (default true). Routing-only analyses turn it off: the lm_head
   * then runs on one position per chunk and no log-softmax over the vocabulary runs in JS.
   */
  logprobs?: boolean;
  /** Called after each forward chunk with the tokens scored so far (long texts take a while). */
  onProgress?: (scored: number, total: number) => void;
}

export async function score(
  model: MoeModel,
  slot: KvSlot,
  ids: number[],
  opts: ScoreOptions = {},
): Promise<ScoredToken[]> {
  if (ids.length === 0) throw new MoeLensError('nothing to score: empty input');
  const V = model.config.vocabSize;
  const window = Math.min(opts.window ?? model.config.contextLength, model.config.contextLength);
  if (window < 2) throw new MoeLensError(`window ${window} is too small to score`);
  const chunk = opts.chunk ?? 256;
  const wantLogprobs = opts.logprobs ?? true;
  const out: ScoredToken[] = [];
  // Windows: [start, end) fed fresh; tokens from `from` on are scored by this window.
  for (let from = 0; from < ids.length;) {
    const start = from === 0 ? 0 : Math.max(0, from - Math.floor(window / 2));
    const end = Math.min(ids.length, start + window);
    slot.reset();
    let prevLast: Float32Array | null = null; // logits of the position before the chunk
    for (let c = start; c < end; c += chunk) {
      if (opts.signal?.aborted) throw new CancelledError();
      const piece = ids.slice(c, Math.min(end, c + chunk));
      const keep = wantLogprobs ? piece.length : 1;
      const { logits, routing } = await model.forward(slot, piece, keep, opts.fullProbs);
      for (let i = 0; i < piece.length; i++) {
        const pos = c + i;
        if (pos < from) continue;
        const id = piece[i] as number;
        let logprob: number | null = null;
        if (wantLogprobs && i > 0) logprob = logSoftmaxAt(logits, (i - 1) * V, V, id);
        else if (wantLogprobs && prevLast) logprob = logSoftmaxAt(prevLast, 0, V, id);
        out.push({ id, logprob, routing: routing[i] ?? [] });
      }
      if (wantLogprobs) prevLast = logits.slice((piece.length - 1) * V, piece.length * V);
      opts.onProgress?.(out.length, ids.length);
    }
    from = end;
  }
  return out;
}
