// The completion pipeline's public types: its settings, a request, a suggestion, the events it
// emits, and what it needs from an engine. Plain data, no behaviour (pipeline.ts re-exports them).
import type { PromptInput } from '../engine/engine';
import type {
  FinishReason,
  GeneratedToken,
  GenerationResult,
  GenerationStats,
} from '../engine/generate';
import type { PromptFit } from '../engine/promptFit';
import type { CompleteOptions } from '../host/protocol';

/** Parse errors of the code without and with a suggestion inserted (the engine's parser). */
export interface SyntaxVerdict {
  method: 'parser' | 'balance' | 'none';
  errorsBefore: number;
  errorsAfter: number;
  ok: boolean;
  reason?: string;
}

export interface SyntaxQuery {
  languageId: string;
  before: string;
  insert: string;
  after: string;
}

/** What the pipeline needs from an engine; EngineClient fits through engineClientAdapter. */
export interface CompletionEngine {
  complete(
    params: { input: PromptInput; options: CompleteOptions; slot: string },
    opts: { signal?: AbortSignal; onToken?: (t: GeneratedToken) => void },
  ): Promise<GenerationResult>;
  /** The quality gate's syntax check, run where the parser lives (the engine process). */
  checkSyntax?(q: SyntaxQuery, opts: { signal?: AbortSignal }): Promise<SyntaxVerdict>;
}

export interface CompletionSettings {
  maxTokens: number;
  temperature: number;
  debounceMs: number;
  contextLines: number;
  secretPatterns: string[];
  extraContext: boolean;
  maxTimeMs: number;
  multiline: boolean;
  /** Shown suggestions need a mean token log-probability at least this (gate.ts). */
  minConfidence: number;
}

export interface CompletionRequest {
  /** Cache identity of the document (uri.toString()). */
  uri: string;
  /** File system path (or uri path), matched against the secret patterns. */
  path: string;
  /** Workspace-relative path shown to the model as the file header (never the home folder). */
  displayPath?: string;
  languageId: string;
  /** The whole document and the cursor's offset in it. */
  text: string;
  offset: number;
  /** Other files as context (most stable first); used when `extraContext` is on. */
  extraFiles?: { path: string; text: string }[];
  signal?: AbortSignal;
  /** Triggered by the user (command, shortcut): no debounce, mid-line allowed. */
  explicit?: boolean;
}

export interface Suggestion {
  /** Text to insert at the cursor. */
  text: string;
  source: 'model' | 'cache' | 'typed-through';
  /** Request → suggestion, without the debounce wait (ms). */
  latencyMs: number;
  /** Time spent in the debounce wait (ms). */
  debounceMs: number;
  /** The generated tokens covering `text` (with their routing), for the routing panel. */
  tokens: GeneratedToken[];
  stats?: GenerationStats;
  /** Mean log-probability of the tokens covering `text` (the gate's confidence). */
  confidence: number;
  requestId: number;
}

/**
 * Why a request shows nothing, as a code the status bar can word (the event's `reason` says it
 * in full for the log).
 */
export type NoneCode = 'empty' | 'low-confidence' | 'syntax' | 'timeout' | 'cancelled';

export type PipelineEvent =
  | { type: 'skip'; requestId: number; reason: string }
  | { type: 'hit'; requestId: number; source: 'cache' | 'typed-through'; empty: boolean }
  | { type: 'debounce'; requestId: number; delayMs: number; superseded: boolean }
  | {
      type: 'generation';
      requestId: number;
      speculative: boolean;
      outcome: 'done' | 'cancelled' | 'error';
      finishReason: FinishReason | undefined;
      stats: GenerationStats | undefined;
      /** What fitting the prompt to the model's context cut. */
      fit: PromptFit | undefined;
      modelMs: number;
      rawText: string;
      /** The suggestion after postprocessing and the gate ('' if discarded, see `discarded`). */
      text: string;
      discarded: string | undefined;
    }
  /** A generated token as it streams (the routing panel's live view). */
  | { type: 'token'; requestId: number; speculative: boolean; token: GeneratedToken }
  | { type: 'suggestion'; requestId: number; suggestion: Suggestion }
  | { type: 'none'; requestId: number; code: NoneCode; reason: string }
  | { type: 'cancelled'; requestId: number }
  | { type: 'error'; requestId: number; message: string };
