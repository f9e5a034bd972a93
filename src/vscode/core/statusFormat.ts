// What the status bar item shows, as a pure function of the engine state, the enable setting and
// the last suggestion: a short text and a Markdown tooltip. statusBar.ts only renders it.
import { basename } from 'node:path';
import type { NoneCode, PipelineEvent } from '../../completion/types';
import type { PromptFit } from '../../engine/promptFit';
import type { EngineState } from './engineManager';

export type StatusKind = 'idle' | 'loading' | 'ready' | 'error' | 'disabled';

/** Timing of the last suggestion shown. Cache and type-through hits have no model stats. */
export interface LastSuggestion {
  source: 'model' | 'cache' | 'typed-through';
  latencyMs: number;
  prefillMs?: number;
  firstTokenMs?: number;
  tokensPerSecond?: number;
  tokens: number;
}

/** What the completion pipeline is doing for the user, from its events (nextActivity). */
export type Activity =
  | { kind: 'idle' }
  | { kind: 'thinking' }
  | { kind: 'shown' }
  | { kind: 'none'; code: NoneCode; reason: string }
  | { kind: 'failed'; message: string };

/** The status bar's words for why nothing was shown. */
export const NONE_WORDS: Record<NoneCode, string> = {
  empty: 'nothing to suggest',
  'low-confidence': 'no confident suggestion',
  syntax: 'no suggestion that parses',
  timeout: 'out of time',
  cancelled: 'cancelled',
};

/** The activity after a pipeline event (speculative work and skips leave it as it was). */
export function nextActivity(prev: Activity, e: PipelineEvent): Activity {
  switch (e.type) {
    case 'debounce':
      return e.superseded ? prev : { kind: 'thinking' };
    case 'token':
      return e.speculative ? prev : { kind: 'thinking' };
    case 'suggestion':
      return { kind: 'shown' };
    case 'none':
      return e.code === 'cancelled' ? prev : { kind: 'none', code: e.code, reason: e.reason };
    case 'error':
      return { kind: 'failed', message: e.message };
    case 'cancelled':
      return prev.kind === 'thinking' ? { kind: 'idle' } : prev;
    default:
      return prev;
  }
}

/** "file too long for this model: using the last N lines", when fitting cut the prefix. */
export function fitNote(fit: PromptFit | undefined): string | undefined {
  if (!fit || fit.prefixLinesDropped === 0) return undefined;
  return `file too long for this model: using the last ${fit.prefixLinesKept} lines`;
}

export interface StatusInput {
  enabled: boolean;
  /** Enabled for the active editor's language (undefined: no editor). */
  languageEnabled?: boolean;
  languageId?: string;
  engine: EngineState;
  last?: LastSuggestion;
  activity?: Activity;
  /** fitNote() of the last generation. */
  fitNote?: string;
}

export interface StatusView {
  kind: StatusKind;
  text: string;
  tooltip: string;
}

/** 1234 → "1.2k", 8_400_000 → "8.4M", 1.5e9 → "1.5B" (3 significant digits at most). */
export function formatCount(n: number): string {
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) {
    if (Math.abs(n) >= size) {
      const v = n / size;
      return `${v >= 100 ? Math.round(v) : Number(v.toPrecision(v >= 10 ? 3 : 2))}${unit}`;
    }
  }
  return String(Math.round(n));
}

export function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** "prefill 12 ms · first token 20 ms · total 84 ms · 35.2 tok/s" (or "cache hit · 2 ms"). */
export function formatLatency(last: LastSuggestion): string {
  if (last.source !== 'model') {
    return `${last.source === 'cache' ? 'cache hit' : 'typed through'} · ${formatMs(last.latencyMs)}`;
  }
  const parts: string[] = [];
  if (last.prefillMs !== undefined) parts.push(`prefill ${formatMs(last.prefillMs)}`);
  if (last.firstTokenMs !== undefined && last.tokens > 0) {
    parts.push(`first token ${formatMs(last.firstTokenMs)}`);
  }
  parts.push(`total ${formatMs(last.latencyMs)}`);
  if (last.tokensPerSecond !== undefined && last.tokensPerSecond > 0) {
    parts.push(`${last.tokensPerSecond.toFixed(1)} tok/s`);
  }
  return parts.join(' · ');
}

const ICON: Record<StatusKind, string> = {
  idle: '$(sparkle)',
  ready: '$(sparkle)',
  loading: '$(loading~spin)',
  error: '$(error)',
  disabled: '$(circle-slash)',
};

export function statusView(input: StatusInput): StatusView {
  const lines: string[] = ['**MoE Lens**', ''];
  let kind: StatusKind;
  let icon: string | undefined;
  let label = 'MoE Lens';
  const e = input.engine;
  if (!input.enabled) {
    kind = 'disabled';
    lines.push('Inline completion is **disabled**.');
  } else if (e.kind === 'loading') {
    kind = 'loading';
    lines.push(`Loading model \`${basename(e.modelDir)}\`…`);
  } else if (e.kind === 'error') {
    kind = 'error';
    lines.push(`Error: ${e.message}`);
  } else if (e.kind === 'unloaded') {
    kind = 'idle';
    lines.push(
      e.reason ? `Model unloaded (${e.reason}).` : 'Model not loaded yet: it loads on first use.',
    );
  } else {
    kind = 'ready';
    const info = e.info;
    label = basename(e.modelDir);
    const share = info.totalParams > 0 ? info.activeParamsPerToken / info.totalParams : 0;
    lines.push(
      `Model: \`${label}\` (${info.architecture}, ${info.dtype})`,
      `Execution provider: ${info.executionProvider}`,
      `Parameters: ${formatCount(info.activeParamsPerToken)} active / ` +
        `${formatCount(info.totalParams)} total per token (${(share * 100).toFixed(0)}%)`,
      `Experts: top-${info.topK} of ${info.experts}` +
        (info.sharedExperts > 0 ? ` + ${info.sharedExperts} shared` : '') +
        ` in ${info.moeLayers.length} of ${info.layers} layers`,
    );
    if (input.last) lines.push(`Last suggestion: ${formatLatency(input.last)}`);
    const a = input.activity ?? { kind: 'idle' };
    if (a.kind === 'thinking') {
      icon = '$(loading~spin)';
      lines.push('Thinking…');
    } else if (a.kind === 'none') {
      label += ` · ${NONE_WORDS[a.code]}`;
      lines.push(`No suggestion: ${a.reason}`);
    } else if (a.kind === 'failed') {
      icon = '$(warning)';
      label += ' · error';
      lines.push(`Last request failed: ${a.message}`);
    } else if (input.last) {
      label += ` ${formatMs(input.last.latencyMs)}`;
    }
    if (input.fitNote) lines.push(`Note: ${input.fitNote}.`);
  }
  if (input.enabled && input.languageEnabled === false && input.languageId) {
    lines.push(`Off for \`${input.languageId}\` (moeLens.languages).`);
  }
  lines.push('', 'Click for options.');
  // Markdown needs two trailing spaces for a line break inside a paragraph.
  return { kind, text: `${icon ?? ICON[kind]} ${label}`, tooltip: lines.join('  \n') };
}

/** The status bar's view of a suggestion. */
export function lastFromSuggestion(s: {
  source: LastSuggestion['source'];
  latencyMs: number;
  tokens: unknown[];
  stats?: { prefillMs: number; timeToFirstTokenMs: number; decodeTokensPerSecond: number };
}): LastSuggestion {
  return {
    source: s.source,
    latencyMs: s.latencyMs,
    tokens: s.tokens.length,
    ...(s.stats && s.source === 'model'
      ? {
          prefillMs: s.stats.prefillMs,
          firstTokenMs: s.stats.timeToFirstTokenMs,
          tokensPerSecond: s.stats.decodeTokensPerSecond,
        }
      : {}),
  };
}
