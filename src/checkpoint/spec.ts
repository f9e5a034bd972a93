// The normalised description of a MoE decoder that every family's checkpoint is read into
// (modelSpec.ts parses it; families/ decide their fields): the converter, the reference forward
// and the engine never branch on raw config keys.

/** How a layer normalises q and k before RoPE. */
export type QkNorm = 'none' | 'per_head' | 'full';

export interface ModelSpec {
  /** config.json's architectures[0]: a family of src/checkpoint/families. */
  architecture: string;
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (Qwen2-MoE). */
  qkvBias: boolean;
  /** o projection carries a bias (attention_bias in some configs). */
  oBias: boolean;
  qkNorm: QkNorm;
  numExperts: number;
  topK: number;
  /** Renormalise the top-k softmax weights so they sum to 1. */
  normTopKProb: boolean;
  moeIntermediateSize: number;
  /** FFN width of dense (non-MoE) layers. */
  denseIntermediateSize: number;
  /** moeLayers[l] is true when layer l is sparse; dense layers run a plain SwiGLU MLP. */
  moeLayers: boolean[];
  /** Qwen2-MoE's always-on expert, scaled by sigmoid(gate . x). */
  sharedExpert: { intermediateSize: number } | null;
  bosTokenId: number | null;
  eosTokenIds: number[];
}
