// A tiny lexer for bracket balance: it skips strings and comments (so a `)` inside "a)" or a
// comment does not count) and keeps a stack of open brackets. It knows only what it needs per
// language family: the line comment, whether `/* */` and `'` strings exist, and Python's triple
// quotes. Wrong guesses only make post-processing cut a suggestion short, never extend it.
import { indentWidth } from './text';

export const OPENERS: Readonly<Record<string, string>> = { '(': ')', '[': ']', '{': '}' };
export const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' };

export interface LexSyntax {
  lineComments: string[];
  blockComments: boolean;
  quotes: string[];
  tripleQuotes: boolean;
}

const HASH_COMMENT = new Set([
  'python',
  'shellscript',
  'ruby',
  'perl',
  'r',
  'yaml',
  'toml',
  'makefile',
  'dockerfile',
  'powershell',
  'coffeescript',
  'elixir',
  'julia',
  'nim',
]);

export function syntaxFor(languageId: string): LexSyntax {
  if (HASH_COMMENT.has(languageId)) {
    return {
      lineComments: ['#'],
      blockComments: false,
      quotes: ['"', "'"],
      tripleQuotes: languageId === 'python',
    };
  }
  if (languageId === 'lua' || languageId === 'sql' || languageId === 'haskell') {
    return { lineComments: ['--'], blockComments: false, quotes: ['"', "'"], tripleQuotes: false };
  }
  // Rust lifetimes ('a) and OCaml type variables are not strings.
  const apostrophe = languageId !== 'rust' && languageId !== 'ocaml';
  return {
    lineComments: ['//'],
    blockComments: true,
    quotes: apostrophe ? ['"', "'", '`'] : ['"'],
    tripleQuotes: false,
  };
}

/** Where the lexer is: in code, in a comment, or in a string opened by `quote`. */
export type LexMode =
  | { kind: 'code' }
  | { kind: 'line-comment' }
  | { kind: 'block-comment' }
  | { kind: 'string'; quote: string };

export interface OpenBracket {
  ch: string;
  /** Indentation width of the line the bracket is on. */
  lineIndent: number;
}

export interface LexState {
  mode: LexMode;
  /** Brackets opened and not yet closed, innermost last. */
  stack: OpenBracket[];
}

export function initialLexState(): LexState {
  return { mode: { kind: 'code' }, stack: [] };
}

export interface BracketEvent {
  /** Index of the bracket in the scanned text. */
  index: number;
  ch: string;
  /** Only whitespace precedes the bracket on its line (and the line starts inside the text). */
  atLineStart: boolean;
  lineIndent: number;
  /** A bracket opened inside this scan is still open (so this closer mismatches it). */
  insideLocal: boolean;
}

/**
 * Scans `text` from `state` (mutated), calling `onCloser` for each closer that does not match a
 * bracket opened inside this scan. Return false from `onCloser` to stop the scan there; the
 * return value is the index where scanning stopped (text.length if it ran to the end). A closer
 * that `onCloser` keeps pops the state's stack if it matches its top.
 */
export function scan(
  text: string,
  syntax: LexSyntax,
  state: LexState,
  onCloser?: (e: BracketEvent) => boolean,
): number {
  let localDepth = 0;
  let lineStart = 0;
  let lineIndent = -1; // computed lazily per line
  let sawLineStart = false;
  const indentHere = (i: number): number => {
    if (lineIndent < 0) lineIndent = indentWidth(text.slice(lineStart, i));
    return lineIndent;
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === '\n') {
      lineStart = i + 1;
      lineIndent = -1;
      sawLineStart = true;
      if (
        state.mode.kind === 'line-comment' ||
        (state.mode.kind === 'string' && state.mode.quote.length === 1 && state.mode.quote !== '`')
      ) {
        state.mode = { kind: 'code' };
      }
      i++;
      continue;
    }
    const mode = state.mode;
    if (mode.kind === 'line-comment') {
      i++;
      continue;
    }
    if (mode.kind === 'block-comment') {
      if (text.startsWith('*/', i)) {
        state.mode = { kind: 'code' };
        i += 2;
      } else {
        i++;
      }
      continue;
    }
    if (mode.kind === 'string') {
      if (ch === '\\') {
        i += 2;
        continue;
      }
      if (text.startsWith(mode.quote, i)) {
        state.mode = { kind: 'code' };
        i += mode.quote.length;
      } else {
        i++;
      }
      continue;
    }
    // code
    if (syntax.lineComments.some((c) => text.startsWith(c, i))) {
      state.mode = { kind: 'line-comment' };
      i++;
      continue;
    }
    if (syntax.blockComments && text.startsWith('/*', i)) {
      state.mode = { kind: 'block-comment' };
      i += 2;
      continue;
    }
    if (syntax.quotes.includes(ch)) {
      const triple = ch + ch + ch;
      if (syntax.tripleQuotes && text.startsWith(triple, i)) {
        state.mode = { kind: 'string', quote: triple };
        i += 3;
      } else {
        state.mode = { kind: 'string', quote: ch };
        i++;
      }
      continue;
    }
    if (OPENERS[ch] !== undefined) {
      state.stack.push({ ch, lineIndent: indentHere(i) });
      localDepth++;
    } else if (CLOSERS[ch] !== undefined) {
      if (localDepth > 0 && state.stack[state.stack.length - 1]?.ch === CLOSERS[ch]) {
        state.stack.pop();
        localDepth--;
      } else if (onCloser) {
        const onlySpaceBefore = text.slice(lineStart, i).trim().length === 0;
        const event: BracketEvent = {
          index: i,
          ch,
          atLineStart: sawLineStart && onlySpaceBefore,
          lineIndent: indentHere(i),
          insideLocal: localDepth > 0,
        };
        if (!onCloser(event)) return i;
        if (localDepth === 0 && state.stack[state.stack.length - 1]?.ch === CLOSERS[ch]) {
          state.stack.pop();
        }
      } else if (state.stack[state.stack.length - 1]?.ch === CLOSERS[ch]) {
        state.stack.pop();
      }
    }
    i++;
  }
  return text.length;
}

/** Lexer state at the end of `text` (e.g. the prefix before the cursor). */
export function stateAfter(text: string, syntax: LexSyntax): LexState {
  const state = initialLexState();
  scan(text, syntax, state);
  return state;
}

/**
 * Closers in `text` (the code after the cursor) that close brackets opened before it, in order,
 * each with whether it starts its line and that line's indentation.
 */
export function unmatchedClosers(
  text: string,
  syntax: LexSyntax,
  start: LexMode = { kind: 'code' },
): BracketEvent[] {
  const found: BracketEvent[] = [];
  scan(text, syntax, { mode: start, stack: [] }, (e) => {
    found.push(e);
    return true;
  });
  return found;
}
