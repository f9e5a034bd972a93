// Telemetry off before onnxruntime creates a session (src/engine/telemetryOff.ts).
import '../../../src/engine/telemetryOff';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import {
  blobSize,
  dequantize,
  quantize,
  quantizationError,
  type QuantBits,
} from '../../../src/convert/quantize';
import { MoeLensError } from '../../../src/format/errors';

/** Deterministic pseudo-random floats in [-amp, amp) (mulberry32). */
function randomMatrix(n: number, seed: number, amp = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (u * 2 - 1) * amp;
  }
  return out;
}

test('dequantize(quantize(W)) is within scale/2 of W, per element', () => {
  for (const bits of [4, 8] as const) {
    for (const [N, K, blockSize] of [
      [7, 64, 32],
      [5, 100, 16],
      [3, 130, 64],
    ] as const) {
      const W = randomMatrix(N * K, N * 1000 + K + bits, 0.3);
      const q = quantize(W, N, K, { bits, blockSize });
      assert.equal(q.kBlocks, Math.ceil(K / blockSize));
      assert.equal(q.packed.length, N * q.kBlocks * blobSize(bits, blockSize));
      assert.equal(q.blobSize, (blockSize * bits) / 8);
      assert.equal(q.scales.length, N * q.kBlocks);
      const D = dequantize(q);
      assert.equal(D.length, N * K);
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const b = Math.floor(k / blockSize);
          const scale = q.scales[n * q.kBlocks + b]!;
          const err = Math.abs(W[n * K + k]! - D[n * K + k]!);
          assert.ok(err <= scale / 2 + 1e-7, `bits ${bits} [${n},${k}] err ${err} scale ${scale}`);
        }
      }
      // The block's absmax is represented exactly: scale = absmax / 7 (or / 127).
      let absmax = 0;
      for (let k = 0; k < Math.min(blockSize, K); k++) absmax = Math.max(absmax, Math.abs(W[k]!));
      assert.ok(Math.abs(q.scales[0]! - absmax / (bits === 4 ? 7 : 127)) < 1e-7);
      const e = quantizationError(W, q);
      assert.ok(e.maxAbs > 0 && e.maxAbs <= Math.max(...q.scales) / 2 + 1e-7);
      assert.ok(e.rms > 0 && e.rms < e.maxAbs);
    }
  }
});

test('4-bit packing puts element 2j in the low nibble, with zero point 8', () => {
  // One row, one block of 16: absmax 7 -> scale 1, so q = w + 8.
  const w = [-7, -6, -1, 0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, -3, 3];
  const q = quantize(Float32Array.from(w), 1, 16, { bits: 4, blockSize: 16 });
  assert.deepEqual([...q.scales], [1]);
  assert.deepEqual(
    [...q.packed],
    [0x21, 0x87, 0xa9, 0xcb, 0xed, 0x8f, 0x88, 0xb5],
    'bytes are (q[2j+1] << 4) | q[2j]',
  );
  assert.deepEqual([...dequantize(q)], w);
});

test('8-bit stores one byte per element with zero point 128', () => {
  const w = new Float32Array(16);
  w[0] = 127;
  w[1] = -127;
  w[2] = 5;
  w[3] = -0.4; // rounds to 0 -> stored as 128
  const q = quantize(w, 1, 16, { bits: 8, blockSize: 16 });
  assert.deepEqual([...q.scales], [1]);
  assert.deepEqual([...q.packed.subarray(0, 5)], [255, 1, 133, 128, 128]);
});

test('K not a multiple of the block size pads the last block with zero points', () => {
  const K = 21; // blocks of 16: one full, one with 5 real values and 11 padding
  const W = Float32Array.from({ length: 2 * K }, (_, i) => ((i % 7) - 3) * 0.5);
  const q4 = quantize(W, 2, K, { bits: 4, blockSize: 16 });
  assert.equal(q4.kBlocks, 2);
  assert.equal(q4.packed.length, 2 * 2 * 8);
  // Row 0, block 1: byte 2 holds column 20 (low) and padding (high nibble = 8); bytes 3..7 padding.
  const blk = q4.packed.subarray(8, 16);
  assert.equal(blk[2]! >> 4, 8);
  assert.deepEqual([...blk.subarray(3)], [0x88, 0x88, 0x88, 0x88, 0x88]);
  assert.equal(dequantize(q4).length, 2 * K);
  assert.ok(quantizationError(W, q4).maxAbs <= Math.max(...q4.scales) / 2 + 1e-7);

  const q8 = quantize(W, 2, K, { bits: 8, blockSize: 16 });
  assert.deepEqual([...q8.packed.subarray(16 + 5, 32)], new Array(11).fill(128));
});

test('an all-zero block gets scale 0 and q = zp, so it dequantizes to exact zeros', () => {
  const W = new Float32Array(64);
  W.fill(0.25, 32); // block 0 all zeros, block 1 not
  for (const bits of [4, 8] as const) {
    const q = quantize(W, 1, 64, { bits, blockSize: 32 });
    assert.equal(q.scales[0], 0);
    assert.ok(q.packed.subarray(0, q.blobSize).every((b) => b === (bits === 4 ? 0x88 : 128)));
    const D = dequantize(q);
    assert.ok(D.subarray(0, 32).every((v) => Object.is(v, 0) || v === 0));
    assert.ok(Math.abs(D[40]! - 0.25) < 1e-7);
  }
});

test('rejects bad arguments and non-finite weights with MoeLensError', () => {
  const W = new Float32Array(32);
  const isMoe = (re: RegExp) => (e: unknown) => e instanceof MoeLensError && re.test(e.message);
  assert.throws(() => quantize(W, 1, 32, { blockSize: 24 }), isMoe(/power of two/));
  assert.throws(() => quantize(W, 1, 32, { blockSize: 8 }), isMoe(/power of two/));
  assert.throws(() => quantize(W, 1, 32, { bits: 2 as QuantBits }), isMoe(/bits/));
  assert.throws(() => quantize(W, 2, 32), isMoe(/needs 64/));
  W[5] = NaN;
  assert.throws(() => quantize(W, 1, 32, { name: 'w' }), isMoe(/"w".*row 0, column 5/));
  W[5] = -Infinity;
  assert.throws(() => quantize(W, 1, 32), isMoe(/infinite/));
});

/** A one-node model: Y = MatMulNBits(A, B, scales). */
function matMulNBitsModel(q: ReturnType<typeof quantize>, accuracyLevel = 0): Uint8Array {
  const { N, K, kBlocks, bits, blockSize, packed, scales } = q;
  const INT = onnx.AttributeProto.AttributeType.INT;
  const attr = (name: string, i: number) => ({ name, type: INT, i });
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map(dim) } },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'moe-lens-test',
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name: 'g',
      node: [
        {
          opType: 'MatMulNBits',
          domain: 'com.microsoft',
          input: ['A', 'B', 'scales'],
          output: ['Y'],
          attribute: [
            attr('K', K),
            attr('N', N),
            attr('bits', bits),
            attr('block_size', blockSize),
            attr('accuracy_level', accuracyLevel),
          ],
        },
      ],
      initializer: [
        {
          name: 'B',
          dataType: onnx.TensorProto.DataType.UINT8,
          dims: [N, kBlocks, q.blobSize],
          rawData: packed,
        },
        {
          name: 'scales',
          dataType: onnx.TensorProto.DataType.FLOAT,
          dims: [N * kBlocks],
          rawData: new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength),
        },
      ],
      input: [valueInfo('A', ['M', K])],
      output: [valueInfo('Y', ['M', N])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Y = A [M, K] @ D^T, D [N, K], in double precision. */
function referenceMatMul(A: Float32Array, D: Float32Array, M: number, N: number, K: number) {
  const Y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += A[m * K + k]! * D[n * K + k]!;
      Y[m * N + n] = acc;
    }
  }
  return Y;
}

test('onnxruntime MatMulNBits computes A @ dequantize(W)^T for our layout', async () => {
  const cases: { bits: QuantBits; blockSize: number; N: number; K: number }[] = [
    { bits: 4, blockSize: 32, N: 24, K: 96 },
    { bits: 8, blockSize: 32, N: 24, K: 96 },
    { bits: 4, blockSize: 16, N: 17, K: 40 }, // K % block_size != 0, odd N
    { bits: 8, blockSize: 32, N: 9, K: 50 },
    { bits: 4, blockSize: 64, N: 8, K: 71 }, // odd K: the last byte holds one real nibble
    { bits: 4, blockSize: 128, N: 33, K: 256 },
  ];
  const M = 3;
  for (const { bits, blockSize, N, K } of cases) {
    const W = randomMatrix(N * K, bits * 7919 + K, 0.2);
    W.fill(0, 0, Math.min(K, blockSize)); // row 0's first block is all zeros (scale 0)
    const q = quantize(W, N, K, { bits, blockSize });
    const session = await ort.InferenceSession.create(matMulNBitsModel(q));
    try {
      const A = randomMatrix(M * K, K + 17);
      const { Y } = await session.run({ A: new ort.Tensor('float32', A, [M, K]) });
      assert.ok(Y);
      assert.deepEqual(Y.dims, [M, N]);
      const got = Y.data as Float32Array;
      const want = referenceMatMul(A, dequantize(q), M, N, K);
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
      }
      assert.ok(maxErr <= 1e-4, `bits ${bits} block ${blockSize} K ${K}: max error ${maxErr}`);
      // And against the original W: |Y - A W^T| <= sum_k |A[m,k]| * scale(n, k) / 2.
      const exact = referenceMatMul(A, W, M, N, K);
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let bound = 1e-4;
          for (let k = 0; k < K; k++) {
            bound +=
              (Math.abs(A[m * K + k]!) * q.scales[n * q.kBlocks + Math.floor(k / blockSize)]!) / 2;
          }
          const err = Math.abs(got[m * N + n]! - exact[m * N + n]!);
          assert.ok(err <= bound, `Y[${m},${n}] off by ${err} > ${bound} from A @ W^T`);
        }
      }
    } finally {
      await session.release();
    }
  }
});
