// moe-lens CLI: convert, info, complete, score, analyze, bench. `--json` prints one JSON document;
// errors print one line on stderr and exit 1 with nothing on stdout.
// First: telemetry off before anything can load onnxruntime (src/engine/offline.ts).
import './engine/telemetryOff';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint } from './convert/convert';
import type { ExpertsLayout, WeightDType } from './convert/graph/ops';
import { analyzeFiles, listSourceFiles, secretPatternOf } from './analysis/analyzeFiles';
import { analyzeText } from './analysis/analyzeText';
import { classesOf } from './language/tokenClasses';
import { runBench } from './engine/bench';
import { defaultModelDir, Engine, type PromptInput } from './engine/engine';
import { CancelledError, MoeLensError } from './format/errors';
import { MiB, checkFile, readChecked } from './format/confinedFile';
import type { GeneratedToken } from './engine/generate';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from './engine/session';

const USAGE = `usage: cli.js <command> [options]
  convert <hf-dir> <out-dir> --dtype fp32|fp16|int8|int4 [--top-k N] [--block-size 32]
          [--accuracy-level 0|4] [--fim-order psm|spm] [--experts if|qmoe|unrouted]
  info     [--model DIR]
  complete [--model DIR] (--prompt TEXT | --prefix TEXT --suffix TEXT | --ids 1,2,3)
           [--max-tokens 64] [--temperature 0] [--top-p 1] [--seed N] [--stop S]... [--max-time-ms N]
           [--router-probs]
  score    [--model DIR] (--file F | --ids 1,2,3) [--router-probs]
  analyze  [--model DIR] <files or folders>... [--max-files 200] [--file-tokens 1024]
  bench    [--model DIR] [--prompt-tokens 512] [--decode-tokens 64] [--runs 5]
common: --json  --ep auto|cpu|cuda|dml|webgpu  --threads N  --no-verify  --verbose`;

const options = {
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  model: { type: 'string' },
  ep: { type: 'string', default: 'auto' },
  threads: { type: 'string', default: '0' },
  'no-verify': { type: 'boolean' },
  dtype: { type: 'string' },
  'top-k': { type: 'string' },
  'block-size': { type: 'string' },
  'accuracy-level': { type: 'string' },
  'lm-head-accuracy-level': { type: 'string' },
  'fim-order': { type: 'string' },
  experts: { type: 'string', default: 'if' },
  prompt: { type: 'string' },
  prefix: { type: 'string' },
  suffix: { type: 'string' },
  ids: { type: 'string' },
  file: { type: 'string' },
  'max-tokens': { type: 'string', default: '64' },
  temperature: { type: 'string', default: '0' },
  'top-p': { type: 'string', default: '1' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  'max-time-ms': { type: 'string' },
  'router-probs': { type: 'boolean' },
  'prompt-tokens': { type: 'string', default: '512' },
  'decode-tokens': { type: 'string', default: '64' },
  runs: { type: 'string', default: '5' },
  'max-files': { type: 'string', default: '200' },
  'file-tokens': { type: 'string', default: '1024' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>['values'];

/** onnxruntime intra-op threads: 100,000 made it hang creating a thread pool. */
const MAX_THREADS = 256;

function int(v: string | undefined, flag: string, min = 0, max = Infinity): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min || n > max) {
    const range = max === Infinity ? `>= ${min}` : `in ${min}..${max}`;
    throw new MoeLensError(`--${flag} must be an integer ${range}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function float(v: string | undefined, flag: string): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < 0) {
    throw new MoeLensError(`--${flag} must be a non-negative number, got ${JSON.stringify(v)}`);
  }
  return n;
}

function parseIds(v: string): number[] {
  const ids = v.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^\d+$/.test(s))) {
    throw new MoeLensError(`--ids must be comma-separated non-negative integers, got "${v}"`);
  }
  return ids.map(Number);
}

function ep(v: Values): ExecutionProvider {
  const e = v.ep as ExecutionProvider;
  if (!EXECUTION_PROVIDERS.includes(e)) {
    throw new MoeLensError(
      `--ep must be one of ${EXECUTION_PROVIDERS.join('|')}, got "${String(v.ep)}"`,
    );
  }
  return e;
}

async function openEngine(v: Values): Promise<Engine> {
  const dir = v.model ?? defaultModelDir();
  return Engine.open(dir, {
    executionProvider: ep(v),
    threads: int(v.threads, 'threads', 0, MAX_THREADS),
    verify: !v['no-verify'],
    // Engine notes (e.g. why auto fell back to the CPU) only with --verbose: stderr stays one line on errors.
    log: (m) => {
      if (v.verbose) process.stderr.write(`moe-lens: ${m}\n`);
    },
  });
}

function print(v: Values, value: unknown, human: () => string): void {
  process.stdout.write(v.json ? JSON.stringify(value) + '\n' : human() + '\n');
}

function promptInput(v: Values): PromptInput {
  const given = [
    v.prompt !== undefined,
    v.prefix !== undefined || v.suffix !== undefined,
    v.ids !== undefined,
  ];
  if (given.filter(Boolean).length !== 1) {
    throw new MoeLensError('give exactly one of --prompt, --prefix/--suffix, --ids');
  }
  if (v.ids !== undefined) return { kind: 'ids', ids: parseIds(v.ids) };
  if (v.prompt !== undefined) return { kind: 'text', prompt: v.prompt };
  return { kind: 'fim', prefix: v.prefix ?? '', suffix: v.suffix ?? '' };
}

async function cmdConvert(v: Values, pos: string[]): Promise<void> {
  const [src, out] = pos;
  if (!src || !out) throw new MoeLensError('convert needs <hf-dir> <out-dir>');
  const dtype = v.dtype as WeightDType;
  if (!['fp32', 'fp16', 'int8', 'int4'].includes(dtype)) {
    throw new MoeLensError(`--dtype must be fp32|fp16|int8|int4, got ${JSON.stringify(v.dtype)}`);
  }
  const fimOrder = v['fim-order'];
  if (fimOrder !== undefined && fimOrder !== 'psm' && fimOrder !== 'spm') {
    throw new MoeLensError(`--fim-order must be psm or spm, got "${fimOrder}"`);
  }
  const layout = v.experts as ExpertsLayout;
  if (!['if', 'qmoe', 'unrouted'].includes(layout)) {
    throw new MoeLensError(`--experts must be if|qmoe|unrouted, got "${String(v.experts)}"`);
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const t0 = performance.now();
  const manifest = await convertCheckpoint(src, out, {
    dtype,
    topK: v['top-k'] !== undefined ? int(v['top-k'], 'top-k', 1) : undefined,
    blockSize: v['block-size'] !== undefined ? int(v['block-size'], 'block-size', 16) : undefined,
    accuracyLevel:
      v['accuracy-level'] !== undefined
        ? int(v['accuracy-level'], 'accuracy-level', 0, 4)
        : undefined,
    lmHeadAccuracyLevel:
      v['lm-head-accuracy-level'] !== undefined
        ? int(v['lm-head-accuracy-level'], 'lm-head-accuracy-level', 0, 4)
        : undefined,
    fimOrder,
    expertsLayout: layout,
    signal: controller.signal,
    onProgress: (m) => {
      if (!v.json) process.stderr.write(`convert: ${m}\n`);
    },
  });
  const files = manifest.moe_lens.files;
  print(
    v,
    { out, dtype, seconds: (performance.now() - t0) / 1000, files },
    () => `converted ${src} -> ${out} (${dtype})`,
  );
}

async function cmdInfo(v: Values): Promise<void> {
  const engine = await openEngine(v);
  const info = engine.info();
  print(v, info, () =>
    Object.entries(info)
      .map(([k, val]) => `${k}: ${JSON.stringify(val)}`)
      .join('\n'),
  );
  await engine.dispose();
}

function tokenJson(t: GeneratedToken) {
  return { id: t.id, text: t.text, logprob: t.logprob, routing: t.routing };
}

async function cmdComplete(v: Values): Promise<void> {
  const engine = await openEngine(v);
  const input = promptInput(v);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const stream = engine.complete(input, {
    maxTokens: int(v['max-tokens'], 'max-tokens', 1),
    temperature: float(v.temperature, 'temperature'),
    topP: float(v['top-p'], 'top-p'),
    seed: v.seed !== undefined ? int(v.seed, 'seed') : undefined,
    stop: v.stop ?? [],
    maxTimeMs: v['max-time-ms'] !== undefined ? int(v['max-time-ms'], 'max-time-ms', 1) : undefined,
    signal: controller.signal,
    fullProbs: v['router-probs'] ?? false,
  });
  const tokens: ReturnType<typeof tokenJson>[] = [];
  let r = await stream.next();
  while (!r.done) {
    tokens.push(tokenJson(r.value));
    if (!v.json && r.value.text !== null) process.stdout.write(r.value.text);
    r = await stream.next();
  }
  const { text, finishReason, stats, fit } = r.value;
  if (v.json) {
    process.stdout.write(JSON.stringify({ text, finishReason, tokens, stats, fit }) + '\n');
  } else {
    const cut =
      fit && fit.prefixLinesDropped > 0
        ? `; prompt cut to its last ${fit.prefixLinesKept} lines to fit the context`
        : '';
    process.stdout.write(
      `\n[${finishReason}; ${stats.decodeTokensPerSecond.toFixed(1)} tok/s${cut}]\n`,
    );
  }
  await engine.dispose();
}

/** `score --file` reads at most this much (scoring slides over the text: 1 MB took > 45 s). */
const MAX_SCORE_BYTES = 2 * MiB;

/** A text file the user named: a regular file (never a FIFO or a device), bounded, not binary. */
async function readTextFile(file: string): Promise<string> {
  // The same secret list as completions and analyses: a key file is never tokenized, let alone
  // printed back token by token.
  const secret = secretPatternOf({ path: file, fullPath: resolve(file) });
  if (secret !== null) {
    throw new MoeLensError(`${file}: a secret file (matches ${secret}); MoE Lens does not read it`);
  }
  const f = await checkFile(dirname(resolve(file)), '/', basename(file), {
    maxBytes: MAX_SCORE_BYTES,
  });
  const buf = await readChecked(f);
  if (buf.subarray(0, 8192).includes(0)) {
    throw new MoeLensError(`${file}: a binary file (NUL bytes); score reads text`);
  }
  return buf.toString('utf8');
}

async function cmdScore(v: Values): Promise<void> {
  const engine = await openEngine(v);
  let ids: number[];
  if ((v.file === undefined) === (v.ids === undefined)) {
    throw new MoeLensError('give exactly one of --file, --ids');
  }
  if (v.ids !== undefined) ids = parseIds(v.ids);
  else {
    ids = engine.requireTokenizer().encode(await readTextFile(v.file as string));
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  // Long texts take a while (a window slides over them): progress on stderr, at most once a second.
  let lastReport = Date.now();
  const scored = await engine.score(ids, {
    fullProbs: v['router-probs'] ?? false,
    signal: controller.signal,
    onProgress: (done, total) => {
      if (Date.now() - lastReport < 1000) return;
      lastReport = Date.now();
      process.stderr.write(`moe-lens: scored ${done} of ${total} tokens\n`);
    },
  });
  const texts = engine.tokenTexts(ids);
  const tokens = scored.map((t, i) => ({
    id: t.id,
    text: texts[i] ?? null,
    logprob: t.logprob,
    routing: t.routing,
  }));
  print(v, { tokens }, () => {
    const lps = scored.flatMap((t) => (t.logprob === null ? [] : [t.logprob]));
    const mean = lps.reduce((a, b) => a + b, 0) / Math.max(1, lps.length);
    return `${tokens.length} tokens, mean logprob ${mean.toFixed(4)}`;
  });
  await engine.dispose();
}

async function cmdAnalyze(v: Values, paths: string[]): Promise<void> {
  if (paths.length === 0) throw new MoeLensError('analyze: give files or folders to analyse');
  const maxFiles = int(v['max-files'], 'max-files', 1);
  const maxTokens = int(v['file-tokens'], 'file-tokens', 1);
  // Check the paths before loading the model: a typo fails fast.
  const listed = await listSourceFiles(paths, maxFiles).catch((e: NodeJS.ErrnoException) => {
    throw new MoeLensError(
      `${e.path ?? paths.join(', ')}: ${e.code === 'ENOENT' ? 'no such file or folder' : e.message}`,
    );
  });
  if (listed.files.length === 0) {
    throw new MoeLensError(`analyze: no source files in ${paths.join(', ')}`);
  }
  const engine = await openEngine(v);
  const info = engine.info();
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const model = { name: basename(engine.model.config.dir), ...info };
  const result = await analyzeFiles(
    listed.files,
    model,
    async (text, o) => {
      const a = await analyzeText(engine, text, { ...o, logprobs: false });
      return { ...a, classes: classesOf(text, a.tokens, o.languageId) };
    },
    {
      maxTokens,
      signal: controller.signal,
      onProgress: (done, total, file) => {
        if (v.verbose && file) process.stderr.write(`moe-lens: [${done + 1}/${total}] ${file}\n`);
      },
    },
  );
  const skipped = [...listed.skipped, ...result.skipped];
  const out = { ...result.stats, skipped };
  print(v, out, () => {
    const lines = [
      `${out.files} files, ${out.tokens} tokens, ${out.tokensPerSecond.toFixed(0)} tokens/s` +
        (skipped.length ? `, ${skipped.length} skipped` : ''),
    ];
    for (const l of out.layers) {
      lines.push(
        `layer ${l.layer}: cv ${l.cv.toFixed(3)}, max violation ${l.maxViolation.toFixed(3)}, ` +
          `entropy ${l.meanEntropy.toFixed(3)}, top-1 repeat ${l.repeatTop1.toFixed(3)} ` +
          `(chance ${l.repeatTop1Chance.toFixed(3)})`,
      );
    }
    return lines.join('\n');
  });
  await engine.dispose();
}

async function cmdBench(v: Values): Promise<void> {
  const engine = await openEngine(v);
  const result = await runBench(engine, {
    promptTokens: int(v['prompt-tokens'], 'prompt-tokens', 1),
    decodeTokens: int(v['decode-tokens'], 'decode-tokens', 1),
    runs: int(v.runs, 'runs', 1),
    threads: int(v.threads, 'threads', 0, MAX_THREADS),
  });
  print(v, result, () => JSON.stringify(result, null, 2));
  await engine.dispose();
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options,
    allowPositionals: true,
    strict: true,
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE + '\n');
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'convert':
      await cmdConvert(values, rest);
      break;
    case 'info':
      await cmdInfo(values);
      break;
    case 'complete':
      await cmdComplete(values);
      break;
    case 'score':
      await cmdScore(values);
      break;
    case 'analyze':
      await cmdAnalyze(values, rest);
      break;
    case 'bench':
      await cmdBench(values);
      break;
    default:
      throw new MoeLensError(
        `unknown command "${command}" (commands: convert, info, complete, score, analyze, bench; see --help)`,
      );
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const oneLine = (m: string) => m.replace(/\s*\n\s*/g, ' ');
    if (e instanceof MoeLensError || e instanceof CancelledError) {
      process.stderr.write(`moe-lens: ${oneLine(e.message)}\n`);
    } else if (
      e instanceof TypeError &&
      'code' in e &&
      String(e.code).startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`moe-lens: ${oneLine(e.message)}\n`);
    } else {
      process.stderr.write(`moe-lens: internal error: ${(e as Error).stack ?? String(e)}\n`);
    }
    process.exitCode = 1;
  },
);
