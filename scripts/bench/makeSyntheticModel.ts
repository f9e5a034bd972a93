// Writes a random-weight Hugging Face Qwen3MoeForCausalLM checkpoint (config.json +
// model.safetensors) for benchmarks: ≈330 M parameters by default, 8 experts, top-2, large
// enough that batch-1 decode is memory-bound. Weights stream tensor by tensor (one tensor in
// memory at a time) from a seeded PRNG; each tensor has its own seed stream, so a tensor's
// values do not depend on the order tensors are written in.
//
//   node --import tsx scripts/bench/makeSyntheticModel.ts <out-dir> [--hidden 1024 --layers 5
//     --experts 8 --top-k 2 --expert-ffn 2048 --vocab 32000 --heads 16 --kv-heads 4
//     --head-dim 64 --seed 1 --dtype bf16|f32 --shard-gb N --json]
//   ... --preset qwen3-coder-30b-a3b [--layers 12]: Qwen3-Coder-30B-A3B-Instruct's exact config
//     (its first N of 48 layers) in its hub layout: ~4 GB shards + model.safetensors.index.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkpointNames } from '../../src/checkpoint/checkpointLayout';
import { countParams, parseHfConfig } from '../../src/checkpoint/modelSpec';
import { numel } from '../../src/checkpoint/safetensors';
import { writeSafetensorsStreaming, type TensorSpec } from '../lib/safetensorsWriter';

export interface SyntheticOptions {
  hidden: number;
  layers: number;
  experts: number;
  topK: number;
  expertFfn: number;
  vocab: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  seed: number;
  dtype: 'BF16' | 'F32';
  /** config.json fields that differ from the synthetic defaults (a preset's). */
  config?: Record<string, unknown>;
  /** Split into hub-style shards of at most this many bytes (default: one model.safetensors). */
  shardBytes?: number;
}

export const DEFAULT_SYNTHETIC: SyntheticOptions = {
  hidden: 1024,
  layers: 5,
  experts: 8,
  topK: 2,
  expertFfn: 2048,
  vocab: 32000,
  heads: 16,
  kvHeads: 4,
  headDim: 64,
  seed: 1,
  dtype: 'BF16',
};

const STD = 0.02;

/**
 * Qwen/Qwen3-Coder-30B-A3B-Instruct's config.json (30.5 B total, 3.3 B active; the hub ships it
 * as 16 bf16 shards of ~4 GB). --layers keeps the first N of its 48 layers.
 */
export const QWEN3_CODER_30B_A3B: {
  options: Partial<SyntheticOptions>;
  config: Record<string, unknown>;
} = {
  options: {
    hidden: 2048,
    layers: 48,
    experts: 128,
    topK: 8,
    expertFfn: 768,
    vocab: 151936,
    heads: 32,
    kvHeads: 4,
    headDim: 128,
    shardBytes: 4 * 2 ** 30,
  },
  config: {
    intermediate_size: 6144,
    rope_theta: 10000000,
    max_position_embeddings: 262144,
    bos_token_id: 151643,
    eos_token_id: 151645,
    sliding_window: null,
    attention_dropout: 0,
  },
};

/** The Hugging Face config.json of the synthetic model. */
export function syntheticConfig(o: SyntheticOptions): Record<string, unknown> {
  return {
    architectures: ['Qwen3MoeForCausalLM'],
    model_type: 'qwen3_moe',
    hidden_size: o.hidden,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: o.kvHeads,
    head_dim: o.headDim,
    moe_intermediate_size: o.expertFfn,
    intermediate_size: 2 * o.expertFfn,
    num_experts: o.experts,
    num_experts_per_tok: o.topK,
    norm_topk_prob: true,
    vocab_size: o.vocab,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    max_position_embeddings: 4096,
    tie_word_embeddings: false,
    decoder_sparse_step: 1,
    mlp_only_layers: [],
    hidden_act: 'silu',
    attention_bias: false,
    use_sliding_window: false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: o.dtype === 'BF16' ? 'bfloat16' : 'float32',
    ...o.config,
  };
}

/** FNV-1a of a string: a per-tensor seed salt. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * n normal-ish values (mean 0, std `std`): sum of four xorshift32 uniforms (Irwin–Hall),
 * rescaled to unit variance. Fast, bounded (|x| ≤ 3.46σ) and plenty for random weights.
 */
function randomNormalish(n: number, seed: number, std: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 0x9e3779b9;
  // Var(U[0,1)) = 1/12, so the sum of 4 has variance 1/3.
  const scale = (std * Math.sqrt(3)) / 4294967296;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let j = 0; j < 4; j++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      acc += s >>> 0;
    }
    out[i] = (acc - 2 * 4294967296) * scale;
  }
  return out;
}

export interface SyntheticModel {
  dir: string;
  totalParams: number;
  activeParams: number;
  bytes: number;
}

/** Writes the checkpoint into `dir` (created if needed). */
export async function makeSyntheticModel(
  dir: string,
  o: SyntheticOptions,
  log: (m: string) => void = () => undefined,
): Promise<SyntheticModel> {
  const config = syntheticConfig(o);
  const spec = parseHfConfig(config, 'synthetic config');
  const names = checkpointNames(spec);
  const H = o.hidden;
  const q = o.heads * o.headDim;
  const kv = o.kvHeads * o.headDim;
  const I = o.expertFfn;
  const specs: TensorSpec[] = [];
  const norms = new Set<string>();
  const add = (name: string, shape: number[], norm = false) => {
    specs.push({ name, dtype: o.dtype, shape });
    if (norm) norms.add(name);
  };
  add(names.embed, [o.vocab, H]);
  for (let l = 0; l < o.layers; l++) {
    const n = names.layer(l);
    add(n.inputNorm, [H], true);
    add(n.q, [q, H]);
    add(n.k, [kv, H]);
    add(n.v, [kv, H]);
    add(n.o, [H, q]);
    add(n.qNorm, [o.headDim], true);
    add(n.kNorm, [o.headDim], true);
    add(n.postAttentionNorm, [H], true);
    add(n.router, [o.experts, H]);
    for (let e = 0; e < o.experts; e++) {
      const x = n.expert(e);
      add(x.gate, [I, H]);
      add(x.up, [I, H]);
      add(x.down, [H, I]);
    }
  }
  add(names.finalNorm, [H], true);
  add(names.lmHead, [o.vocab, H]);

  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  let written = 0;
  let bytes = 0;
  const perElement = o.dtype === 'BF16' ? 2 : 4;
  const byName = new Map(specs.map((t) => [t.name, t]));
  const produce = (name: string) => {
    const n = numel((byName.get(name) as TensorSpec).shape);
    bytes += n * perElement;
    if (++written % 20 === 0) log(`${written}/${specs.length} tensors`);
    if (norms.has(name)) return new Float32Array(n).fill(1);
    return randomNormalish(n, (hashName(name) ^ Math.imul(o.seed, 0x27d4eb2d)) >>> 0, STD);
  };
  const shards = splitShards(specs, o.shardBytes ?? Infinity, perElement);
  if (shards.length === 1) {
    await writeSafetensorsStreaming(join(dir, 'model.safetensors'), specs, produce);
  } else {
    // The hub's layout: model-0000i-of-0000N.safetensors + an index mapping tensor -> shard.
    const file = (i: number) =>
      `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      for (const t of shard) weightMap[t.name] = file(i);
      await writeSafetensorsStreaming(join(dir, file(i)), shard, produce);
    }
    const index = { metadata: { total_size: bytes }, weight_map: weightMap };
    await writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify(index, null, 2) + '\n',
    );
  }
  const params = countParams(spec);
  return { dir, totalParams: params.total, activeParams: params.activePerToken, bytes };
}

/** Consecutive groups of tensors of at most `maxBytes` each (a bigger tensor gets its own). */
function splitShards(specs: TensorSpec[], maxBytes: number, perElement: number): TensorSpec[][] {
  const out: TensorSpec[][] = [[]];
  let size = 0;
  for (const t of specs) {
    const b = numel(t.shape) * perElement;
    if (size > 0 && size + b > maxBytes) {
      out.push([]);
      size = 0;
    }
    (out.at(-1) as TensorSpec[]).push(t);
    size += b;
  }
  return out;
}

function positiveInt(v: string | undefined, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      hidden: { type: 'string' },
      layers: { type: 'string' },
      experts: { type: 'string' },
      'top-k': { type: 'string' },
      'expert-ffn': { type: 'string' },
      vocab: { type: 'string' },
      heads: { type: 'string' },
      'kv-heads': { type: 'string' },
      'head-dim': { type: 'string' },
      seed: { type: 'string' },
      dtype: { type: 'string', default: 'bf16' },
      preset: { type: 'string' },
      'shard-gb': { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const out = positionals[0];
  if (!out) {
    throw new Error('usage: makeSyntheticModel.ts <out-dir> [--hidden 1024 --layers 5 ...]');
  }
  let d: SyntheticOptions = DEFAULT_SYNTHETIC;
  if (values.preset !== undefined) {
    if (values.preset !== 'qwen3-coder-30b-a3b') {
      throw new Error(`unknown --preset ${values.preset} (known: qwen3-coder-30b-a3b)`);
    }
    d = { ...d, ...QWEN3_CODER_30B_A3B.options, config: QWEN3_CODER_30B_A3B.config };
  }
  const pick = (v: string | undefined, flag: string, def: number) =>
    v === undefined ? def : positiveInt(v, flag);
  const dtype = values.dtype.toUpperCase();
  if (dtype !== 'BF16' && dtype !== 'F32') throw new Error('--dtype must be bf16 or f32');
  const o: SyntheticOptions = {
    hidden: pick(values.hidden, 'hidden', d.hidden),
    layers: pick(values.layers, 'layers', d.layers),
    experts: pick(values.experts, 'experts', d.experts),
    topK: pick(values['top-k'], 'top-k', d.topK),
    expertFfn: pick(values['expert-ffn'], 'expert-ffn', d.expertFfn),
    vocab: pick(values.vocab, 'vocab', d.vocab),
    heads: pick(values.heads, 'heads', d.heads),
    kvHeads: pick(values['kv-heads'], 'kv-heads', d.kvHeads),
    headDim: pick(values['head-dim'], 'head-dim', d.headDim),
    seed: values.seed === undefined ? d.seed : Number(values.seed) >>> 0,
    dtype,
    config: d.config,
    shardBytes:
      values['shard-gb'] === undefined ? d.shardBytes : Number(values['shard-gb']) * 2 ** 30,
  };
  const t0 = performance.now();
  const m = await makeSyntheticModel(out, o, (msg) => process.stderr.write(`synthetic: ${msg}\n`));
  const seconds = (performance.now() - t0) / 1000;
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...m, options: o, seconds }) + '\n');
  } else {
    process.stdout.write(
      `wrote ${out}: ${(m.totalParams / 1e6).toFixed(1)} M parameters total, ` +
        `${(m.activeParams / 1e6).toFixed(1)} M active per token ` +
        `(${o.experts} experts, top-${o.topK}), ${(m.bytes / 2 ** 20).toFixed(0)} MiB ` +
        `${o.dtype} in ${seconds.toFixed(1)} s\n`,
    );
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`makeSyntheticModel: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
