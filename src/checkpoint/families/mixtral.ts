// Mixtral (MixtralForCausalLM, transformers' modeling_mixtral.py): softmax -> top-k -> always
// renormalise; no q/k norm, no biases; every layer sparse; experts named w1 (gate), w3 (up),
// w2 (down) under block_sparse_moe; its sliding window (when set) is always on.
import { allSparse, CONFIG_LIMITS as L, int, ropeTheta } from '../configFields';
import type { Family } from './family';

export const mixtral: Family = {
  architecture: 'MixtralForCausalLM',
  defaults: { maxPositionEmbeddings: 131072, rmsNormEps: 1e-5 },
  slidingWindow: (cfg) =>
    typeof cfg.sliding_window === 'number' && cfg.sliding_window > 0 ? cfg.sliding_window : null,
  fields(cfg, file, numLayers) {
    const inter = int(cfg, 'intermediate_size', file, 1, L.intermediate_size);
    return {
      ropeTheta: ropeTheta(cfg, 1e6),
      qkvBias: false,
      oBias: false,
      qkNorm: 'none',
      numExperts: int(cfg, 'num_local_experts', file, 1, L.experts),
      topK: int(cfg, 'num_experts_per_tok', file, 1, L.experts),
      normTopKProb: true,
      moeIntermediateSize: inter,
      denseIntermediateSize: inter,
      moeLayers: allSparse(numLayers),
      sharedExpert: null,
    };
  },
  moeModule: (layer) => `${layer}.block_sparse_moe`,
  expertNames: (moe, e) => ({
    gate: `${moe}.experts.${e}.w1.weight`,
    up: `${moe}.experts.${e}.w3.weight`,
    down: `${moe}.experts.${e}.w2.weight`,
  }),
};
