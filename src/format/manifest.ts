// The model folder's manifest: `genai_config.json` in onnxruntime-genai's shape, plus our own
// `moe_lens` section (routing, experts, FIM, quantization, checksums). See docs/MODEL_FORMAT.md.
// Everything here is checked before use: `readManifest` validates the whole document against
// the schema below (types, ranges, upper bounds) and `checkListedFiles` confines, stats and
// hashes what it lists (docs/MODEL_FORMAT.md, "The contract").
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  checkFile,
  folderRoot,
  GiB,
  MiB,
  readChecked,
  relativeNameProblem,
  sha256Checked,
  type CheckedFile,
} from './confinedFile';
import { MoeLensError } from './errors';
import { DECODER_INPUTS, DECODER_OUTPUTS, IO, IO_PATTERNS } from './graphIO';

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
  /** The source checkpoint's family (config.json architectures[0]); a label: the graph and
   * `routing` define the maths. */
  architecture: string;
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

/** Largest genai_config.json read (ours are a few KB). */
export const MAX_MANIFEST_BYTES = 1 * MiB;
/** Protobuf's own limit: onnxruntime cannot load a larger .onnx file. */
export const MAX_DECODER_BYTES = 2 * GiB;
/** Files the tokenizer reads from a model folder (src/engine/tokenizer.ts): all must be listed. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
  'chat_template.jinja',
] as const;
/**
 * Every name the converter writes; a new conversion replaces or drops these and keeps every
 * other file of the folder it replaces (MODEL_CARD.md, notes).
 */
export const CONVERTER_FILES: readonly string[] = [
  MANIFEST_FILE,
  MODEL_FILE,
  DATA_FILE,
  'config.json',
  ...TOKENIZER_FILES,
];

/** Upper bounds of the schema: far above any real model, low enough that nothing hangs. */
export const LIMITS = {
  contextLength: 1 << 24,
  vocabSize: 1 << 24,
  hiddenSize: 1 << 16,
  heads: 1024,
  headSize: 4096,
  layers: 1024,
  experts: 4096,
  intermediateSize: 1 << 20,
  tokenIds: 1024,
  files: 256,
  stringChars: 4096,
} as const;

type Json = Record<string, unknown>;

/** One-line schema errors: "<file>: <field path> must be ..., got ...". */
class ManifestChecker {
  constructor(readonly file: string) {}

  fail(path: string, want: string, got?: unknown): never {
    const shown = got === undefined ? 'nothing' : (JSON.stringify(got) ?? String(got)).slice(0, 60);
    throw new MoeLensError(`${this.file}: ${path} must be ${want}, got ${shown}`);
  }

  get(o: Json, _path: string, key: string): unknown {
    return Object.hasOwn(o, key) ? o[key] : undefined;
  }

  obj(o: Json, path: string, key: string): Json {
    const v = this.get(o, path, key);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.fail(`${path}${key}`, 'an object', v);
    }
    return v as Json;
  }

  int(o: Json, path: string, key: string, min: number, max: number): number {
    return this.intValue(this.get(o, path, key), `${path}${key}`, min, max);
  }

  intValue(v: unknown, path: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.fail(path, `an integer in ${min}..${max}`, v);
    }
    return v;
  }

  intOrNull(o: Json, path: string, key: string, min: number, max: number): number | null {
    return this.get(o, path, key) === null ? null : this.int(o, path, key, min, max);
  }

  bool(o: Json, path: string, key: string): boolean {
    const v = this.get(o, path, key);
    if (typeof v !== 'boolean') this.fail(`${path}${key}`, 'true or false', v);
    return v;
  }

  str(o: Json, path: string, key: string, minChars = 0): string {
    const v = this.get(o, path, key);
    if (typeof v !== 'string' || v.length < minChars || v.length > LIMITS.stringChars) {
      this.fail(`${path}${key}`, `a string of ${minChars}..${LIMITS.stringChars} characters`, v);
    }
    return v;
  }

  oneOf<T>(o: Json, path: string, key: string, values: readonly T[]): T {
    const v = this.get(o, path, key);
    if (!values.includes(v as T)) {
      this.fail(`${path}${key}`, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);
    }
    return v as T;
  }

  stringMap(o: Json, path: string, key: string): void {
    const m = this.obj(o, path, key);
    const entries = Object.entries(m);
    if (entries.length > 64) this.fail(`${path}${key}`, 'at most 64 entries', entries.length);
    for (const [k, v] of entries) {
      if (typeof v !== 'string' || v.length > LIMITS.stringChars) {
        this.fail(`${path}${key}.${k}`, 'a string', v);
      }
    }
  }

  /** A file name inside the model folder (no "..", not absolute). */
  fileName(path: string, name: string): void {
    const problem = relativeNameProblem(name);
    if (problem !== null) {
      throw new MoeLensError(
        `${this.file}: ${path} ${JSON.stringify(name.slice(0, 200))} ${problem}; only files inside the model folder can be named`,
      );
    }
  }
}

/**
 * Checks a parsed genai_config.json against the schema of docs/MODEL_FORMAT.md: every field the
 * engine or `info` uses, with its type and range. Throws one MoeLensError line naming the file
 * and the field; returns the document typed.
 */
export function validateManifest(json: unknown, file: string): Manifest {
  const c: ManifestChecker = new ManifestChecker(file);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MoeLensError(`${file}: not a JSON object`);
  }
  const root = json as Json;
  const ml = root.moe_lens;
  const model = root.model;
  if (
    typeof ml !== 'object' ||
    ml === null ||
    typeof model !== 'object' ||
    model === null ||
    !Object.hasOwn(model, 'decoder')
  ) {
    throw new MoeLensError(`${file}: no "moe_lens" section; not written by the MoE Lens converter`);
  }
  const fv = (ml as Json).format_version;
  if (fv !== FORMAT_VERSION) {
    throw new MoeLensError(
      `${file}: moe_lens.format_version ${fv === undefined ? 'is missing' : `${JSON.stringify(fv)} is not supported`} (expected ${FORMAT_VERSION}); reconvert the model`,
    );
  }

  // model
  const m = c.obj(root, '', 'model');
  c.str(m, 'model.', 'type', 1);
  c.int(m, 'model.', 'context_length', 1, LIMITS.contextLength);
  const vocab = c.int(m, 'model.', 'vocab_size', 1, LIMITS.vocabSize);
  c.intOrNull(m, 'model.', 'bos_token_id', 0, vocab - 1);
  c.intOrNull(m, 'model.', 'pad_token_id', 0, vocab - 1);
  const eos = c.get(m, 'model.', 'eos_token_id');
  if (!Array.isArray(eos) || eos.length > LIMITS.tokenIds) {
    c.fail('model.eos_token_id', `a list of at most ${LIMITS.tokenIds} token ids`, eos);
  }
  eos.forEach((v: unknown, i) => c.intValue(v, `model.eos_token_id[${i}]`, 0, vocab - 1));
  const d = c.obj(m, 'model.', 'decoder');
  const dp = 'model.decoder.';
  c.fileName(`${dp}filename`, c.str(d, dp, 'filename', 1));
  c.int(d, dp, 'head_size', 1, LIMITS.headSize);
  c.int(d, dp, 'hidden_size', 1, LIMITS.hiddenSize);
  const heads = c.int(d, dp, 'num_attention_heads', 1, LIMITS.heads);
  const kvHeads = c.int(d, dp, 'num_key_value_heads', 1, heads);
  if (heads % kvHeads !== 0) {
    c.fail(`${dp}num_key_value_heads`, `a divisor of num_attention_heads (${heads})`, kvHeads);
  }
  const layers = c.int(d, dp, 'num_hidden_layers', 1, LIMITS.layers);
  // The names MoeModel.forward feeds and fetches (src/format/graphIO.ts): any other spelling
  // would fail inside onnxruntime, so it fails here, naming the field.
  for (const [key, names] of [
    ['inputs', DECODER_INPUTS],
    ['outputs', DECODER_OUTPUTS],
  ] as const) {
    c.stringMap(d, dp, key);
    const map = c.obj(d, dp, key);
    for (const [k, v] of Object.entries(names)) c.oneOf(map, `${dp}${key}.`, k, [v]);
  }

  // search
  const s = c.obj(root, '', 'search');
  c.int(s, 'search.', 'max_length', 1, LIMITS.contextLength);
  c.bool(s, 'search.', 'do_sample');

  // moe_lens
  const l = ml as Json;
  const lp = 'moe_lens.';
  const arch = c.str(l, lp, 'architecture', 1);
  if (!/^[A-Za-z][A-Za-z0-9_]{0,127}$/.test(arch)) {
    c.fail(`${lp}architecture`, 'a class name such as "Qwen3MoeForCausalLM"', arch);
  }
  c.oneOf(l, lp, 'variant', ['cpu'] as const);
  const r = c.obj(l, lp, 'routing');
  const rp = 'moe_lens.routing.';
  c.oneOf(r, rp, 'function', ['softmax_topk'] as const);
  c.bool(r, rp, 'normalize_top_k');
  const experts = c.int(r, rp, 'num_experts', 1, LIMITS.experts);
  c.int(r, rp, 'top_k', 1, experts);
  c.int(r, rp, 'source_top_k', 1, experts);
  const moeLayers = c.get(r, rp, 'moe_layers');
  if (!Array.isArray(moeLayers) || moeLayers.length > layers) {
    c.fail(
      `${rp}moe_layers`,
      `a list of at most num_hidden_layers (${layers}) layer indices`,
      moeLayers,
    );
  }
  let prev = -1;
  moeLayers.forEach((v: unknown, i) => {
    prev = c.intValue(v, `${rp}moe_layers[${i}]`, prev + 1, layers - 1);
  });
  // The names MoeModel.forward feeds and reads.
  c.oneOf(r, rp, 'router_output_names', [IO_PATTERNS.routerLogits] as const);
  c.oneOf(r, rp, 'router_dtype', ['float32'] as const);
  if (c.get(l, lp, 'shared_experts') !== null) {
    const se = c.obj(l, lp, 'shared_experts');
    c.int(se, `${lp}shared_experts.`, 'count', 1, LIMITS.experts);
    c.int(se, `${lp}shared_experts.`, 'intermediate_size', 1, LIMITS.intermediateSize);
    c.oneOf(se, `${lp}shared_experts.`, 'gate', ['sigmoid'] as const);
  }
  c.oneOf(l, lp, 'experts_layout', ['if', 'qmoe', 'unrouted'] as const);
  c.int(l, lp, 'expert_intermediate_size', 1, LIMITS.intermediateSize);
  const q = c.obj(l, lp, 'quantization');
  const qp = 'moe_lens.quantization.';
  c.oneOf(q, qp, 'dtype', ['fp32', 'fp16', 'int8', 'int4'] as const);
  if (c.get(q, qp, 'bits') !== null) c.oneOf(q, qp, 'bits', [4, 8] as const);
  c.intOrNull(q, qp, 'block_size', 1, 1 << 16);
  c.bool(q, qp, 'symmetric');
  c.intOrNull(q, qp, 'accuracy_level', 0, 4);
  c.intOrNull(q, qp, 'lm_head_accuracy_level', 0, 4);
  c.oneOf(q, qp, 'embedding', ['float32', 'float16'] as const);
  c.oneOf(q, qp, 'router', ['float32'] as const);
  if (c.get(l, lp, 'fim') !== null) {
    const f = c.obj(l, lp, 'fim');
    const fp = 'moe_lens.fim.';
    for (const key of ['prefix', 'suffix', 'middle']) c.str(f, fp, key, 1);
    if (c.get(f, fp, 'file_sep') !== null) c.str(f, fp, 'file_sep', 1);
    c.oneOf(f, fp, 'order', ['psm', 'spm'] as const);
  }
  const p = c.obj(l, lp, 'params');
  c.int(p, `${lp}params.`, 'total', 0, Number.MAX_SAFE_INTEGER);
  c.int(p, `${lp}params.`, 'active_per_token', 0, Number.MAX_SAFE_INTEGER);
  if (c.get(l, lp, 'kv_cache') !== undefined) {
    c.oneOf(l, lp, 'kv_cache', ['shared', 'concat'] as const);
  }
  c.oneOf(l, lp, 'logits_to_keep_input', [IO.logitsToKeep] as const);
  const files = c.obj(l, lp, 'files');
  const names = Object.keys(files);
  if (names.length > LIMITS.files) {
    c.fail(`${lp}files`, `at most ${LIMITS.files} entries`, names.length);
  }
  for (const name of names) {
    c.fileName(`${lp}files key`, name);
    const sum = c.obj(files, `${lp}files.`, name);
    const ep = `${lp}files["${name}"].`;
    c.int(sum, ep, 'bytes', 0, Number.MAX_SAFE_INTEGER);
    const sha = c.get(sum, ep, 'sha256');
    if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha)) {
      c.fail(`${ep}sha256`, '64 lowercase hex digits', sha);
    }
  }
  const conv = c.obj(l, lp, 'converter');
  for (const key of ['version', 'source', 'created']) c.str(conv, `${lp}converter.`, key);
  return json as Manifest;
}

/** Reads and validates `<dir>/genai_config.json` (confined, a regular file, at most 1 MiB). */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = join(dir, MANIFEST_FILE);
  let checked: CheckedFile;
  try {
    checked = await checkFile(dir, await folderRoot(dir), MANIFEST_FILE, {
      maxBytes: MAX_MANIFEST_BYTES,
    });
  } catch (e) {
    if (e instanceof MoeLensError && e.message.startsWith(`${file}: missing`)) {
      throw new MoeLensError(
        `${file}: not found; ${dir} is not a converted MoE Lens model (run: cli.js convert <hf-dir> <out-dir>)`,
      );
    }
    throw e;
  }
  const text = (await readChecked(checked)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MoeLensError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  return validateManifest(json, file);
}

/** sha256 of a file the caller wrote itself (the converter's outputs). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Checks one listed file: confined to the folder (`root` is its real path), a regular file of
 * exactly the listed size (checked with stat, before any read), then its sha256 unless `hash`
 * is false.
 */
export async function checkListedFile(
  dir: string,
  root: string,
  name: string,
  sum: FileChecksum,
  hash = true,
): Promise<CheckedFile> {
  const f = await checkFile(dir, root, name, {
    maxBytes: Number.MAX_SAFE_INTEGER,
    missingNote: `listed in ${MANIFEST_FILE}`,
  });
  if (f.bytes !== sum.bytes) {
    throw new MoeLensError(
      `${f.path}: ${f.bytes} bytes, the manifest says ${sum.bytes} (truncated or overwritten; reconvert the model)`,
    );
  }
  if (hash && (await sha256Checked(f)) !== sum.sha256) {
    throw new MoeLensError(`${f.path}: sha256 mismatch (corrupt; reconvert the model)`);
  }
  return f;
}

/** Checks every listed file's place, kind, size and sha256; a truncated or altered file is never loaded. */
export async function verifyFiles(dir: string, manifest: Manifest): Promise<void> {
  const root = await folderRoot(dir);
  for (const [name, sum] of Object.entries(manifest.moe_lens.files)) {
    await checkListedFile(dir, root, name, sum);
  }
}
