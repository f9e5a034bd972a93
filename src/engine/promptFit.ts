// Prompt fitting: every prompt the engine builds from text fits the model's context, leaving room
// for the generation. A prompt over the limit never reaches the model; sections are cut by
// TOKENS at line boundaries:
//   1. the budget is the context length minus the generation's room (maxTokens, at most half the
//      context, + HEAL_ROOM);
//   2. the suffix and the other files are cut first, each within a fixed share of the budget,
//      keeping their START (the code right after the cursor, the top of a file);
//   3. the prefix (or a plain text prompt) gets the rest and keeps its END (the cursor). Its first
//      kept line is a multiple of ANCHOR_LINES from the window's first line, so while the user
//      types, the kept prefix only grows at its end and the engine reuses its KV cache; the
//      start jumps by whole chunks, not on every keystroke.
// Token counts come from encoding line by line (a slight over-count: BPE merges never cross our
// line splits), then the cut text is encoded once more to check; whatever is cut is reported.
import type { Tokenizer } from './tokenizer';

/** The prefix's first line moves in chunks of this many lines (KV reuse while typing). */
export const ANCHOR_LINES = 8;
/** Room for the tokens token healing regenerates (they do not count in maxTokens). */
export const HEAL_ROOM = 2;
/** A line longer than the budget is cut inside, in steps of this many characters. */
const CHAR_STEP = 64;

export interface FitShares {
  /** Most of the budget the suffix may take (its start is kept). */
  suffix: number;
  /** Most of the budget the other files may take together (each keeps its start). */
  extra: number;
}

export const DEFAULT_SHARES: FitShares = { suffix: 0.25, extra: 0.25 };

/** What fitting did to a prompt (all zero when it fit as it was). */
export interface PromptFit {
  /** Tokens the prompt could use, and the tokens it has. */
  budget: number;
  promptTokens: number;
  /** Lines of the prefix (or text prompt) dropped from its start, and the lines kept. */
  prefixLinesDropped: number;
  prefixLinesKept: number;
  /** Lines of the suffix dropped from its end. */
  suffixLinesDropped: number;
  /** Other files left out, or cut, for lack of room. */
  extraFilesCut: number;
}

export interface Cut {
  text: string;
  ids: number[];
  /** Whole or partial lines dropped, and lines kept (the partial first/last line counts). */
  dropped: number;
  kept: number;
}

type Encoder = Pick<Tokenizer, 'encodeOrdinary'>;

/** Lines with their '\n' (the last may lack one); '' has no lines. */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * The end of `text` within `budget` tokens: whole lines from a line that is a multiple of
 * `anchor` (counted from the text's first line); a single line too long for the budget is cut
 * inside, at a multiple of CHAR_STEP from its start.
 */
export function keepEnd(tok: Encoder, text: string, budget: number, anchor = ANCHOR_LINES): Cut {
  const ids = tok.encodeOrdinary(text);
  const lines = splitLines(text);
  if (ids.length <= budget) return { text, ids, dropped: 0, kept: lines.length };
  if (budget <= 0) return { text: '', ids: [], dropped: lines.length, kept: 0 };
  const counts = lines.map((l) => tok.encodeOrdinary(l).length);
  // First line index whose tail fits by the line counts, rounded up to the anchor.
  let first = lines.length - 1;
  let sum = counts[first] ?? 0;
  while (first > 0 && sum + (counts[first - 1] ?? 0) <= budget) sum += counts[--first] ?? 0;
  const a = Math.max(1, Math.floor(anchor));
  first = Math.min(lines.length - 1, Math.ceil(first / a) * a);
  for (;;) {
    const cutText = lines.slice(first).join('');
    const cutIds = tok.encodeOrdinary(cutText);
    if (cutIds.length <= budget) {
      return { text: cutText, ids: cutIds, dropped: first, kept: lines.length - first };
    }
    if (first >= lines.length - 1) break;
    first = Math.min(lines.length - 1, first + (first + a < lines.length ? a : 1));
  }
  // Only the last line is left and it is too long: keep its end, moving its start in steps.
  const last = lines[lines.length - 1] ?? '';
  for (let start = CHAR_STEP; start < last.length; start += CHAR_STEP) {
    const cutText = last.slice(start);
    const cutIds = tok.encodeOrdinary(cutText);
    if (cutIds.length <= budget) {
      return { text: cutText, ids: cutIds, dropped: lines.length, kept: 1 };
    }
  }
  return { text: '', ids: [], dropped: lines.length, kept: 0 };
}

/** The start of `text` within `budget` tokens, cut after a whole line where it can be. */
export function keepStart(tok: Encoder, text: string, budget: number): Cut {
  const ids = tok.encodeOrdinary(text);
  const lines = splitLines(text);
  if (ids.length <= budget) return { text, ids, dropped: 0, kept: lines.length };
  if (budget <= 0) return { text: '', ids: [], dropped: lines.length, kept: 0 };
  const counts = lines.map((l) => tok.encodeOrdinary(l).length);
  let end = 0;
  let sum = 0;
  while (end < lines.length && sum + (counts[end] ?? 0) <= budget) sum += counts[end++] ?? 0;
  for (; end > 0; end--) {
    const cutText = lines.slice(0, end).join('');
    const cutIds = tok.encodeOrdinary(cutText);
    if (cutIds.length <= budget) {
      return { text: cutText, ids: cutIds, dropped: lines.length - end, kept: end };
    }
  }
  // The first line alone is too long: keep its start.
  const first = lines[0] ?? '';
  for (let len = first.length - CHAR_STEP; len > 0; len -= CHAR_STEP) {
    const cutText = first.slice(0, len);
    const cutIds = tok.encodeOrdinary(cutText);
    if (cutIds.length <= budget) {
      return { text: cutText, ids: cutIds, dropped: lines.length, kept: 1 };
    }
  }
  return { text: '', ids: [], dropped: lines.length, kept: 0 };
}

/**
 * The prompt budget of a model: its context minus the generation's room. The room is at most
 * half the context (a request for more tokens than that still gets half the context of prompt;
 * its generation then ends at the context's end, finish reason `length`).
 */
export function promptBudget(contextLength: number, maxTokens: number): number {
  const room = Math.min(Math.max(0, maxTokens), Math.floor(contextLength / 2));
  return contextLength - room - HEAL_ROOM;
}

export function emptyFit(budget: number, promptTokens: number): PromptFit {
  return {
    budget,
    promptTokens,
    prefixLinesDropped: 0,
    prefixLinesKept: 0,
    suffixLinesDropped: 0,
    extraFilesCut: 0,
  };
}

/** Did fitting cut anything? */
export function wasCut(f: PromptFit): boolean {
  return f.prefixLinesDropped > 0 || f.suffixLinesDropped > 0 || f.extraFilesCut > 0;
}
