// Qwen3-MoE (Qwen3MoeForCausalLM, modeling_qwen3_moe.py; Qwen3-Coder-30B-A3B): softmax -> top-k
// -> renormalise iff norm_topk_prob; per-head q/k RMSNorm; optional attention bias; sparse layers
// by decoder_sparse_step / mlp_only_layers (the others dense SwiGLU).
import {
  bool,
  CONFIG_LIMITS as L,
  expertCount,
  int,
  ropeTheta,
  sparseLayers,
} from '../configFields';
import { MLP_MODULE, PROJ_EXPERTS, qwenSlidingWindow, type Family } from './family';

export const qwen3moe: Family = {
  architecture: 'Qwen3MoeForCausalLM',
  defaults: { maxPositionEmbeddings: 32768, rmsNormEps: 1e-6 },
  slidingWindow: qwenSlidingWindow,
  fields(cfg, file, numLayers) {
    const bias = bool(cfg, 'attention_bias', false);
    return {
      ropeTheta: ropeTheta(cfg, 10000),
      qkvBias: bias,
      oBias: bias,
      qkNorm: 'per_head',
      numExperts: expertCount(cfg, file),
      topK: int(cfg, 'num_experts_per_tok', file, 1, L.experts),
      normTopKProb: bool(cfg, 'norm_topk_prob', false),
      moeIntermediateSize: int(cfg, 'moe_intermediate_size', file, 1, L.intermediate_size),
      denseIntermediateSize: int(cfg, 'intermediate_size', file, 0, L.intermediate_size, 0),
      moeLayers: sparseLayers(cfg, file, numLayers),
      sharedExpert: null,
    };
  },
  moeModule: MLP_MODULE,
  expertNames: PROJ_EXPERTS,
};
