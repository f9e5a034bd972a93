// Self-attention of one decoder layer, as in src/reference/forward.ts: fused QKV projection,
// optional q/k RMSNorm, RoPE, causal attention over the KV cache (past_key_values.l.* in,
// present.l.* out), o_proj. Two spellings of the same maths: onnxruntime's GroupQueryAttention
// (fused rotary and KV append; CPU needs head_dim % 16 == 0) and standard ops ("decomposed") for
// other head sizes and providers without GQA. Shapes: B batch (1), S new tokens, L = past + S,
// H hidden, D head_dim, nh / kvh query / KV heads, g = nh / kvh.
import type { ModelSpec } from '../../checkpoint/modelSpec';
import type { LayerNames } from '../../checkpoint/checkpointLayout';
import type { GraphBuilder } from '../onnxBuilder';
import { IO } from '../../format/graphIO';
import { concatRows, OnnxType, type Ops, type WeightSource } from './ops';

/** Longest context the graph's rotary cache covers (real configs say 32k–128k; memory is linear). */
export function contextLength(spec: ModelSpec): number {
  return Math.min(spec.maxPositions, 32768);
}

export type AttentionKind = 'gqa' | 'decomposed';

export function attentionKind(spec: ModelSpec): AttentionKind {
  return spec.headDim % 16 === 0 ? 'gqa' : 'decomposed';
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

/** What every layer's attention shares: sequence bookkeeping, rotary tables, (decomposed) mask. */
export interface AttentionContext {
  kind: AttentionKind;
  /** int32 [B]: tokens in the cache after this call, minus one (GQA's seqlens_k). */
  seqlensK: string;
  /** int32 scalar: L. */
  totalLen: string;
  cosCache: string;
  sinCache: string;
  /** decomposed only: [1, 1, S, D] rotary factors and the [g*S, L] additive causal mask. */
  cos?: string;
  sin?: string;
  mask?: string;
}

/**
 * GQA's sequence bookkeeping from attention_mask [B, L], as onnxruntime-genai computes it:
 * seqlens_k = sum(mask) - 1 (int32 [B]), total_sequence_length = L (int32 scalar).
 */
export function sequenceLengths(g: GraphBuilder): { seqlensK: string; totalLen: string } {
  const maskSum = g.op(
    'ReduceSum',
    [IO.attentionMask, g.constInt64('axes', [1])],
    '/model/mask/ReduceSum',
    { keepdims: 0 },
  ); // [B]
  const seqlensK = g.op(
    'Cast',
    [g.op('Sub', [maskSum, g.constInt64('one', [1], true)], '/model/mask/Sub')],
    '/model/mask/seqlens_k',
    { to: OnnxType.int32 },
  ); // [B]
  const maskShape = g.op('Shape', [IO.attentionMask], '/model/mask/Shape');
  const totalLen = g.op(
    'Cast',
    [
      g.op('Gather', [maskShape, g.constInt64('idx1', [1], true)], '/model/mask/Gather', {
        axis: 0,
      }),
    ],
    '/model/mask/total_seq_len',
    { to: OnnxType.int32 },
  ); // scalar
  return { seqlensK, totalLen };
}

export function attentionContext(
  g: GraphBuilder,
  spec: ModelSpec,
  seq: { seqlensK: string; totalLen: string },
): AttentionContext {
  const { seqlensK, totalLen } = seq;
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
  const total64 = g.op('Cast', [totalLen], '/model/attn/total64', { to: OnnxType.int64 });
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
  ); // [1, 1, S, D]
  const sinS = unsq(
    g.op('Gather', [sinCache, pos], '/model/attn/Sin', { axis: 0 }),
    [0, 1],
    '/model/attn/Sin4',
  ); // [1, 1, S, D]
  // Causal mask: key j is visible to query s iff j <= past_len + s.
  const keyPos = g.op(
    'Range',
    [g.constInt64('zero', [0], true), total64, one],
    '/model/attn/KeyPositions',
  ); // [L]
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
  ); // [S, L]
  const mask = g.op('Tile', [maskSL, g.constInt64('tile', [groups, 1])], '/model/attn/MaskTiled'); // [g*S, L]
  return { kind, seqlensK, totalLen, cosCache, sinCache, cos: cosS, sin: sinS, mask };
}

/**
 * The attention block of layer l on h [B, S, H] (after input_layernorm): returns o_proj's output
 * [B, S, H] (the residual is added by the caller) and declares present.l.key/value.
 */
export async function attentionBlock(
  ops: Ops,
  spec: ModelSpec,
  ctx: AttentionContext,
  weights: WeightSource,
  n: LayerNames,
  l: number,
  h: string,
): Promise<string> {
  const g = ops.g;
  const H = spec.hiddenSize;
  const D = spec.headDim;
  const qDim = spec.numHeads * D;
  const kvDim = spec.numKvHeads * D;
  const eps = spec.rmsNormEps;
  const p = `/model/layers.${l}`;

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
  const qkv = ops.linear(g, h, wqkv, qDim + 2 * kvDim, H, `${p}/attn/qkv_proj`, bqkv); // [B, S, qDim + 2 kvDim]
  const split = g.node('Split', [qkv, g.constInt64('split', [qDim, kvDim, kvDim])], {
    name: `${p}/attn/Split`,
    outputs: 3,
    attrs: { axis: -1 },
  }) as [string, string, string];
  let [q, k] = split; // [B, S, nh*D], [B, S, kvh*D]
  const v = split[2]; // [B, S, kvh*D]
  if (spec.qkNorm === 'full') {
    q = ops.rmsNorm(g, q, await weights.read(n.qNorm, [qDim]), eps, `${p}/attn/q_norm`);
    k = ops.rmsNorm(g, k, await weights.read(n.kNorm, [kvDim]), eps, `${p}/attn/k_norm`);
  } else if (spec.qkNorm === 'per_head') {
    const perHead = async (t: string, heads: number, wName: string, label: string) => {
      const shape = g.constInt64('shape_heads', [0, 0, heads, D]);
      const r = g.op('Reshape', [t, shape], `${p}/attn/${label}/Reshape`); // [B, S, heads, D]
      const nrm = ops.rmsNorm(g, r, await weights.read(wName, [D]), eps, `${p}/attn/${label}`);
      return g.op(
        'Reshape',
        [nrm, g.constInt64('shape_flat', [0, 0, heads * D])],
        `${p}/attn/${label}/Flatten`,
      ); // [B, S, heads*D]
    };
    q = await perHead(q, spec.numHeads, n.qNorm, 'q_norm');
    k = await perHead(k, spec.numKvHeads, n.kNorm, 'k_norm');
  }
  const attn =
    ctx.kind === 'gqa'
      ? groupQueryAttention(g, spec, ctx, q, k, v, l)
      : decomposedAttention(g, spec, ctx, q, k, v, l); // [B, S, nh*D]
  for (const name of [IO.presentKey(l), IO.presentValue(l)]) {
    g.output(name, 'float32', ['batch_size', spec.numKvHeads, 'total_sequence_length', D]);
  }
  return ops.linear(
    g,
    attn,
    await weights.read(n.o, [H, qDim]),
    H,
    qDim,
    `${p}/attn/o_proj`,
    spec.oBias ? await weights.read(n.oBias, [H]) : null,
  ); // [B, S, H]
}

/** onnxruntime's fused kernel: rotary, KV append (in place) and attention in one node. */
function groupQueryAttention(
  g: GraphBuilder,
  spec: ModelSpec,
  ctx: AttentionContext,
  q: string,
  k: string,
  v: string,
  l: number,
): string {
  const p = `/model/layers.${l}/attn`;
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
        scale: { f: 1 / Math.sqrt(spec.headDim) },
      },
      domain: 'com.microsoft',
    },
  ) as [string];
  return out; // [B, S, nh*D]
}

/** The same maths in standard ops: rotate_half RoPE, Concat onto the cache, softmax(QK^T/√D)V. */
function decomposedAttention(
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
  const vh = heads(v, kvh, 'v'); // [1, kvh, S, D]
  g.node('Concat', [IO.pastKey(l), kh], {
    name: `${p}/present_key`,
    outputs: [IO.presentKey(l)],
    attrs: { axis: 2 },
  }); // [1, kvh, L, D]
  g.node('Concat', [IO.pastValue(l), vh], {
    name: `${p}/present_value`,
    outputs: [IO.presentValue(l)],
    attrs: { axis: 2 },
  }); // [1, kvh, L, D]
  // Query heads of one KV group are contiguous: view q as [1, kvh, g*S, D] and share K/V.
  const qg = g.op('Reshape', [qh, g.constInt64('shape_groups', [0, kvh, -1, D])], `${p}/q/Group`);
  const kT = g.op('Transpose', [IO.presentKey(l)], `${p}/k/T`, { perm: [0, 1, 3, 2] }); // [1, kvh, D, L]
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
  const bnsd = g.op('Reshape', [ctxv, g.constInt64('shape_heads', [0, nh, -1, D])], `${p}/Ungroup`); // [1, nh, S, D]
  const bsnd = g.op('Transpose', [bnsd], `${p}/out/Transpose`, { perm: [0, 2, 1, 3] }); // [1, S, nh, D]
  return g.op('Reshape', [bsnd, g.constInt64('shape_flat', [0, 0, nh * D])], `${p}/out/Reshape`); // [1, S, nh*D]
}
