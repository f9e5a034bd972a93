// Emits the decoder graph of a ModelSpec: onnxruntime-genai's I/O names plus one router-logits
// output per MoE layer. Experts use the fast sparse CPU layout measured in
// shared/notes/ONNXRUNTIME.md §11: the router runs in-graph (MatMul -> Softmax -> TopK), then one
// `If` per expert runs only when some token was routed to it, gathers those tokens, runs the
// expert as two (MatMulNBits or MatMul) nodes + SwiGLU, and scatter-adds the weighted result.
// A decoded token therefore reads only its k experts' weights.
import type { ModelSpec } from '../engine/modelSpec';
import type { CheckpointNames } from '../engine/checkpointLayout';
import type { GraphBuilder } from './onnxBuilder';
import { MoeLensError } from '../engine/errors';
import { blobSize, quantize } from './quantize';
import { f32ToF16 } from '../engine/safetensors';

export type WeightDType = 'fp32' | 'fp16' | 'int8' | 'int4';

export interface GraphOptions {
  dtype: WeightDType;
  /** MatMulNBits block size along K. */
  blockSize: number;
  /** MatMulNBits accuracy_level for layer weights (4 = int8 activations, the fast CPU path). */
  accuracyLevel: number;
  /** accuracy_level for lm_head (level 4 can flip the argmax, onnxruntime#29849). */
  lmHeadAccuracyLevel: number;
  /** if (default): sparse If-per-expert; qmoe: onnxruntime's QMoE kernel; unrouted: bench bound. */
  expertsLayout?: ExpertsLayout;
}

export type ExpertsLayout = 'if' | 'qmoe' | 'unrouted';

/** Reads one checkpoint tensor as fp32, checking its shape. */
export interface WeightSource {
  has(name: string): boolean;
  read(name: string, shape: number[]): Promise<Float32Array>;
}

/** Graph I/O names, following onnxruntime-genai (docs/MODEL_FORMAT.md). */
export const IO = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  logitsToKeep: 'num_logits_to_keep',
  logits: 'logits',
  pastKey: (l: number) => `past_key_values.${l}.key`,
  pastValue: (l: number) => `past_key_values.${l}.value`,
  presentKey: (l: number) => `present.${l}.key`,
  presentValue: (l: number) => `present.${l}.value`,
  routerLogits: (l: number) => `router_logits.${l}`,
} as const;

/** [N, K] row-major -> [K, N] row-major. */
function transpose(w: Float32Array, n: number, k: number): Float32Array {
  const t = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = i * k;
    for (let j = 0; j < k; j++) t[j * n + i] = w[row + j] as number;
  }
  return t;
}

/** Concatenates row blocks ([a, K] and [b, K] -> [a+b, K]). */
function concatRows(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

class Emitter {
  /** Values computed once per graph and shared by all layers (e.g. zeros of shape [T, E]). */
  private readonly shared = new Map<string, string>();

  constructor(
    readonly g: GraphBuilder,
    readonly opts: GraphOptions,
  ) {}

  once(key: string, make: () => string): string {
    let v = this.shared.get(key);
    if (v === undefined) {
      v = make();
      this.shared.set(key, v);
    }
    return v;
  }

  /** y = x @ W^T (+ b) for a HF Linear weight W [N, K]; x [..., K] -> y [..., N]. */
  linear(
    g: GraphBuilder,
    x: string,
    w: Float32Array,
    n: number,
    k: number,
    name: string,
    bias: Float32Array | null = null,
    accuracyLevel = this.opts.accuracyLevel,
    dtype: WeightDType = this.opts.dtype,
  ): string {
    let y: string;
    if (dtype === 'fp32') {
      const wt = g.initializer(g.fresh(`${name}.weight`), 'float32', [k, n], transpose(w, n, k));
      y = g.op('MatMul', [x, wt], `${name}/MatMul`);
    } else if (dtype === 'fp16') {
      // fp16 is a storage format: onnxruntime folds the Cast at load and computes in fp32.
      const wt16 = g.initializer(
        g.fresh(`${name}.weight`),
        'float16',
        [k, n],
        f32ToF16(transpose(w, n, k)),
      );
      const wt = g.op('Cast', [wt16], `${name}/Cast`, { to: 1 });
      y = g.op('MatMul', [x, wt], `${name}/MatMul`);
    } else {
      const bits = dtype === 'int4' ? 4 : 8;
      const q = quantize(w, n, k, { bits, blockSize: this.opts.blockSize, name });
      const blob = blobSize(bits, this.opts.blockSize);
      const b = g.initializer(g.fresh(`${name}.qweight`), 'uint8', [n, q.kBlocks, blob], q.packed);
      const s = g.initializer(g.fresh(`${name}.scales`), 'float32', [n * q.kBlocks], q.scales);
      y = g.op(
        'MatMulNBits',
        [x, b, s],
        `${name}/MatMulNBits`,
        { K: k, N: n, bits, block_size: this.opts.blockSize, accuracy_level: accuracyLevel },
        'com.microsoft',
      );
    }
    if (bias) {
      const bName = g.initializer(g.fresh(`${name}.bias`), 'float32', [n], bias);
      y = g.op('Add', [y, bName], `${name}/Add`);
    }
    return y;
  }

  rmsNorm(g: GraphBuilder, x: string, w: Float32Array, eps: number, name: string): string {
    const wName = g.initializer(g.fresh(`${name}.weight`), 'float32', [w.length], w);
    return g.op('SimplifiedLayerNormalization', [x, wName], name, {
      axis: -1,
      epsilon: { f: eps },
    });
  }

  /** SwiGLU FFN: down(silu(gate(x)) * up(x)); gate and up run as one fused matmul. */
  swiglu(
    g: GraphBuilder,
    x: string,
    gate: Float32Array,
    up: Float32Array,
    down: Float32Array,
    h: number,
    inter: number,
    name: string,
  ): string {
    const gu = this.linear(g, x, concatRows(gate, up), 2 * inter, h, `${name}/gate_up`);
    const [gt, u] = g.node('Split', [gu, g.constInt64('split', [inter, inter])], {
      name: `${name}/Split`,
      outputs: 2,
      attrs: { axis: -1 },
    }) as [string, string];
    const act = g.op('Mul', [gt, g.op('Sigmoid', [gt], `${name}/Sigmoid`)], `${name}/Silu`);
    const a = g.op('Mul', [act, u], `${name}/Mul`);
    return this.linear(g, a, down, h, inter, `${name}/down`);
  }
}

/** Sinusoid caches for GroupQueryAttention's fused rotary: [maxPos, D/2] each, as HF computes. */
function ropeCaches(
  theta: number,
  d: number,
  maxPos: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = d / 2;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / d);
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const a = Math.fround(p * (invFreq[i] as number));
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** Longest context the graph's rotary cache covers (real configs say 32k–128k; memory is linear). */
export function contextLength(spec: ModelSpec): number {
  return Math.min(spec.maxPositions, 32768);
}

/**
 * GroupQueryAttention (fused rotary, KV append) needs head_dim % 16 == 0 on CPU; other head
 * sizes, and providers without GQA, use the same maths spelled out in standard ops.
 */
export type AttentionKind = 'gqa' | 'decomposed';

export function attentionKind(spec: ModelSpec): AttentionKind {
  return spec.headDim % 16 === 0 ? 'gqa' : 'decomposed';
}

interface AttentionContext {
  kind: AttentionKind;
  seqlensK: string;
  totalLen: string;
  cosCache: string;
  sinCache: string;
  /** decomposed only: [1, 1, S, D] rotary factors and the [g*S, L] additive causal mask. */
  cos?: string;
  sin?: string;
  mask?: string;
}

function attentionContext(
  g: GraphBuilder,
  spec: ModelSpec,
  seqlensK: string,
  totalLen: string,
): AttentionContext {
  const D = spec.headDim;
  const maxPos = contextLength(spec);
  const kind = attentionKind(spec);
  const { cos, sin } = ropeCaches(spec.ropeTheta, D, maxPos);
  if (kind === 'gqa') {
    const cosCache = g.initializer('cos_cache', 'float32', [maxPos, D / 2], cos);
    const sinCache = g.initializer('sin_cache', 'float32', [maxPos, D / 2], sin);
    return { kind, seqlensK, totalLen, cosCache, sinCache };
  }
  // Full-width caches [maxPos, D] = [cos | cos] for rotate_half form.
  const widen = (half: Float32Array): Float32Array => {
    const full = new Float32Array(maxPos * D);
    for (let p = 0; p < maxPos; p++) {
      const row = half.subarray((p * D) / 2, ((p + 1) * D) / 2);
      full.set(row, p * D);
      full.set(row, p * D + D / 2);
    }
    return full;
  };
  const cosCache = g.initializer('cos_cache_full', 'float32', [maxPos, D], widen(cos));
  const sinCache = g.initializer('sin_cache_full', 'float32', [maxPos, D], widen(sin));
  // Positions of the new tokens: past_len .. total_len - 1.
  const total64 = g.op('Cast', [totalLen], '/model/attn/total64', { to: 7 });
  const idsShape = g.op('Shape', [IO.inputIds], '/model/attn/IdsShape');
  const seqLen = g.op('Gather', [idsShape, g.constInt64('idx1', [1], true)], '/model/attn/SeqLen', {
    axis: 0,
  });
  const pastLen = g.op('Sub', [total64, seqLen], '/model/attn/PastLen');
  const one = g.constInt64('one', [1], true);
  const pos = g.op('Range', [pastLen, total64, one], '/model/attn/Positions'); // [S]
  const unsq = (x: string, axes: number[], name: string) =>
    g.op('Unsqueeze', [x, g.constInt64('axes', axes)], name);
  const cosS = unsq(
    g.op('Gather', [cosCache, pos], '/model/attn/Cos', { axis: 0 }),
    [0, 1],
    '/model/attn/Cos4',
  );
  const sinS = unsq(
    g.op('Gather', [sinCache, pos], '/model/attn/Sin', { axis: 0 }),
    [0, 1],
    '/model/attn/Sin4',
  );
  // Causal mask: key j is visible to query s iff j <= past_len + s.
  const keyPos = g.op(
    'Range',
    [g.constInt64('zero', [0], true), total64, one],
    '/model/attn/KeyPositions',
  );
  const visible = g.op(
    'LessOrEqual',
    [unsq(keyPos, [0], '/model/attn/KeyRow'), unsq(pos, [1], '/model/attn/QueryCol')],
    '/model/attn/Visible',
  ); // [S, L]
  const groups = spec.numHeads / spec.numKvHeads;
  const maskSL = g.op(
    'Where',
    [visible, g.constFloat('zero', [0], []), g.constFloat('neg_inf', [-Infinity], [])],
    '/model/attn/Mask',
  );
  const mask = g.op('Tile', [maskSL, g.constInt64('tile', [groups, 1])], '/model/attn/MaskTiled'); // [g*S, L]
  return { kind, seqlensK, totalLen, cosCache, sinCache, cos: cosS, sin: sinS, mask };
}

/** q [1,S,nh*D], k/v [1,S,kvh*D] -> attention output [1,S,nh*D]; writes present.l.* outputs. */
function attention(
  g: GraphBuilder,
  spec: ModelSpec,
  ctx: AttentionContext,
  q: string,
  k: string,
  v: string,
  l: number,
): string {
  const D = spec.headDim;
  const p = `/model/layers.${l}/attn`;
  if (ctx.kind === 'gqa') {
    const [out] = g.node(
      'GroupQueryAttention',
      [
        q,
        k,
        v,
        IO.pastKey(l),
        IO.pastValue(l),
        ctx.seqlensK,
        ctx.totalLen,
        ctx.cosCache,
        ctx.sinCache,
      ],
      {
        name: `${p}/GroupQueryAttention`,
        outputs: [g.fresh(`${p}/out`), IO.presentKey(l), IO.presentValue(l)],
        attrs: {
          num_heads: spec.numHeads,
          kv_num_heads: spec.numKvHeads,
          do_rotary: 1,
          rotary_interleaved: 0,
          scale: { f: 1 / Math.sqrt(D) },
        },
        domain: 'com.microsoft',
      },
    ) as [string];
    return out;
  }
  const nh = spec.numHeads;
  const kvh = spec.numKvHeads;
  const heads = (x: string, n: number, name: string) =>
    g.op(
      'Transpose',
      [g.op('Reshape', [x, g.constInt64('shape_bshd', [0, 0, n, D])], `${p}/${name}/Reshape`)],
      `${p}/${name}/Transpose`,
      { perm: [0, 2, 1, 3] },
    ); // [1, n, S, D]
  const half = g.constInt64('split_half', [D / 2, D / 2]);
  const rope = (x: string, name: string) => {
    const [x1, x2] = g.node('Split', [x, half], {
      name: `${p}/${name}/Split`,
      outputs: 2,
      attrs: { axis: -1 },
    }) as [string, string];
    const rot = g.op(
      'Concat',
      [g.op('Neg', [x2], `${p}/${name}/Neg`), x1],
      `${p}/${name}/RotateHalf`,
      { axis: -1 },
    );
    return g.op(
      'Add',
      [
        g.op('Mul', [x, ctx.cos as string], `${p}/${name}/MulCos`),
        g.op('Mul', [rot, ctx.sin as string], `${p}/${name}/MulSin`),
      ],
      `${p}/${name}/Rope`,
    );
  };
  const qh = rope(heads(q, nh, 'q'), 'q_rope'); // [1, nh, S, D]
  const kh = rope(heads(k, kvh, 'k'), 'k_rope'); // [1, kvh, S, D]
  const vh = heads(v, kvh, 'v');
  g.node('Concat', [IO.pastKey(l), kh], {
    name: `${p}/present_key`,
    outputs: [IO.presentKey(l)],
    attrs: { axis: 2 },
  });
  g.node('Concat', [IO.pastValue(l), vh], {
    name: `${p}/present_value`,
    outputs: [IO.presentValue(l)],
    attrs: { axis: 2 },
  });
  // Query heads of one KV group are contiguous: view q as [1, kvh, g*S, D] and share K/V.
  const qg = g.op('Reshape', [qh, g.constInt64('shape_groups', [0, kvh, -1, D])], `${p}/q/Group`);
  const kT = g.op('Transpose', [IO.presentKey(l)], `${p}/k/T`, { perm: [0, 1, 3, 2] });
  const scores = g.op(
    'Add',
    [
      g.op(
        'Mul',
        [g.op('MatMul', [qg, kT], `${p}/QK`), g.constFloat('scale', [1 / Math.sqrt(D)], [])],
        `${p}/Scale`,
      ),
      ctx.mask as string,
    ],
    `${p}/Mask`,
  ); // [1, kvh, g*S, L]
  const probs = g.op('Softmax', [scores], `${p}/Softmax`, { axis: -1 });
  const ctxv = g.op('MatMul', [probs, IO.presentValue(l)], `${p}/PV`); // [1, kvh, g*S, D]
  const bnsd = g.op('Reshape', [ctxv, g.constInt64('shape_heads', [0, nh, -1, D])], `${p}/Ungroup`);
  const bsnd = g.op('Transpose', [bnsd], `${p}/out/Transpose`, { perm: [0, 2, 1, 3] });
  return g.op('Reshape', [bsnd, g.constInt64('shape_flat', [0, 0, nh * D])], `${p}/out/Reshape`);
}

export async function buildDecoderGraph(
  spec: ModelSpec,
  names: CheckpointNames,
  weights: WeightSource,
  opts: GraphOptions,
  g: GraphBuilder,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const e = new Emitter(g, opts);
  const H = spec.hiddenSize;
  const D = spec.headDim;
  const qDim = spec.numHeads * D;
  const kvDim = spec.numKvHeads * D;
  const eps = spec.rmsNormEps;

  // ---- inputs ----------------------------------------------------------------------------------
  g.input(IO.inputIds, 'int64', ['batch_size', 'sequence_length']);
  g.input(IO.attentionMask, 'int64', ['batch_size', 'total_sequence_length']);
  g.input(IO.logitsToKeep, 'int64', [1]);
  for (let l = 0; l < spec.numLayers; l++) {
    for (const n of [IO.pastKey(l), IO.pastValue(l)]) {
      g.input(n, 'float32', ['batch_size', spec.numKvHeads, 'past_sequence_length', D]);
    }
  }

  // GQA's sequence bookkeeping, as genai computes it: seqlens_k = sum(mask) - 1 (int32 [B]),
  // total_sequence_length = mask.shape[1] (int32 scalar).
  const maskSum = g.op(
    'ReduceSum',
    [IO.attentionMask, g.constInt64('axes', [1])],
    '/model/mask/ReduceSum',
    {
      keepdims: 0,
    },
  );
  const seqlensK = g.op(
    'Cast',
    [g.op('Sub', [maskSum, g.constInt64('one', [1], true)], '/model/mask/Sub')],
    '/model/mask/seqlens_k',
    { to: 6 },
  );
  const maskShape = g.op('Shape', [IO.attentionMask], '/model/mask/Shape');
  const totalLen = g.op(
    'Cast',
    [
      g.op('Gather', [maskShape, g.constInt64('idx1', [1], true)], '/model/mask/Gather', {
        axis: 0,
      }),
    ],
    '/model/mask/total_seq_len',
    { to: 6 },
  );
  const actx = attentionContext(g, spec, seqlensK, totalLen);

  // ---- embeddings ------------------------------------------------------------------------------
  const embedW = await weights.read(names.embed, [spec.vocabSize, H]);
  let x: string;
  if (opts.dtype === 'fp32') {
    g.initializer('model.embed_tokens.weight', 'float32', [spec.vocabSize, H], embedW);
    x = g.op('Gather', ['model.embed_tokens.weight', IO.inputIds], '/model/embed_tokens/Gather', {
      axis: 0,
    });
  } else {
    // fp16 table, gathered then cast: only the looked-up rows are widened at run time.
    g.initializer('model.embed_tokens.weight', 'float16', [spec.vocabSize, H], f32ToF16(embedW));
    const rows = g.op(
      'Gather',
      ['model.embed_tokens.weight', IO.inputIds],
      '/model/embed_tokens/Gather',
      {
        axis: 0,
      },
    );
    x = g.op('Cast', [rows], '/model/embed_tokens/Cast', { to: 1 });
  }
  const tiedHead = spec.tieWordEmbeddings && opts.dtype === 'fp32' ? embedW : null;

  // ---- decoder layers --------------------------------------------------------------------------
  const shapeTH = g.constInt64('shape_TH', [-1, H]);
  for (let l = 0; l < spec.numLayers; l++) {
    const n = names.layer(l);
    const p = `/model/layers.${l}`;
    const h = e.rmsNorm(g, x, await weights.read(n.inputNorm, [H]), eps, `${p}/input_layernorm`);

    // Attention: fused QKV projection, optional q/k RMSNorm, GQA with fused rotary.
    const wqkv = concatRows(
      await weights.read(n.q, [qDim, H]),
      await weights.read(n.k, [kvDim, H]),
      await weights.read(n.v, [kvDim, H]),
    );
    const bqkv = spec.qkvBias
      ? concatRows(
          await weights.read(n.qBias, [qDim]),
          await weights.read(n.kBias, [kvDim]),
          await weights.read(n.vBias, [kvDim]),
        )
      : null;
    const qkv = e.linear(g, h, wqkv, qDim + 2 * kvDim, H, `${p}/attn/qkv_proj`, bqkv);
    const split = g.node('Split', [qkv, g.constInt64('split', [qDim, kvDim, kvDim])], {
      name: `${p}/attn/Split`,
      outputs: 3,
      attrs: { axis: -1 },
    }) as [string, string, string];
    let [q, k] = split;
    const v = split[2];
    if (spec.qkNorm === 'full') {
      q = e.rmsNorm(g, q, await weights.read(n.qNorm, [qDim]), eps, `${p}/attn/q_norm`);
      k = e.rmsNorm(g, k, await weights.read(n.kNorm, [kvDim]), eps, `${p}/attn/k_norm`);
    } else if (spec.qkNorm === 'per_head') {
      const perHead = async (t: string, heads: number, wName: string, label: string) => {
        const shape = g.constInt64('shape_heads', [0, 0, heads, D]);
        const r = g.op('Reshape', [t, shape], `${p}/attn/${label}/Reshape`);
        const nrm = e.rmsNorm(g, r, await weights.read(wName, [D]), eps, `${p}/attn/${label}`);
        return g.op(
          'Reshape',
          [nrm, g.constInt64('shape_flat', [0, 0, heads * D])],
          `${p}/attn/${label}/Flatten`,
        );
      };
      q = await perHead(q, spec.numHeads, n.qNorm, 'q_norm');
      k = await perHead(k, spec.numKvHeads, n.kNorm, 'k_norm');
    }
    const attn = attention(g, spec, actx, q, k, v, l);
    for (const name of [IO.presentKey(l), IO.presentValue(l)]) {
      g.output(name, 'float32', ['batch_size', spec.numKvHeads, 'total_sequence_length', D]);
    }
    const o = e.linear(
      g,
      attn,
      await weights.read(n.o, [H, qDim]),
      H,
      qDim,
      `${p}/attn/o_proj`,
      spec.oBias ? await weights.read(n.oBias, [H]) : null,
    );
    x = g.op('Add', [x, o], `${p}/attn/residual`);

    // Feed-forward: sparse MoE or a dense SwiGLU MLP.
    const h2 = e.rmsNorm(
      g,
      x,
      await weights.read(n.postAttentionNorm, [H]),
      eps,
      `${p}/post_attention_layernorm`,
    );
    let ffn: string;
    if (spec.moeLayers[l]) {
      ffn = await emitMoe(e, g, spec, weights, n, l, h2, shapeTH);
    } else {
      const I = spec.denseIntermediateSize;
      ffn = e.swiglu(
        g,
        h2,
        await weights.read(n.dense.gate, [I, H]),
        await weights.read(n.dense.up, [I, H]),
        await weights.read(n.dense.down, [H, I]),
        H,
        I,
        `${p}/mlp`,
      );
    }
    x = g.op('Add', [x, ffn], `${p}/mlp/residual`);
    onProgress?.(l + 1, spec.numLayers);
  }

  // ---- head: keep only the last num_logits_to_keep positions, norm, lm_head -------------------
  const negKeep = g.op('Neg', [IO.logitsToKeep], '/model/head/Neg');
  const last = g.op(
    'Slice',
    [x, negKeep, g.constInt64('big', [2 ** 31 - 1]), g.constInt64('axes', [1])],
    '/model/head/Slice',
  );
  const hf = e.rmsNorm(g, last, await weights.read(names.finalNorm, [H]), eps, '/model/norm');
  let logits: string;
  if (tiedHead) {
    // Tied fp32 head: one Gemm over the embedding table itself, no transposed copy.
    const flat = g.op('Reshape', [hf, shapeTH], '/model/head/Flatten');
    const y = g.op('Gemm', [flat, 'model.embed_tokens.weight'], '/model/head/Gemm', { transB: 1 });
    const outShape = g.op(
      'Concat',
      [
        g.op('Shape', [hf], '/model/head/Shape', { end: 2 }),
        g.constInt64('vocab', [spec.vocabSize]),
      ],
      '/model/head/Concat',
      { axis: 0 },
    );
    logits = g.op('Reshape', [y, outShape], '/model/head/Reshape');
  } else {
    const head = spec.tieWordEmbeddings
      ? embedW
      : await weights.read(names.lmHead, [spec.vocabSize, H]);
    logits = e.linear(g, hf, head, spec.vocabSize, H, '/lm_head', null, opts.lmHeadAccuracyLevel);
  }
  g.node('Identity', [logits], { name: '/model/logits', outputs: [IO.logits] });
  g.output(IO.logits, 'float32', ['batch_size', 'kept_sequence_length', spec.vocabSize]);
}

interface MoeContext {
  e: Emitter;
  g: GraphBuilder;
  spec: ModelSpec;
  weights: WeightSource;
  n: ReturnType<CheckpointNames['layer']>;
  /** Node-name prefix of this layer's MoE block. */
  p: string;
  /** The block input, flattened to [T, H]. */
  xf: string;
  /** Raw router logits [T, E]. */
  z: string;
}

/** One sparse MoE block on h2 [B, S, H]; returns its output [B, S, H]. */
async function emitMoe(
  e: Emitter,
  g: GraphBuilder,
  spec: ModelSpec,
  weights: WeightSource,
  n: ReturnType<CheckpointNames['layer']>,
  l: number,
  h2: string,
  shapeTH: string,
): Promise<string> {
  const H = spec.hiddenSize;
  const E = spec.numExperts;
  const p = `/model/layers.${l}/moe`;
  const xf = g.op('Reshape', [h2, shapeTH], `${p}/Flatten`); // [T, H]
  // Router (always fp32): its logits are a graph output whatever the expert layout.
  const router = await weights.read(n.router, [E, H]);
  const z = e.linear(g, xf, router, E, H, `${p}/router`, null, 0, 'fp32'); // [T, E]
  g.node('Identity', [z], { name: `${p}/router_logits`, outputs: [IO.routerLogits(l)] });
  g.output(IO.routerLogits(l), 'float32', ['tokens', E]);

  const ctx: MoeContext = { e, g, spec, weights, n, p, xf, z };
  const layout = e.opts.expertsLayout ?? 'if';
  let acc =
    layout === 'qmoe'
      ? await qmoeExperts(ctx)
      : layout === 'unrouted'
        ? await unroutedExperts(ctx)
        : await ifPerExpert(ctx);
  if (spec.sharedExpert) {
    acc = g.op('Add', [acc, await sharedExpert(ctx)], `${p}/shared_expert/Add`);
  }
  return g.op('Reshape', [acc, g.op('Shape', [h2], `${p}/OutShape`)], `${p}/Unflatten`);
}

/** softmax(z) -> top-k (-> renormalised): weights [T, k] and expert ids [T, k]. */
function routeInGraph(c: MoeContext): { vals: string; idx: string } {
  const { g, spec, p, z } = c;
  const probs = g.op('Softmax', [z], `${p}/Softmax`, { axis: -1 });
  const [topVals, idx] = g.node('TopK', [probs, g.constInt64('k', [spec.topK])], {
    name: `${p}/TopK`,
    outputs: 2,
    attrs: { axis: -1, largest: 1, sorted: 1 },
  }) as [string, string];
  if (!spec.normTopKProb) return { vals: topVals, idx };
  const sum = g.op('ReduceSum', [topVals, g.constInt64('axes', [-1])], `${p}/TopK/Sum`, {
    keepdims: 1,
  });
  return { vals: g.op('Div', [topVals, sum], `${p}/TopK/Renormalise`), idx };
}

function zerosLike(g: GraphBuilder, x: string, name: string): string {
  return g.op('ConstantOfShape', [g.op('Shape', [x], `${name}/Shape`)], name, {
    value: { t: { dataType: 1, dims: [1], floatData: [0] } },
  });
}

/**
 * The fast CPU layout (notes §11): one If per expert; its then-branch gathers the tokens routed
 * to the expert, runs it, scales by the routing weight and scatter-adds into the accumulator.
 */
async function ifPerExpert(c: MoeContext): Promise<string> {
  const { e, g, spec, weights, n, p, xf, z } = c;
  const H = spec.hiddenSize;
  const I = spec.moeIntermediateSize;
  const E = spec.numExperts;
  const { vals, idx } = routeInGraph(c);
  // Dense [T, E] routing weights and selection mask (weights may underflow to 0; the mask not).
  // Every layer has the same T: its zeros and ones are built once (fewer nodes per decode step).
  const zerosTE = e.once('zerosTE', () => zerosLike(g, z, `${p}/ZerosTE`));
  const onesTK = e.once('onesTK', () =>
    g.op('ConstantOfShape', [g.op('Shape', [vals], `${p}/ShapeTK`)], `${p}/OnesTK`, {
      value: { t: { dataType: 1, dims: [1], floatData: [1] } },
    }),
  );
  const wTE = g.op('ScatterElements', [zerosTE, idx, vals], `${p}/Weights`, { axis: 1 });
  const selTE = g.op('ScatterElements', [zerosTE, idx, onesTK], `${p}/Selected`, { axis: 1 });
  // All E branch conditions in three nodes ([E] → E × [1]): per-node dispatch is most of the
  // routing overhead when decoding one token, so nothing per expert runs outside its branch.
  const anyE = g.op(
    'Greater',
    [
      g.op('ReduceMax', [selTE], `${p}/AnySelected`, { axes: [0], keepdims: 0 }),
      g.constFloat('half', [0.5], []),
    ],
    `${p}/Cond`,
  ); // [E]
  const conds = g.node('Split', [anyE, g.constInt64('ones', new Array<number>(E).fill(1))], {
    name: `${p}/CondSplit`,
    outputs: E,
    attrs: { axis: 0 },
  }) as string[];
  let acc = e.once('zerosTH', () => zerosLike(g, xf, `${p}/ZerosTH`));
  for (let ex = 0; ex < E; ex++) {
    const names = n.expert(ex);
    const q = `${p}/e${ex}`;
    const then = g.subgraph(`${q}/then`);
    const sel = then.op('Gather', [selTE, then.constInt64('expert', [ex], true)], `${q}/Sel`, {
      axis: 1,
    }); // [T]
    const w = then.op('Gather', [wTE, then.constInt64('expert', [ex])], `${q}/W`, {
      axis: 1,
    }); // [T, 1]
    const nz = then.op('NonZero', [sel], `${q}/NonZero`); // [1, n]
    const rows = then.op('Transpose', [nz], `${q}/Rows`, { perm: [1, 0] }); // [n, 1]
    const xs = then.op('GatherND', [xf, rows], `${q}/GatherX`); // [n, H]
    const ws = then.op('GatherND', [w, rows], `${q}/GatherW`); // [n, 1]
    const y = e.swiglu(
      then,
      xs,
      await weights.read(names.gate, [I, H]),
      await weights.read(names.up, [I, H]),
      await weights.read(names.down, [H, I]),
      H,
      I,
      `${p}/experts.${ex}`,
    ); // [n, H]
    const wy = then.op('Mul', [y, ws], `${q}/Scale`);
    then.output(
      then.op('ScatterND', [acc, rows, wy], `${q}/ScatterAdd`, { reduction: 'add' }),
      'float32',
    );
    const skip = g.subgraph(`${q}/else`);
    skip.output(skip.op('Identity', [acc], `${q}/Skip`), 'float32');
    const cond = conds[ex] as string;
    acc = g.op('If', [cond], `${q}/If`, { then_branch: { g: then }, else_branch: { g: skip } });
  }
  return acc;
}

/**
 * onnxruntime's QMoE kernel (int4/int8 only), kept for comparison: notes §2 recipes. It routes
 * internally from the logits; families without renormalisation pass Softmax(z) as input 14.
 */
async function qmoeExperts(c: MoeContext): Promise<string> {
  const { e, g, spec, weights, n, p, xf, z } = c;
  const H = spec.hiddenSize;
  const I = spec.moeIntermediateSize;
  const E = spec.numExperts;
  const dtype = e.opts.dtype;
  if (dtype !== 'int4' && dtype !== 'int8') {
    throw new MoeLensError(`the qmoe experts layout needs --dtype int4 or int8, got ${dtype}`);
  }
  const bits = dtype === 'int4' ? 4 : 8;
  const bs = e.opts.blockSize;
  if (H % bs !== 0 || I % bs !== 0) {
    throw new MoeLensError(`qmoe needs hidden (${H}) and expert width (${I}) divisible by ${bs}`);
  }
  // fc1 rows interleaved [gate_0, up_0, gate_1, up_1, ...] (swiglu_fusion = 1).
  const fc1 = new Uint8Array(E * 2 * I * ((H * bits) / 8));
  const fc1s = new Float32Array(E * 2 * I * (H / bs));
  const fc2 = new Uint8Array(E * H * ((I * bits) / 8));
  const fc2s = new Float32Array(E * H * (I / bs));
  for (let ex = 0; ex < E; ex++) {
    const names = n.expert(ex);
    const gate = await weights.read(names.gate, [I, H]);
    const up = await weights.read(names.up, [I, H]);
    const inter = new Float32Array(2 * I * H);
    for (let r = 0; r < I; r++) {
      inter.set(gate.subarray(r * H, (r + 1) * H), 2 * r * H);
      inter.set(up.subarray(r * H, (r + 1) * H), (2 * r + 1) * H);
    }
    const q1 = quantize(inter, 2 * I, H, { bits, blockSize: bs });
    fc1.set(q1.packed, ex * q1.packed.length);
    fc1s.set(q1.scales, ex * q1.scales.length);
    const q2 = quantize(await weights.read(names.down, [H, I]), H, I, { bits, blockSize: bs });
    fc2.set(q2.packed, ex * q2.packed.length);
    fc2s.set(q2.scales, ex * q2.scales.length);
  }
  const w1 = g.initializer(g.fresh(`${p}/fc1`), 'uint8', [E, 2 * I, (H * bits) / 8], fc1);
  const s1 = g.initializer(g.fresh(`${p}/fc1_scales`), 'float32', [E, 2 * I, H / bs], fc1s);
  const w2 = g.initializer(g.fresh(`${p}/fc2`), 'uint8', [E, H, (I * bits) / 8], fc2);
  const s2 = g.initializer(g.fresh(`${p}/fc2_scales`), 'float32', [E, H, I / bs], fc2s);
  // QMoE renormalises over the top-k. Families without renormalisation scale its output by each
  // token's top-k probability mass instead of passing input 14 (WebGPU rejects it):
  // sum_i (p_i / sum_topk p) e_i(x) * sum_topk p = sum_i p_i e_i(x).
  const y = g.op(
    'QMoE',
    [xf, z, w1, s1, '', w2, s2],
    `${p}/QMoE`,
    {
      k: spec.topK,
      activation_type: 'swiglu',
      swiglu_fusion: 1,
      activation_alpha: { f: 1 },
      activation_beta: { f: 0 },
      normalize_routing_weights: 1,
      expert_weight_bits: bits,
      block_size: bs,
    },
    'com.microsoft',
  );
  if (spec.normTopKProb) return y;
  const probs = g.op('Softmax', [z], `${p}/Softmax`, { axis: -1 });
  const [top] = g.node('TopK', [probs, g.constInt64('k', [spec.topK])], {
    name: `${p}/TopK`,
    outputs: 2,
    attrs: { axis: -1, largest: 1, sorted: 1 },
  }) as [string, string];
  const mass = g.op('ReduceSum', [top, g.constInt64('axes', [-1])], `${p}/TopK/Mass`, {
    keepdims: 1,
  });
  return g.op('Mul', [y, mass], `${p}/QMoE/Unnormalise`);
}

/**
 * The routing-free lower bound for benchmarks: every token runs experts 0..k-1 with weight 1/k,
 * as plain matmuls. Same weight bytes per token as the routed model, no routing work.
 */
async function unroutedExperts(c: MoeContext): Promise<string> {
  const { e, g, spec, weights, n, p, xf } = c;
  const H = spec.hiddenSize;
  const I = spec.moeIntermediateSize;
  let acc = '';
  for (let ex = 0; ex < spec.topK; ex++) {
    const names = n.expert(ex);
    const y = e.swiglu(
      g,
      xf,
      await weights.read(names.gate, [I, H]),
      await weights.read(names.up, [I, H]),
      await weights.read(names.down, [H, I]),
      H,
      I,
      `${p}/experts.${ex}`,
    );
    acc = acc ? g.op('Add', [acc, y], `${p}/e${ex}/Add`) : y;
  }
  return g.op('Mul', [acc, g.constFloat('inv_k', [1 / spec.topK], [])], `${p}/Mean`);
}

/** Qwen2-MoE's always-on expert, scaled by sigmoid(shared_expert_gate . x). */
async function sharedExpert(c: MoeContext): Promise<string> {
  const { e, g, spec, weights, n, p, xf } = c;
  const H = spec.hiddenSize;
  const S = (spec.sharedExpert as { intermediateSize: number }).intermediateSize;
  const shared = e.swiglu(
    g,
    xf,
    await weights.read(n.shared.gate, [S, H]),
    await weights.read(n.shared.up, [S, H]),
    await weights.read(n.shared.down, [H, S]),
    H,
    S,
    `${p}/shared_expert`,
  );
  const gateW = await weights.read(n.sharedGate, [1, H]);
  const gateLogit = e.linear(g, xf, gateW, 1, H, `${p}/shared_expert_gate`, null, 0, 'fp32');
  const gate = g.op('Sigmoid', [gateLogit], `${p}/shared_expert_gate/Sigmoid`);
  return g.op('Mul', [shared, gate], `${p}/shared_expert/Gate`);
}
