// Streaming safetensors reader (the writer, for tests and benchmarks: scripts/lib/safetensorsWriter.ts). A checkpoint is opened by reading only the headers;
// each tensor is read on demand with one positional read, so a multi-GB checkpoint never sits in
// memory whole. Format (huggingface/safetensors): u64 little-endian header length N, N bytes of
// JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then the data section;
// offsets are relative to the start of the data section.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import {
  checkFile,
  checkpointRoot,
  MiB,
  present,
  readChecked,
  relativeNameProblem,
} from '../format/confinedFile';
import { MoeLensError } from '../format/errors';
import { bf16ToF32, byteSwapInPlace, f16ToF32, isLittleEndian } from './floats';

/** The dtypes MoE Lens can read (converted to float32). */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

/** Every dtype a safetensors header may name; only FloatDtype tensors can be read. */
export type SafetensorsDtype =
  | FloatDtype
  | 'F64'
  | 'I64'
  | 'U64'
  | 'I32'
  | 'U32'
  | 'I16'
  | 'U16'
  | 'I8'
  | 'U8'
  | 'BOOL'
  | 'C64'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'F8_E8M0'
  | 'F6_E2M3'
  | 'F6_E3M2'
  | 'F4';

/** Bits per element of each dtype. */
const DTYPE_BITS: Record<SafetensorsDtype, number> = {
  F32: 32,
  F16: 16,
  BF16: 16,
  F64: 64,
  I64: 64,
  U64: 64,
  I32: 32,
  U32: 32,
  I16: 16,
  U16: 16,
  I8: 8,
  U8: 8,
  BOOL: 8,
  C64: 64,
  F8_E4M3: 8,
  F8_E5M2: 8,
  F8_E8M0: 8,
  F6_E2M3: 6,
  F6_E3M2: 6,
  F4: 4,
};

export interface TensorInfo {
  name: string;
  /** Path of the .safetensors file holding the tensor. */
  file: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset of the tensor's data in `file`. */
  offset: number;
  byteLength: number;
}

export interface Checkpoint {
  dir: string;
  /** The .safetensors files, in the order they were opened. */
  files: string[];
  tensors: Map<string, TensorInfo>;
  has(name: string): boolean;
  /** Throws a MoeLensError naming the checkpoint folder and the tensor when it is missing. */
  info(name: string): TensorInfo;
  /** Reads one tensor as float32; checks `expectedShape` when given. */
  read(name: string, expectedShape?: number[]): Promise<Float32Array>;
  close(): Promise<void>;
}

/** The reference implementation refuses headers above 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;
/** FileHandle.read/write take at most 2 GiB - 1 per call. */
const IO_CHUNK = 1 << 30;
const INDEX_FILE = 'model.safetensors.index.json';
const SINGLE_FILE = 'model.safetensors';

export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

async function readFully(fh: FileHandle, dst: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < dst.length) {
    const len = Math.min(IO_CHUNK, dst.length - done);
    const { bytesRead } = await fh.read(dst, done, len, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

interface ParsedFile {
  file: string;
  handle: FileHandle;
  tensors: TensorInfo[];
}

/**
 * Opens one .safetensors file (already checked to be a regular file) and validates its header
 * against the file size: every tensor inside the data section, no two overlapping.
 */
async function parseFile(file: string): Promise<ParsedFile> {
  let handle: FileHandle;
  try {
    // Non-blocking: a FIFO put in place since the check cannot hang the open.
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new MoeLensError(`${file}: cannot open (${(e as Error).message})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new MoeLensError(`${file}: not a regular file; refused`);
    const size = st.size;
    if (size < 8) {
      throw new MoeLensError(`${file}: only ${size} bytes, too short for a safetensors header`);
    }
    const lenBuf = Buffer.alloc(8);
    await readFully(handle, lenBuf, 0);
    const headerLen64 = lenBuf.readBigUInt64LE(0);
    if (headerLen64 === 0n || headerLen64 > BigInt(MAX_HEADER_BYTES)) {
      throw new MoeLensError(
        `${file}: header length ${headerLen64} is not plausible (not a safetensors file?)`,
      );
    }
    const headerLen = Number(headerLen64);
    if (8 + headerLen > size) {
      throw new MoeLensError(
        `${file}: header length ${headerLen} exceeds the file size ${size} (truncated?)`,
      );
    }
    const headerBuf = Buffer.alloc(headerLen);
    await readFully(handle, headerBuf, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch (e) {
      throw new MoeLensError(`${file}: header is not valid JSON (${(e as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw new MoeLensError(`${file}: header is not a JSON object`);
    }
    const dataStart = 8 + headerLen;
    const dataLen = size - dataStart;
    const tensors: TensorInfo[] = [];
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      tensors.push(parseEntry(file, name, raw, dataStart, dataLen, size));
    }
    checkNoOverlap(file, tensors);
    return { file, handle, tensors };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

function parseEntry(
  file: string,
  name: string,
  raw: unknown,
  dataStart: number,
  dataLen: number,
  fileSize: number,
): TensorInfo {
  const bad = (problem: string): MoeLensError =>
    new MoeLensError(`${file}: tensor "${name}" ${problem}`);
  if (typeof raw !== 'object' || raw === null) throw bad('has no header entry object');
  const entry = raw as Record<string, unknown>;
  const dtype = entry.dtype;
  if (typeof dtype !== 'string') throw bad('has no dtype');
  if (!Object.hasOwn(DTYPE_BITS, dtype)) throw bad(`has unknown dtype ${JSON.stringify(dtype)}`);
  const bits = DTYPE_BITS[dtype as SafetensorsDtype];
  const shape = entry.shape;
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
    throw bad(`has an invalid shape ${JSON.stringify(shape)}`);
  }
  const offsets = entry.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt)) {
    throw bad(`has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw bad(`has data_offsets [${begin}, ${end}] with end before begin`);
  const expectedBits = numel(shape) * bits;
  if ((end - begin) * 8 !== expectedBits) {
    throw bad(
      `has ${end - begin} bytes of data but shape ${shapeStr(shape)} of ${dtype} needs ${expectedBits / 8}`,
    );
  }
  if (end > dataLen) {
    throw bad(
      `needs bytes ${dataStart + begin}..${dataStart + end} but the file has ${fileSize} bytes (truncated?)`,
    );
  }
  return {
    name,
    file,
    dtype: dtype as SafetensorsDtype,
    shape: shape as number[],
    offset: dataStart + begin,
    byteLength: end - begin,
  };
}

/** Two tensors sharing bytes would alias each other's weights: refused (empty ones excepted). */
function checkNoOverlap(file: string, tensors: TensorInfo[]): void {
  const sorted = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1] as TensorInfo;
    const b = sorted[i] as TensorInfo;
    if (b.offset < a.offset + a.byteLength) {
      throw new MoeLensError(
        `${file}: tensors "${a.name}" (bytes ${a.offset}..${a.offset + a.byteLength}) and "${b.name}" (bytes ${b.offset}..${b.offset + b.byteLength}) overlap; the file is corrupt`,
      );
    }
  }
}

/** Largest model.safetensors.index.json read (real ones are well under 10 MB). */
const MAX_INDEX_BYTES = 64 * MiB;

async function readIndex(dir: string, root: string): Promise<Map<string, string>> {
  const indexPath = path.join(dir, INDEX_FILE);
  const text = (
    await readChecked(await checkFile(dir, root, INDEX_FILE, { maxBytes: MAX_INDEX_BYTES }))
  ).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MoeLensError(`${indexPath}: not valid JSON (${(e as Error).message})`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new MoeLensError(`${indexPath}: missing "weight_map" object`);
  }
  const out = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '') {
      throw new MoeLensError(
        `${indexPath}: weight_map entry for tensor "${tensor}" is not a file name`,
      );
    }
    const problem = relativeNameProblem(shard);
    if (problem !== null) {
      throw new MoeLensError(
        `${indexPath}: shard ${JSON.stringify(shard.slice(0, 200))} (holding tensor "${tensor}") ${problem}; only files inside ${dir} can be shards`,
      );
    }
    out.set(tensor, shard);
  }
  return out;
}

class SafetensorsCheckpoint implements Checkpoint {
  readonly tensors = new Map<string, TensorInfo>();
  readonly files: string[];
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly handles: Map<string, FileHandle>,
    parsed: ParsedFile[],
  ) {
    this.files = parsed.map((p) => p.file);
    for (const p of parsed) {
      for (const t of p.tensors) {
        const prev = this.tensors.get(t.name);
        if (prev) {
          throw new MoeLensError(`${t.file}: tensor "${t.name}" is also stored in ${prev.file}`);
        }
        this.tensors.set(t.name, t);
      }
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new MoeLensError(`${this.dir}: checkpoint has no tensor "${name}"`);
    return t;
  }

  async read(name: string, expectedShape?: number[]): Promise<Float32Array> {
    const t = this.info(name);
    if (this.closed) {
      throw new MoeLensError(`${t.file}: checkpoint closed before reading "${name}"`);
    }
    if (!isFloatDtype(t.dtype)) {
      throw new MoeLensError(
        `${t.file}: tensor "${name}" has dtype ${t.dtype}, which MoE Lens cannot read (supported: F32, F16, BF16)`,
      );
    }
    if (
      expectedShape &&
      (expectedShape.length !== t.shape.length || expectedShape.some((d, i) => d !== t.shape[i]))
    ) {
      throw new MoeLensError(
        `${t.file}: tensor "${name}" has shape ${shapeStr(t.shape)}, expected ${shapeStr(expectedShape)}`,
      );
    }
    const handle = this.handles.get(t.file);
    if (!handle) throw new Error(`no open handle for ${t.file}`);
    const bytes = new Uint8Array(t.byteLength);
    const got = await readFully(handle, bytes, t.offset);
    if (got !== t.byteLength) {
      throw new MoeLensError(
        `${t.file}: tensor "${name}" needs bytes ${t.offset}..${t.offset + t.byteLength} but only ${got} could be read (file changed on disk?)`,
      );
    }
    if (!isLittleEndian) byteSwapInPlace(bytes, t.dtype === 'F32' ? 4 : 2);
    if (t.dtype === 'F32') return new Float32Array(bytes.buffer, 0, t.byteLength / 4);
    const halves = new Uint16Array(bytes.buffer, 0, t.byteLength / 2);
    return t.dtype === 'F16' ? f16ToF32(halves) : bf16ToF32(halves);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.handles.values()].map((h) => h.close()));
  }
}

/**
 * Opens a Hugging Face checkpoint folder: `model.safetensors.index.json` plus its shards, or a
 * single `model.safetensors`. Reads and validates headers only.
 */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const indexPath = path.join(dir, INDEX_FILE);
  const singlePath = path.join(dir, SINGLE_FILE);
  // Shards must resolve inside the checkpoint (for a hub-cache snapshot: inside its repository's
  // cache folder, where its symlinks point) and be regular files: checked before any open.
  const root = await checkpointRoot(dir);
  const checkShard = (name: string, missingNote?: string) =>
    checkFile(dir, root, name, { maxBytes: Number.MAX_SAFE_INTEGER, missingNote });
  let weightMap: Map<string, string> | null = null;
  let files: string[];
  if (await present(indexPath)) {
    weightMap = await readIndex(dir, root);
    const shards: string[] = [];
    const firstTensor = new Map<string, string>();
    for (const [tensor, shard] of weightMap) {
      if (!firstTensor.has(shard)) {
        firstTensor.set(shard, tensor);
        shards.push(shard);
      }
    }
    if (shards.length === 0) throw new MoeLensError(`${indexPath}: weight_map is empty`);
    for (const shard of shards) {
      if (!(await present(path.join(dir, shard)))) {
        throw new MoeLensError(
          `${indexPath}: shard "${shard}" (holding tensor "${firstTensor.get(shard)}") is missing from ${dir}`,
        );
      }
      await checkShard(shard, `named in ${INDEX_FILE}`);
    }
    files = shards.map((s) => path.join(dir, s));
  } else if (await present(singlePath)) {
    await checkShard(SINGLE_FILE);
    files = [singlePath];
  } else {
    throw new MoeLensError(`${dir}: no ${SINGLE_FILE} or ${INDEX_FILE} in this folder`);
  }

  const parsed: ParsedFile[] = [];
  try {
    for (const f of files) parsed.push(await parseFile(f));
    const handles = new Map(parsed.map((p) => [p.file, p.handle] as const));
    const ckpt = new SafetensorsCheckpoint(dir, handles, parsed);
    if (weightMap) {
      for (const [tensor, shard] of weightMap) {
        const file = path.join(dir, shard);
        if (ckpt.tensors.get(tensor)?.file !== file) {
          throw new MoeLensError(
            `${file}: tensor "${tensor}" is listed in ${INDEX_FILE} but not stored in this shard`,
          );
        }
      }
    }
    return ckpt;
  } catch (e) {
    await Promise.all(parsed.map((p) => p.handle.close()));
    throw e;
  }
}

/**
 * Refuses a tensor holding NaN or ±Inf values (a corrupt or diverged checkpoint would convert
 * into a model that predicts nothing): a MoeLensError naming the file, the tensor, the counts and
 * the first bad element.
 */
export function checkFinite(t: TensorInfo, data: Float32Array): void {
  let nan = 0;
  let inf = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v - v !== 0) {
      if (Number.isNaN(v)) nan++;
      else inf++;
      if (first < 0) first = i;
    }
  }
  if (first >= 0) {
    throw new MoeLensError(
      `${t.file}: tensor "${t.name}" holds ${nan} NaN and ${inf} infinite values (first at element ${first}); the checkpoint is corrupt`,
    );
  }
}
