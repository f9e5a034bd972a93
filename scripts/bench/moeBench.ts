// MoE benchmark (docs/BENCHMARKS.md): builds the ≈330 M-parameter synthetic
// Qwen3-MoE checkpoint once (cached in .tmp/bench), converts every variant with the real CLI, then
// runs `node dist/cli.js bench` once per variant per round, one process per run, variants
// interleaved round-robin (the order rotates every round) so drift and load hit all alike.
// Reports medians over rounds and paired ratios (median over rounds of the per-round ratio).
// Also scores a fixed 256-token sequence under fp32/int8/int4 and reports how often the
// quantized models' top-k expert sets equal fp32's.
//
//   npm run build && node --import tsx scripts/bench/moeBench.ts [--runs 3] [--json]
//     [--threads 2] [--bench-runs 3] [--prompt-tokens 512] [--decode-tokens 32] [--acc 0|4]
//     [--only name,...] [--wait-quiet SECONDS] [--max-load 0.5] [--no-agreement] [--no-extra]
//     [--agreement-only]
//   node --import tsx scripts/bench/moeBench.ts --profile <variant> [--past 512 --steps 16]
// First: telemetry off before --profile loads onnxruntime here (src/engine/offline.ts).
import '../../src/engine/telemetryOff';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_SYNTHETIC,
  makeSyntheticModel,
  syntheticConfig,
  type SyntheticOptions,
} from './makeSyntheticModel';
import { MANIFEST_FILE } from '../../src/format/manifest';
import { countParams, parseHfConfig } from '../../src/checkpoint/modelSpec';

const ROOT = resolve(__dirname, '..', '..');
const WORK = join(ROOT, '.tmp', 'bench');
const SYNTH = join(WORK, 'synthetic');
const CLI = join(ROOT, 'dist', 'cli.js');

// ---- variants --------------------------------------------------------------------------------

type Dtype = 'fp32' | 'int8' | 'int4';
type Layout = 'if' | 'qmoe' | 'unrouted';

interface Variant {
  name: string;
  /** The letter (a–g), or 'extra' for the investigation variants. */
  role: string;
  dtype: Dtype;
  layout: Layout;
  topK: number;
  acc: number | null;
  lmHeadAcc: number | null;
}

function variantName(v: Omit<Variant, 'name' | 'role'>): string {
  const parts: string[] = [v.dtype, v.layout, `top${v.topK}`];
  if (v.acc !== null) parts.push(`acc${v.acc}`);
  if (v.lmHeadAcc !== null && v.lmHeadAcc !== 0) parts.push(`lmhead${v.lmHeadAcc}`);
  return parts.join('-');
}

function variant(
  role: string,
  dtype: Dtype,
  layout: Layout,
  topK: number,
  acc: number | null,
  lmHeadAcc: number | null = acc === null ? null : 0,
): Variant {
  const v = { dtype, layout, topK, acc, lmHeadAcc };
  return { name: variantName(v), role, ...v };
}

/** Every benchmarked variant, given the faster int4 accuracy level `x` (other = the other). */
function benchVariants(x: number, k: number, experts: number, extra: boolean): Variant[] {
  const other = x === 4 ? 0 : 4;
  const list = [
    variant('a', 'int4', 'if', k, x),
    variant('b', 'int4', 'if', experts, x),
    variant('c', 'int4', 'unrouted', k, x),
    variant('d', 'fp32', 'if', k, null),
    variant('e', 'int8', 'if', k, x),
    variant('e', 'int8', 'if', k, other),
    variant('f', 'int4', 'if', k, other),
    variant('g', 'int4', 'qmoe', k, x),
  ];
  if (extra) {
    // The lm_head's accuracy level is a fixed per-token cost shared by a/b/c: measure the three
    // with it at level 4 too, to see the ratios once that cost shrinks.
    list.push(
      variant('extra', 'int4', 'if', k, 4, 4),
      variant('extra', 'int4', 'if', experts, 4, 4),
      variant('extra', 'int4', 'unrouted', k, 4, 4),
      // int8 MatMulNBits at accuracy_level 0 is very slow at M=1; the lm_head is one such node.
      variant('extra', 'int8', 'if', k, 4, 4),
    );
  }
  return list;
}

/** Variants scored for routing agreement (all with the model's own top-k, `if` layout). */
function agreementVariants(k: number): Variant[] {
  return [
    variant('ref', 'fp32', 'if', k, null),
    variant('a/f', 'int4', 'if', k, 0),
    variant('a/f', 'int4', 'if', k, 4),
    variant('e', 'int8', 'if', k, 0),
    variant('e', 'int8', 'if', k, 4),
    variant('extra', 'int4', 'if', k, 4, 4),
  ];
}

function convertArgs(v: Variant): string[] {
  const args = ['--dtype', v.dtype, '--experts', v.layout, '--top-k', String(v.topK)];
  if (v.acc !== null) args.push('--accuracy-level', String(v.acc));
  if (v.lmHeadAcc !== null) args.push('--lm-head-accuracy-level', String(v.lmHeadAcc));
  return args;
}

// ---- processes -------------------------------------------------------------------------------

interface Proc {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[]): Promise<Proc> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolvePromise({ code: code ?? 1, stdout, stderr, ms: performance.now() - t0 }),
    );
  });
}

async function cli(args: string[]): Promise<unknown> {
  const p = await run(process.execPath, [CLI, ...args]);
  if (p.code !== 0) {
    throw new Error(`cli ${args.slice(0, 3).join(' ')} failed (${p.code}): ${p.stderr.trim()}`);
  }
  return JSON.parse(p.stdout) as unknown;
}

// ---- CPU accounting: how much of the machine something else used during a run ----------------

const TICKS = 100; // USER_HZ on Linux

interface CpuSample {
  wallMs: number;
  busyTicks: number;
  stealTicks: number;
  ownTicks: number;
}

function cpuSample(): CpuSample {
  const stat0 = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
  const f = stat0.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  // /proc/self/stat: utime stime cutime cstime are fields 14–17 (after the ")" of comm).
  const self = readFileSync('/proc/self/stat', 'utf8');
  const g = self
    .slice(self.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const own = (g[11] ?? 0) + (g[12] ?? 0) + (g[13] ?? 0) + (g[14] ?? 0);
  return {
    wallMs: performance.now(),
    busyTicks: total - idle,
    stealTicks: f[7] ?? 0,
    ownTicks: own,
  };
}

/** Average CPU cores used by other processes (and the hypervisor's steal) between two samples. */
function foreignCores(a: CpuSample, b: CpuSample): number {
  const seconds = (b.wallMs - a.wallMs) / 1000;
  const foreign = b.busyTicks - a.busyTicks - (b.ownTicks - a.ownTicks);
  return Math.max(0, foreign / TICKS / seconds);
}

function load1(): number {
  return loadavg()[0] as number;
}

async function topProcesses(): Promise<string[]> {
  const p = await run('ps', ['-eo', 'pcpu,etime,args', '--sort=-pcpu']);
  return p.stdout
    .split('\n')
    .slice(1, 6)
    .map((l) => l.trim().slice(0, 120))
    .filter((l) => l.length > 0);
}

/** Polls every minute until the 1-minute load is below `maxLoad`, for at most `seconds`. */
async function waitQuiet(seconds: number, maxLoad: number, log: (m: string) => void) {
  const t0 = Date.now();
  for (;;) {
    const l = load1();
    if (l < maxLoad) return { quiet: true, load: l, waitedSeconds: (Date.now() - t0) / 1000 };
    if (Date.now() - t0 >= seconds * 1000) {
      return { quiet: false, load: l, waitedSeconds: (Date.now() - t0) / 1000 };
    }
    log(`load ${l.toFixed(2)} >= ${maxLoad}; waiting (top: ${(await topProcesses())[0] ?? '?'})`);
    await new Promise((r) => setTimeout(r, 60_000));
  }
}

// ---- model preparation -----------------------------------------------------------------------

async function fileSha(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

async function ensureSynthetic(o: SyntheticOptions, log: (m: string) => void): Promise<void> {
  const stampPath = join(SYNTH, 'bench-stamp.json');
  const want = JSON.stringify(o);
  const stamp = await readJson(stampPath);
  if (stamp?.options === want && existsSync(join(SYNTH, 'model.safetensors'))) return;
  log('writing the synthetic checkpoint');
  await rm(SYNTH, { recursive: true, force: true });
  const m = await makeSyntheticModel(SYNTH, o);
  log(
    `synthetic: ${(m.totalParams / 1e6).toFixed(1)} M total, ${(m.activeParams / 1e6).toFixed(1)} M active`,
  );
  await writeFile(stampPath, JSON.stringify({ options: want }) + '\n');
}

/** Converts `v` unless an identical conversion (same args, same converter build) is cached. */
async function ensureConverted(v: Variant, cliSha: string, log: (m: string) => void) {
  const dir = join(WORK, v.name);
  const want = JSON.stringify({ args: convertArgs(v), cliSha });
  const stamp = await readJson(join(WORK, `${v.name}.stamp.json`));
  if (stamp?.key === want && existsSync(join(dir, MANIFEST_FILE))) return dir;
  log(`converting ${v.name}`);
  const t0 = performance.now();
  await cli(['convert', SYNTH, dir, ...convertArgs(v), '--json']);
  log(`converted ${v.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await writeFile(join(WORK, `${v.name}.stamp.json`), JSON.stringify({ key: want }) + '\n');
  return dir;
}

async function modelSizeMb(dir: string): Promise<number> {
  let bytes = 0;
  for (const f of await readdir(dir)) {
    if (f.startsWith('model.onnx')) bytes += (await stat(join(dir, f))).size;
  }
  return bytes / 2 ** 20;
}

/**
 * Weight bytes one decoded token reads (attention, router, k experts, lm_head; the embedding is
 * a one-row gather). Quantized weights: packed bits plus one fp32 scale per 32 values.
 */
function weightMbPerToken(o: SyntheticOptions, v: Variant): number {
  const perParam = v.dtype === 'fp32' ? 4 : v.dtype === 'int8' ? 1 + 4 / 32 : 0.5 + 4 / 32;
  const H = o.hidden;
  const attn = H * o.heads * o.headDim * 2 + 2 * H * o.kvHeads * o.headDim;
  const expert = 3 * H * o.expertFfn;
  const k = v.layout === 'unrouted' ? o.topK : v.topK;
  const perLayer = (attn + k * expert) * perParam + o.experts * H * 4;
  return (o.layers * perLayer + o.vocab * H * perParam) / 2 ** 20;
}

// ---- statistics ------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  if (s.length === 0) return NaN;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

// ---- benchmark -------------------------------------------------------------------------------

interface BenchJson {
  prefill: { tokens: number; tokensPerSecond: number };
  decode: { tokens: number; tokensPerSecond: number; msPerToken: number };
  timeToFirstTokenMs: number;
  peakRssMb: number;
}

interface Sample {
  round: number;
  decodeMsPerToken: number;
  prefillTokensPerSecond: number;
  ttftMs: number;
  peakRssMb: number;
  foreignCores: number;
  stealCores: number;
  wallMs: number;
}

interface BenchConfig {
  threads: number;
  benchRuns: number;
  promptTokens: number;
  decodeTokens: number;
}

async function benchOnce(dir: string, c: BenchConfig, roundNo: number): Promise<Sample> {
  const a = cpuSample();
  const t0 = performance.now();
  const r = (await cli([
    'bench',
    '--model',
    dir,
    '--json',
    '--ep',
    'cpu',
    '--threads',
    String(c.threads),
    '--prompt-tokens',
    String(c.promptTokens),
    '--decode-tokens',
    String(c.decodeTokens),
    '--runs',
    String(c.benchRuns),
  ])) as BenchJson;
  const b = cpuSample();
  return {
    round: roundNo,
    decodeMsPerToken: r.decode.msPerToken,
    prefillTokensPerSecond: r.prefill.tokensPerSecond,
    ttftMs: r.timeToFirstTokenMs,
    peakRssMb: r.peakRssMb,
    foreignCores: foreignCores(a, b),
    stealCores: (b.stealTicks - a.stealTicks) / TICKS / ((b.wallMs - a.wallMs) / 1000),
    wallMs: performance.now() - t0,
  };
}

/** Runs every variant once per round, rotating the order each round. */
async function interleaved(
  variants: Variant[],
  dirs: Map<string, string>,
  rounds: number,
  c: BenchConfig,
  log: (m: string) => void,
): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length] as Variant;
      const s = await benchOnce(dirs.get(v.name) as string, c, r);
      (samples.get(v.name) as Sample[]).push(s);
      log(
        `round ${r + 1}/${rounds} ${v.name}: decode ${s.decodeMsPerToken.toFixed(2)} ms/token, ` +
          `prefill ${s.prefillTokensPerSecond.toFixed(0)} tok/s, other load ${s.foreignCores.toFixed(2)} cores`,
      );
    }
  }
  return samples;
}

/** Median over rounds of samples[num].x / samples[den].x, paired by round. */
function pairedRatio(
  samples: Map<string, Sample[]>,
  num: string | undefined,
  den: string | undefined,
  key: keyof Sample = 'decodeMsPerToken',
): number | null {
  if (!num || !den) return null;
  const a = samples.get(num);
  const b = samples.get(den);
  if (!a || !b) return null;
  const byRound = new Map(b.map((s) => [s.round, s[key]]));
  const rs = a.flatMap((s) => {
    const d = byRound.get(s.round);
    return d === undefined ? [] : [s[key] / d];
  });
  return rs.length ? round(median(rs), 3) : null;
}

// ---- routing agreement -----------------------------------------------------------------------

interface ScoreJson {
  tokens: {
    id: number;
    logprob: number | null;
    routing: { layer: number; experts: number[]; probs?: number[] }[];
  }[];
}

function fixedIds(n: number, vocab: number): number[] {
  let s = 20240611;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % vocab;
  });
}

async function agreement(
  variants: Variant[],
  dirs: Map<string, string>,
  threads: number,
  vocab: number,
) {
  const ids = fixedIds(256, vocab).join(',');
  const score = async (v: Variant, probs: boolean) =>
    (await cli([
      'score',
      '--model',
      dirs.get(v.name) as string,
      '--ids',
      ids,
      '--json',
      '--ep',
      'cpu',
      '--threads',
      String(threads),
      ...(probs ? ['--router-probs'] : []),
    ])) as ScoreJson;
  const [refV, ...rest] = variants as [Variant, ...Variant[]];
  const ref = await score(refV, true);
  // Margin between the k-th and (k+1)-th router probability under fp32.
  const margins = ref.tokens.map((t) =>
    t.routing.map((r) => {
      const p = [...(r.probs ?? [])].sort((x, y) => y - x);
      const k = r.experts.length;
      return (p[k - 1] ?? 0) - (p[k] ?? 0);
    }),
  );
  const out: Record<string, unknown>[] = [];
  const scored = new Map<string, ScoreJson>();
  for (const v of rest) {
    const s = await score(v, false);
    scored.set(v.name, s);
    // accuracy_level 4 against level 0 on the same weights: what the int8 activations alone change.
    const acc0 = rest.find(
      (x) => v.acc === 4 && x.dtype === v.dtype && x.acc === 0 && x.lmHeadAcc === 0,
    );
    const base = acc0 ? scored.get(acc0.name) : undefined;
    let vsAcc0: Record<string, unknown> | null = null;
    if (acc0 && base) {
      let eqN = 0;
      let n = 0;
      s.tokens.forEach((t, i) =>
        t.routing.forEach((r, j) => {
          const e = new Set((base.tokens[i]?.routing[j]?.experts ?? []) as number[]);
          n++;
          if (r.experts.length === e.size && r.experts.every((x) => e.has(x))) eqN++;
        }),
      );
      vsAcc0 = { reference: acc0.name, topKSetsEqual: round(eqN / n, 4) };
    }
    let same = 0;
    let total = 0;
    const layerSame = new Map<number, number>();
    const layerTotal = new Map<number, number>();
    let sameClear = 0;
    let clear = 0;
    let maxLp = 0;
    let sumLp = 0;
    let nLp = 0;
    s.tokens.forEach((t, i) => {
      const rt = ref.tokens[i] as ScoreJson['tokens'][number];
      t.routing.forEach((r, j) => {
        const e = new Set((rt.routing[j] as { experts: number[] }).experts);
        const eq = r.experts.length === e.size && r.experts.every((x) => e.has(x));
        total++;
        if (eq) same++;
        layerTotal.set(r.layer, (layerTotal.get(r.layer) ?? 0) + 1);
        if (eq) layerSame.set(r.layer, (layerSame.get(r.layer) ?? 0) + 1);
        if (((margins[i] as number[])[j] as number) >= 1e-3) {
          clear++;
          if (eq) sameClear++;
        }
      });
      if (t.logprob !== null && rt.logprob !== null) {
        const d = Math.abs(t.logprob - rt.logprob);
        maxLp = Math.max(maxLp, d);
        sumLp += d;
        nLp++;
      }
    });
    out.push({
      name: v.name,
      tokenLayerPairs: total,
      topKSetsEqualToFp32: round(same / total, 4),
      byLayer: [...layerTotal].map(([layer, n]) => ({
        layer,
        share: round((layerSame.get(layer) ?? 0) / n, 3),
      })),
      excludingNearTies: { pairs: clear, share: round(sameClear / clear, 4), margin: 1e-3 },
      logprobAbsErrorVsFp32: { max: round(maxLp, 4), mean: round(sumLp / nLp, 5) },
      vsAccuracyLevel0: vsAcc0,
    });
  }
  return { tokens: 256, reference: refV.name, variants: out };
}

// ---- profiling (investigation) ---------------------------------------------------------------

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

/** ORT profile of decode steps at a given past length: time per op type and per node class. */
async function profile(dir: string, past: number, steps: number, threads: number) {
  // Loaded lazily: the benchmark itself runs onnxruntime only in child processes.
  const ort = await import('onnxruntime-node');
  const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<
    string,
    number
  >;
  const L = cfg.num_hidden_layers as number;
  const KV = cfg.num_key_value_heads as number;
  const D = cfg.head_dim as number;
  const V = cfg.vocab_size as number;
  const prefix = join(WORK, 'profile');
  await mkdir(prefix, { recursive: true });
  const make = async (prof: boolean) =>
    ort.InferenceSession.create(join(dir, 'model.onnx'), {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      enableProfiling: prof,
      profileFilePrefix: join(prefix, 'ort'),
      logSeverityLevel: 3,
    });
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
    attention_mask: new ort.Tensor('int64', new BigInt64Array(past + 1).fill(1n), [1, past + 1]),
    num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(1n), [1]),
  };
  let s = 7;
  const kv = new Float32Array(KV * past * D).map(() => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32 - 0.5) * 0.2;
  });
  for (let l = 0; l < L; l++) {
    feeds[`past_key_values.${l}.key`] = new ort.Tensor('float32', kv, [1, KV, past, D]);
    feeds[`past_key_values.${l}.value`] = new ort.Tensor('float32', kv, [1, KV, past, D]);
  }
  const step = async (session: Awaited<ReturnType<typeof make>>, i: number) => {
    feeds.input_ids = new ort.Tensor('int64', BigInt64Array.of(BigInt((i * 7919) % V)), [1, 1]);
    const t0 = performance.now();
    await session.run(feeds);
    return performance.now() - t0;
  };
  // Plain timing first (profiling adds overhead), then a profiled session.
  const plain = await make(false);
  for (let i = 0; i < 3; i++) await step(plain, i);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) times.push(await step(plain, i));
  await plain.release();
  const before = new Set(await readdir(prefix));
  const prof = await make(true);
  for (let i = 0; i < steps; i++) await step(prof, i);
  prof.endProfiling();
  await prof.release();
  const file = (await readdir(prefix)).find((f) => !before.has(f));
  if (!file) throw new Error('onnxruntime wrote no profile');
  const events = JSON.parse(await readFile(join(prefix, file), 'utf8')) as ProfileEvent[];
  await rm(join(prefix, file));
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const n = runs.length;
  const byOp = new Map<string, { ms: number; nodes: number }>();
  const byClass = new Map<string, { ms: number; nodes: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    const cls = `${op} ${e.name
      .replace(/_kernel_time$/, '')
      .replace(/layers\.\d+/, 'layers.N')
      .replace(/experts\.\d+/, 'experts.X')
      .replace(/\/e\d+\//, '/eX/')}`;
    for (const [m, key] of [
      [byOp, op],
      [byClass, cls],
    ] as const) {
      const c = m.get(key) ?? { ms: 0, nodes: 0 };
      c.ms += e.dur / 1000 / n;
      c.nodes += 1 / n;
      m.set(key, c);
    }
  }
  const table = (m: Map<string, { ms: number; nodes: number }>, top: number) =>
    [...m]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, top)
      .map(([k, c]) => ({ name: k, msPerStep: round(c.ms, 3), nodesPerStep: round(c.nodes, 1) }));
  return {
    model: dir,
    pastTokens: past,
    steps,
    threads,
    msPerStepUnprofiled: round(median(times), 2),
    msPerStepProfiledModelRun: round(runs.reduce((a, e) => a + e.dur, 0) / n / 1000, 2),
    note: 'If nodes include the time of the nodes inside their branches (listed separately too)',
    byOpType: table(byOp, 40),
    byNodeClass: table(byClass, 25),
  };
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      json: { type: 'boolean' },
      threads: { type: 'string', default: '2' },
      'bench-runs': { type: 'string', default: '3' },
      'prompt-tokens': { type: 'string', default: '512' },
      'decode-tokens': { type: 'string', default: '32' },
      acc: { type: 'string' },
      only: { type: 'string' },
      'wait-quiet': { type: 'string', default: '0' },
      'max-load': { type: 'string', default: '0.5' },
      'no-agreement': { type: 'boolean' },
      'no-extra': { type: 'boolean' },
      'agreement-only': { type: 'boolean' },
      profile: { type: 'string' },
      past: { type: 'string', default: '512' },
      steps: { type: 'string', default: '16' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const log = (m: string) => process.stderr.write(`moeBench: ${m}\n`);
  const intArg = (v: string, flag: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer`);
    return n;
  };
  const threads = intArg(values.threads, 'threads');
  const o = DEFAULT_SYNTHETIC;
  const spec = parseHfConfig(syntheticConfig(o));
  const params = countParams(spec);
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: run npm run build first`);
  const cliSha = await fileSha(CLI);
  await mkdir(WORK, { recursive: true });
  await ensureSynthetic(o, log);

  if (values.profile !== undefined) {
    const all = [
      ...benchVariants(4, o.topK, o.experts, true),
      ...benchVariants(0, o.topK, o.experts, true),
    ];
    const v = all.find((x) => x.name === values.profile);
    if (!v) {
      const names = [...new Set(all.map((x) => x.name))].join(', ');
      throw new Error(`unknown variant ${values.profile} (known: ${names})`);
    }
    const dir = await ensureConverted(v, cliSha, log);
    const p = await profile(
      dir,
      intArg(values.past, 'past'),
      intArg(values.steps, 'steps'),
      threads,
    );
    process.stdout.write(JSON.stringify(p, null, 2) + '\n');
    return;
  }

  const c: BenchConfig = {
    threads,
    benchRuns: intArg(values['bench-runs'], 'bench-runs'),
    promptTokens: intArg(values['prompt-tokens'], 'prompt-tokens'),
    decodeTokens: intArg(values['decode-tokens'], 'decode-tokens'),
  };
  const rounds = intArg(values.runs, 'runs');
  const dirs = new Map<string, string>();
  const prepare = async (vs: Variant[]) => {
    for (const v of vs) dirs.set(v.name, await ensureConverted(v, cliSha, log));
  };

  if (values['agreement-only']) {
    // Routing agreement needs no quiet machine: scoring only, no timing.
    const av = agreementVariants(o.topK);
    await prepare(av);
    const routingAgreement = await agreement(av, dirs, threads, o.vocab);
    process.stdout.write(JSON.stringify({ routingAgreement }, null, 2) + '\n');
    return;
  }

  // Conversions first (they load the CPU), then wait for a quiet machine, then measure.
  const pair = [
    variant('pilot', 'int4', 'if', o.topK, 0),
    variant('pilot', 'int4', 'if', o.topK, 4),
  ];
  if (values.acc === undefined) await prepare(pair);
  const quietWanted = Number(values['wait-quiet']);
  const maxLoad = Number(values['max-load']);
  const quiet =
    quietWanted > 0 ? await waitQuiet(quietWanted, maxLoad, log) : { quiet: null, load: load1() };
  const loadBefore = loadavg().map((x) => round(x));
  const topBefore = await topProcesses();

  // Which int4 accuracy level is faster: given, or a short interleaved pilot of a vs f.
  let acc: number;
  let accChoice: Record<string, unknown>;
  if (values.acc !== undefined) {
    acc = Number(values.acc);
    if (acc !== 0 && acc !== 4) throw new Error('--acc must be 0 or 4');
    accChoice = { chosen: acc, how: '--acc' };
  } else {
    const pilot = await interleaved(pair, dirs, 2, { ...c, benchRuns: 1 }, log);
    const ms = pair.map((v) =>
      median((pilot.get(v.name) as Sample[]).map((s) => s.decodeMsPerToken)),
    );
    acc = (ms[1] as number) < (ms[0] as number) ? 4 : 0;
    accChoice = {
      chosen: acc,
      how: 'pilot: 2 interleaved rounds of int4-if-top2 at accuracy_level 0 and 4, faster decode wins',
      pilotDecodeMsPerToken: { acc0: round(ms[0] as number), acc4: round(ms[1] as number) },
    };
  }
  log(`int4 accuracy_level for a/b/c/e/g: ${acc}`);

  let variants = benchVariants(acc, o.topK, o.experts, !values['no-extra']);
  if (values.only) {
    const keep = new Set(values.only.split(','));
    variants = variants.filter((v) => keep.has(v.name) || keep.has(v.role));
  }
  await prepare(variants);

  const t0 = Date.now();
  const samples = await interleaved(variants, dirs, rounds, c, log);
  const loadAfter = loadavg().map((x) => round(x));

  const rows = [];
  for (const v of variants) {
    const ss = samples.get(v.name) as Sample[];
    const dir = dirs.get(v.name) as string;
    const decode = median(ss.map((s) => s.decodeMsPerToken));
    const mb = weightMbPerToken(o, v);
    rows.push({
      name: v.name,
      role: v.role,
      dtype: v.dtype,
      experts: v.layout,
      topK: v.topK,
      accuracyLevel: v.acc,
      lmHeadAccuracyLevel: v.lmHeadAcc,
      decodeMsPerToken: round(decode),
      prefillTokensPerSecond: round(median(ss.map((s) => s.prefillTokensPerSecond)), 1),
      ttftMs: round(median(ss.map((s) => s.ttftMs)), 1),
      peakRssMb: Math.max(...ss.map((s) => s.peakRssMb)),
      sizeMb: round(await modelSizeMb(dir), 1),
      weightMbReadPerToken: round(mb, 1),
      effectiveGBps: round(mb / 1024 / (decode / 1000), 2),
      decodeMsPerTokenByRound: ss.map((s) => round(s.decodeMsPerToken)),
      otherProcessesCores: round(median(ss.map((s) => s.foreignCores)), 2),
      otherProcessesCoresMax: round(Math.max(...ss.map((s) => s.foreignCores)), 2),
      stealCoresMax: round(Math.max(...ss.map((s) => s.stealCores)), 3),
    });
  }
  const byRole = (role: string) => variants.find((v) => v.role === role)?.name;
  const extra = (k: number, layout: Layout) =>
    variants.find((v) => v.role === 'extra' && v.topK === k && v.layout === layout)?.name;
  const acc0 = variants.find(
    (v) =>
      v.dtype === 'int4' &&
      v.layout === 'if' &&
      v.topK === o.topK &&
      v.acc === 0 &&
      v.lmHeadAcc === 0,
  )?.name;
  const acc4 = variants.find(
    (v) =>
      v.dtype === 'int4' &&
      v.layout === 'if' &&
      v.topK === o.topK &&
      v.acc === 4 &&
      v.lmHeadAcc === 0,
  )?.name;
  const int8 = (a: number) =>
    variants.find((v) => v.dtype === 'int8' && v.acc === a && v.lmHeadAcc === 0)?.name;
  const ratios = {
    moeVsAllExperts: pairedRatio(samples, byRole('a'), byRole('b')),
    moeVsLowerBound: pairedRatio(samples, byRole('a'), byRole('c')),
    qmoeVsIf: pairedRatio(samples, byRole('g'), byRole('a')),
    acc4VsAcc0: pairedRatio(samples, acc4, acc0),
    int4VsFp32: pairedRatio(samples, byRole('a'), byRole('d')),
    int8VsFp32: pairedRatio(samples, int8(acc), byRole('d')),
    int8OtherAccVsFp32: pairedRatio(samples, int8(acc === 4 ? 0 : 4), byRole('d')),
    int8LmHead4VsFp32: pairedRatio(
      samples,
      variants.find((v) => v.dtype === 'int8' && v.lmHeadAcc === 4)?.name,
      byRole('d'),
    ),
    lmHead4: {
      moeVsAllExperts: pairedRatio(samples, extra(o.topK, 'if'), extra(o.experts, 'if')),
      moeVsLowerBound: pairedRatio(samples, extra(o.topK, 'if'), extra(o.topK, 'unrouted')),
      lmHead4VsLmHead0: pairedRatio(samples, extra(o.topK, 'if'), acc4),
    },
    prefill: {
      moeVsAllExperts: pairedRatio(samples, byRole('a'), byRole('b'), 'prefillTokensPerSecond'),
      moeVsLowerBound: pairedRatio(samples, byRole('a'), byRole('c'), 'prefillTokensPerSecond'),
    },
  };
  const targets = {
    moeVsAllExpertsAtMost: 0.5,
    moeVsLowerBoundAtMost: 1.3,
    met:
      ratios.moeVsAllExperts !== null &&
      ratios.moeVsLowerBound !== null &&
      ratios.moeVsAllExperts <= 0.5 &&
      ratios.moeVsLowerBound <= 1.3,
  };

  let routingAgreement: unknown = null;
  if (!values['no-agreement']) {
    const av = agreementVariants(o.topK);
    await prepare(av);
    log('scoring 256 tokens for routing agreement');
    routingAgreement = await agreement(av, dirs, threads, o.vocab);
  }

  const result = {
    date: new Date(t0).toISOString(),
    model: {
      architecture: spec.architecture,
      totalParams: params.total,
      activeParams: params.activePerToken,
      ...o,
    },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      memGb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      onnxruntime: '1.30.0',
      load: {
        loadavgBefore: loadBefore,
        loadavgAfter: loadAfter,
        waitedForQuiet: quiet,
        otherProcessesCoresMedian: round(median(rows.map((r) => r.otherProcessesCores)), 2),
        otherProcessesCoresMax: round(Math.max(...rows.map((r) => r.otherProcessesCoresMax)), 2),
        stealCoresMax: Math.max(...rows.map((r) => r.stealCoresMax)),
        topProcessesBefore: topBefore,
      },
    },
    bench: { ...c, rounds, accuracyLevel: accChoice },
    variants: rows,
    ratios,
    targets,
    routingAgreement,
  };
  const outFile =
    values.out ?? join(WORK, `results-${new Date(t0).toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(outFile, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${outFile}`);
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const lines = [
    `| variant | decode ms/token | prefill tok/s | TTFT ms | peak RSS MB | size MB |`,
    `|---|---|---|---|---|---|`,
    ...rows.map(
      (r) =>
        `| ${r.role} ${r.name} | ${r.decodeMsPerToken} | ${r.prefillTokensPerSecond} | ${r.ttftMs} | ${r.peakRssMb} | ${r.sizeMb} |`,
    ),
    '',
    `ratios (paired medians): ${JSON.stringify(ratios)}`,
    `targets met: ${targets.met}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`moeBench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
