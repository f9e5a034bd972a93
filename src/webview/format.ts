// Pure helpers of the routing panel (no DOM): statistics of the shown tokens, warnings, number
// formatting, CSV export. Unit-tested in Node (test/unit/webview/webviewFormat.test.ts).
import type { LayerStats, PanelToken, RoutingStats } from './protocol';

/** Per layer: each expert's share of the routed slots of `tokens` (sums to 1 when any). */
export function tokenLoads(tokens: PanelToken[], layers: number[], experts: number): number[][] {
  return layers.map((layer) => {
    const counts = new Array<number>(experts).fill(0);
    let total = 0;
    for (const t of tokens) {
      const r = t.routing.find((x) => x.layer === layer);
      for (const e of r?.experts ?? []) {
        if (e >= 0 && e < experts) {
          counts[e] = (counts[e] ?? 0) + 1;
          total++;
        }
      }
    }
    return counts.map((c) => (total > 0 ? c / total : 0));
  });
}

/** Coefficient of variation and max violation of a load vector: the statistics' own. */
export { imbalance as loadImbalance, entropy as entropyOf } from '../analysis/routingStats';

export interface LoadWarning {
  layer: number;
  expert: number;
  kind: 'idle' | 'overloaded';
  load: number;
}

/** Idle: below a quarter of the fair share 1/E; overloaded: above twice the fair share. */
export function loadWarnings(layer: number, load: number[]): LoadWarning[] {
  const fair = load.length > 0 ? 1 / load.length : 0;
  const out: LoadWarning[] = [];
  load.forEach((l, expert) => {
    if (l < fair / 4) out.push({ layer, expert, kind: 'idle', load: l });
    else if (l > fair * 2) out.push({ layer, expert, kind: 'overloaded', load: l });
  });
  return out;
}

/** Surprise −log p scaled to [0, 1] against the 95th percentile of the text (robust to spikes). */
export function heatScale(logprobs: (number | null)[]): number[] {
  const s = logprobs.map((lp) => (lp === null ? 0 : Math.max(0, -lp)));
  const sorted = [...s].sort((a, b) => a - b);
  const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0;
  return s.map((x) => (p95 > 0 ? Math.min(1, x / p95) : 0));
}

/** 7.1 M / 16.5 M style counts. */
export function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

export function formatActive(active: number, total: number): string {
  const pct = total > 0 ? Math.round((active / total) * 100) : 0;
  return `${formatParams(active)} of ${formatParams(total)} (${pct} %)`;
}

/** Token text with whitespace made visible (grid headers). */
export function visibleToken(text: string): string {
  if (text === '') return '∅';
  return text.replace(/ /g, '·').replace(/\n/g, '⏎').replace(/\t/g, '→').replace(/\r/g, '␍');
}

/**
 * `s` with the characters XML 1.0 forbids (C0 controls but tab, LF and CR; lone surrogates;
 * U+FFFE, U+FFFF) as U+FFFD: the DOM holds them, but an exported SVG with one would not parse.
 */
export function xmlSafe(s: string): string {
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\p{Cs}]/gu, '\uFFFD');
}

/**
 * One CSV cell. A text starting with = + - @ tab or CR would be a formula in a spreadsheet (class
 * and language names come from the workspace): it gets a leading ' inside a quoted cell (OWASP's
 * CSV-injection advice). Numbers are ours and stay numbers.
 */
export function csvCell(v: string | number): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(6);
  if (/^[=+\-@\t\r]/.test(v)) return `"'${v.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * The statistics as CSV, one row per (layer, expert): load, then the layer's summary metrics
 * (repeated on each of its rows), the expert's top-1... followed by one column per token class
 * and per language (share of that class's/language's routed slots that went to the expert).
 */
export function statsToCsv(stats: RoutingStats): string {
  const classes = [...new Set(stats.layers.flatMap((l) => Object.keys(l.classShares)))].sort();
  const langs = [...new Set(stats.layers.flatMap((l) => Object.keys(l.languageShares)))].sort();
  const head = [
    'layer',
    'expert',
    'load',
    'cv',
    'maxViolation',
    'meanEntropy',
    'topKMass',
    'repeatTop1',
    'repeatTop1Chance',
    ...classes.map((c) => `class:${c}`),
    ...langs.map((l) => `language:${l}`),
  ];
  const rows = [head.map(csvCell).join(',')];
  for (const l of stats.layers) {
    for (let e = 0; e < l.load.length; e++) {
      rows.push(
        [
          l.layer,
          e,
          l.load[e] ?? 0,
          l.cv,
          l.maxViolation,
          l.meanEntropy,
          l.topKMass,
          l.repeatTop1,
          l.repeatTop1Chance,
          ...classes.map((c) => l.classShares[c]?.[e] ?? 0),
          ...langs.map((g) => l.languageShares[g]?.[e] ?? 0),
        ]
          .map(csvCell)
          .join(','),
      );
    }
  }
  return rows.join('\n') + '\n';
}

/** A layer's statistics by layer index. */
export function layerByIndex(stats: RoutingStats, layer: number): LayerStats | undefined {
  return stats.layers.find((l) => l.layer === layer);
}
