// Turns one token's router logits z = W_g . x into its routing decision, exactly as transformers'
// TopKRouter modules do for the supported families (Mixtral, Qwen2/3-MoE, OLMoE):
//   p = softmax(z) in fp32 -> top-k of p -> renormalise the k weights iff normTopKProb.
// Mixtral always renormalises (its ModelSpec has normTopKProb = true). The engine applies this to
// the router-logit outputs of the ONNX graph; the reference forward uses it for its own routing.

/** One token's routing in one MoE layer, as the engine reports it. */
export interface LayerRouting {
  /** The model's own layer index. */
  layer: number;
  /** Expert ids, highest weight first. */
  experts: number[];
  /** Mixing weights of those experts (sum to 1 when the family renormalises). */
  weights: number[];
  /** Full router distribution softmax(z), when requested. */
  probs?: number[];
}

export interface TokenRouting {
  /** The k chosen experts, in descending probability order (ties: lower expert index first). */
  experts: number[];
  /** Their weights: the softmax probabilities, renormalised to sum to 1 when normTopKProb. */
  weights: number[];
  /** softmax(z) over all experts. */
  probs: Float32Array;
}

/** Numerically stable softmax, accumulated in double and rounded to fp32. */
export function softmaxF32(z: ArrayLike<number>): Float32Array {
  const n = z.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, z[i] as number);
  let sum = 0;
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    e[i] = Math.exp((z[i] as number) - max);
    sum += e[i] as number;
  }
  for (let i = 0; i < n; i++) out[i] = (e[i] as number) / sum;
  return out;
}

/** Indices of the k largest values, largest first; equal values keep the lower index first. */
export function topKIndices(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
  return idx.slice(0, k);
}

export function routeTokens(logits: Float32Array, k: number, normTopKProb: boolean): TokenRouting {
  if (!Number.isInteger(k) || k < 1 || k > logits.length) {
    throw new RangeError(`top-k ${k} is out of range 1..${logits.length}`);
  }
  const probs = softmaxF32(logits);
  const experts = topKIndices(probs, k);
  let weights = experts.map((e) => probs[e] as number);
  if (normTopKProb) {
    let sum = 0;
    for (const w of weights) sum += w;
    weights = weights.map((w) => Math.fround(w / sum));
  }
  return { experts, weights, probs };
}
