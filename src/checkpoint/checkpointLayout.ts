// Where each weight lives in a Hugging Face checkpoint of each family (hub naming, which
// transformers 5 also writes by default: save_pretrained(save_original_format=True)).
import { MoeLensError } from '../format/errors';
import { familyOf, type ExpertNames } from './families';
import type { ModelSpec } from './modelSpec';

export type { ExpertNames };

export interface LayerNames {
  inputNorm: string; // [H]
  postAttentionNorm: string; // [H]
  q: string; // [nh*D, H]
  k: string; // [kvh*D, H]
  v: string; // [kvh*D, H]
  o: string; // [H, nh*D]
  qBias: string; // [nh*D]
  kBias: string;
  vBias: string;
  oBias: string;
  qNorm: string; // [D] per head or [nh*D] full
  kNorm: string;
  router: string; // [E, H]
  expert: (e: number) => ExpertNames;
  /** transformers-5 in-memory layout (save_original_format=False): gate_up [E, 2I, H]. */
  fusedGateUp: string;
  dense: ExpertNames;
  shared: ExpertNames;
  sharedGate: string; // [1, H]
}

export interface CheckpointNames {
  embed: string; // [V, H]
  finalNorm: string; // [H]
  lmHead: string; // [V, H]
  layer: (l: number) => LayerNames;
}

export function checkpointNames(spec: ModelSpec): CheckpointNames {
  const family = familyOf(spec.architecture);
  if (!family) throw new MoeLensError(`no checkpoint layout for ${spec.architecture}`);
  return {
    embed: 'model.embed_tokens.weight',
    finalNorm: 'model.norm.weight',
    lmHead: spec.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
    layer: (l) => {
      const p = `model.layers.${l}`;
      const moe = family.moeModule(p);
      return {
        inputNorm: `${p}.input_layernorm.weight`,
        postAttentionNorm: `${p}.post_attention_layernorm.weight`,
        q: `${p}.self_attn.q_proj.weight`,
        k: `${p}.self_attn.k_proj.weight`,
        v: `${p}.self_attn.v_proj.weight`,
        o: `${p}.self_attn.o_proj.weight`,
        qBias: `${p}.self_attn.q_proj.bias`,
        kBias: `${p}.self_attn.k_proj.bias`,
        vBias: `${p}.self_attn.v_proj.bias`,
        oBias: `${p}.self_attn.o_proj.bias`,
        qNorm: `${p}.self_attn.q_norm.weight`,
        kNorm: `${p}.self_attn.k_norm.weight`,
        router: `${moe}.gate.weight`,
        expert: (e) => family.expertNames(moe, e),
        fusedGateUp: `${p}.mlp.experts.gate_up_proj`,
        dense: {
          gate: `${p}.mlp.gate_proj.weight`,
          up: `${p}.mlp.up_proj.weight`,
          down: `${p}.mlp.down_proj.weight`,
        },
        shared: {
          gate: `${p}.mlp.shared_expert.gate_proj.weight`,
          up: `${p}.mlp.shared_expert.up_proj.weight`,
          down: `${p}.mlp.shared_expert.down_proj.weight`,
        },
        sharedGate: `${p}.mlp.shared_expert_gate.weight`,
      };
    },
  };
}
