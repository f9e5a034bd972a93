// The model folder's manifest: `genai_config.json` in onnxruntime-genai's shape, plus our own
// `moe_lens` section (routing, experts, FIM, quantization, checksums). See docs/MODEL_FORMAT.md.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MoeLensError } from './errors';
import type { Architecture } from './modelSpec';

export const MANIFEST_FILE = 'genai_config.json';
export const MODEL_FILE = 'model.onnx';
export const DATA_FILE = 'model.onnx.data';
export const FORMAT_VERSION = 1;

export type FimOrder = 'psm' | 'spm';

export interface FileChecksum {
  bytes: number;
  sha256: string;
}

export interface MoeLensSection {
  format_version: number;
  architecture: Architecture;
  /** The graph variant: which execution providers it was shaped for. */
  variant: 'cpu';
  routing: {
    /** softmax over all experts, top-k, optional renormalisation of the k weights. */
    function: 'softmax_topk';
    normalize_top_k: boolean;
    num_experts: number;
    top_k: number;
    /** top-k of the source checkpoint (differs when --top-k overrode it). */
    source_top_k: number;
    /** The model's own indices of its MoE layers (dense layers have no router). */
    moe_layers: number[];
    /** Output name pattern; %d is the layer index. Shape [tokens, num_experts], fp32 raw logits. */
    router_output_names: string;
    router_dtype: 'float32';
  };
  shared_experts: { count: number; intermediate_size: number; gate: 'sigmoid' } | null;
  /** if: sparse If-per-expert; qmoe: onnxruntime's QMoE; unrouted: benchmark bound only. */
  experts_layout: 'if' | 'qmoe' | 'unrouted';
  expert_intermediate_size: number;
  quantization: {
    dtype: 'fp32' | 'fp16' | 'int8' | 'int4';
    bits: number | null;
    block_size: number | null;
    symmetric: boolean;
    accuracy_level: number | null;
    lm_head_accuracy_level: number | null;
    embedding: 'float32' | 'float16';
    router: 'float32';
  };
  fim: {
    prefix: string;
    suffix: string;
    middle: string;
    file_sep: string | null;
    order: FimOrder;
  } | null;
  params: { total: number; active_per_token: number };
  /** shared: present.* alias past.* buffers of capacity >= total length (GQA, in place);
   *  concat: present = past ++ new. Absent in older manifests = concat. */
  kv_cache?: 'shared' | 'concat';
  /** Extra input: how many trailing positions get logits (1 while generating). */
  logits_to_keep_input: string;
  files: Record<string, FileChecksum>;
  converter: { version: string; source: string; created: string };
}

export interface Manifest {
  model: {
    type: string;
    context_length: number;
    vocab_size: number;
    bos_token_id: number | null;
    eos_token_id: number[];
    pad_token_id: number | null;
    decoder: {
      filename: string;
      head_size: number;
      hidden_size: number;
      num_attention_heads: number;
      num_key_value_heads: number;
      num_hidden_layers: number;
      inputs: Record<string, string>;
      outputs: Record<string, string>;
    };
  };
  search: { max_length: number; do_sample: boolean };
  moe_lens: MoeLensSection;
}

export async function readManifest(dir: string): Promise<Manifest> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new MoeLensError(
      `${file}: not found; ${dir} is not a converted MoE Lens model (run: cli.js convert <hf-dir> <out-dir>)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MoeLensError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  const m = json as Partial<Manifest>;
  if (!m.moe_lens || !m.model?.decoder) {
    throw new MoeLensError(`${file}: no "moe_lens" section; not written by the MoE Lens converter`);
  }
  if (m.moe_lens.format_version !== FORMAT_VERSION) {
    throw new MoeLensError(
      `${file}: format_version ${String(m.moe_lens.format_version)} is not supported (expected ${FORMAT_VERSION}); reconvert the model`,
    );
  }
  return m as Manifest;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** Checks every listed file's size and sha256; a truncated or altered file is never loaded. */
export async function verifyFiles(dir: string, manifest: Manifest): Promise<void> {
  for (const [name, sum] of Object.entries(manifest.moe_lens.files)) {
    const path = join(dir, name);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      throw new MoeLensError(`${path}: missing (listed in ${MANIFEST_FILE})`);
    }
    if (size !== sum.bytes) {
      throw new MoeLensError(
        `${path}: ${size} bytes, the manifest says ${sum.bytes} (truncated or overwritten; reconvert the model)`,
      );
    }
    const actual = await sha256File(path);
    if (actual !== sum.sha256) {
      throw new MoeLensError(`${path}: sha256 mismatch (corrupt; reconvert the model)`);
    }
  }
}
