// A reference forward pass in plain Float32Array math (llama2.c style: one short function per op),
// reproducing transformers' modeling_{qwen3_moe,mixtral,olmoe,qwen2_moe}.py in fp32. It is slow
// and simple on purpose: tests use it as an independent implementation to pinpoint which op of the
// ONNX graph diverges. Sums are accumulated in double and rounded to fp32 per op output.
import type { ModelSpec } from '../checkpoint/modelSpec';
import { checkpointNames, type ExpertNames } from '../checkpoint/checkpointLayout';
import { MoeLensError } from '../format/errors';
import { routeTokens } from '../format/routing';

export interface ReferenceRouting {
  /** The model's own layer index (MoE layers only). */
  layer: number;
  /** Raw router logits z = W_g . x per position, [E] each. */
  logits: Float32Array[];
  experts: number[][];
  weights: number[][];
}

export interface ReferenceOutput {
  /** Per position, [V]. */
  logits: Float32Array[];
  routing: ReferenceRouting[];
}

export interface ReferenceOptions {
  /** Called with each op's output (layer -1 outside the decoder layers), for divergence hunts. */
  trace?: (op: string, layer: number, pos: number, value: Float32Array) => void;
}

// ---------------------------------------------------------------------------------------------
// Ops

/** out = x * rsqrt(mean(x^2) + eps) * w, over `len` values starting at x[off] (transformers'
 *  RMSNorm: computed in fp32, weight applied after the normalisation). */
export function rmsnorm(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  eps: number,
  off = 0,
  len = w.length,
): void {
  let ss = 0;
  for (let i = 0; i < len; i++) ss += (x[off + i] as number) ** 2;
  const inv = Math.fround(1 / Math.sqrt(Math.fround(Math.fround(ss / len) + eps)));
  for (let i = 0; i < len; i++) {
    out[off + i] = (w[i] as number) * Math.fround((x[off + i] as number) * inv);
  }
}

/** out[o] = sum_i x[i] W[o, i] (+ b[o]): x @ W^T for a Hugging Face [out, in] weight. */
export function matmul(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  inDim: number,
  outDim: number,
  bias?: Float32Array,
): void {
  for (let o = 0; o < outDim; o++) {
    let s = 0;
    const row = o * inDim;
    for (let i = 0; i < inDim; i++) s += (x[i] as number) * (w[row + i] as number);
    out[o] = bias ? Math.fround(s) + (bias[o] as number) : s;
  }
}

/** cos/sin of HF's default RoPE for one position: inv_freq = 1 / theta^(2i/D) in fp32, the
 *  half-width table repeated twice (emb = cat(freqs, freqs)). */
export function ropeCosSin(
  pos: number,
  headDim: number,
  theta: number,
): [Float32Array, Float32Array] {
  const half = headDim / 2;
  const cos = new Float32Array(headDim);
  const sin = new Float32Array(headDim);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
    const f = Math.fround(pos * invFreq);
    cos[i] = cos[i + half] = Math.cos(f);
    sin[i] = sin[i + half] = Math.sin(f);
  }
  return [cos, sin];
}

/** x * cos + rotate_half(x) * sin on each of `heads` heads (non-interleaved halves), in place. */
export function rope(
  x: Float32Array,
  heads: number,
  headDim: number,
  cos: Float32Array,
  sin: Float32Array,
): void {
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    const o = h * headDim;
    for (let i = 0; i < half; i++) {
      const x1 = x[o + i] as number;
      const x2 = x[o + i + half] as number;
      x[o + i] = x1 * (cos[i] as number) - x2 * (sin[i] as number);
      x[o + i + half] = x2 * (cos[i + half] as number) + x1 * (sin[i + half] as number);
    }
  }
}

/** Softmax over x[0..len), in place. */
export function softmax(x: Float32Array, len = x.length): void {
  let max = -Infinity;
  for (let i = 0; i < len; i++) max = Math.max(max, x[i] as number);
  let sum = 0;
  for (let i = 0; i < len; i++) {
    x[i] = Math.exp((x[i] as number) - max);
    sum += x[i] as number;
  }
  for (let i = 0; i < len; i++) x[i] = (x[i] as number) / sum;
}

/** Causal GQA attention of one query position over cached keys/values 0..pos. Query head h reads
 *  kv head floor(h / (heads / kvHeads)), like transformers' repeat_kv. */
export function attention(
  out: Float32Array,
  q: Float32Array,
  keys: Float32Array[],
  values: Float32Array[],
  pos: number,
  heads: number,
  kvHeads: number,
  headDim: number,
): void {
  const group = heads / kvHeads;
  const scale = headDim ** -0.5;
  const att = new Float32Array(pos + 1);
  for (let h = 0; h < heads; h++) {
    const qo = h * headDim;
    const ko = Math.floor(h / group) * headDim;
    for (let t = 0; t <= pos; t++) {
      const k = keys[t] as Float32Array;
      let s = 0;
      for (let i = 0; i < headDim; i++) s += (q[qo + i] as number) * (k[ko + i] as number);
      att[t] = Math.fround(s) * scale;
    }
    softmax(att, pos + 1);
    for (let i = 0; i < headDim; i++) {
      let s = 0;
      for (let t = 0; t <= pos; t++) {
        s += (att[t] as number) * ((values[t] as Float32Array)[ko + i] as number);
      }
      out[qo + i] = s;
    }
  }
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

interface MlpWeights {
  gate: Float32Array; // [I, H]
  up: Float32Array; // [I, H]
  down: Float32Array; // [H, I]
  inter: number;
}

/** down(silu(gate(x)) * up(x)): one expert, the shared expert or a dense MLP. */
export function swiglu(out: Float32Array, x: Float32Array, w: MlpWeights, hidden: number): void {
  const g = new Float32Array(w.inter);
  const u = new Float32Array(w.inter);
  matmul(g, x, w.gate, hidden, w.inter);
  matmul(u, x, w.up, hidden, w.inter);
  for (let i = 0; i < w.inter; i++) g[i] = silu(g[i] as number) * (u[i] as number);
  matmul(out, g, w.down, w.inter, hidden);
}

// ---------------------------------------------------------------------------------------------
// Weights

interface LayerWeights {
  inputNorm: Float32Array;
  postAttentionNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  qBias?: Float32Array;
  kBias?: Float32Array;
  vBias?: Float32Array;
  oBias?: Float32Array;
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  moe?: {
    router: Float32Array;
    experts: MlpWeights[];
    shared?: MlpWeights;
    sharedGate?: Float32Array;
  };
  dense?: MlpWeights;
}

function loadWeights(
  spec: ModelSpec,
  weights: (name: string) => Float32Array,
): { embed: Float32Array; finalNorm: Float32Array; lmHead: Float32Array; layers: LayerWeights[] } {
  const names = checkpointNames(spec);
  const get = (name: string, ...shape: number[]): Float32Array => {
    const w = weights(name);
    const n = shape.reduce((a, b) => a * b, 1);
    if (w.length !== n) {
      throw new MoeLensError(
        `tensor "${name}" has ${w.length} values, expected [${shape.join(', ')}]`,
      );
    }
    return w;
  };
  const H = spec.hiddenSize;
  const qDim = spec.numHeads * spec.headDim;
  const kvDim = spec.numKvHeads * spec.headDim;
  const mlp = (n: ExpertNames, inter: number): MlpWeights => ({
    gate: get(n.gate, inter, H),
    up: get(n.up, inter, H),
    down: get(n.down, H, inter),
    inter,
  });
  const layers = spec.moeLayers.map((sparse, l): LayerWeights => {
    const n = names.layer(l);
    const lw: LayerWeights = {
      inputNorm: get(n.inputNorm, H),
      postAttentionNorm: get(n.postAttentionNorm, H),
      q: get(n.q, qDim, H),
      k: get(n.k, kvDim, H),
      v: get(n.v, kvDim, H),
      o: get(n.o, H, qDim),
    };
    if (spec.qkvBias) {
      lw.qBias = get(n.qBias, qDim);
      lw.kBias = get(n.kBias, kvDim);
      lw.vBias = get(n.vBias, kvDim);
    }
    if (spec.oBias) lw.oBias = get(n.oBias, H);
    if (spec.qkNorm === 'per_head') {
      lw.qNorm = get(n.qNorm, spec.headDim);
      lw.kNorm = get(n.kNorm, spec.headDim);
    } else if (spec.qkNorm === 'full') {
      lw.qNorm = get(n.qNorm, qDim);
      lw.kNorm = get(n.kNorm, kvDim);
    }
    if (sparse) {
      lw.moe = {
        router: get(n.router, spec.numExperts, H),
        experts: Array.from({ length: spec.numExperts }, (_, e) =>
          mlp(n.expert(e), spec.moeIntermediateSize),
        ),
      };
      if (spec.sharedExpert) {
        lw.moe.shared = mlp(n.shared, spec.sharedExpert.intermediateSize);
        lw.moe.sharedGate = get(n.sharedGate, 1, H);
      }
    } else {
      lw.dense = mlp(n.dense, spec.denseIntermediateSize);
    }
    return lw;
  });
  return {
    embed: get(names.embed, spec.vocabSize, H),
    finalNorm: get(names.finalNorm, H),
    lmHead: get(names.lmHead, spec.vocabSize, H),
    layers,
  };
}

// ---------------------------------------------------------------------------------------------
// Forward

/** q/k normalisation before RoPE: Qwen3 per head ([D] weight), OLMoE over the whole projection. */
function qkNorm(
  x: Float32Array,
  w: Float32Array | undefined,
  spec: ModelSpec,
  heads: number,
): void {
  if (!w || spec.qkNorm === 'none') return;
  if (spec.qkNorm === 'full') {
    rmsnorm(x, x, w, spec.rmsNormEps);
    return;
  }
  for (let h = 0; h < heads; h++) rmsnorm(x, x, w, spec.rmsNormEps, h * spec.headDim, spec.headDim);
}

/** Runs the whole sequence (positions 0..n-1) and returns every position's logits and routing. */
export function referenceForward(
  spec: ModelSpec,
  weights: (name: string) => Float32Array,
  ids: number[],
  options: ReferenceOptions = {},
): ReferenceOutput {
  const W = loadWeights(spec, weights);
  const trace = options.trace ?? (() => undefined);
  const H = spec.hiddenSize;
  const D = spec.headDim;
  const qDim = spec.numHeads * D;
  const kvDim = spec.numKvHeads * D;
  const keys: Float32Array[][] = spec.moeLayers.map(() => []);
  const values: Float32Array[][] = spec.moeLayers.map(() => []);
  const routing: ReferenceRouting[] = [];
  const routingOf = new Map<number, ReferenceRouting>();
  spec.moeLayers.forEach((sparse, layer) => {
    if (!sparse) return;
    const r: ReferenceRouting = { layer, logits: [], experts: [], weights: [] };
    routing.push(r);
    routingOf.set(layer, r);
  });
  const logits: Float32Array[] = [];

  const xb = new Float32Array(H);
  const tmp = new Float32Array(H);
  const attnOut = new Float32Array(qDim);
  ids.forEach((id, pos) => {
    if (!Number.isInteger(id) || id < 0 || id >= spec.vocabSize) {
      throw new MoeLensError(
        `token id ${id} at position ${pos} is outside the vocabulary 0..${spec.vocabSize - 1}`,
      );
    }
    const x = W.embed.slice(id * H, (id + 1) * H);
    const [cos, sin] = ropeCosSin(pos, D, spec.ropeTheta);
    W.layers.forEach((lw, l) => {
      // Attention block.
      rmsnorm(xb, x, lw.inputNorm, spec.rmsNormEps);
      const q = new Float32Array(qDim);
      const k = new Float32Array(kvDim);
      const v = new Float32Array(kvDim);
      matmul(q, xb, lw.q, H, qDim, lw.qBias);
      matmul(k, xb, lw.k, H, kvDim, lw.kBias);
      matmul(v, xb, lw.v, H, kvDim, lw.vBias);
      qkNorm(q, lw.qNorm, spec, spec.numHeads);
      qkNorm(k, lw.kNorm, spec, spec.numKvHeads);
      rope(q, spec.numHeads, D, cos, sin);
      rope(k, spec.numKvHeads, D, cos, sin);
      (keys[l] as Float32Array[]).push(k);
      (values[l] as Float32Array[]).push(v);
      attention(
        attnOut,
        q,
        keys[l] as Float32Array[],
        values[l] as Float32Array[],
        pos,
        spec.numHeads,
        spec.numKvHeads,
        D,
      );
      matmul(tmp, attnOut, lw.o, qDim, H, lw.oBias);
      trace('attn', l, pos, tmp);
      for (let i = 0; i < H; i++) x[i] = (x[i] as number) + (tmp[i] as number);

      // Feed-forward block.
      rmsnorm(xb, x, lw.postAttentionNorm, spec.rmsNormEps);
      if (lw.moe) moe(tmp, xb, lw.moe, spec, routingOf.get(l) as ReferenceRouting);
      else swiglu(tmp, xb, lw.dense as MlpWeights, H);
      trace('mlp', l, pos, tmp);
      for (let i = 0; i < H; i++) x[i] = (x[i] as number) + (tmp[i] as number);
      trace('hidden', l, pos, x);
    });
    rmsnorm(xb, x, W.finalNorm, spec.rmsNormEps);
    const out = new Float32Array(spec.vocabSize);
    matmul(out, xb, W.lmHead, H, spec.vocabSize);
    trace('logits', -1, pos, out);
    logits.push(out);
  });
  return { logits, routing };
}

/** Routed experts (weights from routeTokens) plus Qwen2-MoE's sigmoid-gated shared expert. */
function moe(
  out: Float32Array,
  x: Float32Array,
  w: NonNullable<LayerWeights['moe']>,
  spec: ModelSpec,
  trace: ReferenceRouting,
): void {
  const H = spec.hiddenSize;
  const z = new Float32Array(spec.numExperts);
  matmul(z, x, w.router, H, spec.numExperts);
  const r = routeTokens(z, spec.topK, spec.normTopKProb);
  trace.logits.push(z);
  trace.experts.push(r.experts);
  trace.weights.push(r.weights);
  const acc = new Float64Array(H);
  const y = new Float32Array(H);
  r.experts.forEach((e, j) => {
    swiglu(y, x, w.experts[e] as MlpWeights, H);
    const wj = r.weights[j] as number;
    for (let i = 0; i < H; i++) acc[i] = (acc[i] as number) + Math.fround(wj * (y[i] as number));
  });
  if (w.shared && w.sharedGate) {
    swiglu(y, x, w.shared, H);
    const g = new Float32Array(1);
    matmul(g, x, w.sharedGate, H, 1);
    const s = Math.fround(sigmoid(g[0] as number));
    for (let i = 0; i < H; i++) acc[i] = (acc[i] as number) + Math.fround(s * (y[i] as number));
  }
  for (let i = 0; i < H; i++) out[i] = acc[i] as number;
}
