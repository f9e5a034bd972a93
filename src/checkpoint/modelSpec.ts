// The normalised description of a Hugging Face MoE checkpoint: one shape for every supported
// family, so the converter, the reference forward and the engine never branch on raw config keys.
// What differs per family (router maths, q/k norm, biases, sparse layers, shared experts,
// checkpoint names) is in families/, one module each (see families/family.ts).
import { MoeLensError } from '../format/errors';
import { CONFIG_LIMITS, bool, int, num, type Json } from './configFields';
import { familyOf, SUPPORTED_ARCHITECTURES } from './families';
import type { ModelSpec } from './spec';

export { CONFIG_LIMITS };

export type { ModelSpec, QkNorm } from './spec';

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
  const family = familyOf(architecture);
  if (!family) {
    throw new MoeLensError(
      `${file}: unsupported architecture "${architecture}" (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`,
    );
  }
  checkRopeScaling(cfg, file);
  const L = CONFIG_LIMITS;
  const hiddenSize = int(cfg, 'hidden_size', file, 1, L.hidden_size);
  const numHeads = int(cfg, 'num_attention_heads', file, 1, L.num_attention_heads);
  const numLayers = int(cfg, 'num_hidden_layers', file, 1, L.num_hidden_layers);
  const headDim = num(cfg, 'head_dim', file, hiddenSize / numHeads);
  // Defaults are transformers' own config defaults for each family.
  const maxPositions = num(
    cfg,
    'max_position_embeddings',
    file,
    family.defaults.maxPositionEmbeddings,
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
    architecture,
    modelType: typeof cfg.model_type === 'string' ? cfg.model_type : architecture,
    vocabSize: int(cfg, 'vocab_size', file, 1, L.vocab_size),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num(cfg, 'rms_norm_eps', file, family.defaults.rmsNormEps),
    maxPositions: Math.min(maxPositions, family.slidingWindow(cfg) ?? Infinity),
    tieWordEmbeddings: bool(cfg, 'tie_word_embeddings', false),
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: tokenIds(cfg.eos_token_id),
  };
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') {
    throw new MoeLensError(`${file}: hidden_act "${String(act)}" is not supported (only silu)`);
  }

  const spec: ModelSpec = { ...base, ...family.fields(cfg, file, numLayers) };
  if (spec.topK > spec.numExperts) {
    throw new MoeLensError(
      `${file}: num_experts_per_tok ${spec.topK} is more than the ${spec.numExperts} experts`,
    );
  }
  return spec;
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
