// The emitter's safety net: the four fixture families convert to byte-identical graphs and weights
// (sha256 of model.onnx and model.onnx.data) at every dtype and experts layout, so a refactor of
// src/convert/ that changes no maths changes no byte. An intended change of the graph regenerates
// the table: MOE_LENS_UPDATE_GOLDEN=1 node --import tsx --test test/unit/convert/goldenGraphs.test.ts
// (and says why in its commit). genai_config.json and config.json are not compared: they carry
// the conversion time and paths.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { convertCheckpoint, type ConvertOptions } from '../../../src/convert/convert';
import { FIXTURES_DIR } from '../fixtureData';

const GOLDEN = join(__dirname, '..', '..', 'fixtures', 'golden-graphs.json');
const UPDATE = process.env.MOE_LENS_UPDATE_GOLDEN === '1';
const FAMILIES = ['mixtral', 'olmoe', 'qwen2moe', 'qwen3moe'];
const VARIANTS: Record<string, Omit<ConvertOptions, 'signal' | 'onProgress'>> = {
  fp32: { dtype: 'fp32' },
  fp16: { dtype: 'fp16' },
  int8: { dtype: 'int8' },
  int4: { dtype: 'int4' },
  'int4-qmoe': { dtype: 'int4', expertsLayout: 'qmoe', blockSize: 16 },
  'int4-unrouted': { dtype: 'int4', expertsLayout: 'unrouted' },
};
const FILES = ['model.onnx', 'model.onnx.data'];

type Table = Record<string, Record<string, string>>;
const golden: Table = UPDATE ? {} : (JSON.parse(readFileSync(GOLDEN, 'utf8')) as Table);
const work = mkdtempSync(join(tmpdir(), 'moe-lens-golden-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
  if (UPDATE) writeFileSync(GOLDEN, JSON.stringify(golden, null, 1) + '\n');
});

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

for (const family of FAMILIES) {
  for (const [variant, opts] of Object.entries(VARIANTS)) {
    const key = `${family}/${variant}`;
    test(`${key}: the graph and weights are byte-identical to the golden table`, async () => {
      const out = join(work, family, variant);
      await convertCheckpoint(join(FIXTURES_DIR, family), out, opts);
      const got = Object.fromEntries(FILES.map((f) => [f, sha256(join(out, f))]));
      if (UPDATE) {
        golden[key] = got;
        return;
      }
      assert.ok(golden[key], `${key} is missing from ${GOLDEN}`);
      assert.deepEqual(got, golden[key]);
    });
  }
}
