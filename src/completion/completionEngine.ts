// The engine as the completion pipeline sees it (types.ts `CompletionEngine`): the engine host's
// client in the extension. The in-process engine for tests and benchmarks is in inProcessEngine.ts,
// kept apart so the extension bundle never pulls in the engine or its parser.
import type { GeneratedToken } from '../engine/generate';
import type { EngineApi } from '../host/protocol';
import type { CompletionEngine } from './types';

/** The engine host's client (src/host/engineClient.ts) as a CompletionEngine. */
export function engineClientAdapter(client: {
  call<M extends 'complete' | 'checkSyntax'>(
    method: M,
    params: EngineApi[M]['params'],
    opts: { signal?: AbortSignal; onToken?: (t: GeneratedToken) => void },
  ): Promise<EngineApi[M]['result']>;
}): CompletionEngine {
  return {
    complete: (params, opts) => client.call('complete', params, opts),
    checkSyntax: (q, opts) => client.call('checkSyntax', q, opts),
  };
}
