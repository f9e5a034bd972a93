// One Explain generation, without the editor: the engine call with its streamed tokens (handed
// on as they come, for the routing panel and the explanation document) and what Explain keeps of
// it: the text, every token and the prefill time. Also the batching of streamed text into editor
// appends (one edit per interval keeps the editor smooth while tokens stream).
import type { CompletionEngine } from '../completion/types';
import type { GeneratedToken } from '../engine/generate';
import type { EngineApi } from '../host/protocol';

export interface ExplainGeneration {
  /** The generated text ('' when the engine reports none). */
  text: string;
  /** Every generated token, in order, with its routing. */
  tokens: GeneratedToken[];
  /** Prefill time (ms): how long the user waited for the first token. */
  latencyMs: number;
}

/** Runs `params` on the engine, calling `onToken` for each token as it streams. */
export async function explainGenerate(
  engine: Pick<CompletionEngine, 'complete'>,
  params: EngineApi['complete']['params'],
  opts: { signal?: AbortSignal; onToken?: (t: GeneratedToken) => void },
): Promise<ExplainGeneration> {
  const tokens: GeneratedToken[] = [];
  const result = await engine.complete(params, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    onToken: (t) => {
      tokens.push(t);
      opts.onToken?.(t);
    },
  });
  return { text: result.text ?? '', tokens, latencyMs: result.stats.prefillMs };
}

/**
 * Streamed text batched into appends: `push` collects, `flush` hands what was collected to
 * `append` after the previous append finished (appends never overlap and keep their order).
 * `start(ms)` flushes on an interval until `stop()`, which flushes what is left.
 */
export class BatchedAppender {
  private pending = '';
  private flushing: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly append: (text: string) => PromiseLike<unknown>) {}

  push(text: string): void {
    this.pending += text;
  }

  flush(): Promise<unknown> {
    const text = this.pending;
    this.pending = '';
    if (text === '') return this.flushing;
    this.flushing = this.flushing.then(() => this.append(text));
    return this.flushing;
  }

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => void this.flush(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
