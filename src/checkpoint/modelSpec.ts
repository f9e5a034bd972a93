// The normalised description of a Hugging Face MoE checkpoint: one shape for every supported
// family, so the converter, the reference forward and the engine never branch on raw config keys.
// Router maths per family (transformers' modeling_*.py, see docs/MODEL_FORMAT.md):
//   Mixtral                 softmax(z) -> top-k -> always renormalise
//   Qwen3-MoE, Qwen2-MoE    softmax(z) -> top-k -> renormalise iff norm_topk_prob
//   OLMoE                   softmax(z) -> top-k -> renormalise iff norm_topk_prob (false in practice)
//   Qwen2-MoE also adds sigmoid(shared_expert_gate(x)) * shared_expert(x).
import { SUPPORTED_ARCHITECTURES, type Architecture } from '../format/architectures';
import { MoeLensError } from '../format/errors';

/** How a layer normalises q and k before RoPE. */
export type QkNorm = 'none' | 'per_head' | 'full';

export interface ModelSpec {
  architecture: Architecture;
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

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, file: string, fallback?: number): number {
  const v = cfg[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new MoeLensError(`${file}: missing numeric field "${key}"`);
  }
  throw new MoeLensError(`${file}: field "${key}" must be a number, got ${JSON.stringify(v)}`);
}

/** Upper bounds of config.json's sizes: far above any real model, low enough that nothing hangs. */
export const CONFIG_LIMITS = {
  vocab_size: 1 << 24,
  hidden_size: 1 << 16,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 4096,
  experts: 4096,
  intermediate_size: 1 << 20,
  max_position_embeddings: 1 << 24,
} as const;

/** An integer size in min..max (one-line error naming the file and field). */
function int(
  cfg: Json,
  key: string,
  file: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  const v = num(cfg, key, file, fallback);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new MoeLensError(
      `${file}: field "${key}" must be an integer in ${min}..${max}, got ${v}`,
    );
  }
  return v;
}

function bool(cfg: Json, key: string, fallback: boolean): boolean {
  const v = cfg[key];
  return typeof v === 'boolean' ? v : fallback;
}

function ropeTheta(cfg: Json, fallback: number): number {
  if (typeof cfg.rope_theta === 'number') return cfg.rope_theta;
  const params = cfg.rope_parameters as Json | undefined;
  if (params && typeof params.rope_theta === 'number') return params.rope_theta;
  return fallback;
}

function checkRopeScaling(cfg: Json, file: string): void {
  for (const key of ['rope_scaling', 'rope_parameters']) {
    const s = cfg[key] as Json | null | undefined;
    if (!s) continue;
    const type = s.rope_type ?? s.type;
    if (type !== undefined && type !== 'default') {
      throw new MoeLensError(
        `${file}: ${key}.rope_type "${String(type)}" is not supported (only default RoPE)`,
      );
    }
  }
}

/** transformers 5 saves Qwen-MoE's num_experts under its attribute_map name num_local_experts. */
function expertCount(cfg: Json, file: string): number {
  return cfg.num_experts !== undefined
    ? int(cfg, 'num_experts', file, 1, CONFIG_LIMITS.experts)
    : int(cfg, 'num_local_experts', file, 1, CONFIG_LIMITS.experts);
}

/**
 * Sliding-window attention is not built; a model that uses it is exact up to the window, so the
 * window becomes the context length. Qwen saves sliding_window even when use_sliding_window is off.
 */
function slidingWindow(cfg: Json, arch: Architecture): number | null {
  const w = cfg.sliding_window;
  if (typeof w !== 'number' || w <= 0) return null;
  if (arch === 'MixtralForCausalLM') return w;
  if (arch === 'Qwen3MoeForCausalLM' || arch === 'Qwen2MoeForCausalLM') {
    return cfg.use_sliding_window === true ? w : null;
  }
  return null;
}

function tokenIds(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** Parses a Hugging Face config.json object into a ModelSpec; `file` names the source in errors. */
export function parseHfConfig(cfg: Json, file = 'config.json'): ModelSpec {
  const archs = cfg.architectures;
  const architecture = Array.isArray(archs) ? archs[0] : undefined;
  if (typeof architecture !== 'string') {
    throw new MoeLensError(`${file}: no "architectures" entry; cannot tell the model family`);
  }
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw new MoeLensError(
      `${file}: unsupported architecture "${architecture}" (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`,
    );
  }
  const arch = architecture as Architecture;
  checkRopeScaling(cfg, file);
  const L = CONFIG_LIMITS;
  const hiddenSize = int(cfg, 'hidden_size', file, 1, L.hidden_size);
  const numHeads = int(cfg, 'num_attention_heads', file, 1, L.num_attention_heads);
  const numLayers = int(cfg, 'num_hidden_layers', file, 1, L.num_hidden_layers);
  const headDim = num(cfg, 'head_dim', file, hiddenSize / numHeads);
  // Defaults below are transformers' own config defaults for each family.
  const mixtralOrOlmoe = arch === 'MixtralForCausalLM' || arch === 'OlmoeForCausalLM';
  const maxPositions = num(
    cfg,
    'max_position_embeddings',
    file,
    arch === 'MixtralForCausalLM' ? 131072 : arch === 'OlmoeForCausalLM' ? 4096 : 32768,
  );
  if (!Number.isInteger(headDim)) throw new MoeLensError(`${file}: head_dim is not an integer`);
  if (headDim < 1 || headDim > L.head_dim) {
    throw new MoeLensError(
      `${file}: field "head_dim" must be an integer in 1..${L.head_dim}, got ${headDim}`,
    );
  }
  if (!Number.isSafeInteger(maxPositions) || maxPositions < 1) {
    throw new MoeLensError(
      `${file}: field "max_position_embeddings" must be a positive integer, got ${maxPositions}`,
    );
  }
  const numKvHeads = int(cfg, 'num_key_value_heads', file, 1, numHeads, numHeads);
  const base = {
    architecture: arch,
    modelType: typeof cfg.model_type === 'string' ? cfg.model_type : arch,
    vocabSize: int(cfg, 'vocab_size', file, 1, L.vocab_size),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num(cfg, 'rms_norm_eps', file, mixtralOrOlmoe ? 1e-5 : 1e-6),
    maxPositions: Math.min(maxPositions, slidingWindow(cfg, arch) ?? Infinity),
    tieWordEmbeddings: bool(cfg, 'tie_word_embeddings', false),
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: tokenIds(cfg.eos_token_id),
  };
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') {
    throw new MoeLensError(`${file}: hidden_act "${String(act)}" is not supported (only silu)`);
  }

  const spec = familySpec(cfg, file, arch, base, numLayers);
  if (spec.topK > spec.numExperts) {
    throw new MoeLensError(
      `${file}: num_experts_per_tok ${spec.topK} is more than the ${spec.numExperts} experts`,
    );
  }
  return spec;
}

type BaseSpec = Omit<
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

function familySpec(
  cfg: Json,
  file: string,
  arch: Architecture,
  base: BaseSpec,
  numLayers: number,
): ModelSpec {
  const L = CONFIG_LIMITS;
  const sparseLayers = (step: number, mlpOnly: number[]): boolean[] =>
    Array.from(
      { length: numLayers },
      (_, l) => !mlpOnly.includes(l) && step > 0 && (l + 1) % step === 0,
    );
  const mlpOnly = Array.isArray(cfg.mlp_only_layers) ? (cfg.mlp_only_layers as number[]) : [];

  switch (arch) {
    case 'MixtralForCausalLM': {
      const inter = int(cfg, 'intermediate_size', file, 1, L.intermediate_size);
      return {
        ...base,
        ropeTheta: ropeTheta(cfg, 1e6),
        qkvBias: false,
        oBias: false,
        qkNorm: 'none',
        numExperts: int(cfg, 'num_local_experts', file, 1, L.experts),
        topK: int(cfg, 'num_experts_per_tok', file, 1, L.experts),
        normTopKProb: true,
        moeIntermediateSize: inter,
        denseIntermediateSize: inter,
        moeLayers: Array.from({ length: numLayers }, () => true),
        sharedExpert: null,
      };
    }
    case 'OlmoeForCausalLM': {
      if (cfg.clip_qkv !== undefined && cfg.clip_qkv !== null) {
        throw new MoeLensError(`${file}: clip_qkv is not supported`);
      }
      const inter = int(cfg, 'intermediate_size', file, 1, L.intermediate_size);
      const bias = bool(cfg, 'attention_bias', false);
      return {
        ...base,
        ropeTheta: ropeTheta(cfg, 10000),
        qkvBias: bias,
        oBias: bias,
        qkNorm: 'full',
        numExperts: int(cfg, 'num_experts', file, 1, L.experts),
        topK: int(cfg, 'num_experts_per_tok', file, 1, L.experts),
        normTopKProb: bool(cfg, 'norm_topk_prob', false),
        moeIntermediateSize: inter,
        denseIntermediateSize: inter,
        moeLayers: Array.from({ length: numLayers }, () => true),
        sharedExpert: null,
      };
    }
    case 'Qwen3MoeForCausalLM': {
      const bias = bool(cfg, 'attention_bias', false);
      return {
        ...base,
        ropeTheta: ropeTheta(cfg, 10000),
        qkvBias: bias,
        oBias: bias,
        qkNorm: 'per_head',
        numExperts: expertCount(cfg, file),
        topK: int(cfg, 'num_experts_per_tok', file, 1, L.experts),
        normTopKProb: bool(cfg, 'norm_topk_prob', false),
        moeIntermediateSize: int(cfg, 'moe_intermediate_size', file, 1, L.intermediate_size),
        denseIntermediateSize: int(cfg, 'intermediate_size', file, 0, L.intermediate_size, 0),
        moeLayers: sparseLayers(int(cfg, 'decoder_sparse_step', file, 0, numLayers, 1), mlpOnly),
        sharedExpert: null,
      };
    }
    case 'Qwen2MoeForCausalLM': {
      const shared = int(
        cfg,
        'shared_expert_intermediate_size',
        file,
        0,
        L.intermediate_size,
        5632,
      );
      return {
        ...base,
        ropeTheta: ropeTheta(cfg, 10000),
        qkvBias: bool(cfg, 'qkv_bias', true),
        oBias: false,
        qkNorm: 'none',
        numExperts: expertCount(cfg, file),
        topK: int(cfg, 'num_experts_per_tok', file, 1, L.experts),
        normTopKProb: bool(cfg, 'norm_topk_prob', false),
        moeIntermediateSize: int(cfg, 'moe_intermediate_size', file, 1, L.intermediate_size),
        denseIntermediateSize: int(cfg, 'intermediate_size', file, 0, L.intermediate_size, 0),
        moeLayers: sparseLayers(int(cfg, 'decoder_sparse_step', file, 0, numLayers, 1), mlpOnly),
        sharedExpert: shared > 0 ? { intermediateSize: shared } : null,
      };
    }
  }
}

/** Applies a --top-k override (e.g. all experts for a dense-equivalent run). */
export function withTopK(spec: ModelSpec, topK: number): ModelSpec {
  if (!Number.isInteger(topK) || topK < 1 || topK > spec.numExperts) {
    throw new MoeLensError(`--top-k ${topK} is out of range 1..${spec.numExperts}`);
  }
  return { ...spec, topK };
}

/** Parameter counts: all weights, and the weights one token touches (k routed experts). */
export function countParams(spec: ModelSpec): { total: number; activePerToken: number } {
  const h = spec.hiddenSize;
  const qDim = spec.numHeads * spec.headDim;
  const kvDim = spec.numKvHeads * spec.headDim;
  const attn =
    h * qDim +
    2 * h * kvDim +
    qDim * h +
    (spec.qkvBias ? qDim + 2 * kvDim : 0) +
    (spec.oBias ? h : 0);
  const qkNorm =
    spec.qkNorm === 'per_head' ? 2 * spec.headDim : spec.qkNorm === 'full' ? qDim + kvDim : 0;
  const norms = 2 * h;
  const expert = 3 * h * spec.moeIntermediateSize;
  const dense = 3 * h * spec.denseIntermediateSize;
  const shared = spec.sharedExpert ? 3 * h * spec.sharedExpert.intermediateSize + h : 0;
  let total = spec.vocabSize * h + h + (spec.tieWordEmbeddings ? 0 : spec.vocabSize * h);
  let active = total;
  for (const sparse of spec.moeLayers) {
    const common = attn + qkNorm + norms;
    if (sparse) {
      const router = spec.numExperts * h;
      total += common + router + spec.numExperts * expert + shared;
      active += common + router + spec.topK * expert + shared;
    } else {
      total += common + dense;
      active += common + dense;
    }
  }
  return { total, activePerToken: active };
}
