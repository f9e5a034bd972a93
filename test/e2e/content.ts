// Content checks of an accepted suggestion (no browser): TypeScript parse errors, text that
// repeats what was typed, bracket depth, positions; and the latency record of a run.
import * as ts from 'typescript';

/** Parse errors TypeScript's parser reports for `text` (syntax only, no type checking). */
export function parseErrors(text: string, fileName = 'file.ts'): number {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  return (sf as unknown as { parseDiagnostics: readonly unknown[] }).parseDiagnostics.length;
}

/** Offset of a 1-based line and column in `text`. */
export function offsetAt(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) throw new Error(`line ${line} is past the end (${l} lines)`);
    offset = nl + 1;
  }
  return offset + column - 1;
}

/** 1-based line and column of an offset in `text`. */
export function positionAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/** Punctuation a user types before the suggestion that the suggestion must not type again. */
const REPEATABLE = new Set(['=', '(', '.', ',', ':', '[']);

/**
 * Why `inserted` repeats what the user typed on the line (`linePrefix`: the line before the
 * cursor), or null: it starts with whitespace where the line already ends with whitespace or
 * indentation (Tab would indent), with the operator or bracket just typed (`x = = y`, `f((`,
 * `a..b`), or with the line's typed text or its last word again (`return return`).
 */
export function repeatsTyped(linePrefix: string, inserted: string): string | null {
  const typed = linePrefix.trim();
  if (/(^|\s)$/.test(linePrefix) && /^[ \t]/.test(inserted)) {
    return 'starts with whitespace the line already has';
  }
  const last = typed.at(-1);
  const first = inserted.trimStart()[0];
  if (last !== undefined && REPEATABLE.has(last) && first === last) {
    return `repeats the "${last}" just typed`;
  }
  if (typed !== '' && inserted.trimStart().startsWith(typed)) return 'repeats the typed text';
  const word = /([A-Za-z_$][\w$]*)\s*$/.exec(typed)?.[1];
  if (word && /\s$/.test(linePrefix) && new RegExp(`^${word}\\b`).test(inserted.trimStart())) {
    return `repeats the typed word "${word}"`;
  }
  return null;
}

/**
 * The lowest running depth of each bracket kind in `text`: negative means a closing bracket with
 * nothing to close (a duplicated `)` or `}`). Brackets inside strings and comments count too; the
 * fixtures have none there.
 */
export function minBracketDepth(text: string): { round: number; square: number; curly: number } {
  const depth = { round: 0, square: 0, curly: 0 };
  const min = { ...depth };
  const kinds: Record<string, [keyof typeof depth, number]> = {
    '(': ['round', 1],
    ')': ['round', -1],
    '[': ['square', 1],
    ']': ['square', -1],
    '{': ['curly', 1],
    '}': ['curly', -1],
  };
  for (const c of text) {
    const k = kinds[c];
    if (!k) continue;
    depth[k[0]] += k[1];
    min[k[0]] = Math.min(min[k[0]], depth[k[0]]);
  }
  return min;
}

/** Last keystroke → ghost text, per case, for the run's summary (a diagnostic, never asserted). */
export class LatencyLog {
  readonly entries: { label: string; ms: number; warm: boolean }[] = [];

  /** `warm`: false for waits that include a model load (first ghost text, engine restart). */
  record(label: string, ms: number, warm = true): void {
    this.entries.push({ label, ms, warm });
  }

  /** Nearest-rank percentile of the warm entries, or NaN without any. */
  percentile(p: number): number {
    const ms = this.entries
      .filter((e) => e.warm)
      .map((e) => e.ms)
      .sort((a, b) => a - b);
    if (ms.length === 0) return NaN;
    return ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)] ?? NaN;
  }

  /** The diagnostic lines: every latency, then p50/p95 of the warm ones. */
  summary(): string[] {
    const warm = this.entries.filter((e) => e.warm);
    return [
      `e2e latency ms: ${JSON.stringify(this.entries.map((e) => e.ms))}`,
      `e2e latency cases: ${this.entries.map((e) => `${e.label}${e.warm ? '' : ' (cold)'}`).join(', ')}`,
      `e2e latency p50 ${this.percentile(50)} ms, p95 ${this.percentile(95)} ms ` +
        `(${warm.length} warm of ${this.entries.length}; cold waits include a model load)`,
    ];
  }
}
