// `bench`: prefill and decode throughput on synthetic token ids (deterministic), medians of
// repeated runs. Decode feeds the argmax token each step and ignores EOS, so every run decodes
// exactly the requested number of tokens. Time to first token is prefill + picking the first
// token, as in generate(). A prompt may fill the whole context: decode then runs on the prompt's
// first (context − decodeTokens) tokens, so it times the same last positions of the window.
import type { Engine } from './engine';
import { MoeLensError } from '../format/errors';
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
  /** startPosition: how many prompt tokens were cached when decode started. */
  decode: { tokens: number; startPosition: number; tokensPerSecond: number; msPerToken: number };
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
  const ctx = model.config.contextLength;
  if (opts.promptTokens > ctx) {
    throw new MoeLensError(
      `--prompt-tokens ${opts.promptTokens} exceeds the model's context of ${ctx}`,
    );
  }
  if (opts.decodeTokens >= ctx) {
    throw new MoeLensError(
      `--decode-tokens ${opts.decodeTokens} must be below the context of ${ctx}`,
    );
  }
  const decodeFrom = Math.min(opts.promptTokens, ctx - opts.decodeTokens);
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
    let next = argmax(logits);
    const t2 = performance.now();
    if (decodeFrom < opts.promptTokens) {
      slot.truncate(decodeFrom);
      next = prompt[decodeFrom] as number;
    }
    const t3 = performance.now();
    for (let i = 0; i < opts.decodeTokens; i++) {
      ({ logits } = await model.forward(slot, [next], 1));
      next = argmax(logits);
    }
    const t4 = performance.now();
    if (run < 0) continue;
    prefillMs.push(t1 - t0);
    ttft.push(t2 - t0);
    decodeMs.push((t4 - t3) / opts.decodeTokens);
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
    decode: {
      tokens: opts.decodeTokens,
      startPosition: decodeFrom,
      tokensPerSecond: 1000 / msPerToken,
      msPerToken,
    },
    timeToFirstTokenMs: median(ttft),
    peakRssMb: peakRssMb(),
    runs: opts.runs,
  };
}
