// `npm run bench:analyze -- [--json] [--model DIR] [--files 200] [--runs 1]`: workspace routing
// analysis as the editor runs it: the engine in the forked engine host (dist/engineHost.js), one
// `analyze` call per file (1,024 tokens each at most), classification and statistics in this
// process (the extension host's role), yielding between files. Meanwhile a timer measures how
// long this process's event loop is ever blocked (the editor's responsiveness) and a probe sends
// a 16-token completion every 2 s through the same engine (how long a completion waits).
//
// Files: the first N source files (sorted paths) of this repository's src/, test/, scripts/,
// training/ and the TypeScript of node_modules/@huggingface/jinja and onnx-proto (real code,
// several languages), the same set on every machine with the same checkout.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { analyzeFiles, listSourceFiles } from '../src/analysis/analyzeFiles';
import type { AnalyzedText } from '../src/analysis/analyzeText';
import { defaultModelDir } from '../src/format/modelDir';
import { EngineClient } from '../src/host/engineClient';

const ROOT = resolve(__dirname, '..');
const FOLDERS = [
  'src',
  'test/unit',
  'test/e2e',
  'scripts',
  'training',
  'node_modules/@huggingface/jinja/src',
  'node_modules/onnx-proto/dist',
  'node_modules/typescript-eslint/dist',
  'node_modules/@typescript-eslint/typescript-estree/dist',
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      files: { type: 'string', default: '200' },
      tokens: { type: 'string', default: '1024' },
      threads: { type: 'string', default: '0' },
      json: { type: 'boolean' },
    },
  });
  const modelDir = values.model ?? defaultModelDir(ROOT);
  const maxFiles = Number(values.files);
  const maxTokens = Number(values.tokens);
  const listed = await listSourceFiles(
    FOLDERS.map((f) => join(ROOT, f)),
    maxFiles,
    ROOT,
  );
  const client = new EngineClient({ hostPath: join(ROOT, 'dist', 'engineHost.js') });
  const info = await client.call('load', {
    modelDir,
    executionProvider: 'cpu',
    threads: Number(values.threads),
  });

  const loop = monitorEventLoopDelay({ resolution: 5 });
  const probeWaits: number[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      await new Promise((r) => setTimeout(r, 2000));
      if (!probing) break;
      const t0 = performance.now();
      await client.call('complete', {
        input: {
          kind: 'fim',
          prefix: 'export function add(a: number, b: number) {\n  return ',
          suffix: '\n}\n',
        },
        options: { maxTokens: 16, temperature: 0, topP: 1, stop: ['\n'] },
        slot: 'completion',
      });
      probeWaits.push(performance.now() - t0);
    }
  })();

  loop.enable();
  const t0 = performance.now();
  const stop = async () => {
    probing = false;
    await probe;
    await client.dispose();
  };
  const result = await analyzeFiles(
    listed.files,
    { name: modelDir, ...info },
    (text, o): Promise<AnalyzedText> =>
      client.call('analyze', {
        text,
        maxTokens: o.maxTokens,
        fullProbs: false,
        logprobs: false,
        languageId: o.languageId,
        slot: 'analysis',
      }),
    { maxTokens, betweenFiles: () => new Promise((r) => setImmediate(r)) },
  ).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  const seconds = (performance.now() - t0) / 1000;
  loop.disable();
  await stop();

  const out = {
    model: modelDir,
    files: result.stats.files,
    skipped: [...listed.skipped, ...result.skipped],
    tokens: result.stats.tokens,
    seconds: Math.round(seconds * 10) / 10,
    tokensPerSecond: Math.round(result.stats.tokens / seconds),
    scoringTokensPerSecond: Math.round(result.stats.tokensPerSecond),
    eventLoopMaxBlockMs: Math.round(loop.max / 1e6),
    eventLoopP99Ms: Math.round(loop.percentile(99) / 1e6),
    completionProbe: {
      count: probeWaits.length,
      medianMs: Math.round(median(probeWaits)),
      maxMs: Math.round(Math.max(0, ...probeWaits)),
    },
  };
  if (values.json) process.stdout.write(JSON.stringify(out) + '\n');
  else process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:analyze: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
