// Typed reads of Hugging Face config.json fields: one-line errors naming the file and the field,
// bounds far above any real model and low enough that nothing hangs. Shared by modelSpec.ts and
// the family modules (families/).
import { MoeLensError } from '../format/errors';

export type Json = Record<string, unknown>;

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

export function num(cfg: Json, key: string, file: string, fallback?: number): number {
  const v = cfg[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new MoeLensError(`${file}: missing numeric field "${key}"`);
  }
  throw new MoeLensError(`${file}: field "${key}" must be a number, got ${JSON.stringify(v)}`);
}

/** An integer size in min..max (one-line error naming the file and field). */
export function int(
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

export function bool(cfg: Json, key: string, fallback: boolean): boolean {
  const v = cfg[key];
  return typeof v === 'boolean' ? v : fallback;
}

export function ropeTheta(cfg: Json, fallback: number): number {
  if (typeof cfg.rope_theta === 'number') return cfg.rope_theta;
  const params = cfg.rope_parameters as Json | undefined;
  if (params && typeof params.rope_theta === 'number') return params.rope_theta;
  return fallback;
}

/** transformers 5 saves Qwen-MoE's num_experts under its attribute_map name num_local_experts. */
export function expertCount(cfg: Json, file: string): number {
  return cfg.num_experts !== undefined
    ? int(cfg, 'num_experts', file, 1, CONFIG_LIMITS.experts)
    : int(cfg, 'num_local_experts', file, 1, CONFIG_LIMITS.experts);
}

/** Qwen's decoder_sparse_step / mlp_only_layers: which layers are sparse (the rest dense). */
export function sparseLayers(cfg: Json, file: string, numLayers: number): boolean[] {
  const step = int(cfg, 'decoder_sparse_step', file, 0, numLayers, 1);
  const mlpOnly = Array.isArray(cfg.mlp_only_layers) ? (cfg.mlp_only_layers as number[]) : [];
  return Array.from(
    { length: numLayers },
    (_, l) => !mlpOnly.includes(l) && step > 0 && (l + 1) % step === 0,
  );
}

export const allSparse = (numLayers: number): boolean[] =>
  Array.from({ length: numLayers }, () => true);
