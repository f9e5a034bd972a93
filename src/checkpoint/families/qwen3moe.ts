// Qwen3-MoE (Qwen3MoeForCausalLM, modeling_qwen3_moe.py; Qwen3-Coder-30B-A3B): softmax -> top-k
// -> renormalise iff norm_topk_prob; per-head q/k RMSNorm; optional attention bias; sparse layers
// by decoder_sparse_step / mlp_only_layers (the others dense SwiGLU).
import { bool, ropeTheta } from '../configFields';
import { MLP_MODULE, PROJ_EXPERTS, qwenExperts, qwenSlidingWindow, type Family } from './family';

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
      ...qwenExperts(cfg, file, numLayers),
      sharedExpert: null,
    };
  },
  moeModule: MLP_MODULE,
  expertNames: PROJ_EXPERTS,
};
