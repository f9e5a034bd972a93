// Qwen2-MoE (Qwen2MoeForCausalLM, modeling_qwen2_moe.py): softmax -> top-k -> renormalise iff
// norm_topk_prob, plus an always-on shared expert scaled by sigmoid(shared_expert_gate . x);
// q/k/v bias (qkv_bias), no q/k norm; sparse layers by decoder_sparse_step / mlp_only_layers.
import { bool, CONFIG_LIMITS as L, int, ropeTheta } from '../configFields';
import { MLP_MODULE, PROJ_EXPERTS, qwenExperts, qwenSlidingWindow, type Family } from './family';

export const qwen2moe: Family = {
  architecture: 'Qwen2MoeForCausalLM',
  defaults: { maxPositionEmbeddings: 32768, rmsNormEps: 1e-6 },
  slidingWindow: qwenSlidingWindow,
  fields(cfg, file, numLayers) {
    const shared = int(cfg, 'shared_expert_intermediate_size', file, 0, L.intermediate_size, 5632);
    return {
      ropeTheta: ropeTheta(cfg, 10000),
      qkvBias: bool(cfg, 'qkv_bias', true),
      oBias: false,
      qkNorm: 'none',
      ...qwenExperts(cfg, file, numLayers),
      sharedExpert: shared > 0 ? { intermediateSize: shared } : null,
    };
  },
  moeModule: MLP_MODULE,
  expertNames: PROJ_EXPERTS,
};
