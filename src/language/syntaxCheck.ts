// Quality gate: does inserting a completion suggestion break the code around it? A suggestion
// that leaves a syntax error is worse than none, so the pipeline drops it before it is shown.
// `before` and `after` are a window of a real file that may start or end mid-construct (inside a
// template string, a comment, an open call), so the check never demands error-free code: it
// compares the text with the suggestion to the text without it.
//   1. JS/TS (the four language ids): TypeScript's parser reads `before + after` and
//      `before + insert + after`; the suggestion fails when it adds parse errors (more of them),
//      or when a parse error starts inside the inserted text (one it fixes and one it adds are
//      not a wash: the new one is where the user will look).
//   2. Other code languages: bracket and quote balance with the lexer of `../language/brackets`
//      (strings and comments skipped, Python's triple quotes). Balance errors: a closer that
//      closes nothing or the wrong bracket, a bracket left open, a string cut by its line break,
//      a block comment or multi-line string open at the end. The suggestion fails when (a) it has
//      an error inside it, (b) it ends inside a string or block comment it opened, or (c) it adds
//      an error after it that the text without it does not have; (d) when it closes the string
//      or comment the cursor was in (a docstring), the text after it lexes differently without
//      it, so only (a) and (b) apply. Python is lexed from the first `def`/`class` line of
//      `before`: a window can start inside a triple-quoted string.
//   3. Every language: a suggestion that starts with the same binary-only operator the code
//      before ends with (`x = ` then `= 1`) repeats what was typed and fails.
//   4. Anything else (prose, markup, unknown ids) passes unchecked (method 'none'), rule 3 aside.
// Runs in the engine process (parsing stays off the extension host's thread); never imports vscode.
import * as ts from 'typescript';
import { CLOSERS, scan, stateAfter, syntaxFor } from './brackets';
import type { LexMode, LexState, LexSyntax, OpenBracket } from './brackets';

export interface SyntaxCheckInput {
  languageId: string;
  /** The text before the cursor (a window of the document, possibly mid-construct). */
  before: string;
  /** The suggestion. */
  insert: string;
  /** The text after the cursor (a window too). */
  after: string;
}

export interface SyntaxCheckResult {
  method: 'parser' | 'balance' | 'none';
  /**
   * Errors in `before + after`: parse diagnostics of the whole text ('parser'), or balance errors
   * from the cursor on, brackets still open from before it included ('balance').
   */
  errorsBefore: number;
  /** The same in `before + insert + after`. */
  errorsAfter: number;
  ok: boolean;
  /** Why the suggestion fails (absent when ok). */
  reason?: string;
}

/** Whether inserting the suggestion breaks the code around it, by the rules above. Never throws. */
export function checkSyntax(input: SyntaxCheckInput): SyntaxCheckResult {
  const scriptKind = SCRIPT_KINDS[input.languageId];
  const result: SyntaxCheckResult =
    scriptKind !== undefined
      ? checkWithParser(input, scriptKind)
      : BALANCE_LANGUAGES.has(input.languageId)
        ? checkBalance(input)
        : { method: 'none', errorsBefore: 0, errorsAfter: 0, ok: true };
  if (!result.ok) return result;
  const op = repeatedOperator(input.before, input.insert);
  if (op === null) return result;
  return { ...result, ok: false, reason: `repeats the operator '${op}' typed before the cursor` };
}

// ---- 1. TypeScript's parser -------------------------------------------------------------------

const SCRIPT_KINDS: Readonly<Record<string, ts.ScriptKind>> = {
  javascript: ts.ScriptKind.JS,
  javascriptreact: ts.ScriptKind.JSX,
  typescript: ts.ScriptKind.TS,
  typescriptreact: ts.ScriptKind.TSX,
};

function checkWithParser(input: SyntaxCheckInput, kind: ts.ScriptKind): SyntaxCheckResult {
  const { before, insert, after } = input;
  const without = parseErrorStarts(before + after, kind);
  const withIt = parseErrorStarts(before + insert + after, kind);
  const base = {
    method: 'parser' as const,
    errorsBefore: without.length,
    errorsAfter: withIt.length,
  };
  if (withIt.length > without.length) {
    return { ...base, ok: false, reason: `adds ${withIt.length - without.length} parse error(s)` };
  }
  const end = before.length + insert.length;
  const inside = withIt.find((start) => start >= before.length && start < end);
  if (inside !== undefined) {
    return { ...base, ok: false, reason: `parse error at offset ${inside - before.length} of it` };
  }
  return { ...base, ok: true };
}

/** The parse (syntactic) diagnostics the parser recorded on a source file, if it exposes them. */
interface WithParseDiagnostics {
  parseDiagnostics?: unknown;
}

/** Start offsets of the parse errors in `text`. */
function parseErrorStarts(text: string, kind: ts.ScriptKind): number[] {
  // JSDoc is not parsed: its errors are not syntax errors of the code, and skipping it is faster.
  const options = { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: JSDOC_NONE };
  const file = ts.createSourceFile(FILE_NAMES[kind] ?? 'gate.ts', text, options, false, kind);
  // `parseDiagnostics` is internal but has been stable for years and costs nothing. A one-file
  // program gives the same through the public API, plus, for JS, TypeScript-only syntax (a type
  // annotation in a .js file is a syntax error to the JS engine): a few ms more per window.
  const recorded = (file as WithParseDiagnostics).parseDiagnostics;
  const diagnostics: readonly ts.Diagnostic[] =
    Array.isArray(recorded) && (kind === ts.ScriptKind.TS || kind === ts.ScriptKind.TSX)
      ? (recorded as ts.Diagnostic[])
      : programSyntacticDiagnostics(file);
  return diagnostics.map((d) => d.start ?? 0);
}

const JSDOC_NONE = ts.JSDocParsingMode.ParseNone;

const FILE_NAMES: Readonly<Partial<Record<ts.ScriptKind, string>>> = {
  [ts.ScriptKind.JS]: 'gate.js',
  [ts.ScriptKind.JSX]: 'gate.jsx',
  [ts.ScriptKind.TS]: 'gate.ts',
  [ts.ScriptKind.TSX]: 'gate.tsx',
};

function programSyntacticDiagnostics(file: ts.SourceFile): readonly ts.Diagnostic[] {
  const host: ts.CompilerHost = {
    getSourceFile: (name) => (name === file.fileName ? file : undefined),
    getDefaultLibFileName: () => 'lib.d.ts',
    writeFile: () => undefined,
    getCurrentDirectory: () => '',
    getCanonicalFileName: (name) => name,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
    fileExists: (name) => name === file.fileName,
    readFile: () => undefined,
  };
  const options: ts.CompilerOptions = { noLib: true, noResolve: true, allowJs: true };
  return ts.createProgram([file.fileName], options, host).getSyntacticDiagnostics(file);
}

// ---- 2. Bracket and quote balance -------------------------------------------------------------

/**
 * Languages whose brackets and quotes the lexer of `brackets.ts` reads correctly enough. Left
 * out: prose and markup, Vue and Svelte included (apostrophes in text), CSS (`url(http://…)`
 * reads as a comment), shell (`case` patterns close nothing), Haskell and Julia (`'` in names
 * and as an operator), OCaml (`(* *)` comments), Perl (quote-like operators).
 */
const BALANCE_LANGUAGES = new Set([
  'python', 'c', 'cpp', 'csharp', 'java', 'go', 'rust', 'kotlin', 'swift', 'scala', 'groovy',
  'php', 'dart', 'objective-c', 'objective-cpp', 'json', 'jsonc', 'lua', 'ruby', 'r', 'sql',
  'powershell', 'zig',
]); // prettier-ignore

/** Which text a balance error lies in: the suggestion, or the text after the cursor. */
type Region = 'i' | 'a';

function checkBalance(input: SyntaxCheckInput): SyntaxCheckResult {
  const syntax = syntaxFor(input.languageId);
  // The text before the cursor lexes the same in both versions: scan it once.
  const start = startState(input.before, syntax);
  const without = balanceErrors([['a', input.after]], syntax, start);
  const regions = [['i', input.insert] as const, ['a', input.after] as const];
  const withIt = balanceErrors(regions, syntax, start);
  const base = {
    method: 'balance' as const,
    errorsBefore: without.length,
    errorsAfter: withIt.length,
  };
  const fail = (key: string): SyntaxCheckResult => ({
    ...base,
    ok: false,
    reason: BALANCE_REASONS[key.charAt(0)] ?? key,
  });
  // a. An error inside the suggestion is its own.
  const inside = withIt.find((key) => key.charAt(1) === 'i');
  if (inside !== undefined) return fail(inside);
  // b. It must not end inside a string or block comment it opened.
  const end: LexState = { mode: start.mode, stack: [...start.stack] };
  scan(input.insert, syntax, end);
  if (sameMode(start.mode, end.mode)) {
    // c. The text after it lexes the same way with and without it: compare error by error.
    const known = new Set(without);
    const added = withIt.find((key) => !known.has(key));
    return added === undefined ? { ...base, ok: true } : fail(added);
  }
  if (isOpen(end.mode)) return fail('m');
  // d. It closed the string or comment the cursor was in (a docstring): the text after it lexes
  // differently with it than without it (the broken version), so the two do not compare.
  return { ...base, ok: true };
}

/**
 * Lexer state at the cursor. A window can start inside a triple-quoted string, and then every
 * later `"""` flips code and string. So Python is lexed from the first line of `before` that
 * starts a definition (`def`, `class`, a decorator): such a line is never inside brackets and,
 * in practice, never inside a string.
 */
function startState(before: string, syntax: LexSyntax): LexState {
  const anchor = syntax.tripleQuotes ? DEFINITION_LINE.exec(before) : null;
  return stateAfter(anchor === null ? before : before.slice(anchor.index), syntax);
}

const DEFINITION_LINE = /^[ \t]*(?:async[ \t]+def|def|class|@)\b/m;

function isOpen(mode: LexMode): boolean {
  return mode.kind === 'string' || mode.kind === 'block-comment';
}

/** Same lexer mode, a line comment counting as code (it ends at the line break). */
function sameMode(a: LexMode, b: LexMode): boolean {
  if (!isOpen(a) || !isOpen(b)) return isOpen(a) === isOpen(b);
  return a.kind === b.kind && (a.kind !== 'string' || (b.kind === 'string' && a.quote === b.quote));
}

const BALANCE_REASONS: Readonly<Record<string, string>> = {
  c: 'closes a bracket that is not open',
  o: 'leaves a bracket open',
  s: 'leaves a string unterminated',
  m: 'leaves a string or comment open',
};

/**
 * Balance errors of the regions scanned in order from `start` (copied), as keys that name the
 * same error in the texts with and without the suggestion: kind, region, offset in the region
 * (errors inside the suggestion never match one without it). Kinds: `c` a closer that closes
 * nothing open or mismatches the innermost bracket, `o` a bracket still open at the end (keyed by
 * the line piece that opened it), `s` a single-line string cut by its line break, `m` a block
 * comment or multi-line string open at the end. Brackets opened before the cursor and left open
 * count too: both versions share them, so only a change counts.
 */
function balanceErrors(
  regions: readonly (readonly [Region, string])[],
  syntax: LexSyntax,
  start: LexState,
): string[] {
  const state: LexState = { mode: start.mode, stack: [...start.stack] };
  const errors: string[] = [];
  // Where each bracket opened after the cursor was opened: region, offset of its line piece, and
  // its order among that piece's openers.
  const opened = new Map<OpenBracket, string>();
  const shared = new Set(start.stack);
  for (const [region, text] of regions) {
    let pieceStart = 0;
    while (pieceStart <= text.length) {
      const newline = text.indexOf('\n', pieceStart);
      const pieceEnd = newline < 0 ? text.length : newline;
      const piece = text.slice(pieceStart, pieceEnd);
      scan(piece, syntax, state, (e) => {
        const top = state.stack[state.stack.length - 1];
        if (e.insideLocal || top === undefined || top.ch !== CLOSERS[e.ch]) {
          errors.push(`c${region}${pieceStart + e.index}`);
        }
        return true;
      });
      let k = 0;
      for (const b of state.stack) {
        if (!shared.has(b) && !opened.has(b)) opened.set(b, `o${region}${pieceStart}:${k++}`);
      }
      if (newline < 0) break;
      // A quote other than a backtick ends at its line: the string was left unterminated.
      const mode = state.mode;
      if (mode.kind === 'string' && mode.quote.length === 1 && mode.quote !== '`') {
        errors.push(`s${region}${pieceEnd}`);
      }
      scan('\n', syntax, state);
      pieceStart = newline + 1;
    }
  }
  // Brackets opened before the cursor are the same objects in both versions: keyed by depth.
  for (const b of state.stack) errors.push(opened.get(b) ?? `ob${start.stack.indexOf(b)}`);
  if (state.mode.kind === 'block-comment' || state.mode.kind === 'string') {
    errors.push(`m${state.mode.kind}`);
  }
  return errors;
}

// ---- 3. Repeated operator ---------------------------------------------------------------------

/**
 * Operators that only ever sit between two operands, in no language a prefix: after one of
 * them, another cannot start the right operand. (`-`, `*`, `&`, `!`, `.`, `|` can: unary minus,
 * splats, references, Rust closures, Swift's `.member`.)
 */
const BINARY_ONLY = [
  '>>>=', '===', '!==', '**=', '//=', '<<=', '>>=', '&&=', '||=', '??=', '==', '!=', '<=', '>=',
  '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=', ':=', '=>', '??', '=',
]; // prettier-ignore

/** Operators a binary-only one can be the start of, to find whole tokens. */
const OPERATORS = [...BINARY_ONLY, '=~', '<=>', '=<', '=:=', '=/=', '==>'];

/** The longest of `candidates` that fits, or null. */
function longest(candidates: readonly string[], fits: (op: string) => boolean): string | null {
  return candidates.reduce<string | null>(
    (best, op) => (fits(op) && op.length > (best?.length ?? 0) ? op : best),
    null,
  );
}

/**
 * The operator `before` ends with when `insert` starts with the same one as a separate token
 * (`x = ` then `= 1`, or `x =` then ` = 1`), else null. Typed together, characters that lex as
 * one longer operator are not a repeat (`x =` then `= 1` is `x == 1`).
 */
export function repeatedOperator(before: string, insert: string): string | null {
  const tail = before.replace(/[ \t]+$/, '');
  const head = insert.replace(/^[ \t]+/, '');
  const op = longest(BINARY_ONLY, (o) => tail.endsWith(o));
  if (op === null || longest(OPERATORS, (o) => head.startsWith(o)) !== op) return null;
  const separated = tail.length < before.length || head.length < insert.length;
  if (!separated && longest(OPERATORS, (o) => (op + head).startsWith(o)) !== op) return null;
  return op;
}
