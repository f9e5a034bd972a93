// Next-token selection from logits: greedy, or temperature sampling with optional top-k and
// top-p (nucleus), applied in that order (as Hugging Face `generate` does). Seeded, so a run with
// the same options, prompt and model is reproducible.
import { MoeLensError } from '../format/errors';

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
  /** Scratch buffers (unnormalized probabilities, candidate ids), reused across calls. */
  private weights = new Float64Array(0);
  private ids = new Int32Array(0);

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

  private result(logits: Float32Array, id: number, logZ: number): SampledToken {
    return { id, logprob: logits[id]! - logZ };
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
    // One exp pass per token over the vocabulary (~2 ms at 150k on a slow CPU core), two when
    // sampling at a temperature other than 1; nothing is sorted.
    if (this.temperature === 0) return this.result(logits, best, logSumExp(logits, max));

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
    const logZ = invT === 1 ? max + Math.log(total) : logSumExp(logits, max);
    const result = (id: number): SampledToken => this.result(logits, id, logZ);

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

    if (this.ids.length < n) this.ids = new Int32Array(n);
    const ids = this.ids;
    let count = 0;
    let target: number;
    if (useTopK) {
      // Top-p sees the distribution renormalized over the top-k survivors, as in Hugging Face.
      let mass = 0;
      for (const i of topKIndices(w, n, this.topK)) {
        ids[count++] = i;
        mass += w[i]!;
      }
      target = this.topP * mass;
    } else {
      target = this.topP * total;
      // A superset of the nucleus without touching most of the vocabulary: the ids with
      // weight >= t, for the first t whose set already holds the target mass (the nucleus
      // takes weights in descending order, so it lies within). Peaked distributions stop at
      // t = 1e-2 with a handful of ids; flat ones fall through to every id.
      for (const t of [1e-2, 1e-5, Number.MIN_VALUE]) {
        count = 0;
        let mass = 0;
        for (let i = 0; i < n; i++) {
          const x = w[i]!;
          if (x >= t) {
            ids[count++] = i;
            mass += x;
          }
        }
        if (mass >= target) break;
      }
    }
    // Moves the nucleus to the front of `ids`, in no particular order.
    const keep = this.topP < 1 ? selectNucleus(w, ids, count, target) : count;
    let keptMass = 0;
    for (let j = 0; j < keep; j++) keptMass += w[ids[j]!]!;
    let r = this.random() * keptMass;
    let last = best;
    for (let j = 0; j < keep; j++) {
      const i = ids[j]!;
      if (w[i] === 0) continue;
      last = i;
      r -= w[i]!;
      if (r < 0) return result(i);
    }
    return result(last); // rounding left r a hair above 0
  }
}

function logSumExp(logits: Float32Array, max: number): number {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max) || 0;
  return max + Math.log(sum);
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

/**
 * logSoftmax(row)[id] for the row of `logits` starting at `offset`, without allocating the row
 * (scoring needs one entry per token).
 */
export function logSoftmaxAt(
  logits: Float32Array,
  offset: number,
  vocab: number,
  id: number,
): number {
  let max = -Infinity;
  for (let i = offset; i < offset + vocab; i++) if (logits[i]! > max) max = logits[i]!;
  if (max === -Infinity) return NaN;
  let sum = 0;
  for (let i = offset; i < offset + vocab; i++) sum += Math.exp(logits[i]! - max) || 0;
  const v = logits[offset + id]!;
  return Number.isNaN(v) ? -Infinity : v - (max + Math.log(sum));
}

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
 * Top-p nucleus by weighted quickselect, expected O(count) with no sort: reorders ids[0, count)
 * so that ids[0, result) is the smallest set of largest weights whose sum reaches `target`
 * (lower ids first among equal weights at the cut). Handles flat distributions (high
 * temperature, where the nucleus is most of a 150k vocabulary) as fast as peaked ones.
 */
function selectNucleus(w: Float64Array, ids: Int32Array, count: number, target: number): number {
  // ids[0, lo) are in the nucleus with total weight `acc`; ids[lo, hi) are undecided; the rest
  // are out. Invariant: acc + weight(ids[lo, hi)) >= target.
  let lo = 0;
  let hi = count;
  let acc = 0;
  const swap = (a: number, b: number): void => {
    const t = ids[a]!;
    ids[a] = ids[b]!;
    ids[b] = t;
  };
  while (lo < hi && acc < target) {
    const a = w[ids[lo]!]!;
    const b = w[ids[(lo + hi) >> 1]!]!;
    const c = w[ids[hi - 1]!]!;
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c)); // median of three
    // Three-way partition of [lo, hi): greater [lo, gt), equal [gt, lt), less [lt, hi).
    let gt = lo;
    let lt = hi;
    let j = lo;
    while (j < lt) {
      const x = w[ids[j]!]!;
      if (x > pivot) swap(j++, gt++);
      else if (x < pivot) swap(j, --lt);
      else j++;
    }
    let greater = 0;
    for (let k = lo; k < gt; k++) greater += w[ids[k]!]!;
    if (acc + greater >= target) {
      hi = gt;
      continue;
    }
    const equalMass = pivot * (lt - gt);
    if (acc + greater + equalMass >= target) {
      // The cut falls among equal weights: take the lowest ids first.
      ids.subarray(gt, lt).sort();
      acc += greater;
      let end = gt;
      while (end < lt && acc < target) {
        acc += pivot;
        end++;
      }
      return Math.max(end, 1);
    }
    acc += greater + equalMass;
    lo = lt;
  }
  return Math.max(lo, 1);
}
