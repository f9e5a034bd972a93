// Float formats of checkpoints: bfloat16 and IEEE half <-> float32, and the byte order helpers the
// safetensors reader (and the test/bench writer) need. Exact: the round trips are bit-checked in
// test/unit/checkpoint/safetensors.test.ts.

/** safetensors stores little-endian; a big-endian host swaps after reading. */
export const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function byteSwapInPlace(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/** bfloat16 bits -> float32: the high half of the float32 bit pattern. */
export function bf16ToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = (src[i] as number) << 16;
  return out;
}

/** float32 -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN. */
export function f32ToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i] as number;
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = (x >>> 16) | 0x0040;
    } else {
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return out;
}

/** One IEEE half -> float32 bit pattern, exact for normals, subnormals, ±0, ±inf and NaN. */
function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    // Subnormal: value = mant * 2^-24; normalise so the leading 1 becomes implicit.
    let e = 113;
    while ((mant & 0x400) === 0) {
      mant <<= 1;
      e--;
    }
    return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
  }
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
}

let halfTable: Uint32Array | null = null;

/** 65536-entry half -> float32 bits table (256 KB), built on first use. */
function getHalfTable(): Uint32Array {
  if (!halfTable) {
    halfTable = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloatBits(h);
  }
  return halfTable;
}

/** IEEE half bits -> float32. */
export function f16ToF32(src: Uint16Array): Float32Array {
  const table = getHalfTable();
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = table[src[i] as number] as number;
  return out;
}

/** float32 -> IEEE half bits, round to nearest even; overflow gives ±inf, NaN stays NaN. */
export function f32ToF16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i] as number;
    const sign = (x >>> 16) & 0x8000;
    const abs = x & 0x7fffffff;
    let h: number;
    if (abs >= 0x7f800000) {
      h = abs > 0x7f800000 ? 0x7e00 | ((abs >>> 13) & 0x3ff) : 0x7c00;
    } else if (abs >= 0x477ff000) {
      // >= 65520 rounds (ties to even) past the largest half, 65504.
      h = 0x7c00;
    } else if (abs >= 0x38800000) {
      // Normal half: rebias the exponent (127 -> 15) and round off 13 mantissa bits.
      h = (abs - 0x38000000) >>> 13;
      const rest = abs & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    } else {
      // Subnormal or zero: the half's integer mantissa is |x| * 2^24, rounded to even (exact in
      // double arithmetic); 1024 carries into the smallest normal, which is the right encoding.
      const r = Math.abs(src[i] as number) * 16777216;
      h = Math.floor(r);
      const frac = r - h;
      if (frac > 0.5 || (frac === 0.5 && (h & 1) === 1)) h++;
    }
    out[i] = sign | h;
  }
  return out;
}
