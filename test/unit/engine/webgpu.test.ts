// The GPU code path through onnxruntime's WebGPU execution provider, on Mesa's software Vulkan
// (lavapipe) when no GPU is present (docs/WEBGPU.md, scripts/install-webgpu.sh). Every fixture's
// fp32 conversion must give the same log-probs (<= 1e-3) and top-k expert sets on WebGPU as on the
// CPU provider, KV-cached decoding must match, and the ops that onnxruntime places on the CPU
// must stay within the documented list. Skips when no WebGPU adapter exists, unless
// MOE_LENS_REQUIRE_WEBGPU=1 (CI), where a missing adapter is a failure.

// lavapipe compiles compute shaders with LLVM; 128-bit vectors compile ~3x faster than the
// default 256-bit (AVX2) ones with identical results. Read once, when the driver loads, so it
// must be set before the first WebGPU session of this process.
process.env.LP_NATIVE_VECTOR_WIDTH ??= '128';

// Telemetry off before onnxruntime creates a session (src/engine/telemetryOff.ts).
import '../../../src/engine/telemetryOff';
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { convertCheckpoint } from '../../../src/convert/convert';
import { attentionKind } from '../../../src/convert/graph/attention';
import { encodeModel, GraphBuilder } from '../../../src/convert/onnxBuilder';
import { MODEL_FILE } from '../../../src/format/manifest';
import { MoeModel } from '../../../src/engine/model';
import {
  FIXTURES_DIR,
  NEAR_TIE,
  fixtureNames,
  loadExpected,
  loadSpec,
  logSoftmax,
} from '../fixtureData';

const REPO = join(__dirname, '..', '..', '..');
const REQUIRED = process.env.MOE_LENS_REQUIRE_WEBGPU === '1';

/**
 * Op types onnxruntime 1.30 places on the CPU provider in a WebGPU session of our graphs
 * (docs/WEBGPU.md): NonZero and ConstantOfShape have no WebGPU kernel; the others are int64
 * tensors (shape and position arithmetic, NonZero's indices), for which WebGPU registers no
 * kernel by default. A compute op (MatMul, MatMulNBits, GroupQueryAttention, ...) showing up
 * here is a regression.
 */
const CPU_FALLBACK_OPS = new Set([
  'NonZero',
  // The If conditions of a MoE layer split into one bool per expert: read on the host anyway.
  'Split',
  'ConstantOfShape',
  'Transpose',
  'Shape',
  'Gather',
  'Cast',
  'ReduceSum',
  'Sub',
  'Neg',
  'Concat',
  'Range',
  'LessOrEqual',
  'Unsqueeze',
]);

const work = mkdtempSync(join(tmpdir(), 'moe-lens-webgpu-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** null when a WebGPU session runs here, else why not. */
async function webgpuUnavailable(): Promise<string | null> {
  if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu')) {
    return `onnxruntime-node has no webgpu backend on ${process.platform}/${process.arch}`;
  }
  const g = new GraphBuilder('probe', null);
  g.input('x', 'float32', [4]);
  g.node('Mul', ['x', 'x'], { name: 'square', outputs: ['y'] });
  g.output('y', 'float32', [4]);
  try {
    const session = await ort.InferenceSession.create(encodeModel(g, 'webgpu probe'), {
      executionProviders: ['webgpu'],
      logSeverityLevel: 3,
    });
    try {
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4)) });
      const y = Array.from((out.y as ort.Tensor).data as Float32Array);
      if (y.join() !== '1,4,9,16') return `a WebGPU probe computed ${y.join()}, not 1,4,9,16`;
    } finally {
      await session.release();
    }
    return null;
  } catch (e) {
    const icdDir = '/usr/share/vulkan/icd.d';
    const hint =
      existsSync(icdDir) && readdirSync(icdDir).some((f) => f.startsWith('lvp_icd'))
        ? "lavapipe is installed but unusable (Dawn refuses Mesa < 23, e.g. bookworm's 22.3)"
        : 'no lavapipe Vulkan driver';
    const message = String((e as Error).message ?? e)
      .split('\n')[0]
      ?.replace(/^.* was false\. /, '');
    return `no WebGPU adapter: ${message}; ${hint}; run \`bash scripts/install-webgpu.sh\` as root`;
  }
}

/** Op type -> node count per execution provider, from onnxruntime's verbose placement log. */
type Placement = Map<string, Map<string, number>>;

/**
 * Creates a session in a child process with verbose logging (onnxruntime writes its log to the
 * native stderr, which this process cannot read) and parses the "Node placements" listing, which
 * covers the nodes of If subgraphs too. Same provider options as src/engine/session.ts.
 */
function placement(modelPath: string): Placement {
  const script = `
    const ort = require('onnxruntime-node');
    ort.InferenceSession.create(process.argv[1], {
      executionProviders: ['webgpu', 'cpu'], graphOptimizationLevel: 'all',
      enableCpuMemArena: true, logSeverityLevel: 0, logVerbosityLevel: 0,
    }).then((s) => s.release(), (e) => { console.error('SESSION FAILED', e); process.exit(3); });`;
  const r = spawnSync(process.execPath, ['-e', script, modelPath], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `placement probe failed: ${r.stderr.slice(-2000)}`);
  const result: Placement = new Map();
  let ep: Map<string, number> | null = null;
  for (const raw of r.stderr.split('\n')) {
    const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
    const header = /Node\(s\) placed on \[(\w+)\]/.exec(line);
    if (header) {
      ep = result.get(header[1] as string) ?? new Map();
      result.set(header[1] as string, ep);
      continue;
    }
    // "  Node(s) placed on [EP]. Number of nodes: N", then "   OpType (node name)" lines.
    const node = /VerifyEachNodeIsAssignedToAnEp\] {3}(\S+) \(/.exec(line);
    if (node && ep) ep.set(node[1] as string, (ep.get(node[1] as string) ?? 0) + 1);
  }
  return result;
}

function describePlacement(p: Placement): string {
  return [...p]
    .map(
      ([ep, ops]) =>
        `${ep}: ` +
        [...ops]
          .sort()
          .map(([op, n]) => `${op}×${n}`)
          .join(' '),
    )
    .join('; ');
}

/** Asserts the CPU-placed op types are documented ones and `onGpu` ops run on WebGPU. */
function checkPlacement(t: TestContext, label: string, modelDir: string, onGpu: string[]): void {
  const p = placement(join(modelDir, MODEL_FILE));
  t.diagnostic(`${label} placement: ${describePlacement(p)}`);
  const gpu = p.get('WebGpuExecutionProvider');
  assert.ok(gpu && gpu.size > 0, `${label}: no "Node placements" listing for WebGPU in the log`);
  const cpu = [...(p.get('CPUExecutionProvider')?.keys() ?? [])];
  const unexpected = cpu.filter((op) => !CPU_FALLBACK_OPS.has(op));
  assert.deepEqual(unexpected, [], `${label}: ops newly placed on the CPU (docs/WEBGPU.md)`);
  for (const op of onGpu) assert.ok(gpu.has(op), `${label}: ${op} does not run on WebGPU`);
}

/** max |a - b| of the row-wise log-softmax of two [rows, V] logit blocks. */
function maxLogprobDiff(a: Float32Array, b: Float32Array, vocab: number): number {
  let err = 0;
  for (let r = 0; r < a.length / vocab; r++) {
    const la = logSoftmax(a.subarray(r * vocab, (r + 1) * vocab));
    const lb = logSoftmax(b.subarray(r * vocab, (r + 1) * vocab));
    for (let v = 0; v < vocab; v++) err = Math.max(err, Math.abs(la[v]! - lb[v]!));
  }
  return err;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

async function compareFixture(t: TestContext, name: string, kvCheck: boolean): Promise<void> {
  const expected = loadExpected(name);
  const dir = join(work, name);
  await convertCheckpoint(join(FIXTURES_DIR, name), dir, { dtype: 'fp32' });
  const cpu = await MoeModel.load(dir, { executionProvider: 'cpu', threads: 1 });
  const gpu = await MoeModel.load(dir, { executionProvider: 'webgpu', verify: false });
  try {
    assert.equal(gpu.executionProvider, 'webgpu');
    const V = gpu.config.vocabSize;
    let errCpu = 0;
    let errHf = 0;
    let compared = 0;
    for (const input of expected.inputs) {
      const g = await gpu.forward(gpu.newSlot(), input.ids, input.ids.length);
      const c = await cpu.forward(cpu.newSlot(), input.ids, input.ids.length);
      errCpu = Math.max(errCpu, maxLogprobDiff(g.logits, c.logits, V));
      input.logprobs.forEach((row, i) => {
        const lp = logSoftmax(g.logits.subarray(i * V, (i + 1) * V));
        row.forEach((v, j) => (errHf = Math.max(errHf, Math.abs(lp[j]! - v))));
      });
      for (const r of input.routing) {
        const li = gpu.config.moeLayers.indexOf(r.layer);
        input.ids.forEach((_, i) => {
          if (r.margins[i]! < NEAR_TIE) return;
          const want = sorted(r.topk[i]!);
          const where = `token ${i} layer ${r.layer}`;
          assert.deepEqual(sorted(g.routing[i]![li]!.experts), want, `webgpu vs hf, ${where}`);
          assert.deepEqual(sorted(c.routing[i]![li]!.experts), want, `cpu vs hf, ${where}`);
          compared++;
        });
      }
    }
    t.diagnostic(
      `${name} fp32: max |Δ log-prob| webgpu-cpu ${errCpu.toExponential(2)}, ` +
        `webgpu-transformers ${errHf.toExponential(2)}; ${compared} top-k sets equal`,
    );
    assert.ok(errCpu <= 1e-3, `${name}: webgpu vs cpu log-prob error ${errCpu}`);
    assert.ok(errHf <= 1e-3, `${name}: webgpu vs transformers log-prob error ${errHf}`);
    assert.ok(compared > 0);

    if (kvCheck) {
      // Token by token, then in chunks (5 + rest), against the CPU's full recomputation.
      const ids = expected.inputs[0]!.ids;
      const full = (await cpu.forward(cpu.newSlot(), ids, ids.length)).logits;
      const slot = gpu.newSlot();
      let errStep = 0;
      for (let i = 0; i < ids.length; i++) {
        const { logits, routing } = await gpu.forward(slot, [ids[i]!], 1);
        errStep = Math.max(errStep, maxLogprobDiff(logits, full.subarray(i * V, (i + 1) * V), V));
        for (const r of expected.inputs[0]!.routing) {
          if (r.margins[i]! < NEAR_TIE) continue;
          const li = gpu.config.moeLayers.indexOf(r.layer);
          assert.deepEqual(sorted(routing[0]![li]!.experts), sorted(r.topk[i]!));
        }
      }
      const chunked = gpu.newSlot();
      await gpu.forward(chunked, ids.slice(0, 5), 1);
      const { logits } = await gpu.forward(chunked, ids.slice(5), ids.length - 5);
      const errChunk = maxLogprobDiff(logits, full.subarray(5 * V), V);
      t.diagnostic(
        `${name} KV-cached on webgpu vs cpu full: step ${errStep.toExponential(2)}, ` +
          `chunked ${errChunk.toExponential(2)}`,
      );
      assert.ok(errStep <= 1e-3, `${name}: token-by-token error ${errStep}`);
      assert.ok(errChunk <= 1e-3, `${name}: chunked error ${errChunk}`);
    }
  } finally {
    await gpu.dispose();
    await cpu.dispose();
  }
}

test('WebGPU execution provider matches the CPU provider on every fixture', async (t) => {
  const reason = await webgpuUnavailable();
  if (reason) {
    if (REQUIRED) assert.fail(`MOE_LENS_REQUIRE_WEBGPU=1 but WebGPU is unavailable: ${reason}`);
    t.skip(`WebGPU unavailable (set MOE_LENS_REQUIRE_WEBGPU=1 to fail instead): ${reason}`);
    return;
  }
  for (const name of fixtureNames()) {
    // KV-cached decoding on both attention paths: GroupQueryAttention (head_dim 16) and the
    // decomposed one (qwen3moe, head_dim 24).
    const kvCheck = name === 'mixtral' || name === 'qwen3moe';
    await t.test(`${name}: fp32 log-probs and top-k sets${kvCheck ? ', KV cache' : ''}`, (st) =>
      compareFixture(st, name, kvCheck),
    );
  }
  await t.test('ops placed on the CPU stay within the documented list', async (st) => {
    const common = ['MatMul', 'SimplifiedLayerNormalization', 'Softmax', 'TopK', 'If', 'ScatterND'];
    for (const name of fixtureNames()) {
      const gqa = attentionKind(loadSpec(name)) === 'gqa' ? ['GroupQueryAttention'] : [];
      checkPlacement(st, `${name} fp32`, join(work, name), [...common, ...gqa]);
    }
    const q = join(work, 'mixtral-int4');
    await convertCheckpoint(join(FIXTURES_DIR, 'mixtral'), q, { dtype: 'int4' });
    checkPlacement(st, 'mixtral int4', q, [...common, 'GroupQueryAttention', 'MatMulNBits']);
  });
});
