// OLMoE (OlmoeForCausalLM, modeling_olmoe.py): softmax -> top-k -> renormalise iff
// norm_topk_prob (false in practice); q/k RMSNorm over the full projection width; optional
// attention bias on q/k/v/o; every layer sparse; no sliding window. clip_qkv is not built.
import { MoeLensError } from '../../format/errors';
import { allSparse, bool, CONFIG_LIMITS as L, int, ropeTheta } from '../configFields';
import { MLP_MODULE, PROJ_EXPERTS, type Family } from './family';

export const olmoe: Family = {
  architecture: 'OlmoeForCausalLM',
  defaults: { maxPositionEmbeddings: 4096, rmsNormEps: 1e-5 },
  slidingWindow: () => null,
  fields(cfg, file, numLayers) {
    if (cfg.clip_qkv !== undefined && cfg.clip_qkv !== null) {
      throw new MoeLensError(`${file}: clip_qkv is not supported`);
    }
    const inter = int(cfg, 'intermediate_size', file, 1, L.intermediate_size);
    const bias = bool(cfg, 'attention_bias', false);
    return {
      ropeTheta: ropeTheta(cfg, 10000),
      qkvBias: bias,
      oBias: bias,
      qkNorm: 'full',
      numExperts: int(cfg, 'num_experts', file, 1, L.experts),
      topK: int(cfg, 'num_experts_per_tok', file, 1, L.experts),
      normTopKProb: bool(cfg, 'norm_topk_prob', false),
      moeIntermediateSize: inter,
      denseIntermediateSize: inter,
      moeLayers: allSparse(numLayers),
      sharedExpert: null,
    };
  },
  moeModule: MLP_MODULE,
  expertNames: PROJ_EXPERTS,
};
