// The one protocol between the extension host (or any client) and the engine host process.
// Every request names a method of EngineApi; the child answers with a result or an error, and
// streams generated tokens as `token` events before a `complete` result.
import type { AnalyzedText } from '../analysis/analyzeText';
import type { ModelInfo, PromptInput } from '../engine/engine';
import type { GenerateOptions, GeneratedToken, GenerationResult } from '../engine/generate';
import type { ScoredToken } from '../engine/score';
import type { SyntaxCheckInput, SyntaxCheckResult } from '../language/syntaxCheck';
import type { ExecutionProvider } from '../engine/session';

export interface LoadParams {
  modelDir: string;
  executionProvider: ExecutionProvider;
  threads: number;
}

export type CompleteOptions = Omit<GenerateOptions, 'signal'>;

/** Request and response types of each method. */
export interface EngineApi {
  load: { params: LoadParams; result: ModelInfo };
  complete: {
    params: { input: PromptInput; options: CompleteOptions; slot: string };
    result: GenerationResult;
  };
  score: { params: { ids: number[]; fullProbs: boolean; slot: string }; result: ScoredToken[] };
  /** Teacher-forced routing analysis of a text (src/analysis/analyzeText.ts). */
  analyze: {
    params: {
      text: string;
      maxTokens: number;
      fullProbs: boolean;
      /** false: routing only (workspace statistics), no log-probs. */
      logprobs?: boolean;
      /** VS Code language id: the result then carries each token's syntax class. */
      languageId?: string;
      slot: string;
    };
    result: AnalyzedText;
  };
  encode: { params: { text: string }; result: number[] };
  /** The completion gate's syntax check (src/language/syntaxCheck.ts); needs no model. */
  checkSyntax: { params: SyntaxCheckInput; result: SyntaxCheckResult };
  unload: { params: Record<string, never>; result: null };
}

export type Method = keyof EngineApi;

/** The error message of a call that needs a model before `load`. */
export const NO_MODEL_LOADED = 'no model loaded';

export type HostRequest =
  { type: 'call'; id: number; method: Method; params: unknown } | { type: 'cancel'; id: number };

export interface WireError {
  message: string;
  /** user: a MoeLensError (bad input); cancelled; internal: a bug or a crash. */
  kind: 'user' | 'cancelled' | 'internal';
  /** A prompt over the model's context (ContextOverflowError): its tokens and the limit. */
  overflow?: { tokens: number; limit: number };
}

export type HostResponse =
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'token'; id: number; token: GeneratedToken }
  | { type: 'ready' };
