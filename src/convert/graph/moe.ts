// The sparse MoE block of one layer, as in src/reference/forward.ts: the router (always fp32; its
// logits are a graph output, router_logits.l, whatever the experts layout), then the experts in
// one of three layouts, plus Qwen2-MoE's gated shared expert:
//   if        one If per expert runs only when some token was routed to it: it gathers those
//             tokens, runs the expert (two matmuls + SwiGLU), scales by the routing weight and
//             scatter-adds the result. A decoded token reads only its k experts' weights (the
//             fast sparse CPU layout, docs/BENCHMARKS.md).
//   qmoe      onnxruntime's QMoE kernel (int4/int8), kept for comparison.
//   unrouted  every token runs experts 0..k-1 with weight 1/k: the benchmarks' routing-free bound.
// Shapes: T tokens (B*S), H hidden, E experts, k top-k, I expert width, n tokens routed to one expert.
import type { ModelSpec } from '../../checkpoint/modelSpec';
import type { LayerNames } from '../../checkpoint/checkpointLayout';
import { MoeLensError } from '../../format/errors';
import { IO } from '../../format/graphIO';
import type { GraphBuilder } from '../onnxBuilder';
import { quantize } from '../quantize';
import { filledLike, OnnxType, readMlp, type Ops, type WeightSource } from './ops';

interface MoeContext {
  ops: Ops;
  g: GraphBuilder;
  spec: ModelSpec;
  weights: WeightSource;
  n: LayerNames;
  /** Node-name prefix of this layer's MoE block. */
  p: string;
  /** The block input, flattened to [T, H]. */
  xf: string;
  /** Raw router logits [T, E]. */
  z: string;
}

/** The MoE block of layer l on h2 [B, S, H] (after post_attention_layernorm) -> [B, S, H]. */
export async function moeBlock(
  ops: Ops,
  spec: ModelSpec,
  weights: WeightSource,
  n: LayerNames,
  l: number,
  h2: string,
  shapeTH: string,
): Promise<string> {
  const g = ops.g;
  const H = spec.hiddenSize;
  const E = spec.numExperts;
  const p = `/model/layers.${l}/moe`;
  const xf = g.op('Reshape', [h2, shapeTH], `${p}/Flatten`); // [T, H]
  const router = await weights.read(n.router, [E, H]);
  const z = ops.linear(g, xf, router, E, H, `${p}/router`, null, 0, 'fp32'); // [T, E]
  g.node('Identity', [z], { name: `${p}/router_logits`, outputs: [IO.routerLogits(l)] });
  g.output(IO.routerLogits(l), 'float32', ['tokens', E]);

  const c: MoeContext = { ops, g, spec, weights, n, p, xf, z };
  const layout = ops.opts.expertsLayout ?? 'if';
  let acc =
    layout === 'qmoe'
      ? await qmoeExperts(c)
      : layout === 'unrouted'
        ? await unroutedExperts(c)
        : await ifPerExpert(c); // [T, H]
  if (spec.sharedExpert) {
    acc = g.op('Add', [acc, await sharedExpert(c)], `${p}/shared_expert/Add`);
  }
  return g.op('Reshape', [acc, g.op('Shape', [h2], `${p}/OutShape`)], `${p}/Unflatten`); // [B, S, H]
}

/** softmax(z) -> top-k (-> renormalised): weights [T, k] and expert ids [T, k]. */
function routeInGraph(c: MoeContext): { vals: string; idx: string } {
  const { g, spec, p, z } = c;
  const probs = g.op('Softmax', [z], `${p}/Softmax`, { axis: -1 }); // [T, E]
  const [topVals, idx] = g.node('TopK', [probs, g.constInt64('k', [spec.topK])], {
    name: `${p}/TopK`,
    outputs: 2,
    attrs: { axis: -1, largest: 1, sorted: 1 },
  }) as [string, string]; // [T, k] each
  if (!spec.normTopKProb) return { vals: topVals, idx };
  const sum = g.op('ReduceSum', [topVals, g.constInt64('axes', [-1])], `${p}/TopK/Sum`, {
    keepdims: 1,
  }); // [T, 1]
  return { vals: g.op('Div', [topVals, sum], `${p}/TopK/Renormalise`), idx };
}

/**
 * One If per expert; its then-branch gathers the tokens routed to the expert, runs it, scales by
 * the routing weight and scatter-adds into the accumulator.
 */
async function ifPerExpert(c: MoeContext): Promise<string> {
  const { ops, g, spec, weights, n, p, xf, z } = c;
  const H = spec.hiddenSize;
  const I = spec.moeIntermediateSize;
  const E = spec.numExperts;
  const { vals, idx } = routeInGraph(c);
  // Dense [T, E] routing weights and selection mask (weights may underflow to 0; the mask not).
  // Every layer has the same T: its zeros and ones are built once (fewer nodes per decode step).
  const zerosTE = ops.once('zerosTE', () => filledLike(g, z, 0, `${p}/ZerosTE`));
  const onesTK = ops.once('onesTK', () =>
    g.op('ConstantOfShape', [g.op('Shape', [vals], `${p}/ShapeTK`)], `${p}/OnesTK`, {
      value: { t: { dataType: OnnxType.float, dims: [1], floatData: [1] } },
    }),
  );
  const wTE = g.op('ScatterElements', [zerosTE, idx, vals], `${p}/Weights`, { axis: 1 }); // [T, E]
  const selTE = g.op('ScatterElements', [zerosTE, idx, onesTK], `${p}/Selected`, { axis: 1 }); // [T, E]
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
  }) as string[]; // E × [1]
  let acc = ops.once('zerosTH', () => filledLike(g, xf, 0, `${p}/ZerosTH`)); // [T, H]
  for (let ex = 0; ex < E; ex++) {
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
    const mlp = await readMlp(weights, n.expert(ex), I, H);
    const y = ops.swiglu(then, xs, mlp, H, I, `${p}/experts.${ex}`); // [n, H]
    const wy = then.op('Mul', [y, ws], `${q}/Scale`); // [n, H]
    then.output(
      then.op('ScatterND', [acc, rows, wy], `${q}/ScatterAdd`, { reduction: 'add' }),
      'float32',
    ); // [T, H]
    const skip = g.subgraph(`${q}/else`);
    skip.output(skip.op('Identity', [acc], `${q}/Skip`), 'float32');
    const cond = conds[ex] as string;
    acc = g.op('If', [cond], `${q}/If`, { then_branch: { g: then }, else_branch: { g: skip } });
  }
  return acc;
}

/**
 * onnxruntime's QMoE kernel (int4/int8 only). It routes internally from the logits and always
 * renormalises; families without renormalisation scale its output by the top-k mass.
 */
async function qmoeExperts(c: MoeContext): Promise<string> {
  const { ops, g, spec, weights, n, p, xf, z } = c;
  const H = spec.hiddenSize;
  const I = spec.moeIntermediateSize;
  const E = spec.numExperts;
  const dtype = ops.opts.dtype;
  if (dtype !== 'int4' && dtype !== 'int8') {
    throw new MoeLensError(`the qmoe experts layout needs --dtype int4 or int8, got ${dtype}`);
  }
  const bits = dtype === 'int4' ? 4 : 8;
  const bs = ops.opts.blockSize;
  if (H % bs !== 0 || I % bs !== 0) {
    throw new MoeLensError(`qmoe needs hidden (${H}) and expert width (${I}) divisible by ${bs}`);
  }
  // fc1 rows interleaved [gate_0, up_0, gate_1, up_1, ...] (swiglu_fusion = 1).
  const fc1 = new Uint8Array(E * 2 * I * ((H * bits) / 8));
  const fc1s = new Float32Array(E * 2 * I * (H / bs));
  const fc2 = new Uint8Array(E * H * ((I * bits) / 8));
  const fc2s = new Float32Array(E * H * (I / bs));
  for (let ex = 0; ex < E; ex++) {
    const { gate, up, down } = await readMlp(weights, n.expert(ex), I, H);
    const inter = new Float32Array(2 * I * H);
    for (let r = 0; r < I; r++) {
      inter.set(gate.subarray(r * H, (r + 1) * H), 2 * r * H);
      inter.set(up.subarray(r * H, (r + 1) * H), (2 * r + 1) * H);
    }
    const q1 = quantize(inter, 2 * I, H, { bits, blockSize: bs });
    fc1.set(q1.packed, ex * q1.packed.length);
    fc1s.set(q1.scales, ex * q1.scales.length);
    const q2 = quantize(down, H, I, { bits, blockSize: bs });
    fc2.set(q2.packed, ex * q2.packed.length);
    fc2s.set(q2.scales, ex * q2.scales.length);
  }
  const w1 = g.initializer(g.fresh(`${p}/fc1`), 'uint8', [E, 2 * I, (H * bits) / 8], fc1);
  const s1 = g.initializer(g.fresh(`${p}/fc1_scales`), 'float32', [E, 2 * I, H / bs], fc1s);
  const w2 = g.initializer(g.fresh(`${p}/fc2`), 'uint8', [E, H, (I * bits) / 8], fc2);
  const s2 = g.initializer(g.fresh(`${p}/fc2_scales`), 'float32', [E, H, I / bs], fc2s);
  // Not input 14 (routing probabilities, which WebGPU rejects) for families without
  // renormalisation: sum_i (p_i / sum_topk p) e_i(x) * sum_topk p = sum_i p_i e_i(x).
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
  ); // [T, H]
  if (spec.normTopKProb) return y;
  const probs = g.op('Softmax', [z], `${p}/Softmax`, { axis: -1 });
  const [top] = g.node('TopK', [probs, g.constInt64('k', [spec.topK])], {
    name: `${p}/TopK`,
    outputs: 2,
    attrs: { axis: -1, largest: 1, sorted: 1 },
  }) as [string, string];
  const mass = g.op('ReduceSum', [top, g.constInt64('axes', [-1])], `${p}/TopK/Mass`, {
    keepdims: 1,
  }); // [T, 1]
  return g.op('Mul', [y, mass], `${p}/QMoE/Unnormalise`);
}

/** Experts 0..k-1 for every token with weight 1/k, as plain matmuls: no routing work at all. */
async function unroutedExperts(c: MoeContext): Promise<string> {
  const { ops, g, spec, weights, n, p, xf } = c;
  const H = spec.hiddenSize;
  const I = spec.moeIntermediateSize;
  let acc = '';
  for (let ex = 0; ex < spec.topK; ex++) {
    const mlp = await readMlp(weights, n.expert(ex), I, H);
    const y = ops.swiglu(g, xf, mlp, H, I, `${p}/experts.${ex}`); // [T, H]
    acc = acc ? g.op('Add', [acc, y], `${p}/e${ex}/Add`) : y;
  }
  return g.op('Mul', [acc, g.constFloat('inv_k', [1 / spec.topK], [])], `${p}/Mean`);
}

/** Qwen2-MoE's always-on expert, scaled by sigmoid(shared_expert_gate . x). */
async function sharedExpert(c: MoeContext): Promise<string> {
  const { ops, g, spec, weights, n, p, xf } = c;
  const H = spec.hiddenSize;
  const S = (spec.sharedExpert as { intermediateSize: number }).intermediateSize;
  const mlp = await readMlp(weights, n.shared, S, H);
  const shared = ops.swiglu(g, xf, mlp, H, S, `${p}/shared_expert`); // [T, H]
  const gateW = await weights.read(n.sharedGate, [1, H]);
  const gateLogit = ops.linear(g, xf, gateW, 1, H, `${p}/shared_expert_gate`, null, 0, 'fp32'); // [T, 1]
  const gate = g.op('Sigmoid', [gateLogit], `${p}/shared_expert_gate/Sigmoid`);
  return g.op('Mul', [shared, gate], `${p}/shared_expert/Gate`);
}
