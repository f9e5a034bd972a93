// Stage: single-line or multi-line. Text after the cursor restricts a completion to the rest of
// the line (and only closers may follow it, Copilot's rule; an explicit trigger allows any
// text); a line that opens a block gets a multi-line completion that runs until the block's
// indentation closes. Everything else is single-line.
import { indentWidth, isBlank } from '../language/text';

export type CompletionMode =
  | { kind: 'single-line'; reason: string }
  /** `blockIndent`: indentation width of the line that opened the block. */
  | { kind: 'multi-line'; blockIndent: number; reason: string }
  | { kind: 'skip'; reason: string };

/** Copilot's mid-line rule: only closers and one trailing `:{;,` may follow the cursor. */
export const MID_LINE_OK = /^\s*[)>}\]"'`]*\s*[:{;,]?\s*$/;

export interface ModeInput {
  /** The cursor's line before and after the cursor, and the nearest non-blank line above. */
  linePrefix: string;
  lineSuffix: string;
  prevLine: string;
  languageId: string;
  /** The `multiline` setting; off means always single-line. */
  multiline: boolean;
  /** Invoked by the user (a command or a shortcut), not by typing. */
  explicit?: boolean;
}

const COLON_BLOCKS = new Set(['python', 'yaml', 'nim', 'coffeescript']);
const KEYWORD_BLOCKS = new Set(['ruby', 'lua', 'shellscript', 'elixir', 'julia']);

/** Does this line (text before the cursor) end by opening a block? */
export function opensBlock(line: string, languageId: string): boolean {
  const t = line.trimEnd();
  if (t.length === 0) return false;
  if (/[{([]$/.test(t) || t.endsWith('=>')) return true;
  if (COLON_BLOCKS.has(languageId) && t.endsWith(':')) return true;
  if (KEYWORD_BLOCKS.has(languageId) && /(?:^|\s)(?:do|then|else)$/.test(t)) return true;
  return false;
}

export function decideMode(i: ModeInput): CompletionMode {
  if (!isBlank(i.lineSuffix)) {
    if (MID_LINE_OK.test(i.lineSuffix)) {
      return { kind: 'single-line', reason: 'only closers follow the cursor' };
    }
    if (i.explicit) return { kind: 'single-line', reason: 'explicit trigger mid-line' };
    return { kind: 'skip', reason: 'text follows the cursor' };
  }
  if (!i.multiline) return { kind: 'single-line', reason: 'multi-line completions are off' };
  if (opensBlock(i.linePrefix, i.languageId)) {
    return {
      kind: 'multi-line',
      blockIndent: indentWidth(i.linePrefix),
      reason: 'the line opens a block',
    };
  }
  if (
    isBlank(i.linePrefix) &&
    opensBlock(i.prevLine, i.languageId) &&
    indentWidth(i.linePrefix) > indentWidth(i.prevLine)
  ) {
    return {
      kind: 'multi-line',
      blockIndent: indentWidth(i.prevLine),
      reason: 'first line of a block',
    };
  }
  return { kind: 'single-line', reason: 'default' };
}
