// Single-line fill-in-the-middle through the real engine (ONNX, the editor's prompt builder), on
// the held-out samples training/eval.py writes: the shipped model's quality, and quality per
// latency of several conversions (int4 vs int8) measured side by side, sample by sample.
//
//   python training/eval.py --skip bpb,fim --dump-fim-samples .tmp/fim-samples.jsonl
//   node --import tsx scripts/evalFim.ts --samples .tmp/fim-samples.jsonl \
//       --model models/moe-lens-code --model .tmp/mlc-int8 [--header] [--no-heal] [--threads 2] [--json]
//
// Each sample: the prompt is built by Engine.promptIds exactly as for an editor request (SPM for
// the default model; --header sends the file path like the extension does); greedy decoding of
// at most --max-new-tokens, stopping at a newline or the end token; token healing on unless
// --no-heal (src/engine/tokenHealing.ts). Exact match: the generated
// line equals the masked line, trailing whitespace ignored; edit similarity 1 − Levenshtein /
// longer length — the definitions of training/eval.py, so the two can be compared.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Engine, type PromptInput } from '../src/engine/engine';
import type { GenerationResult } from '../src/engine/generate';

interface Sample {
  path: string;
  language: string | null;
  prefix: string;
  middle: string;
  suffix: string;
}

interface ModelResult {
  model: string;
  dtype: string;
  exactMatch: number;
  editSimilarity: number;
  msPerSampleMedian: number;
  msPerSampleP90: number;
  finish: Record<string, number>;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

export function editSimilarity(a: string, b: string): number {
  if (!a && !b) return 1;
  return 1 - levenshtein(a, b) / Math.max(a.length, b.length);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** The FIM input, with the prefix shortened by whole lines until prompt + generation fit. */
function fitInput(
  engine: Engine,
  s: Sample,
  header: boolean,
  heal: boolean,
  maxNew: number,
): PromptInput {
  let prefix = s.prefix;
  for (;;) {
    const input: PromptInput = { kind: 'fim', prefix, suffix: s.suffix, heal };
    if (header) input.path = s.path;
    const n = engine.promptIds(input).length;
    if (n + maxNew <= engine.model.config.contextLength || prefix === '') return input;
    const nl = prefix.indexOf('\n');
    prefix = nl < 0 ? '' : prefix.slice(nl + 1);
  }
}

async function completeLine(
  engine: Engine,
  input: PromptInput,
  maxNew: number,
): Promise<{ text: string; result: GenerationResult }> {
  const stream = engine.complete(
    input,
    { maxTokens: maxNew, temperature: 0, topP: 1, stop: ['\n'] },
    'eval',
  );
  let text = '';
  let r = await stream.next();
  while (!r.done) {
    text += r.value.text ?? '';
    r = await stream.next();
  }
  return { text: text.split('\n', 1)[0] ?? '', result: r.value };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      samples: { type: 'string' },
      model: { type: 'string', multiple: true },
      header: { type: 'boolean', default: false },
      'no-heal': { type: 'boolean', default: false },
      'max-new-tokens': { type: 'string', default: '48' },
      threads: { type: 'string', default: '2' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.samples || !values.model?.length) {
    throw new Error('usage: --samples FILE.jsonl --model DIR [--model DIR ...]');
  }
  const maxNew = Number(values['max-new-tokens']);
  let samples = readFileSync(values.samples, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Sample);
  if (values.limit) samples = samples.slice(0, Number(values.limit));
  const threads = Number(values.threads);
  const engines = await Promise.all(
    values.model.map((dir) => Engine.open(dir, { executionProvider: 'cpu', threads })),
  );
  const acc = engines.map(() => ({
    em: 0,
    es: 0,
    ms: [] as number[],
    finish: {} as Record<string, number>,
  }));
  for (const [k, s] of samples.entries()) {
    // Models take turns on every sample, so machine noise hits them alike.
    for (const [m, engine] of engines.entries()) {
      const a = acc[m]!;
      const t0 = performance.now();
      const { text, result } = await completeLine(
        engine,
        fitInput(engine, s, values.header, !values['no-heal'], maxNew),
        maxNew,
      );
      a.ms.push(performance.now() - t0);
      const pred = text.trimEnd();
      const target = s.middle.trimEnd();
      a.em += pred === target ? 1 : 0;
      a.es += editSimilarity(pred, target);
      a.finish[result.finishReason] = (a.finish[result.finishReason] ?? 0) + 1;
    }
    if (!values.json && (k + 1) % 100 === 0) {
      process.stderr.write(`${k + 1}/${samples.length}\n`);
    }
  }
  const results: ModelResult[] = engines.map((engine, m) => {
    const a = acc[m]!;
    return {
      model: engine.dir,
      dtype: engine.info().dtype,
      exactMatch: a.em / samples.length,
      editSimilarity: a.es / samples.length,
      msPerSampleMedian: quantile(a.ms, 0.5),
      msPerSampleP90: quantile(a.ms, 0.9),
      finish: a.finish,
    };
  });
  await Promise.all(engines.map((e) => e.dispose()));
  const out = {
    samples: samples.length,
    header: values.header,
    maxNewTokens: maxNew,
    threads,
    results,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    for (const r of results) {
      process.stdout.write(
        `${r.model} (${r.dtype}): EM ${(100 * r.exactMatch).toFixed(1)} %, ES ${r.editSimilarity.toFixed(3)}, ` +
          `median ${r.msPerSampleMedian.toFixed(1)} ms/sample (p90 ${r.msPerSampleP90.toFixed(1)})\n`,
      );
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`evalFim: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
