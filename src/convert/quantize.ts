// Symmetric block quantization into onnxruntime's com.microsoft MatMulNBits layout
// (docs/ARCHITECTURE.md, "Design decisions").
//
// W is a Hugging Face Linear weight, row-major [N, K] (N = out features, K = in features), so
// MatMulNBits computes Y = A @ dequantize(W)^T. Per row n and block b of `blockSize` columns:
//   scale[n * kBlocks + b] = absmax / 7 (4-bit) or absmax / 127 (8-bit)
//   q = clamp(round(w / scale) + zp, 0, 2^bits - 1), zp = 8 (4-bit) or 128 (8-bit)
//   dequantized w = (q - zp) * scale
// No zero_points input is written: onnxruntime's default zero point is exactly zp above.
// packed is [N, kBlocks, blockSize * bits / 8]; 4-bit stores element 2j in the low nibble and
// 2j+1 in the high nibble of byte j. When K % blockSize != 0 the last block is padded with zeros
// (stored as q = zp). An all-zero block gets scale 0 and q = zp, so it dequantizes to exact zeros.
import { MoeLensError } from '../format/errors';

export type QuantBits = 4 | 8;

export interface QuantizedMatrix {
  /** uint8 [N, kBlocks, blockSize * bits / 8]: MatMulNBits input B. */
  packed: Uint8Array;
  /** float32 [N * kBlocks]: MatMulNBits input `scales`. */
  scales: Float32Array;
  N: number;
  K: number;
  kBlocks: number;
  blockSize: number;
  /** Bytes per block: blockSize * bits / 8. */
  blobSize: number;
  bits: QuantBits;
}

export interface QuantizeOptions {
  bits?: QuantBits;
  /** A power of two >= 16; default 32. */
  blockSize?: number;
  /** Tensor name, used only in error messages. */
  name?: string;
}

/** onnxruntime's default zero point when no zero_points input is given. */
export function defaultZeroPoint(bits: QuantBits): number {
  return bits === 4 ? 8 : 128;
}

/** Bytes per block in `packed` (the last dimension of MatMulNBits input B). */
export function blobSize(bits: QuantBits, blockSize: number): number {
  return (blockSize * bits) / 8;
}

function checkArgs(
  W: Float32Array,
  N: number,
  K: number,
  bits: number,
  blockSize: number,
  who: string,
) {
  if (bits !== 4 && bits !== 8) throw new MoeLensError(`${who}: bits must be 4 or 8, got ${bits}`);
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new MoeLensError(`${who}: block size must be a power of two >= 16, got ${blockSize}`);
  }
  if (!Number.isInteger(N) || !Number.isInteger(K) || N < 1 || K < 1) {
    throw new MoeLensError(`${who}: invalid matrix shape [${N}, ${K}]`);
  }
  if (W.length !== N * K) {
    throw new MoeLensError(
      `${who}: weight has ${W.length} values, shape [${N}, ${K}] needs ${N * K}`,
    );
  }
}

/** Quantizes W [N, K] for MatMulNBits (see the header comment for the exact layout). */
export function quantize(
  W: Float32Array,
  N: number,
  K: number,
  opts: QuantizeOptions = {},
): QuantizedMatrix {
  const bits = opts.bits ?? 4;
  const blockSize = opts.blockSize ?? 32;
  const who = opts.name ? `quantize "${opts.name}"` : 'quantize';
  checkArgs(W, N, K, bits, blockSize, who);
  const kBlocks = Math.ceil(K / blockSize);
  const blob = blobSize(bits, blockSize);
  const zp = defaultZeroPoint(bits);
  const qmax = (1 << bits) - 1;
  const levels = bits === 4 ? 7 : 127;
  const packed = new Uint8Array(N * kBlocks * blob);
  const scales = new Float32Array(N * kBlocks);
  // Padding (and zero blocks) must read back as q = zp; fill once, overwrite real values below.
  packed.fill(bits === 4 ? zp | (zp << 4) : zp);
  // zp + 0.5 folded into one constant: q = floor(w * inv + zp + 0.5), always >= 0 before clamp.
  const bias = zp + 0.5;

  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(k0 + blockSize, K);
      let absmax = 0;
      for (let k = row + k0; k < row + k1; k++) {
        const w = W[k] as number;
        const a = w < 0 ? -w : w;
        if (a > absmax) absmax = a;
        else if (!(a <= absmax)) {
          throw new MoeLensError(`${who}: non-finite weight ${w} at row ${n}, column ${k - row}`);
        }
      }
      if (absmax === Infinity) {
        throw new MoeLensError(`${who}: infinite weight in row ${n}, columns ${k0}..${k1 - 1}`);
      }
      const scale = Math.fround(absmax / levels);
      if (scale === 0) continue; // zero (or denormal-tiny) block: scale 0, q = zp
      scales[n * kBlocks + b] = scale;
      const inv = 1 / scale;
      const out = (n * kBlocks + b) * blob;
      if (bits === 8) {
        for (let k = k0; k < k1; k++) {
          let q = Math.floor((W[row + k] as number) * inv + bias);
          if (q > qmax) q = qmax;
          else if (q < 0) q = 0;
          packed[out + k - k0] = q;
        }
      } else {
        // Pairs of columns; an odd tail shares its byte with a padding zero (q = zp = 8).
        let k = k0;
        let j = out;
        for (; k + 1 < k1; k += 2, j++) {
          let lo = Math.floor((W[row + k] as number) * inv + bias);
          let hi = Math.floor((W[row + k + 1] as number) * inv + bias);
          if (lo > qmax) lo = qmax;
          else if (lo < 0) lo = 0;
          if (hi > qmax) hi = qmax;
          else if (hi < 0) hi = 0;
          packed[j] = lo | (hi << 4);
        }
        if (k < k1) {
          let lo = Math.floor((W[row + k] as number) * inv + bias);
          if (lo > qmax) lo = qmax;
          else if (lo < 0) lo = 0;
          packed[j] = lo | (zp << 4);
        }
      }
    }
  }
  return { packed, scales, N, K, kBlocks, blockSize, blobSize: blob, bits };
}

/** Positional form of quantize(): W [N, K] -> MatMulNBits B and scales. */
export function quantizeBlockwise(
  W: Float32Array,
  N: number,
  K: number,
  bits: QuantBits = 4,
  blockSize = 32,
): QuantizedMatrix {
  return quantize(W, N, K, { bits, blockSize });
}

/** Dequantizes back to float32 [N, K] (padding dropped): (q - zp) * scale. */
export function dequantize(q: QuantizedMatrix): Float32Array {
  const { N, K, kBlocks, blockSize, bits, packed, scales } = q;
  const out = new Float32Array(N * K);
  const blob = blobSize(bits, blockSize);
  const zp = defaultZeroPoint(bits);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kBlocks; b++) {
      const scale = scales[n * kBlocks + b] as number;
      const base = (n * kBlocks + b) * blob;
      const k0 = b * blockSize;
      const k1 = Math.min(k0 + blockSize, K);
      const dst = n * K;
      if (bits === 8) {
        for (let k = k0; k < k1; k++) {
          out[dst + k] = ((packed[base + k - k0] as number) - zp) * scale;
        }
      } else {
        for (let k = k0; k < k1; k++) {
          const i = k - k0;
          const byte = packed[base + (i >> 1)] as number;
          const v = (i & 1) === 0 ? byte & 0x0f : byte >> 4;
          out[dst + k] = (v - zp) * scale;
        }
      }
    }
  }
  return out;
}

/** Max and RMS absolute error of dequantize(q) against W, without materialising the result. */
export function quantizationError(
  W: Float32Array,
  q: QuantizedMatrix,
): { maxAbs: number; rms: number } {
  const { N, K, kBlocks, blockSize, bits, packed, scales } = q;
  if (W.length !== N * K) {
    throw new MoeLensError(`quantizationError: weight has ${W.length} values, expected ${N * K}`);
  }
  const blob = blobSize(bits, blockSize);
  const zp = defaultZeroPoint(bits);
  let maxAbs = 0;
  let sumSq = 0;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = (k / blockSize) | 0;
      const i = k - b * blockSize;
      const byte = packed[(n * kBlocks + b) * blob + (bits === 8 ? i : i >> 1)] as number;
      const v = bits === 8 ? byte : (i & 1) === 0 ? byte & 0x0f : byte >> 4;
      const d = Math.fround((v - zp) * (scales[n * kBlocks + b] as number));
      const e = Math.abs((W[n * K + k] as number) - d);
      if (e > maxAbs) maxAbs = e;
      sumSq += e * e;
    }
  }
  return { maxAbs, rms: Math.sqrt(sumSq / (N * K)) };
}
