// The manifest (genai_config.json) of a converted model: what the engine needs to run the graph
// and what the user sees about it, derived from the ModelSpec and the conversion options. The
// schema and its checks live in src/format/manifest.ts (docs/MODEL_FORMAT.md).
import { countParams, type ModelSpec } from '../checkpoint/modelSpec';
import { DECODER_INPUTS, DECODER_OUTPUTS, IO, IO_PATTERNS } from '../format/graphIO';
import {
  FORMAT_VERSION,
  MODEL_FILE,
  type FileChecksum,
  type FimOrder,
  type Manifest,
} from '../format/manifest';
import type { FimTokens } from '../engine/fim';
import { attentionKind, contextLength } from './graph/attention';
import type { GraphOptions, WeightDType } from './graph/ops';

export const CONVERTER_VERSION = '0.1.0';

export interface ManifestInput {
  spec: ModelSpec;
  /** The checkpoint's own top-k (spec.topK may be a --top-k override). */
  sourceTopK: number;
  dtype: WeightDType;
  graph: Required<GraphOptions>;
  fim: (FimTokens & { order: FimOrder }) | null;
  /** Every file written, with its size and sha256. */
  files: Record<string, FileChecksum>;
  /** The checkpoint folder's name. */
  source: string;
}

export function buildManifest(m: ManifestInput): Manifest {
  const { spec, dtype, graph } = m;
  const params = countParams(spec);
  const quantized = dtype === 'int4' || dtype === 'int8';
  return {
    model: {
      type: spec.modelType,
      context_length: contextLength(spec),
      vocab_size: spec.vocabSize,
      bos_token_id: spec.bosTokenId,
      eos_token_id: spec.eosTokenIds,
      pad_token_id: null,
      decoder: {
        filename: MODEL_FILE,
        head_size: spec.headDim,
        hidden_size: spec.hiddenSize,
        num_attention_heads: spec.numHeads,
        num_key_value_heads: spec.numKvHeads,
        num_hidden_layers: spec.numLayers,
        inputs: { ...DECODER_INPUTS },
        outputs: { ...DECODER_OUTPUTS },
      },
    },
    search: { max_length: contextLength(spec), do_sample: false },
    moe_lens: {
      format_version: FORMAT_VERSION,
      architecture: spec.architecture,
      variant: 'cpu',
      routing: {
        function: 'softmax_topk',
        normalize_top_k: spec.normTopKProb,
        num_experts: spec.numExperts,
        top_k: spec.topK,
        source_top_k: m.sourceTopK,
        moe_layers: spec.moeLayers.flatMap((sparse, l) => (sparse ? [l] : [])),
        router_output_names: IO_PATTERNS.routerLogits,
        router_dtype: 'float32',
      },
      shared_experts: spec.sharedExpert
        ? { count: 1, intermediate_size: spec.sharedExpert.intermediateSize, gate: 'sigmoid' }
        : null,
      experts_layout: graph.expertsLayout,
      expert_intermediate_size: spec.moeIntermediateSize,
      quantization: {
        dtype,
        bits: dtype === 'int4' ? 4 : dtype === 'int8' ? 8 : null,
        block_size: quantized ? graph.blockSize : null,
        symmetric: true,
        accuracy_level: quantized ? graph.accuracyLevel : null,
        lm_head_accuracy_level: quantized ? graph.lmHeadAccuracyLevel : null,
        embedding: dtype === 'fp32' ? 'float32' : 'float16',
        router: 'float32',
      },
      fim: m.fim
        ? {
            prefix: m.fim.prefix,
            suffix: m.fim.suffix,
            middle: m.fim.middle,
            file_sep: m.fim.fileSep ?? null,
            order: m.fim.order,
          }
        : null,
      params: { total: params.total, active_per_token: params.activePerToken },
      kv_cache: attentionKind(spec) === 'gqa' ? 'shared' : 'concat',
      logits_to_keep_input: IO.logitsToKeep,
      files: m.files,
      converter: {
        version: CONVERTER_VERSION,
        source: m.source,
        created: new Date().toISOString(),
      },
    },
  };
}
