// Where routing goes: the small interface the routing panel offers to whoever produces routing.
// Explain and Analyze call it directly (a generation of their own, an analysis); the completion
// pipeline reaches it through `pipelineRouting`, which turns the pipeline's events (tokens of
// many requests, speculative ones, generations that end in nothing) into one stream at a time.
// vscode-free: the adapter's rules are unit-tested in plain Node.
import type { PipelineEvent } from '../../completion/pipeline';
import type { GeneratedToken } from '../../engine/generate';
import type { Analysis } from '../../webview/protocol';

/** A generation that starts streaming into the live view. */
export interface RoutingStart {
  /** Workspace-relative path of the file it is for, and its language. */
  file: string;
  languageId: string;
  /** Open (or bring forward) the panel on the live view: a command the user ran. */
  reveal?: boolean;
}

/** How a streamed generation ended; nothing to show (not done, or empty) restores the last shown. */
export interface RoutingEnd {
  outcome: 'done' | 'cancelled' | 'error';
  text: string;
}

/** Text the user now sees, with the tokens (and their routing) that cover it. */
export interface RoutingShown {
  text: string;
  tokens: GeneratedToken[];
  latencyMs: number;
  /** Workspace-relative path (a URI is made relative by the panel). */
  file: string;
  languageId: string;
}

/** One generation's stream: its tokens and its end. A stream another one replaced is ignored. */
export interface RoutingStream {
  token(t: GeneratedToken): void;
  end(result: RoutingEnd): void;
}

export interface RoutingSink {
  /** A new generation streams into the live view (the latest one wins). */
  start(meta: RoutingStart): RoutingStream;
  shown(s: RoutingShown): void;
  /** An analysis to show (the panel opens on it). */
  analysis(a: Analysis): void;
}

/** A suggestion the editor showed, as the inline provider reports it. */
export interface ShownSuggestionLike {
  text: string;
  tokens: GeneratedToken[];
  latencyMs: number;
  /** The document's URI (uri.toString()). */
  uri: string;
  languageId: string;
}

/** The pipeline's side of the sink: feed it every pipeline event and every shown suggestion. */
export interface PipelineRouting {
  onEvent(e: PipelineEvent): void;
  onShown(s: ShownSuggestionLike): void;
}

/**
 * The completion pipeline's events as routing streams: the tokens of a non-speculative
 * generation stream (a new request id starts a new stream), its generation event ends it, and a
 * suggestion the editor shows replaces the view. Speculative precomputes never stream (shown, if
 * ever, through `onShown`). `currentFile` names the file being typed in. A sink that throws never
 * breaks a completion: the error goes to `warn`.
 */
export function pipelineRouting(
  sink: Pick<RoutingSink, 'start' | 'shown'>,
  currentFile: () => { file: string; languageId: string },
  warn: (message: string) => void,
): PipelineRouting {
  let current: { requestId: number; stream: RoutingStream } | null = null;
  const guarded = (f: () => void) => {
    try {
      f();
    } catch (e) {
      warn(`routing panel: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return {
    onEvent(e) {
      if (e.type === 'token') {
        if (e.speculative) return;
        guarded(() => {
          if (current?.requestId !== e.requestId) {
            current = { requestId: e.requestId, stream: sink.start(currentFile()) };
          }
          current.stream.token(e.token);
        });
      } else if (e.type === 'generation' && !e.speculative && current?.requestId === e.requestId) {
        const { stream } = current;
        current = null;
        guarded(() => stream.end({ outcome: e.outcome, text: e.text }));
      }
    },
    onShown(s) {
      current = null; // later tokens of that request start a new stream
      guarded(() =>
        sink.shown({
          text: s.text,
          tokens: s.tokens,
          latencyMs: s.latencyMs,
          file: s.uri,
          languageId: s.languageId,
        }),
      );
    },
  };
}
