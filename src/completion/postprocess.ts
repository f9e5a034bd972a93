// Stage: turns raw model output into the suggestion shown. Rule 0 fixes the start at the cursor;
// every later rule only cuts the end off, so the result maps back to the raw text's tokens from
// `start` on (the routing panel shows them):
//   0. the boundary: the editor already has what is before the cursor, so the suggestion never
//      starts with whitespace where the line before the cursor is indentation or ends with a
//      space (its first line is moved to the cursor's column, the lines after it by as much:
//      otherwise VS Code's Tab indents instead of accepting), and a suggestion that repeats the
//      operator just typed (`x = ` + `= y`) or leaves out the name after a declaration keyword
//      (`const ` + `= y`) is discarded;
//   1. single-line stops at the first line break; multi-line stops where the block ends
//      (indentation back at the opening line's, or two blank lines);
//   2. brackets stay balanced: stop at a closer that mismatches, or that closes a bracket opened
//      before the cursor which the text after the cursor already closes;
//   3. text duplicating the suffix is trimmed: generated lines equal to the next line of the
//      document, and a tail equal to the start of the text after the cursor;
//   3b. degenerate output is cut: a unit repeated three times in a row (`.a.a.a`), a line equal
//      to the line before it in the suggestion, the line of a run of 8+ equal digits (`10000000000…`);
//   4. trailing whitespace is trimmed; empty results, and a line that repeats the line above or
//      below, are discarded.
import { CLOSERS, scan, stateAfter, syntaxFor, unmatchedClosers } from '../language/brackets';
import { followingLines } from './context';
import type { CompletionMode } from './mode';
import { indentWidth, isBlank, stripCr } from '../language/text';

export interface PostprocessInput {
  /** The prompt's prefix and suffix (the text before and after the cursor). */
  prefix: string;
  suffix: string;
  languageId: string;
  mode: CompletionMode;
}

/** `start`: raw characters dropped at the start (rule 0); the rest maps to the raw text. */
export type PostprocessResult =
  { ok: true; text: string; start: number } | { ok: false; reason: string };

/** An operator the line may end with before a space: a suggestion must not type it again. */
const TYPED_OPERATOR = /[=,;:.+\-*/%&|^<>!?]\s+$/;
/** What a suggestion after such an operator must not start with. */
const REPEATED_START = /^[=,;:]/;
/** A declaration keyword waiting for its name. */
const NAME_EXPECTED = /(?:^|[^\w$.])(?:const|let|var|function|class|interface|type|enum|def)\s+$/;

/**
 * Rule 0: the raw text with its start fitted to the cursor. `linePrefix` is the cursor's line
 * before the cursor. Returns the text, the raw chars dropped at its start, or a reason to drop.
 */
export function fitBoundary(
  raw: string,
  linePrefix: string,
): { text: string; start: number } | { reason: string } {
  let text = raw;
  let start = 0;
  const atIndent = isBlank(linePrefix);
  if (atIndent || /[ \t]$/.test(linePrefix)) {
    const lead = /^[ \t]*/.exec(text)?.[0] ?? '';
    if (lead.length > 0 && lead.length < text.length && text[lead.length] !== '\n') {
      start = lead.length;
      text = text.slice(start);
      // The lines after the first were written for the model's column: move them as much.
      if (atIndent) {
        text = text
          .split('\n')
          .map((l, i) => (i > 0 && l.startsWith(lead) ? l.slice(lead.length) : l))
          .join('\n');
      }
    }
  }
  if (TYPED_OPERATOR.test(linePrefix) && REPEATED_START.test(text)) {
    return { reason: 'repeats the operator before the cursor' };
  }
  if (NAME_EXPECTED.test(linePrefix) && /^[=(:,;]/.test(text)) {
    return { reason: 'no name after the declaration keyword' };
  }
  return { text, start };
}

/**
 * Where a multi-line completion's block ends in `text`: the index to cut at, or -1 while the
 * end is not known yet (streaming, `final` false). Lines after the first whose indentation is
 * at most `blockIndent` end the block; a closer line (`}`, `)`, `]`...) there is kept, whole.
 */
export function blockEnd(text: string, blockIndent: number, final: boolean): number {
  let start = text.indexOf('\n');
  if (start < 0) return final ? text.length : -1;
  let blankRun = 0;
  let firstBlank = -1;
  while (start >= 0) {
    const lineStart = start + 1;
    const next = text.indexOf('\n', lineStart);
    const complete = next >= 0 || final;
    const lineEnd = next >= 0 ? next : text.length;
    const line = stripCr(text.slice(lineStart, lineEnd));
    if (isBlank(line)) {
      if (!complete) return -1;
      if (blankRun === 0) firstBlank = start;
      blankRun++;
      if (blankRun >= 2) return firstBlank;
    } else {
      blankRun = 0;
      if (indentWidth(line) <= blockIndent) {
        const first = line.trimStart()[0] ?? '';
        if (CLOSERS[first] === undefined) return start;
        return complete ? lineEnd : -1;
      }
    }
    start = next;
  }
  return final ? text.length : -1;
}

/** Index in `text` where keeping brackets balanced stops it (text.length: nowhere). */
export function bracketCut(
  text: string,
  prefix: string,
  suffix: string,
  languageId: string,
): number {
  const syntax = syntaxFor(languageId);
  const state = stateAfter(prefix, syntax);
  const closersAfter = unmatchedClosers(suffix, syntax, state.mode);
  return scan(text, syntax, state, (e) => {
    if (e.insideLocal) return false; // mismatches a bracket the suggestion opened
    const open = state.stack[state.stack.length - 1];
    if (!open || open.ch !== CLOSERS[e.ch]) return false; // nothing (matching) to close
    // The suffix's next unmatched closer closes the same bracket, unless both start their lines
    // at different indentation (then it belongs to an outer block).
    const after = closersAfter[0];
    const present =
      after !== undefined &&
      after.ch === e.ch &&
      !(after.atLineStart && e.atLineStart && after.lineIndent !== e.lineIndent);
    return !present;
  });
}

const WORD = /[A-Za-z0-9_]/;

/** Length of the longest tail of `text` equal to the start of `suffix` (worth trimming). */
export function suffixOverlap(text: string, suffix: string): number {
  for (let k = Math.min(text.length, suffix.length); k > 0; k--) {
    const head = suffix.slice(0, k);
    if (!text.endsWith(head)) continue;
    // One matching letter is a coincidence; punctuation or a longer run is a duplicate.
    if (!WORD.test(head) || head.trim().length >= 4) return k;
  }
  return 0;
}

/** Cut before a generated line equal to the non-blank line before it (small models loop). */
export function duplicateLineCut(text: string): number {
  let prev: string | undefined;
  let start = -1;
  while (start < text.length) {
    const next = text.indexOf('\n', start + 1);
    const end = next >= 0 ? next : text.length;
    const line = stripCr(text.slice(start + 1, end)).trim();
    if (line !== '') {
      // Closers and short statements repeat legitimately (`}` `}`, `break;`).
      if (line === prev && line.length >= 8 && start >= 0) return start;
      prev = line;
    }
    if (next < 0) break;
    start = next;
  }
  return text.length;
}

/** Cut before the line with a run of 8 or more equal digits (`10000000000…`): a loop, not code. */
function digitRunCut(text: string): number {
  const m = /(\d)\1{7,}/.exec(text);
  return m ? Math.max(0, text.lastIndexOf('\n', m.index)) : text.length;
}

/** Cut before the first generated line (after the first) equal to the next non-blank line. */
function repeatedLineCut(text: string, nextLine: string | undefined): number {
  if (nextLine === undefined || isBlank(nextLine)) return text.length;
  // Indentation counts: `  }` closing an inner block is not the `}` of the outer one below.
  const want = nextLine.trimEnd();
  let start = text.indexOf('\n');
  while (start >= 0) {
    const next = text.indexOf('\n', start + 1);
    const line = stripCr(text.slice(start + 1, next >= 0 ? next : text.length));
    if (line.trimEnd() === want) return start;
    start = next;
  }
  return text.length;
}

/**
 * Degenerate repetition (small models loop: `.prototype.prototype.prototype`): the end of the
 * first occurrence of a unit of 2–40 characters, with at least two different non-space
 * characters (so `// -----` and indentation stay), that repeats at least three times in a row;
 * the text's length when there is none.
 */
const WORD_CHAR = /[\p{L}\p{N}_$]/u;

export function repetitionCut(text: string, minRepeats = 3): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    for (let p = 2; p <= 40 && i + p * minRepeats <= n; p++) {
      let r = 1;
      while (r < minRepeats && text.startsWith(text.slice(i, i + p), i + r * p)) r++;
      if (r >= minRepeats && new Set(text.slice(i, i + p).replace(/\s/g, '')).size >= 2) {
        // Cut between words, not inside one (`e.prototyp|e.prototyp…` → `e.prototype`).
        let cut = i + p;
        while (
          cut < i + 2 * p &&
          WORD_CHAR.test(text[cut - 1] ?? '') &&
          WORD_CHAR.test(text[cut] ?? '')
        ) {
          cut++;
        }
        return cut;
      }
    }
  }
  return n;
}

export function postprocess(raw: string, input: PostprocessInput): PostprocessResult {
  const { prefix, suffix, mode } = input;
  if (mode.kind === 'skip') return { ok: false, reason: mode.reason };
  // 0. the boundary at the cursor; never show broken characters: cut at the first U+FFFD (bytes
  // that decode to no character)
  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  const fitted = fitBoundary(raw, linePrefix);
  if ('reason' in fitted) return { ok: false, reason: fitted.reason };
  const { start } = fitted;
  const broken = fitted.text.indexOf('\uFFFD');
  let text = broken >= 0 ? fitted.text.slice(0, broken) : fitted.text;
  text = text.slice(0, repetitionCut(text));
  text = text.slice(0, duplicateLineCut(text));
  text = text.slice(0, digitRunCut(text));
  // 1. line or block end
  if (mode.kind === 'single-line') {
    const nl = text.search(/\r?\n/);
    if (nl >= 0) text = text.slice(0, nl);
  } else {
    text = text.slice(0, blockEnd(text, mode.blockIndent, true));
  }
  // 2. balanced brackets
  text = text.slice(0, bracketCut(text, prefix, suffix, input.languageId));
  // 3. duplicates of the suffix
  const next = followingLines(suffix).find((l) => !isBlank(l));
  text = text.slice(0, repeatedLineCut(text, next));
  text = text.slice(0, text.length - suffixOverlap(text, suffix));
  // 4. whitespace, empty, repeats
  text = text.trimEnd();
  if (text.trim().length === 0) return { ok: false, reason: 'empty' };
  if (!text.includes('\n')) {
    const lineSuffix = stripCr(suffix.split('\n', 1)[0] ?? '');
    const completed = (linePrefix + text + lineSuffix).trimEnd();
    const lines = prefix.split('\n').slice(0, -1).map(stripCr);
    const above = lines.reverse().find((l) => !isBlank(l));
    if (above !== undefined && completed === above.trimEnd()) {
      return { ok: false, reason: 'repeats the line above' };
    }
    if (next !== undefined && completed.trim() === next.trim()) {
      return { ok: false, reason: 'repeats the next line' };
    }
  }
  return { ok: true, text, start };
}
