// What the vscode layer uses of the completion pipeline (src/completion/pipeline.ts): its
// settings built from ours, and one log line per pipeline event.
import type {
  CompletionPipeline,
  CompletionSettings,
  PipelineEvent,
} from '../../completion/pipeline';
import type { MoeLensSettings } from './settingsSchema';

export type { CompletionRequest, Suggestion } from '../../completion/pipeline';

/** The part of the pipeline the inline provider calls (tests pass fakes). */
export type CompletionPipelineLike = Pick<CompletionPipeline, 'complete' | 'accepted'>;

/** The pipeline's settings, from ours. */
export function completionSettings(s: MoeLensSettings): CompletionSettings {
  return {
    maxTokens: s.maxTokens,
    temperature: s.temperature,
    debounceMs: s.debounceMs,
    contextLines: s.contextLines,
    secretPatterns: [...s.secretPatterns],
    extraContext: s.extraContext,
    maxTimeMs: s.maxTimeMs,
    multiline: s.multiline,
    minConfidence: s.minConfidence,
  };
}

const ms = (n: number) => `${Math.round(n)} ms`;

/** One compact log line per event (tokens and routing left out); null: not worth a line. */
export function describePipelineEvent(e: PipelineEvent): string | null {
  const id = `#${e.requestId}`;
  switch (e.type) {
    case 'skip':
      return `${id} skipped: ${e.reason}`;
    case 'hit':
      return `${id} ${e.source} hit${e.empty ? ' (empty)' : ''}`;
    case 'debounce':
      return e.superseded ? null : `${id} debounced ${ms(e.delayMs)}`;
    case 'generation': {
      const st = e.stats;
      const parts = [
        `${id} ${e.speculative ? 'speculative ' : ''}generation ${e.outcome}`,
        e.finishReason ? `finish ${e.finishReason}` : '',
        `model ${ms(e.modelMs)}`,
        st ? `prompt ${st.promptTokens} (reused ${st.reusedTokens})` : '',
        st ? `prefill ${ms(st.prefillMs)}` : '',
        st ? `${st.decodeTokens} tokens at ${st.decodeTokensPerSecond.toFixed(1)} tok/s` : '',
        // The raw text says why (e.g. the model closed the block at once); capped for the log.
        e.discarded
          ? `discarded: ${e.discarded} (raw ${JSON.stringify(e.rawText.slice(0, 80))})`
          : '',
      ];
      return parts.filter((p) => p !== '').join(', ');
    }
    case 'token':
      return null; // one line per token would drown the log
    case 'suggestion':
      return `${id} suggestion (${e.suggestion.source}, ${e.suggestion.text.length} chars, ${ms(e.suggestion.latencyMs)})`;
    case 'none':
      return `${id} no suggestion: ${e.reason}`;
    case 'cancelled':
      return null;
    case 'error':
      return `${id} error: ${e.message}`;
  }
}
