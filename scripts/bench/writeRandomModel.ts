// Writes a MoE Lens model folder of a real model's exact dimensions with random weights, straight
// from the emitter (src/convert/graph) and buildManifest — no checkpoint needed, so the full
// 48-layer Qwen3-Coder-30B-A3B int4 model (~19 GB) fits on a disk that cannot also hold its 61 GB
// bf16 original. The folder passes the model-folder contract (every file listed and hashed); it
// has no tokenizer (benchmarks feed token ids). Weights are uniform in ±0.035 (std ≈ 0.02), norms
// 1; each tensor is generated, quantized and written one at a time.
//
//   node --import tsx scripts/bench/writeRandomModel.ts <out-dir> --preset qwen3-coder-30b-a3b
//     [--layers 48] [--dtype int4|int8|fp16|fp32] [--block-size 32] [--experts-layout if|qmoe]
import { randomFillSync } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkpointNames } from '../../src/checkpoint/checkpointLayout';
import { parseHfConfig } from '../../src/checkpoint/modelSpec';
import { buildManifest } from '../../src/convert/buildManifest';
import { buildDecoderGraph } from '../../src/convert/graph/decoder';
import type { ExpertsLayout, WeightDType, WeightSource } from '../../src/convert/graph/ops';
import { encodeModel, ExternalDataFile, GraphBuilder } from '../../src/convert/onnxBuilder';
import { DATA_FILE, MANIFEST_FILE, MODEL_FILE, sha256File } from '../../src/format/manifest';
import { DEFAULT_SYNTHETIC, QWEN3_CODER_30B_A3B, syntheticConfig } from './makeSyntheticModel';

/** Uniform weights in ±a (std a/√3), or ones for norm weights (1-D tensors). */
function randomWeights(shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (shape.length === 1) return out.fill(1);
  const bits = new Uint32Array(out.buffer);
  const CHUNK = 1 << 24;
  for (let i = 0; i < n; i += CHUNK) randomFillSync(bits, i, Math.min(CHUNK, n - i));
  const a = 0.035;
  const scale = (2 * a) / 4294967296;
  for (let i = 0; i < n; i++) out[i] = (bits[i] as number) * scale - a;
  return out;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      preset: { type: 'string', default: 'qwen3-coder-30b-a3b' },
      layers: { type: 'string' },
      dtype: { type: 'string', default: 'int4' },
      'block-size': { type: 'string', default: '32' },
      'experts-layout': { type: 'string', default: 'if' },
    },
    allowPositionals: true,
    strict: true,
  });
  const out = positionals[0];
  if (!out || values.preset !== 'qwen3-coder-30b-a3b') {
    throw new Error(
      'usage: writeRandomModel.ts <out-dir> --preset qwen3-coder-30b-a3b [--layers N]',
    );
  }
  const options = { ...DEFAULT_SYNTHETIC, ...QWEN3_CODER_30B_A3B.options };
  if (values.layers) options.layers = Number(values.layers);
  const spec = parseHfConfig(
    syntheticConfig({ ...options, config: QWEN3_CODER_30B_A3B.config }),
    'preset qwen3-coder-30b-a3b',
  );
  const dtype = values.dtype as WeightDType;
  const graphOpts = {
    dtype,
    blockSize: Number(values['block-size']),
    accuracyLevel: 4,
    lmHeadAccuracyLevel: 4,
    expertsLayout: values['experts-layout'] as ExpertsLayout,
  };
  const t0 = performance.now();
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const ext = new ExternalDataFile(join(out, DATA_FILE), DATA_FILE);
  const graph = new GraphBuilder('moe_lens_decoder', ext);
  const weights: WeightSource = {
    has: () => true,
    read: async (_name, shape) => randomWeights(shape),
  };
  await buildDecoderGraph(spec, checkpointNames(spec), weights, graphOpts, graph, (done, total) =>
    process.stderr.write(
      `random model: layer ${done}/${total} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
    ),
  );
  const dataSum = ext.close();
  const modelBytes = encodeModel(graph, `MoE Lens random-weight ${values.preset} (${dtype})`);
  await writeFile(join(out, MODEL_FILE), modelBytes);
  const manifest = buildManifest({
    spec,
    sourceTopK: spec.topK,
    dtype,
    graph: graphOpts,
    fim: null,
    files: {
      [MODEL_FILE]: {
        bytes: modelBytes.byteLength,
        sha256: await sha256File(join(out, MODEL_FILE)),
      },
      [DATA_FILE]: dataSum,
    },
    source: `random ${values.preset}`,
  });
  await writeFile(join(out, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    JSON.stringify({ out, layers: spec.numLayers, dtype, dataBytes: dataSum.bytes, seconds }) +
      '\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`writeRandomModel: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
