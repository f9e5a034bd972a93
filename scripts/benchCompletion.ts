// `npm run bench:completion -- [--json] [--model DIR]`: completion latency as a user sees it.
// Replays scripted typing over real source files of this repository, keystroke by keystroke,
// through the CompletionPipeline and the engine: in each file a span of lines is deleted and
// retyped (a line break brings the next line's indentation, as editors auto-indent), with
// pauses drawn from a seeded distribution (60-250 ms between keys, sometimes a longer pause).
// Each keystroke cancels the previous request, as VS Code does. A suggestion the simulated user
// sees and that matches what they are about to type is accepted (then `accepted()` runs the
// speculative precompute, and the following request is at the position after it).
//
// Simulated time: pauses and debounce waits are not slept. A virtual clock runs at real speed
// while the engine is busy (so model latency and keystrokes arriving during a generation are
// real) and jumps over idle time, so the replay costs roughly the engine's busy time.
//
// Reports { requests, p50Ms, p95Ms, cacheHitRate, kvReuseRate, suggestionsPerKeystroke, ... }:
//   p50Ms/p95Ms  request → suggestion (debounce excluded) over suggestions the model produced
//                for that request (cache and typed-through hits excluded);
//   cacheHitRate share of requests answered from the cache (exact or typed-through);
//   kvReuseRate  share of prompt tokens not recomputed (reused KV), over all engine calls;
//   suggestionsPerKeystroke suggestions shown (not superseded) per typed keystroke.
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CompletionPipeline,
  DEFAULT_COMPLETION_SETTINGS,
  engineClientAdapter,
  type CompletionEngine,
  type CompletionRequest,
  type CompletionSettings,
  type PipelineEvent,
  type Suggestion,
} from '../src/completion/pipeline';
import { inProcessEngine } from '../src/completion/inProcessEngine';
import { Engine, defaultModelDir } from '../src/engine/engine';
import { EngineClient } from '../src/host/engineClient';
import { mulberry32 } from '../src/engine/sampler';

const ROOT = resolve(__dirname, '..');

const DEFAULT_FILES = [
  'src/engine/sampler.ts',
  'src/engine/stopSequences.ts',
  'src/engine/kvCache.ts',
  'src/host/engineClient.ts',
  'src/engine/fim.ts',
];

const USAGE = `usage: node --import tsx scripts/benchCompletion.ts [options]
  --model DIR        model folder (default: the model in models/)
  --files a,b        source files to retype (default: ${DEFAULT_FILES.join(',')})
  --lines N          lines deleted and retyped per file (default 4)
  --seed N           typing script seed (default 1)
  --debounce MS      debounce setting (default ${DEFAULT_COMPLETION_SETTINGS.debounceMs})
  --threads N        intra-op threads (default 0: onnxruntime's choice)
  --host             run the engine in the forked engine host (as the extension does)
  --json             print only the JSON result
  --verbose          log pipeline messages to stderr`;

// --- seeded randomness ---------------------------------------------------------------------------

/** Gap before the next key: log-uniform 60-250 ms; 6% thinking pauses of 0.6-2 s; longer after a line. */
function gapMs(rng: () => number, afterNewline: boolean): number {
  if (rng() < 0.06) return 600 + rng() * 1400;
  const g = Math.exp(Math.log(60) + rng() * (Math.log(250) - Math.log(60)));
  return afterNewline ? g + 150 : g;
}

// --- simulated clock -----------------------------------------------------------------------------

interface Timer {
  due: number;
  fn: () => void;
}

/**
 * Virtual time = real time + skipped idle time. While the engine is busy, timers fire in real
 * time; when it is idle, the clock jumps to the next timer.
 */
class SimClock {
  private skipped = 0;
  private timers: Timer[] = [];
  private busy = 0;
  private wake: (() => void) | null = null;

  now = (): number => performance.now() + this.skipped;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolveSleep) => {
      if (ms <= 0 || signal?.aborted) {
        resolveSleep();
        return;
      }
      const t = this.at(this.now() + ms, resolveSleep);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((x) => x !== t);
          resolveSleep();
        },
        { once: true },
      );
    });

  at(due: number, fn: () => void): Timer {
    const t = { due, fn };
    this.timers.push(t);
    this.wake?.();
    return t;
  }

  /** Marks the engine busy while `p` runs. */
  track<T>(p: Promise<T>): Promise<T> {
    this.busy++;
    return p.finally(() => {
      this.busy--;
      this.wake?.();
    });
  }

  get skippedMs(): number {
    return this.skipped;
  }

  async run(): Promise<void> {
    for (;;) {
      // Let pending promise chains run (they may start engine calls or set timers).
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      if (this.timers.length === 0 && this.busy === 0) return;
      this.timers.sort((a, b) => a.due - b.due);
      const next = this.timers[0];
      if (this.busy > 0) {
        const wait = next ? Math.max(0, next.due - this.now()) : -1;
        await new Promise<void>((r) => {
          this.wake = r;
          if (wait >= 0) setTimeout(r, wait);
        });
        this.wake = null;
      } else if (next && next.due > this.now()) {
        this.skipped += next.due - this.now();
      }
      const now = this.now();
      const due = this.timers.filter((t) => t.due <= now);
      this.timers = this.timers.filter((t) => t.due > now);
      for (const t of due) t.fn();
    }
  }
}

// --- typing script -------------------------------------------------------------------------------

interface Edit {
  /** Text inserted at the cursor by this keystroke (a char, or a line break + indentation). */
  insert: string;
}

interface FileScript {
  path: string;
  /** Document with the span deleted, and where the span was. */
  start: string;
  offset: number;
  /** The text to retype. */
  target: string;
}

/** Picks a span of `lines` lines with code in it (seeded) and deletes it. */
function makeScript(path: string, lines: number, rng: () => number): FileScript {
  const text = readFileSync(path, 'utf8');
  const all = text.split('\n');
  const candidates: number[] = [];
  for (let i = 10; i + lines < all.length - 2; i++) {
    const span = all.slice(i, i + lines);
    const code = span.filter((l) => l.trim().length > 0 && !l.trim().startsWith('//'));
    if (code.length === lines && /^\s+\S/.test(all[i] ?? '')) candidates.push(i);
  }
  const first =
    candidates.length > 0 ? (candidates[Math.floor(rng() * candidates.length)] as number) : 0;
  const before = all.slice(0, first).join('\n') + (first > 0 ? '\n' : '');
  const span = all.slice(first, first + lines).join('\n');
  const after = all.slice(first + lines).join('\n');
  // The span's first line is retyped from its indentation (the editor keeps the blank line).
  const indent = /^\s*/.exec(span)?.[0] ?? '';
  return {
    path,
    start: before + indent + '\n' + after,
    offset: before.length + indent.length,
    target: span.slice(indent.length),
  };
}

/** Keystrokes for `target`: one char each; a line break carries the next line's indentation. */
function keystrokes(target: string): Edit[] {
  const edits: Edit[] = [];
  for (let i = 0; i < target.length; i++) {
    const ch = target[i] as string;
    if (ch === '\n') {
      const indent = /^[ \t]*/.exec(target.slice(i + 1))?.[0] ?? '';
      edits.push({ insert: '\n' + indent });
      i += indent.length;
    } else {
      edits.push({ insert: ch });
    }
  }
  return edits;
}

// --- the replay ----------------------------------------------------------------------------------

interface Totals {
  requests: number;
  keystrokes: number;
  accepted: number;
  shown: number;
  modelLatencies: number[];
  hits: number;
  promptTokens: number;
  reusedTokens: number;
  engineCalls: number;
  cancelledCalls: number;
  superseded: number;
  skipped: number;
  debounceMs: number[];
}

async function replayFile(
  pipeline: CompletionPipeline,
  clock: SimClock,
  script: FileScript,
  rng: () => number,
  totals: Totals,
): Promise<void> {
  let doc = script.start;
  let offset = script.offset;
  let remaining = script.target;
  const edits = keystrokes(script.target);
  let next = 0;
  let controller: AbortController | null = null;
  let current: CompletionRequest | null = null;
  let shown: { req: CompletionRequest; suggestion: Suggestion } | null = null;
  const uri = `file://${script.path}`;
  const path = script.path;

  const request = (): void => {
    controller?.abort(); // VS Code cancels the previous request on every change
    controller = new AbortController();
    const r: CompletionRequest = {
      uri,
      path,
      languageId: 'typescript',
      text: doc,
      offset,
      signal: controller.signal,
    };
    current = r;
    shown = null;
    totals.requests++;
    void pipeline.complete(r).then(
      (s) => {
        if (!s || current !== r) return;
        shown = { req: r, suggestion: s };
        totals.shown++;
        if (s.source === 'model') totals.modelLatencies.push(s.latencyMs);
        else totals.hits++;
      },
      (e: unknown) => {
        console.error(`completion request failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };

  const insert = (text: string): void => {
    doc = doc.slice(0, offset) + text + doc.slice(offset);
    offset += text.length;
    remaining = remaining.slice(text.length);
  };

  const step = (): void => {
    if (remaining.length === 0) {
      controller?.abort();
      return;
    }
    // The user takes a suggestion that is exactly what they were about to type.
    const s = shown as { req: CompletionRequest; suggestion: Suggestion } | null;
    if (s && remaining.startsWith(s.suggestion.text) && rng() < 0.9) {
      totals.accepted++;
      pipeline.accepted(s.req, s.suggestion.text);
      insert(s.suggestion.text);
      while (next < edits.length && script.target.length - remaining.length > consumed(next)) {
        next++;
      }
    } else {
      const e = edits[next++];
      if (!e) return;
      totals.keystrokes++;
      insert(e.insert);
    }
    request();
    clock.at(
      clock.now() +
        gapMs(rng, doc[offset - 1] === '\n' || /\n\s*$/.test(doc.slice(offset - 8, offset))),
      step,
    );
  };

  // Chars of the target consumed by the first n keystrokes.
  const prefixLengths: number[] = [0];
  for (const e of edits) {
    prefixLengths.push((prefixLengths[prefixLengths.length - 1] as number) + e.insert.length);
  }
  const consumed = (n: number): number => prefixLengths[n] ?? script.target.length;

  clock.at(clock.now(), step);
  await clock.run();
}

function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i] as number;
}

const round = (x: number, d = 1): number =>
  Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      files: { type: 'string' },
      lines: { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
      debounce: { type: 'string' },
      threads: { type: 'string', default: '0' },
      host: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const modelDir = resolve(values.model ?? defaultModelDir(ROOT));
  const files = (values.files ? values.files.split(',') : DEFAULT_FILES).map((f) =>
    resolve(ROOT, f),
  );
  const lines = Number(values.lines);
  const seed = Number(values.seed);
  const threads = Number(values.threads);
  const settings: CompletionSettings = {
    ...DEFAULT_COMPLETION_SETTINGS,
    ...(values.debounce !== undefined ? { debounceMs: Number(values.debounce) } : {}),
  };

  const clock = new SimClock();
  let inner: CompletionEngine;
  let close: () => Promise<void>;
  if (values.host) {
    const client = new EngineClient({
      hostPath: join(ROOT, 'src', 'host', 'engineHost.ts'),
      execArgv: ['--import', 'tsx'],
    });
    await client.call('load', { modelDir, executionProvider: 'cpu', threads });
    inner = engineClientAdapter(client);
    close = async () => client.dispose();
  } else {
    const engine = await Engine.open(modelDir, { executionProvider: 'cpu', threads });
    inner = inProcessEngine(engine);
    close = () => engine.dispose();
  }
  const engine: CompletionEngine = {
    complete: (params, opts) => clock.track(inner.complete(params, opts)),
  };

  const totals: Totals = {
    requests: 0,
    keystrokes: 0,
    accepted: 0,
    shown: 0,
    modelLatencies: [],
    hits: 0,
    promptTokens: 0,
    reusedTokens: 0,
    engineCalls: 0,
    cancelledCalls: 0,
    superseded: 0,
    skipped: 0,
    debounceMs: [],
  };
  const pipeline = new CompletionPipeline(
    engine,
    () => settings,
    () => {},
    {
      now: clock.now,
      sleep: clock.sleep,
    },
  );
  pipeline.onEvent = (e: PipelineEvent) => {
    if (e.type === 'generation') {
      totals.engineCalls++;
      if (e.outcome === 'cancelled') totals.cancelledCalls++;
      if (e.stats) {
        totals.promptTokens += e.stats.promptTokens;
        totals.reusedTokens += e.stats.reusedTokens;
      }
    } else if (e.type === 'debounce') {
      totals.debounceMs.push(e.delayMs);
      if (e.superseded) totals.superseded++;
    } else if (e.type === 'skip') {
      totals.skipped++;
    }
  };

  // Warm-up: one short request loads kernels and allocators (not counted; its own KV slot).
  await inner.complete(
    {
      input: { kind: 'fim', prefix: 'function warmUp() {\n  return ', suffix: ';\n}\n' },
      options: { maxTokens: 4, temperature: 0, topP: 1 },
      slot: 'warmup',
    },
    {},
  );

  const rng = mulberry32(seed);
  const t0 = performance.now();
  for (const file of files) {
    await replayFile(pipeline, clock, makeScript(file, lines, rng), rng, totals);
  }
  const wallMs = performance.now() - t0;
  pipeline.dispose();
  await close();

  const result = {
    requests: totals.requests,
    p50Ms: round(percentile(totals.modelLatencies, 0.5)),
    p95Ms: round(percentile(totals.modelLatencies, 0.95)),
    cacheHitRate: round(totals.requests ? totals.hits / totals.requests : 0, 3),
    kvReuseRate: round(totals.promptTokens ? totals.reusedTokens / totals.promptTokens : 0, 3),
    suggestionsPerKeystroke: round(totals.keystrokes ? totals.shown / totals.keystrokes : 0, 3),
    keystrokes: totals.keystrokes,
    accepted: totals.accepted,
    modelSuggestions: totals.modelLatencies.length,
    cacheHits: totals.hits,
    engineCalls: totals.engineCalls,
    cancelledEngineCalls: totals.cancelledCalls,
    debounceSuperseded: totals.superseded,
    meanDebounceMs: round(
      totals.debounceMs.reduce((a, b) => a + b, 0) / Math.max(1, totals.debounceMs.length),
    ),
    promptTokens: totals.promptTokens,
    reusedTokens: totals.reusedTokens,
    wallMs: Math.round(wallMs),
    simulatedMs: Math.round(wallMs + clock.skippedMs),
    model: relative(ROOT, modelDir) || modelDir,
    engine: values.host ? 'host' : 'in-process',
    files: files.map((f) => relative(ROOT, f)),
    linesPerFile: lines,
    seed,
  };
  if (values.json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(JSON.stringify(result, null, 2));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
