// A streaming safetensors writer, for tests and benchmarks only (fixtures, hostile files, synthetic
// models of real dimensions): the product only reads checkpoints (src/checkpoint/safetensors.ts).
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { byteSwapInPlace, f32ToBf16, f32ToF16, isLittleEndian } from '../../src/checkpoint/floats';
import {
  isFloatDtype,
  isNonNegInt,
  numel,
  shapeStr,
  type FloatDtype,
} from '../../src/checkpoint/safetensors';
import { MoeLensError } from '../../src/format/errors';

const IO_CHUNK = 1 << 30;

async function writeFully(fh: FileHandle, src: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < src.length) {
    const len = Math.min(IO_CHUNK, src.length - done);
    const { bytesWritten } = await fh.write(src, done, len, position + done);
    done += bytesWritten;
  }
}

export interface TensorSpec {
  name: string;
  dtype: FloatDtype;
  shape: number[];
}

const ELEMENT_BYTES: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };

function encode(spec: TensorSpec, data: Float32Array): Uint8Array {
  let out: Float32Array | Uint16Array;
  if (spec.dtype === 'F32') out = data;
  else if (spec.dtype === 'F16') out = f32ToF16(data);
  else out = f32ToBf16(data);
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  if (isLittleEndian) return bytes;
  const copy = bytes.slice();
  byteSwapInPlace(copy, ELEMENT_BYTES[spec.dtype]);
  return copy;
}

/**
 * Writes a safetensors file whose header is written first and each tensor's data as `produce`
 * returns it, so memory stays bounded by the largest tensor. Writes to `<path>.partial`, then
 * renames, so a failed run never leaves a file that looks complete.
 */
export async function writeSafetensorsStreaming(
  file: string,
  specs: TensorSpec[],
  produce: (name: string) => Float32Array | Promise<Float32Array>,
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let pos = 0;
  for (const s of specs) {
    if (Object.hasOwn(header, s.name)) {
      throw new MoeLensError(`${file}: tensor "${s.name}" is listed twice`);
    }
    if (!isFloatDtype(s.dtype)) {
      throw new MoeLensError(`${file}: tensor "${s.name}" has unsupported dtype ${s.dtype}`);
    }
    if (!s.shape.every(isNonNegInt)) {
      throw new MoeLensError(`${file}: tensor "${s.name}" has invalid shape ${shapeStr(s.shape)}`);
    }
    const len = numel(s.shape) * ELEMENT_BYTES[s.dtype];
    header[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [pos, pos + len] };
    pos += len;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned, like the reference writer.
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length), 0);

  const tmp = `${file}.partial`;
  const fh = await open(tmp, 'w');
  let ok = false;
  try {
    await writeFully(fh, prefix, 0);
    await writeFully(fh, headerBytes, 8);
    let at = 8 + headerBytes.length;
    for (const s of specs) {
      const data = await produce(s.name);
      const n = numel(s.shape);
      if (data.length !== n) {
        throw new MoeLensError(
          `${file}: tensor "${s.name}" of shape ${shapeStr(s.shape)} needs ${n} values, got ${data.length}`,
        );
      }
      const bytes = encode(s, data);
      await writeFully(fh, bytes, at);
      at += bytes.length;
    }
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await unlink(tmp).catch(() => undefined);
  }
  await rename(tmp, file);
}

/** Writes a whole safetensors file from in-memory tensors (tests, small fixtures). */
export async function writeSafetensors(
  file: string,
  tensors: { name: string; dtype: FloatDtype; shape: number[]; data: Float32Array }[],
): Promise<void> {
  const byName = new Map(tensors.map((t) => [t.name, t.data] as const));
  await writeSafetensorsStreaming(
    file,
    tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
    (name) => byName.get(name) as Float32Array,
  );
}
