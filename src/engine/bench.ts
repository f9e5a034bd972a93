// `bench`: prefill and decode throughput on synthetic token ids (deterministic), medians of
// repeated runs. Decode feeds the argmax token each step and ignores EOS, so every run decodes
// exactly the requested number of tokens.
import type { Engine } from './engine';
import { peakRssMb, prefill } from './generate';

export interface BenchOptions {
  promptTokens: number;
  decodeTokens: number;
  runs: number;
  threads: number;
}

export interface BenchResult {
  model: string;
  executionProvider: string;
  threads: number;
  prefill: { tokens: number; tokensPerSecond: number };
  decode: { tokens: number; tokensPerSecond: number; msPerToken: number };
  timeToFirstTokenMs: number;
  peakRssMb: number;
  runs: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if ((x[i] as number) > (x[best] as number)) best = i;
  return best;
}

export async function runBench(engine: Engine, opts: BenchOptions): Promise<BenchResult> {
  const model = engine.model;
  const V = model.config.vocabSize;
  // A fixed pseudo-random prompt (LCG) so runs and machines are comparable.
  let seed = 12345;
  const prompt = Array.from({ length: opts.promptTokens }, () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % V;
  });
  const slot = model.newSlot();
  const prefillMs: number[] = [];
  const ttft: number[] = [];
  const decodeMs: number[] = [];
  // One warm-up run (allocator, kernel caches), then the measured runs.
  for (let run = -1; run < opts.runs; run++) {
    slot.reset();
    const t0 = performance.now();
    let { logits } = await prefill(model, slot, prompt, opts.promptTokens);
    const t1 = performance.now();
    ({ logits } = await model.forward(slot, [argmax(logits)], 1));
    const t2 = performance.now();
    for (let i = 1; i < opts.decodeTokens; i++) {
      ({ logits } = await model.forward(slot, [argmax(logits)], 1));
    }
    const t3 = performance.now();
    if (run < 0) continue;
    prefillMs.push(t1 - t0);
    ttft.push(t2 - t0);
    decodeMs.push((t3 - t1) / opts.decodeTokens);
  }
  const msPerToken = median(decodeMs);
  return {
    model: model.config.dir,
    executionProvider: model.executionProvider,
    threads: opts.threads,
    prefill: {
      tokens: opts.promptTokens,
      tokensPerSecond: (opts.promptTokens / median(prefillMs)) * 1000,
    },
    decode: { tokens: opts.decodeTokens, tokensPerSecond: 1000 / msPerToken, msPerToken },
    timeToFirstTokenMs: median(ttft),
    peakRssMb: peakRssMb(),
    runs: opts.runs,
  };
}
