// Stage: the prompt's prefix and suffix around the cursor, in an ANCHORED window. The window's
// first line moves in whole chunks of lines (a multiple of `anchorLines`), not on every line, so
// while the user types the prefix only grows at its end and the suffix stays the same: the
// prompt (suffix first, then prefix) keeps its KV prefix and the engine recomputes only the few
// new tokens. Binary and huge files are skipped with a reason.
import { countNewlines, lineStartOf, stripCr } from '../language/text';

export interface ContextOptions {
  /** Lines before the cursor to include at least (the setting `contextLines`). */
  contextLines: number;
  /** The window start is a multiple of this many lines. */
  anchorLines: number;
  /** Whole lines after the cursor's line in the suffix. */
  suffixLines: number;
  /** Char caps; the prefix keeps its end, the suffix its start (cut at a line boundary). */
  maxPrefixChars: number;
  maxSuffixChars: number;
  /** Files longer than this are skipped. */
  maxFileChars: number;
  /** A cursor line longer than this (minified code, data) is skipped. */
  maxLineChars: number;
}

export const DEFAULT_CONTEXT_OPTIONS: ContextOptions = {
  contextLines: 128,
  anchorLines: 32,
  suffixLines: 32,
  maxPrefixChars: 6000,
  maxSuffixChars: 2000,
  maxFileChars: 2_000_000,
  maxLineChars: 2000,
};

/** When a line-anchored prefix is still too long (huge lines), its start moves in these steps. */
export const CHAR_ANCHOR = 256;

export interface CompletionContext {
  prefix: string;
  suffix: string;
  /** 0-based line of the cursor, and of the window's first line. */
  line: number;
  windowStartLine: number;
  /** Offset in the document where the prefix starts. */
  prefixStart: number;
}

export type ContextResult =
  { ok: true; context: CompletionContext } | { ok: false; reason: string };

/** Offset of the start of line `line` (0-based), searching backwards from `from` on `fromLine`. */
function lineStartBackwards(text: string, from: number, fromLine: number, line: number): number {
  let start = lineStartOf(text, from);
  for (let l = fromLine; l > line && start > 0; l--) start = lineStartOf(text, start - 1);
  return start;
}

export function buildContext(
  text: string,
  offset: number,
  options: Partial<ContextOptions> = {},
): ContextResult {
  const o = { ...DEFAULT_CONTEXT_OPTIONS, ...options };
  if (offset < 0 || offset > text.length) {
    return { ok: false, reason: `cursor offset ${offset} outside the document` };
  }
  if (text.length > o.maxFileChars) {
    return { ok: false, reason: `file too large (${text.length} chars > ${o.maxFileChars})` };
  }
  if (text.slice(0, 8192).includes('\0')) return { ok: false, reason: 'binary file' };
  const line = countNewlines(text, offset);
  const lineStart = lineStartOf(text, offset);
  let lineEnd = text.indexOf('\n', offset);
  if (lineEnd < 0) lineEnd = text.length;
  if (lineEnd - lineStart > o.maxLineChars) {
    return { ok: false, reason: `cursor line too long (${lineEnd - lineStart} chars)` };
  }

  // Prefix: from an anchored line, at least contextLines before the cursor's line.
  const anchor = Math.max(1, Math.floor(o.anchorLines));
  let startLine = Math.floor(Math.max(0, line - Math.max(0, o.contextLines)) / anchor) * anchor;
  let start = lineStartBackwards(text, offset, line, startLine);
  // Too many chars: move on by whole chunks, then by lines, then by CHAR_ANCHOR steps.
  while (offset - start > o.maxPrefixChars && startLine + anchor <= line) {
    startLine += anchor;
    start = lineStartBackwards(text, offset, line, startLine);
  }
  while (offset - start > o.maxPrefixChars && startLine < line) {
    startLine += 1;
    start = lineStartBackwards(text, offset, line, startLine);
  }
  if (offset - start > o.maxPrefixChars) {
    start =
      lineStart + Math.ceil((offset - o.maxPrefixChars - lineStart) / CHAR_ANCHOR) * CHAR_ANCHOR;
  }
  const prefix = text.slice(start, offset);

  // Suffix: the rest of the line and suffixLines whole lines, cut at a line boundary.
  let end = lineEnd;
  for (let i = 0; i < o.suffixLines && end < text.length; i++) {
    let next = text.indexOf('\n', end + 1);
    if (next < 0) next = text.length;
    if (next - offset > o.maxSuffixChars) break;
    end = next;
  }
  if (end < text.length && text[end] === '\n' && end + 1 - offset <= o.maxSuffixChars) end++;
  let suffix = text.slice(offset, end);
  if (suffix.length > o.maxSuffixChars) suffix = suffix.slice(0, o.maxSuffixChars);
  return {
    ok: true,
    context: { prefix, suffix, line, windowStartLine: startLine, prefixStart: start },
  };
}

/** The lines after the cursor's line in `suffix` (without `\r`). */
export function followingLines(suffix: string): string[] {
  return suffix.split('\n').slice(1).map(stripCr);
}
