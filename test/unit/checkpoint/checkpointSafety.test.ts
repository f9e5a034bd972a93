// Checkpoints are read as carefully as model folders (docs/MODEL_FORMAT.md, "Checkpoints"): the
// shards an index names stay inside the checkpoint, are regular files, hold non-overlapping
// tensors inside the file, and a weight with NaN or Inf stops the conversion naming the tensor.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../../src/convert/convert';
import { MoeLensError } from '../../../src/format/errors';
import { openCheckpoint } from '../../../src/checkpoint/safetensors';
import { writeSafetensors } from '../../../scripts/lib/safetensorsWriter';
import { rewriteSafetensors } from '../cliHelpers';
import { FIXTURES_DIR } from '../fixtureData';

const work = mkdtempSync(join(tmpdir(), 'moe-lens-ckpt-'));
/** FIFOs (mkfifo), /dev/zero and symlinks: POSIX only. */
const POSIX = process.platform !== 'win32';
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function fresh(label: string): string {
  const dir = join(work, `${label}-${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function rejectsWith(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof MoeLensError, `a MoeLensError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

const tensor = (name: string, values: number[]) => ({
  name,
  dtype: 'F32' as const,
  shape: [values.length],
  data: Float32Array.from(values),
});

function writeIndex(dir: string, weightMap: Record<string, string>): void {
  writeFileSync(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  );
}

test('an index naming a shard ../x.safetensors is refused (nothing outside is opened)', async () => {
  const parent = fresh('index-escape');
  const dir = join(parent, 'ckpt');
  mkdirSync(dir);
  await writeSafetensors(join(parent, 'x.safetensors'), [tensor('a', [1, 2])]);
  writeIndex(dir, { a: '../x.safetensors' });
  await rejectsWith(
    openCheckpoint(dir),
    /model\.safetensors\.index\.json: shard "\.\.\/x\.safetensors" \(holding tensor "a"\) leaves the folder/,
  );
});

test('an index naming an absolute shard is refused', async () => {
  const dir = fresh('index-absolute');
  await writeSafetensors(join(work, 'abs.safetensors'), [tensor('a', [1])]);
  writeIndex(dir, { a: join(work, 'abs.safetensors') });
  await rejectsWith(
    openCheckpoint(dir),
    /shard ".*abs\.safetensors" \(holding tensor "a"\) is an absolute path/,
  );
});

test('a shard symlinked out of the checkpoint is refused', { skip: !POSIX }, async () => {
  const dir = fresh('shard-symlink');
  const outside = join(work, `outside-${n}.safetensors`);
  await writeSafetensors(outside, [tensor('a', [1])]);
  symlinkSync(outside, join(dir, 'model.safetensors'));
  await rejectsWith(
    openCheckpoint(dir),
    /model\.safetensors: resolves to .*outside-\d+\.safetensors, outside /,
  );
});

test(
  "a Hugging Face hub-cache snapshot (symlinks into the repository's blobs/) opens",
  { skip: !POSIX },
  async () => {
    const repo = join(fresh('hub'), 'models--org--tiny');
    const snapshot = join(repo, 'snapshots', 'abc123');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    mkdirSync(snapshot, { recursive: true });
    await writeSafetensors(join(repo, 'blobs', 'f00d'), [tensor('a', [1, 2])]);
    symlinkSync('../../blobs/f00d', join(snapshot, 'model.safetensors'));
    const ck = await openCheckpoint(snapshot);
    try {
      assert.deepEqual([...(await ck.read('a'))], [1, 2]);
    } finally {
      await ck.close();
    }
  },
);

test('a directory in place of a shard is refused', async () => {
  const dir = fresh('shard-dir');
  mkdirSync(join(dir, 'model.safetensors'));
  await rejectsWith(openCheckpoint(dir), /model\.safetensors: a directory, not a regular file/);
});

test('overlapping tensor offsets are refused, naming both tensors', async () => {
  const dir = fresh('overlap');
  const header = {
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
  };
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, json, Buffer.alloc(12)]));
  await rejectsWith(
    openCheckpoint(dir),
    /model\.safetensors: tensors "a" \(bytes \d+\.\.\d+\) and "b" \(bytes \d+\.\.\d+\) overlap/,
  );
});

/** The bytes of a NaN / +Inf in a safetensors dtype, little-endian. */
function special(dtype: string, kind: 'nan' | 'inf'): Buffer {
  const b = Buffer.alloc(dtype === 'F32' ? 4 : 2);
  if (dtype === 'F32') b.writeUInt32LE(kind === 'nan' ? 0x7fc00000 : 0x7f800000);
  else if (dtype === 'F16') b.writeUInt16LE(kind === 'nan' ? 0x7e00 : 0x7c00);
  else b.writeUInt16LE(kind === 'nan' ? 0x7fc0 : 0x7f80);
  return b;
}

for (const kind of ['nan', 'inf'] as const) {
  test(`a weight holding ${kind === 'nan' ? 'NaN' : 'Inf'} stops the conversion, naming the tensor`, async () => {
    const target = 'model.layers.1.block_sparse_moe.experts.2.w2.weight';
    const src = join(fresh(`nonfinite-${kind}`), 'hf');
    cpSync(join(FIXTURES_DIR, 'mixtral'), src, { recursive: true });
    const file = join(src, 'model.safetensors');
    rewriteSafetensors(file, file, (name, t) => {
      if (name !== target) return t;
      const data = Buffer.from(t.data);
      const bad = special(t.dtype, kind);
      bad.copy(data, 5 * bad.length);
      return { ...t, data };
    });
    const out = join(src, '..', 'out');
    await rejectsWith(
      convertCheckpoint(src, out, { dtype: 'fp32' }),
      new RegExp(
        `tensor "${target.replace(/\./g, '\\.')}" holds ${kind === 'nan' ? '1 NaN and 0' : '0 NaN and 1'} infinite values \\(first at element 5\\)`,
      ),
    );
  });
}
