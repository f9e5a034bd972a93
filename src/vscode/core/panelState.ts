// What the routing panel shows, kept in the extension host (the webview may be hidden, reloaded
// or not open yet) and the messages that keep a visible webview in step. vscode-free: the live
// view's rules are unit-tested here.
//
// Live view rules: tokens of a (non-speculative) generation stream in as "generating"; when the
// editor shows a suggestion it replaces the view ("shown", only the tokens covering the shown
// text); a generation that is cancelled or yields nothing gives way to the last shown one again.
import type { ModelInfo } from '../../engine/engine';
import type { GeneratedToken } from '../../engine/generate';
import type { LayerRouting } from '../../format/routing';
import type { PipelineEvent } from '../../completion/pipeline';
import type {
  Analysis,
  HostMessage,
  LiveCompletion,
  PanelModel,
  PanelRouting,
  PanelState,
  PanelToken,
} from '../../webview/protocol';

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

export interface ShownSuggestionLike {
  requestId: number;
  text: string;
  tokens: GeneratedToken[];
  latencyMs: number;
  uri: string;
  languageId: string;
}

export class PanelStateStore {
  readonly state: PanelState = { model: null, live: null, analysis: null, view: 'live' };
  /** The last completion the editor showed (the fallback of a cancelled stream). */
  private lastShown: LiveCompletion | null = null;

  constructor(
    private readonly post: (m: HostMessage) => void,
    /** The file the user is typing in (for a streaming completion's header). */
    private readonly currentFile: () => { file: string; languageId: string } = () => ({
      file: '',
      languageId: '',
    }),
  ) {}

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

  onPipelineEvent(e: PipelineEvent): void {
    if (e.type === 'token') {
      if (e.speculative) return; // precomputed for later: shown (if ever) through onShown
      let live = this.state.live;
      if (!live || live.requestId !== e.requestId || live.status !== 'generating') {
        const { file, languageId } = this.currentFile();
        live = { requestId: e.requestId, status: 'generating', file, languageId, tokens: [] };
        this.state.live = live;
        this.post({ type: 'liveStart', live });
      }
      const token = toPanelToken(e.token);
      live.tokens.push(token);
      this.post({ type: 'liveToken', requestId: e.requestId, token });
      return;
    }
    if (e.type !== 'generation' || e.speculative) return;
    const live = this.state.live;
    if (!live || live.requestId !== e.requestId || live.status !== 'generating') return;
    if (e.outcome !== 'done' || e.text === '') this.fallBack(e.requestId);
  }

  onShown(s: ShownSuggestionLike): void {
    const live: LiveCompletion = {
      requestId: s.requestId,
      status: 'shown',
      file: s.uri,
      languageId: s.languageId,
      tokens: s.tokens.map((t) => toPanelToken(t)),
      shownText: s.text,
      latencyMs: s.latencyMs,
    };
    this.lastShown = live;
    this.state.live = live;
    this.post({ type: 'liveShown', live });
  }

  private fallBack(requestId: number): void {
    this.state.live = this.lastShown;
    this.post({ type: 'liveCancelled', requestId, fallback: this.lastShown });
  }
}
