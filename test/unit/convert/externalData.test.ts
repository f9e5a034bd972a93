// The external data file: big tensors start at 64 KiB boundaries so onnxruntime memory-maps them
// (it maps only offsets that are multiples of the allocation granularity) instead of copying
// them onto its heap; small ones stay packed at 64-byte alignment.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExternalDataFile, MMAP_ALIGN } from '../../../src/convert/onnxBuilder';

test('tensors of 1 MiB or more start at a multiple of 64 KiB; smaller ones at 64 bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moe-lens-ext-'));
  try {
    const f = new ExternalDataFile(join(dir, 'model.onnx.data'), 'model.onnx.data');
    const small = f.append(new Uint8Array(1000).fill(1));
    const big = f.append(new Uint8Array(3 << 20).fill(2));
    const small2 = f.append(new Uint8Array(100).fill(3));
    const big2 = f.append(new Uint8Array(1 << 20).fill(4));
    const { bytes } = f.close();
    assert.equal(small.offset, 0);
    assert.equal(big.offset % MMAP_ALIGN, 0);
    assert.ok(big.offset >= 1000);
    assert.equal(small2.offset % 64, 0);
    assert.ok(
      small2.offset < big.offset + (3 << 20) + 64,
      'small tensors are not padded to 64 KiB',
    );
    assert.equal(big2.offset % MMAP_ALIGN, 0);
    const data = readFileSync(join(dir, 'model.onnx.data'));
    assert.equal(statSync(join(dir, 'model.onnx.data')).size, bytes);
    assert.equal(data[big.offset], 2);
    assert.equal(data[big.offset - 1], 0, 'padding is zeros');
    assert.equal(data[big2.offset + big2.length - 1], 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
