// What the routing panel shows, kept in the extension host (the webview may be hidden, reloaded
// or not open yet) and the messages that keep a visible webview in step. vscode-free: the live
// view's rules are unit-tested here.
//
// Live view rules: tokens of a generation stream in as "generating" (the latest stream wins; a
// replaced one is ignored); when the editor shows a suggestion it replaces the view ("shown",
// only the tokens covering the shown text); a generation that is cancelled or yields nothing
// gives way to the last shown one again. Stream ids are the store's own (1, 2, ...), whoever
// produces the routing (the completion pipeline, Explain).
import type { ModelInfo } from '../../engine/engine';
import type { GeneratedToken } from '../../engine/generate';
import type { LayerRouting } from '../../format/routing';
import type {
  Analysis,
  HostMessage,
  LiveCompletion,
  PanelModel,
  PanelRouting,
  PanelState,
  PanelToken,
} from '../../webview/protocol';
import type { RoutingEnd, RoutingShown, RoutingStart, RoutingStream } from './routingSink';
import type { SavedPanelState } from './panelRestore';

export function toPanelRouting(r: LayerRouting & { entropy?: number }): PanelRouting {
  const out: PanelRouting = { layer: r.layer, experts: r.experts, weights: r.weights };
  if (r.probs) out.probs = r.probs;
  if (r.entropy !== undefined) out.entropy = r.entropy;
  return out;
}

export function toPanelToken(
  t: { id: number; text: string | null; logprob: number | null; routing: LayerRouting[] },
  cls?: string,
): PanelToken {
  const out: PanelToken = {
    id: t.id,
    text: t.text ?? '',
    logprob: t.logprob,
    routing: t.routing.map(toPanelRouting),
  };
  if (cls !== undefined) out.cls = cls;
  return out;
}

export function panelModel(name: string, info: ModelInfo): PanelModel {
  return {
    name,
    architecture: info.architecture,
    layers: info.layers,
    moeLayers: info.moeLayers,
    experts: info.experts,
    topK: info.topK,
    sharedExperts: info.sharedExperts,
    totalParams: info.totalParams,
    activeParamsPerToken: info.activeParamsPerToken,
    executionProvider: info.executionProvider,
  };
}

export class PanelStateStore {
  readonly state: PanelState = { model: null, live: null, analysis: null, view: 'live' };
  /** The last completion the editor showed (the fallback of a cancelled stream). */
  private lastShown: LiveCompletion | null = null;
  /** The last stream id handed out (ids of the live view, never the pipeline's request ids). */
  private lastId = 0;

  constructor(private readonly post: (m: HostMessage) => void) {}

  /** The full state, for a webview that just said `ready`. */
  resend(): void {
    this.post({ type: 'state', state: this.state });
  }

  setModel(model: PanelModel | null): void {
    this.state.model = model;
    this.post({ type: 'model', model });
  }

  setView(view: PanelState['view']): void {
    this.state.view = view;
    this.post({ type: 'view', view });
  }

  setAnalysis(analysis: Analysis): void {
    this.state.analysis = analysis;
    this.state.view = 'analysis';
    this.post({ type: 'analysis', analysis });
  }

  /** A generation starts streaming: it replaces whatever streamed before. */
  start(meta: Pick<RoutingStart, 'file' | 'languageId'>): RoutingStream {
    const requestId = ++this.lastId;
    const live: LiveCompletion = {
      requestId,
      status: 'generating',
      file: meta.file,
      languageId: meta.languageId,
      tokens: [],
    };
    this.state.live = live;
    this.post({ type: 'liveStart', live });
    return {
      token: (t) => this.token(requestId, t),
      end: (r) => this.end(requestId, r),
    };
  }

  shown(s: RoutingShown): void {
    const live: LiveCompletion = {
      requestId: ++this.lastId,
      status: 'shown',
      file: s.file,
      languageId: s.languageId,
      tokens: s.tokens.map((t) => toPanelToken(t)),
      shownText: s.text,
      latencyMs: s.latencyMs,
    };
    this.lastShown = live;
    this.state.live = live;
    this.post({ type: 'liveShown', live });
  }

  /**
   * What a panel restored after a window reload saved (panelRestore.ts), where this host has
   * nothing newer; the model stays this host's (none until the engine loads one). Posts nothing:
   * the restored webview gets the whole state when it says `ready`.
   */
  restore(saved: SavedPanelState): void {
    if (this.state.live === null && saved.live !== null) {
      this.state.live = saved.live;
      this.lastShown = saved.live;
      this.lastId = Math.max(this.lastId, saved.live.requestId);
    }
    if (this.state.analysis === null) this.state.analysis = saved.analysis;
    this.state.view = saved.view;
  }

  /** The stream `requestId` while it is the one in the live view, still generating. */
  private streaming(requestId: number): LiveCompletion | null {
    const live = this.state.live;
    return live?.requestId === requestId && live.status === 'generating' ? live : null;
  }

  private token(requestId: number, t: GeneratedToken): void {
    const live = this.streaming(requestId);
    if (!live) return; // another stream replaced it
    const token = toPanelToken(t);
    live.tokens.push(token);
    this.post({ type: 'liveToken', requestId, token });
  }

  private end(requestId: number, r: RoutingEnd): void {
    if (!this.streaming(requestId)) return;
    if (r.outcome !== 'done' || r.text === '') this.fallBack(requestId);
  }

  private fallBack(requestId: number): void {
    this.state.live = this.lastShown;
    this.post({ type: 'liveCancelled', requestId, fallback: this.lastShown });
  }
}
