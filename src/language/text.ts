// Small text helpers shared by the completion stages: the cursor's line, indentation widths.

/** Tab stops used when comparing indentation (tabs and spaces mixed in one file still compare). */
export const TAB_WIDTH = 4;

/** Width of a line's leading whitespace, tabs counted as TAB_WIDTH columns. */
export function indentWidth(line: string): number {
  let w = 0;
  for (const ch of line) {
    if (ch === ' ') w++;
    else if (ch === '\t') w += TAB_WIDTH - (w % TAB_WIDTH);
    else break;
  }
  return w;
}

export function isBlank(line: string): boolean {
  return line.trim().length === 0;
}

/** A line without its trailing `\r` (CRLF documents). */
export function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

export interface CursorLine {
  /** 0-based line of the cursor. */
  line: number;
  /** Offset of the first character of the cursor's line. */
  lineStart: number;
  /** Text of the cursor's line before the cursor. */
  linePrefix: string;
  /** Text of the cursor's line after the cursor (no line break, no `\r`). */
  lineSuffix: string;
  /** The nearest non-blank line above the cursor's line ('' if none). */
  prevLine: string;
}

/** How many `\n` occur in text[0, end). */
export function countNewlines(text: string, end: number): number {
  let n = 0;
  let i = text.indexOf('\n');
  while (i >= 0 && i < end) {
    n++;
    i = text.indexOf('\n', i + 1);
  }
  return n;
}

/** Offset of the first character of the line containing `offset`. */
export function lineStartOf(text: string, offset: number): number {
  return offset <= 0 ? 0 : text.lastIndexOf('\n', offset - 1) + 1;
}

/** The cursor's line split at the cursor, and the nearest non-blank line above it. */
export function cursorLine(text: string, offset: number): CursorLine {
  const lineStart = lineStartOf(text, offset);
  let lineEnd = text.indexOf('\n', offset);
  if (lineEnd < 0) lineEnd = text.length;
  let prevLine = '';
  let end = lineStart - 1; // the '\n' ending the previous line
  while (end > 0) {
    const start = lineStartOf(text, end);
    const candidate = stripCr(text.slice(start, end));
    if (!isBlank(candidate)) {
      prevLine = candidate;
      break;
    }
    end = start - 1;
  }
  return {
    line: countNewlines(text, offset),
    lineStart,
    linePrefix: text.slice(lineStart, offset),
    lineSuffix: stripCr(text.slice(offset, lineEnd)),
    prevLine,
  };
}
