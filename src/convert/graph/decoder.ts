// The decoder graph of a ModelSpec, read top to bottom like src/reference/forward.ts:
// inputs → embed → for each layer: x += attention(norm(x)); x += ffn(norm(x)) → norm → lm_head.
// The blocks live beside it (attention.ts, moe.ts, ops.ts); a family's differences are fields
// of its ModelSpec (src/checkpoint/modelSpec.ts), never branches here. I/O names: src/format/graphIO.ts.
// Shapes: B batch (1), S new tokens, P past tokens, H hidden, V vocabulary, D head_dim.
import type { CheckpointNames } from '../../checkpoint/checkpointLayout';
import type { ModelSpec } from '../../checkpoint/modelSpec';
import { f32ToF16 } from '../../checkpoint/floats';
import { IO } from '../../format/graphIO';
import type { GraphBuilder } from '../onnxBuilder';
import { attentionBlock, attentionContext, sequenceLengths } from './attention';
import { moeBlock } from './moe';
import { OnnxType, Ops, readMlp, type GraphOptions, type WeightSource } from './ops';

export async function buildDecoderGraph(
  spec: ModelSpec,
  names: CheckpointNames,
  weights: WeightSource,
  opts: GraphOptions,
  g: GraphBuilder,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const ops = new Ops(g, opts);
  const H = spec.hiddenSize;
  const eps = spec.rmsNormEps;

  declareInputs(g, spec);
  const actx = attentionContext(g, spec, sequenceLengths(g));
  // The table is read here and again by the head when tied: never held across the layers
  // (151,936 × 2,048 fp32 is 1.2 GB).
  let x = embedTokens(g, spec, opts, await weights.read(names.embed, [spec.vocabSize, H])); // [B, S, H]

  const shapeTH = g.constInt64('shape_TH', [-1, H]);
  for (let l = 0; l < spec.numLayers; l++) {
    const n = names.layer(l);
    const p = `/model/layers.${l}`;
    const h = ops.rmsNorm(g, x, await weights.read(n.inputNorm, [H]), eps, `${p}/input_layernorm`);
    const attn = await attentionBlock(ops, spec, actx, weights, n, l, h); // [B, S, H]
    x = g.op('Add', [x, attn], `${p}/attn/residual`);

    const postNorm = await weights.read(n.postAttentionNorm, [H]);
    const h2 = ops.rmsNorm(g, x, postNorm, eps, `${p}/post_attention_layernorm`);
    const ffn = spec.moeLayers[l]
      ? await moeBlock(ops, spec, weights, n, l, h2, shapeTH)
      : ops.swiglu(
          g,
          h2,
          await readMlp(weights, n.dense, spec.denseIntermediateSize, H),
          H,
          spec.denseIntermediateSize,
          `${p}/mlp`,
        ); // [B, S, H]
    x = g.op('Add', [x, ffn], `${p}/mlp/residual`);
    onProgress?.(l + 1, spec.numLayers);
  }

  await lmHead(ops, spec, names, weights, x, shapeTH);
}

/** input_ids [B, S], attention_mask [B, P+S], num_logits_to_keep [1], past K/V per layer. */
function declareInputs(g: GraphBuilder, spec: ModelSpec): void {
  g.input(IO.inputIds, 'int64', ['batch_size', 'sequence_length']);
  g.input(IO.attentionMask, 'int64', ['batch_size', 'total_sequence_length']);
  g.input(IO.logitsToKeep, 'int64', [1]);
  for (let l = 0; l < spec.numLayers; l++) {
    for (const n of [IO.pastKey(l), IO.pastValue(l)]) {
      g.input(n, 'float32', ['batch_size', spec.numKvHeads, 'past_sequence_length', spec.headDim]);
    }
  }
}

/** The embedding lookup: fp32, or an fp16 table whose gathered rows are widened at run time. */
function embedTokens(
  g: GraphBuilder,
  spec: ModelSpec,
  opts: GraphOptions,
  embedW: Float32Array, // [V, H]
): string {
  const table = 'model.embed_tokens.weight';
  if (opts.dtype === 'fp32') {
    g.initializer(table, 'float32', [spec.vocabSize, spec.hiddenSize], embedW);
    return g.op('Gather', [table, IO.inputIds], '/model/embed_tokens/Gather', { axis: 0 });
  }
  g.initializer(table, 'float16', [spec.vocabSize, spec.hiddenSize], f32ToF16(embedW));
  const rows = g.op('Gather', [table, IO.inputIds], '/model/embed_tokens/Gather', { axis: 0 });
  return g.op('Cast', [rows], '/model/embed_tokens/Cast', { to: OnnxType.float });
}

/** Keeps the last num_logits_to_keep positions, final norm, lm_head -> logits [B, keep, V]. */
async function lmHead(
  ops: Ops,
  spec: ModelSpec,
  names: CheckpointNames,
  weights: WeightSource,
  x: string,
  shapeTH: string,
): Promise<void> {
  const g = ops.g;
  const H = spec.hiddenSize;
  const negKeep = g.op('Neg', [IO.logitsToKeep], '/model/head/Neg');
  const last = g.op(
    'Slice',
    [x, negKeep, g.constInt64('big', [2 ** 31 - 1]), g.constInt64('axes', [1])],
    '/model/head/Slice',
  ); // [B, keep, H]
  const finalNorm = await weights.read(names.finalNorm, [H]);
  const hf = ops.rmsNorm(g, last, finalNorm, spec.rmsNormEps, '/model/norm');
  let logits: string;
  if (spec.tieWordEmbeddings && ops.opts.dtype === 'fp32') {
    // Tied fp32 head: one Gemm over the embedding table itself, no transposed copy.
    const flat = g.op('Reshape', [hf, shapeTH], '/model/head/Flatten'); // [B*keep, H]
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
    // Tied: names.lmHead is the embedding table.
    const head = await weights.read(names.lmHead, [spec.vocabSize, H]);
    const level = ops.opts.lmHeadAccuracyLevel;
    logits = ops.linear(g, hf, head, spec.vocabSize, H, '/lm_head', null, level);
  }
  g.node('Identity', [logits], { name: '/model/logits', outputs: [IO.logits] });
  g.output(IO.logits, 'float32', ['batch_size', 'kept_sequence_length', spec.vocabSize]); // [B, keep, V]
}
