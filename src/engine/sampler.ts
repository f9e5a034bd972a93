// Next-token selection from logits: greedy, or temperature sampling with optional top-k and
// top-p (nucleus), applied in that order (as Hugging Face `generate` does). Seeded, so a run with
// the same options, prompt and model is reproducible.
import { MoeLensError } from './errors';

export interface SamplingOptions {
  /** 0 = greedy (argmax; the lowest id wins exact ties). */
  temperature: number;
  /** Nucleus sampling: keep the most likely tokens until their mass reaches topP. 1 = off. */
  topP: number;
  /** Keep only the k most likely tokens (ties broken towards lower ids). 0 or undefined = off. */
  topK?: number;
  /** PRNG seed (uint32). Undefined = 0, so runs are reproducible by default. */
  seed?: number;
}

export interface SampledToken {
  id: number;
  /**
   * Natural log of the chosen id's probability under the model's own distribution: the softmax
   * of the raw logits at temperature 1, before any temperature, top-k or top-p. It measures how
   * confident the model was, independently of the sampling settings.
   */
  logprob: number;
}

export class Sampler {
  private readonly temperature: number;
  private readonly topP: number;
  private readonly topK: number;
  private readonly random: () => number;
  /** Scratch buffer of unnormalized probabilities, reused across calls. */
  private weights = new Float64Array(0);

  constructor(opts: SamplingOptions) {
    const { temperature, topP } = opts;
    const topK = opts.topK ?? 0;
    if (!(temperature >= 0) || !Number.isFinite(temperature)) {
      throw new MoeLensError(`temperature must be a finite number >= 0, got ${temperature}`);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new MoeLensError(`topP must be in (0, 1], got ${topP}`);
    }
    if (!Number.isInteger(topK) || topK < 0) {
      throw new MoeLensError(`topK must be an integer >= 0, got ${topK}`);
    }
    const seed = opts.seed ?? 0;
    if (!Number.isFinite(seed)) throw new MoeLensError(`seed must be a number, got ${seed}`);
    this.temperature = temperature;
    this.topP = topP;
    this.topK = topK;
    this.random = mulberry32(Math.floor(seed) >>> 0);
  }

  sample(logits: Float32Array): SampledToken {
    const n = logits.length;
    if (n === 0) throw new Error('sample: empty logits');
    // Max and log-sum-exp of the raw logits give the model's own log-probabilities.
    let best = -1;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = logits[i]!;
      if (v > max) {
        max = v;
        best = i;
      }
    }
    if (best < 0) throw new Error('sample: every logit is NaN or -Infinity');
    if (max === Infinity) return { id: best, logprob: 0 };
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.exp(logits[i]! - max) || 0;
    const logZ = max + Math.log(sum);
    const result = (id: number): SampledToken => ({ id, logprob: logits[id]! - logZ });

    if (this.temperature === 0) return result(best);

    // Unnormalized probabilities at the sampling temperature; the max token has weight 1.
    if (this.weights.length < n) this.weights = new Float64Array(n);
    const w = this.weights;
    const invT = 1 / this.temperature;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const x = Math.exp((logits[i]! - max) * invT) || 0; // NaN → 0
      w[i] = x;
      total += x;
    }

    const useTopK = this.topK > 0 && this.topK < n;
    if (!useTopK && this.topP >= 1) {
      // Plain sampling: one linear pass, no sorting.
      let r = this.random() * total;
      let last = best;
      for (let i = 0; i < n; i++) {
        const x = w[i]!;
        if (x === 0) continue;
        last = i;
        r -= x;
        if (r < 0) return result(i);
      }
      return result(last); // rounding left r a hair above 0
    }

    let candidates: number[];
    let mass: number;
    if (useTopK) {
      candidates = topKIndices(w, n, this.topK);
      mass = 0;
      for (const i of candidates) mass += w[i]!;
    } else {
      candidates = nucleusCandidates(w, n, total, this.topP);
      mass = total;
    }
    sortByWeightDesc(candidates, w);

    // Cut at the smallest prefix whose mass reaches topP (of the top-k mass when top-k is on,
    // i.e. top-p sees the distribution renormalized over the top-k survivors).
    let keep = candidates.length;
    if (this.topP < 1) {
      const target = this.topP * mass;
      let cum = 0;
      for (let j = 0; j < candidates.length; j++) {
        cum += w[candidates[j]!]!;
        if (cum >= target) {
          keep = j + 1;
          break;
        }
      }
    }
    let keptMass = 0;
    for (let j = 0; j < keep; j++) keptMass += w[candidates[j]!]!;
    let r = this.random() * keptMass;
    for (let j = 0; j < keep; j++) {
      const i = candidates[j]!;
      r -= w[i]!;
      if (r < 0) return result(i);
    }
    return result(candidates[keep - 1]!);
  }
}

/** log(softmax(logits)), computed stably. NaN logits give -Infinity. */
export function logSoftmax(logits: Float32Array): Float32Array {
  const out = new Float32Array(logits.length);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  if (max === -Infinity) return out.fill(NaN);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max) || 0;
  const logZ = max + Math.log(sum);
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    out[i] = Number.isNaN(v) ? -Infinity : v - logZ;
  }
  return out;
}

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Descending weight, ascending index on ties (so results never depend on sort stability). */
function sortByWeightDesc(ids: number[], w: Float64Array): void {
  ids.sort((a, b) => w[b]! - w[a]! || a - b);
}

/**
 * Indices of the k largest weights (lower index wins ties), via a size-k min-heap: O(n log k),
 * no full sort of the vocabulary.
 */
function topKIndices(w: Float64Array, n: number, k: number): number[] {
  // Heap ordered so the root is the "worst" kept entry: smallest weight, then highest index.
  const heap: number[] = [];
  const worse = (a: number, b: number): boolean => w[a]! < w[b]! || (w[a] === w[b] && a > b);
  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let i = 0; i < n; i++) {
    if (heap.length < k) {
      heap.push(i);
      let c = heap.length - 1;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(heap[c]!, heap[p]!)) break;
        [heap[c], heap[p]] = [heap[p]!, heap[c]!];
        c = p;
      }
    } else if (w[i]! > w[heap[0]!]!) {
      // Strictly greater: on equal weight the earlier (lower) index already kept wins.
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap;
}

/**
 * A superset of the top-p nucleus without sorting the vocabulary: every token with weight >= t
 * for a threshold t low enough that those tokens already hold topP of the mass. The nucleus
 * takes tokens in descending order, so it lies within that set. Starts near the top and lowers
 * t geometrically; typical code-model distributions stop after one or two passes with a few
 * dozen candidates.
 */
function nucleusCandidates(w: Float64Array, n: number, total: number, topP: number): number[] {
  const target = topP * total;
  // The max weight is 1, so t = 1 keeps at least the argmax.
  for (let t = 1e-2; ; t *= 1e-3) {
    const ids: number[] = [];
    let mass = 0;
    for (let i = 0; i < n; i++) {
      const x = w[i]!;
      if (x >= t && x > 0) {
        ids.push(i);
        mass += x;
      }
    }
    if (mass >= target || t < 1e-300) return ids;
  }
}
