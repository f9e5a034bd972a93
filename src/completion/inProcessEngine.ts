// An in-process Engine (src/engine/engine.ts) as a CompletionEngine, with the syntax check run
// in the same process: for tests, benchmarks and `eval:editor`. Never imported by the extension.
import type { PromptInput } from '../engine/engine';
import type { GeneratedToken, GenerationResult } from '../engine/generate';
import { checkSyntax } from '../language/syntaxCheck';
import type { CompleteOptions } from '../host/protocol';
import type { CompletionEngine } from './types';

export function inProcessEngine(
  engine: {
    complete(
      input: PromptInput,
      opts: CompleteOptions & { signal?: AbortSignal },
      slot: string,
    ): AsyncGenerator<GeneratedToken, GenerationResult>;
  },
  opts: { syntax?: boolean } = {},
): CompletionEngine {
  const e: CompletionEngine = {
    async complete(params, o) {
      const stream = engine.complete(
        params.input,
        { ...params.options, signal: o.signal },
        params.slot,
      );
      let r = await stream.next();
      while (!r.done) {
        o.onToken?.(r.value);
        r = await stream.next();
      }
      return r.value;
    },
  };
  if (opts.syntax ?? true) e.checkSyntax = (q) => Promise.resolve(checkSyntax(q));
  return e;
}
