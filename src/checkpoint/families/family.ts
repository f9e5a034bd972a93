// What a model family is to MoE Lens: the differences of its Hugging Face config and checkpoint
// from the common decoder (src/checkpoint/modelSpec.ts), as data and small functions. The graph
// emitter, the reference forward and the engine read only the ModelSpec a family produces, so a
// new family is one module here (registered in index.ts), its fixture and its parity test.
import type { ModelSpec } from '../spec';
import {
  bool,
  CONFIG_LIMITS as L,
  expertCount,
  int,
  sparseLayers,
  type Json,
} from '../configFields';

/** The ModelSpec fields a family decides (the rest are read the same way for every family). */
export type FamilyFields = Pick<
  ModelSpec,
  | 'ropeTheta'
  | 'qkvBias'
  | 'oBias'
  | 'qkNorm'
  | 'numExperts'
  | 'topK'
  | 'normTopKProb'
  | 'moeIntermediateSize'
  | 'denseIntermediateSize'
  | 'moeLayers'
  | 'sharedExpert'
>;

export interface ExpertNames {
  gate: string; // [I, H]
  up: string; // [I, H]
  down: string; // [H, I]
}

export interface Family {
  /** config.json's architectures[0]. */
  architecture: string;
  /** transformers' config defaults where this family's differ from the others. */
  defaults: { maxPositionEmbeddings: number; rmsNormEps: number };
  /** The sliding window this config enables, or null (it then bounds the context length). */
  slidingWindow(cfg: Json): number | null;
  /** Reads the family's fields; refuses config fields that change the maths and are not built. */
  fields(cfg: Json, file: string, numLayers: number): FamilyFields;
  /** Checkpoint module of a layer's MoE block, e.g. `model.layers.3.mlp`. */
  moeModule(layerPrefix: string): string;
  /** An expert's three weights inside the MoE module. */
  expertNames(moeModule: string, expert: number): ExpertNames;
}

/** The Qwen/OLMoE spelling: `<layer>.mlp.experts.<e>.{gate,up,down}_proj.weight`. */
export const MLP_MODULE = (layerPrefix: string): string => `${layerPrefix}.mlp`;
export const PROJ_EXPERTS = (moe: string, e: number): ExpertNames => ({
  gate: `${moe}.experts.${e}.gate_proj.weight`,
  up: `${moe}.experts.${e}.up_proj.weight`,
  down: `${moe}.experts.${e}.down_proj.weight`,
});

/** Qwen saves sliding_window even when use_sliding_window is off. */
export function qwenSlidingWindow(cfg: Json): number | null {
  const w = cfg.sliding_window;
  return typeof w === 'number' && w > 0 && cfg.use_sliding_window === true ? w : null;
}

/** The experts and sparse layers of the Qwen MoE configs (Qwen2-MoE and Qwen3-MoE read them alike). */
export function qwenExperts(
  cfg: Json,
  file: string,
  numLayers: number,
): Pick<
  FamilyFields,
  | 'numExperts'
  | 'topK'
  | 'normTopKProb'
  | 'moeIntermediateSize'
  | 'denseIntermediateSize'
  | 'moeLayers'
> {
  return {
    numExperts: expertCount(cfg, file),
    topK: int(cfg, 'num_experts_per_tok', file, 1, L.experts),
    normTopKProb: bool(cfg, 'norm_topk_prob', false),
    moeIntermediateSize: int(cfg, 'moe_intermediate_size', file, 1, L.intermediate_size),
    denseIntermediateSize: int(cfg, 'intermediate_size', file, 0, L.intermediate_size, 0),
    moeLayers: sparseLayers(cfg, file, numLayers),
  };
}
