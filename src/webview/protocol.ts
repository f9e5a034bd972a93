// Messages between the routing panel's webview (src/webview/panel.ts, bundled to media/) and the
// extension host (src/vscode/routingPanel.ts). Plain data only (structured-clone safe); no DOM,
// no Node, no vscode types, so both sides type-check against this one file.
import type { LayerStats, RoutingStats } from '../analysis/routingStats';

export type { LayerStats, RoutingStats };

/** The model the panel describes. */
export interface PanelModel {
  name: string;
  architecture: string;
  layers: number;
  /** Layer indices that have a router (MoE layers), in order. */
  moeLayers: number[];
  experts: number;
  topK: number;
  sharedExperts: number;
  totalParams: number;
  activeParamsPerToken: number;
  executionProvider: string;
}

/** One MoE layer's routing of one token. */
export interface PanelRouting {
  layer: number;
  /** Chosen experts, highest weight first (length k). */
  experts: number[];
  weights: number[];
  /** Full router distribution softmax(z) (length E), when known. */
  probs?: number[];
  /** Entropy of the router distribution, nats, in [0, ln E]. */
  entropy?: number;
}

/** One token of a live completion or an analysed text. */
export interface PanelToken {
  /** Token text increment ('' for a token that ends inside a character). */
  text: string;
  id: number;
  /** log p of this token (null for the first token of a scored text). */
  logprob: number | null;
  routing: PanelRouting[];
  /** Token class (keyword, identifier, string, comment, number, operator, whitespace, other). */
  cls?: string;
}

/** A completion as the live view shows it. */
export interface LiveCompletion {
  /** The panel store's own stream id (1, 2, …), not a pipeline request id; the latest wins. */
  requestId: number;
  /** 'generating' while tokens stream in; 'shown' once the editor showed it; 'cancelled' never
   * reaches the panel (the view falls back to the last shown completion). */
  status: 'generating' | 'shown';
  file: string;
  languageId: string;
  tokens: PanelToken[];
  /** The text inserted as ghost text (may be shorter than the tokens' text). */
  shownText?: string;
  latencyMs?: number;
}

/** A teacher-forced analysis of one text (selection or file): heat map plus statistics. */
export interface TextAnalysis {
  kind: 'text';
  title: string;
  languageId: string;
  tokens: PanelToken[];
  /** True when the text was cut at the token limit. */
  truncated: boolean;
  stats: RoutingStats;
}

/** A workspace analysis: statistics only (no per-token data). */
export interface WorkspaceAnalysis {
  kind: 'workspace';
  title: string;
  stats: RoutingStats;
  /** Files skipped, with the reason (binary, too large, unreadable). */
  skipped: { file: string; reason: string }[];
}

export type Analysis = TextAnalysis | WorkspaceAnalysis;

/** Everything the panel shows; the host resends it after every `ready` (hide/show, reload). */
export interface PanelState {
  model: PanelModel | null;
  live: LiveCompletion | null;
  analysis: Analysis | null;
  /** Which view is in front. */
  view: 'live' | 'analysis';
}

export type HostMessage =
  | { type: 'state'; state: PanelState }
  | { type: 'model'; model: PanelModel | null }
  | { type: 'liveStart'; live: LiveCompletion }
  | { type: 'liveToken'; requestId: number; token: PanelToken }
  | { type: 'liveShown'; live: LiveCompletion }
  /** The streamed generation was cancelled: show `fallback` (the last shown one) again. */
  | { type: 'liveCancelled'; requestId: number; fallback: LiveCompletion | null }
  | { type: 'analysis'; analysis: Analysis }
  | { type: 'view'; view: PanelState['view'] };

export type ExportFormat = 'json' | 'csv' | 'svg' | 'png';

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'view'; view: PanelState['view'] }
  /** Save the current statistics (json, csv) or one chart (svg text, png as a data: URL). */
  | { type: 'export'; format: ExportFormat; name: string; data: string }
  | { type: 'error'; message: string };

/** Longest export the host accepts from the panel (a PNG data URL of a large chart fits). */
export const MAX_EXPORT_CHARS = 64 * 1024 * 1024;
const EXPORT_FORMATS: readonly ExportFormat[] = ['json', 'csv', 'svg', 'png'];
const VIEWS: readonly PanelState['view'][] = ['live', 'analysis'];

/** `o[key]` if `o` has it as its own property (never a prototype key such as `toString`). */
function own(o: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined;
}

function isString(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max;
}

/**
 * A message from the webview, checked against its type (own properties only, known values, size
 * caps), or null: the webview runs our script, but its messages are data, never trusted shapes.
 */
export function parseWebviewMessage(m: unknown): WebviewMessage | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return null;
  const type = own(m, 'type');
  switch (type) {
    case 'ready':
      return { type };
    case 'view': {
      const view = own(m, 'view');
      return VIEWS.find((v) => v === view) ? { type, view: view as PanelState['view'] } : null;
    }
    case 'export': {
      const format = EXPORT_FORMATS.find((f) => f === own(m, 'format'));
      const name = own(m, 'name');
      const data = own(m, 'data');
      if (!format || !isString(name, 200) || !isString(data, MAX_EXPORT_CHARS)) return null;
      return { type, format, name, data };
    }
    case 'error': {
      const message = own(m, 'message');
      return isString(message, 100_000) ? { type, message: message.slice(0, 2000) } : null;
    }
    default:
      return null;
  }
}

export const CHART_NAMES = [
  'load',
  'entropy',
  'coactivation',
  'classShares',
  'languageShares',
  'repetition',
] as const;
