// Stage: the quality gate, after postprocessing. A suggestion the user would have to undo costs
// more than no suggestion, so fewer, better ones are shown:
//   1. confidence: the mean log-probability of the tokens that make up the suggestion must reach
//      `minConfidence` (calibrated by `npm run eval:editor`'s sweep, docs/BENCHMARKS.md);
//   2. syntax: the code with the suggestion inserted must not have more parse errors than
//      without it (TypeScript's parser for JS/TS, bracket and quote balance otherwise). The
//      parser runs in the engine process (language/syntaxCheck.ts), not in the extension host.
// Every drop has a reason, for the log, the status bar and the evaluation.
import type { GeneratedToken } from '../engine/generate';
import type { SyntaxVerdict } from './types';

/** Default of `moeLens.minConfidence` (mean token log-probability; see docs/BENCHMARKS.md). */
export const DEFAULT_MIN_CONFIDENCE = -1;

/** Mean log-probability of `tokens` (0 for none: nothing generated, nothing doubted). */
export function confidence(tokens: readonly GeneratedToken[]): number {
  if (tokens.length === 0) return 0;
  let sum = 0;
  for (const t of tokens) sum += t.logprob;
  return sum / tokens.length;
}

export type GateResult =
  { ok: true } | { ok: false; code: 'low-confidence' | 'syntax'; reason: string };

/**
 * How many leading lines of a multi-line `raw` text the model was sure of: lines are kept while
 * each one's mean token log-probability reaches `min` (the first line must too; 0: none). A
 * block whose later lines are guesses is shown up to where the guessing starts. A token counts
 * for the line of its first character that is not a line break; tokens of whitespace alone
 * (line breaks, indentation) count for none.
 */
export function confidentLines(tokens: readonly GeneratedToken[], min: number): number {
  const sums: number[] = [];
  const counts: number[] = [];
  let line = 0;
  for (const t of tokens) {
    const text = t.text ?? '';
    const lead = /^\n*/.exec(text)?.[0].length ?? 0;
    if (text.trim() !== '') {
      const at = line + lead;
      sums[at] = (sums[at] ?? 0) + t.logprob;
      counts[at] = (counts[at] ?? 0) + 1;
    }
    line += text.split('\n').length - 1;
  }
  let kept = 0;
  for (let i = 0; i <= line; i++) {
    const n = counts[i] ?? 0;
    if (n > 0 && (sums[i] ?? 0) / n < min) break;
    kept = i + 1;
  }
  return kept;
}

export function confidenceGate(conf: number, minConfidence: number): GateResult {
  if (conf >= minConfidence) return { ok: true };
  return {
    ok: false,
    code: 'low-confidence',
    reason: `low confidence (mean log p ${conf.toFixed(2)} < ${minConfidence})`,
  };
}

export function syntaxGate(v: SyntaxVerdict | undefined): GateResult {
  if (!v || v.ok) return { ok: true };
  const how = v.method === 'parser' ? 'parse errors' : 'unbalanced brackets or quotes';
  return {
    ok: false,
    code: 'syntax',
    reason: `breaks the code (${how} ${v.errorsBefore} → ${v.errorsAfter}${v.reason ? `: ${v.reason}` : ''})`,
  };
}

/**
 * Explain's doc comment lines with repeats removed: small models loop, writing the same sentence
 * again (seen in code-server: one `@param` sentence three times over a 200-line function).
 */
export function dedupeLines(lines: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    const key = line.trim().toLowerCase().replace(/\s+/g, ' ');
    if (key !== '' && seen.has(key)) continue;
    seen.add(key);
    out.push(line);
  }
  return out;
}

/**
 * Explain's doc comment from a base model must read as prose about the code: words, mostly
 * letters, few code symbols, no long runs of digits (the default model once proposed "1000…0"
 * for an 11-line method).
 */
export function proseGate(text: string): GateResult {
  const t = text.trim();
  const words = t.match(/[A-Za-z][a-z]+/g) ?? [];
  const letters = (t.match(/[A-Za-z]/g) ?? []).length;
  const symbols = (t.match(/[{}()[\];=<>&|$`]/g) ?? []).length;
  const fail = (reason: string): GateResult => ({ ok: false, code: 'low-confidence', reason });
  if (t === '') return fail('empty');
  if (words.length < 3) return fail('fewer than three words');
  if (/\d{4,}/.test(t)) return fail('a long run of digits');
  if (letters < 0.6 * t.replace(/\s/g, '').length) return fail('mostly not letters');
  if (symbols > 0.08 * t.length) return fail('reads as code, not prose');
  if (/(\b\w+\b)(?:\W+\1\b){2,}/i.test(t)) return fail('a word repeated three times in a row');
  return { ok: true };
}

/** Lines before and after the cursor the syntax check reads, at most (then a statement start). */
export const SYNTAX_LINES_BEFORE = 400;
export const SYNTAX_LINES_AFTER = 150;

/** A line that starts a top-level statement: no indentation, not a closer or a continuation. */
const TOP_LEVEL = /^[^\s})\].,+\-*/|&?:=<>]/;

/**
 * The part of the document the syntax check parses: whole top-level statements around the
 * cursor, at most about SYNTAX_LINES_BEFORE / _AFTER lines. A window that starts mid-construct
 * already has errors, and then an insertion that breaks the rest of the file (`return {`) adds
 * none: eval:editor found such suggestions shown; the whole file caught them. Parsing whole files
 * costs ~35 ms per 3,000 lines (twice per check); this keeps it to the neighbourhood.
 */
export function syntaxWindow(text: string, offset: number): { before: string; after: string } {
  let start = offset;
  for (let n = 0; start > 0; n++) {
    const prev = text.lastIndexOf('\n', start - 1);
    start = prev < 0 ? 0 : prev + 1;
    if (n >= SYNTAX_LINES_BEFORE && TOP_LEVEL.test(text.slice(start, start + 1))) break;
    if (prev < 0) break;
    start = prev;
  }
  let end = offset;
  for (let n = 0; end < text.length; n++) {
    const next = text.indexOf('\n', end);
    if (next < 0) {
      end = text.length;
      break;
    }
    end = next + 1;
    if (n >= SYNTAX_LINES_AFTER && TOP_LEVEL.test(text.slice(end, end + 1))) break;
  }
  return { before: text.slice(start, offset), after: text.slice(offset, end) };
}
