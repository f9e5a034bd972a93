// The building blocks of the decoder graph, one per operation of src/reference/forward.ts:
// linear (fp32, fp16 storage, or MatMulNBits int8/int4), RMSNorm, SwiGLU. Each emits a few ONNX
// nodes into a GraphBuilder (the main graph or an If branch) and returns the name of its output
// value. Shapes: T = tokens of the call (B*S), H = hidden size, N/K = a Linear's out/in features.
import type { GraphBuilder } from '../onnxBuilder';
import { blobSize, quantize } from '../quantize';
import { f32ToF16 } from '../../checkpoint/floats';

export type WeightDType = 'fp32' | 'fp16' | 'int8' | 'int4';

/** if (default): sparse If-per-expert; qmoe: onnxruntime's QMoE kernel; unrouted: bench bound. */
export type ExpertsLayout = 'if' | 'qmoe' | 'unrouted';

export interface GraphOptions {
  dtype: WeightDType;
  /** MatMulNBits block size along K. */
  blockSize: number;
  /** MatMulNBits accuracy_level for layer weights (4 = int8 activations, the fast CPU path). */
  accuracyLevel: number;
  /** accuracy_level for lm_head (level 4 can flip the argmax, onnxruntime#29849). */
  lmHeadAccuracyLevel: number;
  expertsLayout?: ExpertsLayout;
}

/** Reads one checkpoint tensor as fp32, checking its shape. */
export interface WeightSource {
  has(name: string): boolean;
  read(name: string, shape: number[]): Promise<Float32Array>;
}

/** ONNX TensorProto element types, for Cast's `to` and constant tensors. */
export const OnnxType = { float: 1, int32: 6, int64: 7 } as const;

/** A SwiGLU MLP's three HF Linear weights. */
export interface MlpWeights {
  gate: Float32Array; // [I, H]
  up: Float32Array; // [I, H]
  down: Float32Array; // [H, I]
}

/** Reads an MLP (an expert, a shared expert, a dense FFN) of width `inter`. */
export async function readMlp(
  weights: WeightSource,
  names: { gate: string; up: string; down: string },
  inter: number,
  hidden: number,
): Promise<MlpWeights> {
  return {
    gate: await weights.read(names.gate, [inter, hidden]),
    up: await weights.read(names.up, [inter, hidden]),
    down: await weights.read(names.down, [hidden, inter]),
  };
}

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
export function concatRows(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A float tensor of x's shape filled with `value`. */
export function filledLike(g: GraphBuilder, x: string, value: number, name: string): string {
  return g.op('ConstantOfShape', [g.op('Shape', [x], `${name}/Shape`)], name, {
    value: { t: { dataType: OnnxType.float, dims: [1], floatData: [value] } },
  });
}

export class Ops {
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
      const wt = g.op('Cast', [wt16], `${name}/Cast`, { to: OnnxType.float });
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

  /** x * rsqrt(mean(x^2) + eps) * w over the last axis; x [..., C], w [C]. */
  rmsNorm(g: GraphBuilder, x: string, w: Float32Array, eps: number, name: string): string {
    const wName = g.initializer(g.fresh(`${name}.weight`), 'float32', [w.length], w);
    return g.op('SimplifiedLayerNormalization', [x, wName], name, {
      axis: -1,
      epsilon: { f: eps },
    });
  }

  /** SwiGLU FFN: down(silu(gate(x)) * up(x)); gate and up run as one fused matmul. x [T, H]. */
  swiglu(g: GraphBuilder, x: string, mlp: MlpWeights, h: number, inter: number, name: string) {
    const gu = this.linear(g, x, concatRows(mlp.gate, mlp.up), 2 * inter, h, `${name}/gate_up`);
    const [gt, u] = g.node('Split', [gu, g.constInt64('split', [inter, inter])], {
      name: `${name}/Split`,
      outputs: 2,
      attrs: { axis: -1 },
    }) as [string, string]; // [T, I] each
    const act = g.op('Mul', [gt, g.op('Sigmoid', [gt], `${name}/Sigmoid`)], `${name}/Silu`);
    const a = g.op('Mul', [act, u], `${name}/Mul`);
    return this.linear(g, a, mlp.down, h, inter, `${name}/down`); // [T, H]
  }
}
