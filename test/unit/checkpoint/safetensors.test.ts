import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from '../../../src/checkpoint/safetensors';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../../src/checkpoint/floats';
import {
  writeSafetensors,
  writeSafetensorsStreaming,
} from '../../../scripts/lib/safetensorsWriter';
import { MoeLensError } from '../../../src/format/errors';

let root = '';
let counter = 0;

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'moe-lens-st-'));
});

after(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = path.join(root, `c${counter++}`);
  await fs.mkdir(dir);
  return dir;
}

/** Asserts that `p` rejects with a MoeLensError whose message matches every pattern. */
async function rejectsWith(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof MoeLensError, `expected MoeLensError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'message is one line');
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Writes a file from a raw header object and a data section. */
async function writeRaw(file: string, header: unknown, data: Uint8Array): Promise<void> {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  await fs.writeFile(file, Buffer.concat([len, json, data]));
}

test('round trip F32, F16 and BF16; the header is 8-byte aligned and well-formed', async () => {
  const dir = await freshDir();
  const file = path.join(dir, 'model.safetensors');
  const a = Float32Array.from({ length: 6 }, (_, i) => i * 0.1 - 0.25);
  // Values exactly representable in bf16 (8 significant bits) and f16.
  const b = Float32Array.from([1, -2, 0.5, 3.75, -0.0078125, 65280, 0, -0]);
  const c = Float32Array.from([0.1, 1e-3, -7.5, 2048, 1 / 3]);
  await writeSafetensors(file, [
    { name: 'a', dtype: 'F32', shape: [2, 3], data: a },
    { name: 'layer.b', dtype: 'BF16', shape: [8], data: b },
    { name: 'c', dtype: 'F16', shape: [5, 1], data: c },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  ]);
  const raw = await fs.readFile(file);
  const headerLen = Number(raw.readBigUInt64LE(0));
  assert.equal(headerLen % 8, 0);
  const header = JSON.parse(raw.subarray(8, 8 + headerLen).toString('utf8'));
  assert.deepEqual(header.a, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header['layer.b'].data_offsets, [24, 40]);
  assert.equal(raw.length, 8 + headerLen + 24 + 16 + 10);

  const ck = await openCheckpoint(dir);
  try {
    assert.deepEqual([...ck.tensors.keys()].sort(), ['a', 'c', 'empty', 'layer.b']);
    assert.ok(ck.has('a') && !ck.has('nope'));
    const info = ck.info('layer.b');
    assert.equal(info.dtype, 'BF16');
    assert.equal(info.offset, 8 + headerLen + 24);
    assert.equal(info.byteLength, 16);
    assert.equal(info.file, file);
    assert.deepEqual(await ck.read('a', [2, 3]), a);
    const rb = await ck.read('layer.b');
    assert.deepEqual([...rb], [...b]);
    assert.ok(Object.is(rb[7], -0), 'bf16 keeps -0');
    const rc = await ck.read('c', [5, 1]);
    for (let i = 0; i < c.length; i++) {
      // f16 has 11 significant bits: relative error <= 2^-11.
      assert.ok(Math.abs(rc[i]! - c[i]!) <= Math.abs(c[i]!) * 2 ** -11, `c[${i}] = ${rc[i]}`);
    }
    assert.equal(rc[3], 2048);
    assert.equal((await ck.read('empty', [0, 4])).length, 0);
  } finally {
    await ck.close();
  }
});

test('bf16 rounds to nearest even and keeps NaN a NaN', () => {
  const x = new Float32Array([
    1 + 2 ** -8,
    1 + 3 * 2 ** -8,
    1 + 2 ** -8 + 2 ** -20,
    NaN,
    -Infinity,
  ]);
  const back = bf16ToF32(f32ToBf16(x));
  assert.equal(back[0], 1); // tie -> even (1.0)
  assert.equal(back[1], 1 + 4 * 2 ** -8); // tie -> even (up)
  assert.equal(back[2], 1 + 2 * 2 ** -8); // above the tie -> up
  assert.ok(Number.isNaN(back[3]));
  assert.equal(back[4], -Infinity);
});

test('f16 decoder handles subnormals, infinities, signed zero and NaN', () => {
  const h = Uint16Array.from([
    0x0001, // smallest subnormal 2^-24
    0x03ff, // largest subnormal
    0x0400, // smallest normal 2^-14
    0x7bff, // 65504
    0x7c00, // +inf
    0xfc00, // -inf
    0x8000, // -0
    0x7e00, // NaN
    0x3c00, // 1
    0xc000, // -2
    0x3555, // 0.333251953125
    0x8001, // -2^-24
  ]);
  const f = f16ToF32(h);
  assert.equal(f[0], 2 ** -24);
  assert.equal(f[1], 1023 * 2 ** -24);
  assert.equal(f[2], 2 ** -14);
  assert.equal(f[3], 65504);
  assert.equal(f[4], Infinity);
  assert.equal(f[5], -Infinity);
  assert.ok(Object.is(f[6], -0));
  assert.ok(Number.isNaN(f[7]));
  assert.equal(f[8], 1);
  assert.equal(f[9], -2);
  assert.equal(f[10], 0.333251953125);
  assert.equal(f[11], -(2 ** -24));
  // Every non-NaN half survives f16 -> f32 -> f16 bit for bit.
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const back = f32ToF16(f16ToF32(all));
  for (let i = 0; i < 65536; i++) {
    const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (isNaN) assert.equal(back[i]! & 0x7c00, 0x7c00);
    else if (back[i] !== i) {
      assert.fail(`half 0x${i.toString(16)} came back as 0x${back[i]!.toString(16)}`);
    }
  }
});

test('f32ToF16 rounds to nearest even, overflows to inf and underflows to subnormals', () => {
  const x = new Float32Array([
    65504,
    65519, // below the 65504/65536 midpoint -> 65504
    65520, // midpoint, ties to even -> inf
    1e6,
    -1e6,
    1 + 2 ** -11, // tie between 1 and 1+2^-10 -> 1 (even)
    1 + 3 * 2 ** -11, // tie -> 1 + 2^-9 (even)
    2 ** -25, // half of the smallest subnormal: tie -> 0
    3 * 2 ** -25, // 1.5 subnormal units -> 2 units
    2 ** -14 - 2 ** -25, // rounds up into the smallest normal
    1e-10,
    -0,
    NaN,
  ]);
  const h = f32ToF16(x);
  assert.deepEqual(
    [...h].map((v) => v.toString(16)),
    ['7bff', '7bff', '7c00', '7c00', 'fc00', '3c00', '3c02', '0', '2', '400', '0', '8000', '7e00'],
  );
});

test('sharded checkpoint: index weight_map, one handle per shard', async () => {
  const dir = await freshDir();
  await writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), [
    { name: 'x', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
    { name: 'y', dtype: 'F16', shape: [1], data: Float32Array.from([3]) },
  ]);
  await writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), [
    { name: 'z', dtype: 'BF16', shape: [2, 1], data: Float32Array.from([4, -5]) },
  ]);
  const index = {
    metadata: { total_size: 14 },
    weight_map: {
      x: 'model-00001-of-00002.safetensors',
      y: 'model-00001-of-00002.safetensors',
      z: 'model-00002-of-00002.safetensors',
    },
  };
  await fs.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  const ck = await openCheckpoint(dir);
  try {
    assert.equal(ck.files.length, 2);
    assert.equal(ck.info('z').file, path.join(dir, 'model-00002-of-00002.safetensors'));
    assert.deepEqual([...(await ck.read('x'))], [1, 2]);
    assert.deepEqual([...(await ck.read('y'))], [3]);
    assert.deepEqual([...(await ck.read('z', [2, 1]))], [4, -5]);
    assert.throws(
      () => ck.info('w'),
      (e: unknown) =>
        e instanceof MoeLensError &&
        e.message.startsWith(dir) &&
        e.message.includes('no tensor "w"'),
    );
  } finally {
    await ck.close();
  }

  // The index names a shard that is not there.
  index.weight_map.z = 'model-00003-of-00002.safetensors';
  await fs.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  await rejectsWith(
    openCheckpoint(dir),
    new RegExp(`^${escapeRe(path.join(dir, 'model.safetensors.index.json'))}: `),
    /shard "model-00003-of-00002\.safetensors"/,
    /"z"/,
  );

  // The index places a tensor in a shard that does not hold it.
  index.weight_map.z = 'model-00001-of-00002.safetensors';
  await fs.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  await rejectsWith(openCheckpoint(dir), /tensor "z" is listed in .* but not stored/);
});

test('a folder without safetensors files is an error naming the folder', async () => {
  const dir = await freshDir();
  await rejectsWith(openCheckpoint(dir), new RegExp(`^${escapeRe(dir)}: no model\\.safetensors`));
});

test('a truncated file is detected at open, naming the tensor and byte range', async () => {
  const dir = await freshDir();
  const file = path.join(dir, 'model.safetensors');
  await writeSafetensors(file, [
    { name: 'a', dtype: 'F32', shape: [4], data: new Float32Array(4) },
    { name: 'model.norm.weight', dtype: 'F32', shape: [8], data: new Float32Array(8) },
  ]);
  const size = (await fs.stat(file)).size;
  const dataStart = size - 48;
  await fs.truncate(file, size - 10);
  await rejectsWith(
    openCheckpoint(dir),
    new RegExp(`^${escapeRe(file)}: tensor "model\\.norm\\.weight" needs bytes`),
    new RegExp(`${dataStart + 16}\\.\\.${dataStart + 48} but the file has ${size - 10} bytes`),
    /truncated/,
  );
  // Cut into the header itself.
  await fs.truncate(file, 20);
  await rejectsWith(openCheckpoint(dir), /header length \d+ exceeds the file size 20/);
  await fs.truncate(file, 3);
  await rejectsWith(openCheckpoint(dir), /too short/);
});

test('corrupt headers are rejected with one-line MoeLensErrors', async () => {
  const dir = await freshDir();
  const file = path.join(dir, 'model.safetensors');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(12n);
  await fs.writeFile(file, Buffer.concat([len, Buffer.from('{"a": {"dty'), Buffer.alloc(1)]));
  await rejectsWith(
    openCheckpoint(dir),
    new RegExp(`^${escapeRe(file)}: header is not valid JSON`),
  );

  len.writeBigUInt64LE(1n << 40n);
  await fs.writeFile(file, Buffer.concat([len, Buffer.from('{}')]));
  await rejectsWith(openCheckpoint(dir), /header length \d+ is not plausible/);

  await writeRaw(file, { a: { dtype: 'F32', shape: [2] } }, new Uint8Array(8));
  await rejectsWith(openCheckpoint(dir), /tensor "a" has invalid data_offsets/);

  await writeRaw(file, { a: { dtype: 'F32', data_offsets: [0, 8] } }, new Uint8Array(8));
  await rejectsWith(openCheckpoint(dir), /tensor "a" has an invalid shape/);

  await writeRaw(
    file,
    { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } },
    new Uint8Array(12),
  );
  await rejectsWith(
    openCheckpoint(dir),
    /tensor "a" has 8 bytes of data but shape \[3\] of F32 needs 12/,
  );

  await writeRaw(file, { a: { dtype: 'Q9', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1));
  await rejectsWith(openCheckpoint(dir), /tensor "a" has unknown dtype "Q9"/);

  await writeRaw(file, [1, 2], new Uint8Array(0));
  await rejectsWith(openCheckpoint(dir), /header is not a JSON object/);
});

test('shape mismatch on read names the tensor and both shapes', async () => {
  const dir = await freshDir();
  await writeSafetensors(path.join(dir, 'model.safetensors'), [
    { name: 'w', dtype: 'F32', shape: [2, 3], data: new Float32Array(6) },
  ]);
  const ck = await openCheckpoint(dir);
  try {
    await rejectsWith(ck.read('w', [3, 2]), /tensor "w" has shape \[2, 3\], expected \[3, 2\]/);
    await rejectsWith(ck.read('w', [6]), /expected \[6\]/);
    await rejectsWith(ck.read('missing'), /no tensor "missing"/);
  } finally {
    await ck.close();
  }
});

test('unsupported dtypes open fine and fail only when read', async () => {
  const dir = await freshDir();
  const file = path.join(dir, 'model.safetensors');
  const f32 = new Uint8Array(Float32Array.from([1.5, -2]).buffer);
  await writeRaw(
    file,
    {
      __metadata__: { format: 'pt' },
      q: { dtype: 'I8', shape: [2, 2], data_offsets: [0, 4] },
      d: { dtype: 'F64', shape: [1], data_offsets: [4, 12] },
      f: { dtype: 'F32', shape: [2], data_offsets: [12, 20] },
    },
    Buffer.concat([new Uint8Array(12), f32]),
  );
  const ck = await openCheckpoint(dir);
  try {
    assert.equal(ck.info('q').dtype, 'I8');
    assert.deepEqual([...(await ck.read('f'))], [1.5, -2]);
    await rejectsWith(ck.read('q'), new RegExp(`^${escapeRe(file)}: tensor "q" has dtype I8`));
    await rejectsWith(ck.read('d'), /tensor "d" has dtype F64/);
  } finally {
    await ck.close();
  }
});

test('streaming writer calls produce in order and checks lengths', async () => {
  const dir = await freshDir();
  const file = path.join(dir, 'model.safetensors');
  const specs = [
    { name: 'e', dtype: 'F16' as const, shape: [3, 4] },
    { name: 'f', dtype: 'BF16' as const, shape: [5] },
  ];
  const asked: string[] = [];
  await writeSafetensorsStreaming(file, specs, async (name) => {
    asked.push(name);
    const n = name === 'e' ? 12 : 5;
    return Float32Array.from({ length: n }, (_, i) => i - 2);
  });
  assert.deepEqual(asked, ['e', 'f']);
  const ck = await openCheckpoint(dir);
  try {
    assert.deepEqual(
      [...(await ck.read('e', [3, 4]))],
      [...Array(12).keys()].map((i) => i - 2),
    );
    assert.deepEqual([...(await ck.read('f'))], [-2, -1, 0, 1, 2]);
  } finally {
    await ck.close();
  }

  const bad = path.join(dir, 'bad.safetensors');
  await rejectsWith(
    writeSafetensorsStreaming(bad, specs, () => new Float32Array(3)),
    /tensor "e" of shape \[3, 4\] needs 12 values, got 3/,
  );
  await assert.rejects(fs.stat(bad));
  await assert.rejects(fs.stat(`${bad}.partial`));
});
