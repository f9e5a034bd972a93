// Lexical classes of source text, so routing statistics can say which experts read keywords,
// identifiers, strings, comments, numbers, operators or whitespace. TS/JS use the TypeScript
// compiler's own scanner; other languages a small lexer with per-language keywords and comment
// and string syntax. Both cover the text with contiguous spans and never throw.
import * as ts from 'typescript';

export const TOKEN_CLASSES = [
  'keyword',
  'identifier',
  'string',
  'comment',
  'number',
  'operator',
  'whitespace',
  'other',
] as const;
export type TokenClass = (typeof TOKEN_CLASSES)[number];

export interface ClassSpan {
  start: number;
  end: number;
  cls: TokenClass;
}

const TS_LANGUAGES = new Set(['typescript', 'typescriptreact', 'javascript', 'javascriptreact']);

/** Spans covering `text` contiguously, adjacent spans of one class merged. */
export function classifyText(text: string, languageId: string): ClassSpan[] {
  const spans: ClassSpan[] = [];
  const push = (start: number, end: number, cls: TokenClass) => {
    if (end <= start) return;
    const last = spans[spans.length - 1];
    if (last && last.cls === cls && last.end === start) last.end = end;
    else spans.push({ start, end, cls });
  };
  if (TS_LANGUAGES.has(languageId)) scanTypeScript(text, languageId.endsWith('react'), push);
  else scanGeneric(text, languageId, push);
  return spans;
}

type Push = (start: number, end: number, cls: TokenClass) => void;

// ---- TypeScript / JavaScript ------------------------------------------------------------------

/** Contextual keywords the scanner reports as identifiers. */
const TS_CONTEXTUAL = new Set([
  'type', 'async', 'await', 'of', 'as', 'from', 'get', 'set', 'declare', 'readonly', 'keyof',
  'infer', 'is', 'asserts', 'namespace', 'module', 'abstract', 'override', 'satisfies',
  'accessor', 'unique', 'global', 'constructor', 'yield', 'let', 'static',
]); // prettier-ignore

/** After these tokens a `/` starts a regular expression, not a division. */
function regexAllowedAfter(kind: ts.SyntaxKind | null): boolean {
  if (kind === null) return true;
  switch (kind) {
    case ts.SyntaxKind.Identifier:
    case ts.SyntaxKind.NumericLiteral:
    case ts.SyntaxKind.BigIntLiteral:
    case ts.SyntaxKind.StringLiteral:
    case ts.SyntaxKind.CloseParenToken:
    case ts.SyntaxKind.CloseBracketToken:
    case ts.SyntaxKind.CloseBraceToken:
    case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
    case ts.SyntaxKind.TemplateTail:
    case ts.SyntaxKind.ThisKeyword:
    case ts.SyntaxKind.SuperKeyword:
    case ts.SyntaxKind.TrueKeyword:
    case ts.SyntaxKind.FalseKeyword:
    case ts.SyntaxKind.NullKeyword:
    case ts.SyntaxKind.PlusPlusToken:
    case ts.SyntaxKind.MinusMinusToken:
      return false;
    default:
      return true;
  }
}

function tsClass(kind: ts.SyntaxKind, text: string): TokenClass {
  if (kind >= ts.SyntaxKind.FirstKeyword && kind <= ts.SyntaxKind.LastKeyword) return 'keyword';
  switch (kind) {
    case ts.SyntaxKind.Identifier:
    case ts.SyntaxKind.PrivateIdentifier:
      return TS_CONTEXTUAL.has(text) ? 'keyword' : 'identifier';
    case ts.SyntaxKind.StringLiteral:
    case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
    case ts.SyntaxKind.TemplateHead:
    case ts.SyntaxKind.TemplateMiddle:
    case ts.SyntaxKind.TemplateTail:
    case ts.SyntaxKind.RegularExpressionLiteral:
    case ts.SyntaxKind.JsxText:
      return 'string';
    case ts.SyntaxKind.NumericLiteral:
    case ts.SyntaxKind.BigIntLiteral:
      return 'number';
    case ts.SyntaxKind.SingleLineCommentTrivia:
    case ts.SyntaxKind.MultiLineCommentTrivia:
    case ts.SyntaxKind.ShebangTrivia:
      return 'comment';
    case ts.SyntaxKind.WhitespaceTrivia:
    case ts.SyntaxKind.NewLineTrivia:
      return 'whitespace';
    case ts.SyntaxKind.Unknown:
    case ts.SyntaxKind.ConflictMarkerTrivia:
      return 'other';
    default:
      return kind >= ts.SyntaxKind.FirstPunctuation && kind <= ts.SyntaxKind.LastPunctuation
        ? 'operator'
        : 'other';
  }
}

function scanTypeScript(text: string, jsx: boolean, push: Push): void {
  const scanner = ts.createScanner(
    ts.ScriptTarget.Latest,
    false,
    jsx ? ts.LanguageVariant.JSX : ts.LanguageVariant.Standard,
    text,
  );
  // Brace depth per open template expression: a `}` at depth 0 resumes the template.
  const templates: number[] = [];
  let prev: ts.SyntaxKind | null = null;
  let pos = 0;
  for (let guard = 0; guard <= text.length + 1; guard++) {
    let kind = scanner.scan();
    if (kind === ts.SyntaxKind.EndOfFileToken) break;
    if (
      (kind === ts.SyntaxKind.SlashToken || kind === ts.SyntaxKind.SlashEqualsToken) &&
      regexAllowedAfter(prev)
    ) {
      kind = scanner.reScanSlashToken();
    } else if (kind === ts.SyntaxKind.CloseBraceToken && templates.length > 0) {
      const depth = templates[templates.length - 1] as number;
      if (depth === 0) {
        kind = scanner.reScanTemplateToken(false);
        if (kind === ts.SyntaxKind.TemplateTail) templates.pop();
      } else {
        templates[templates.length - 1] = depth - 1;
      }
    } else if (kind === ts.SyntaxKind.OpenBraceToken && templates.length > 0) {
      templates[templates.length - 1] = (templates[templates.length - 1] as number) + 1;
    }
    if (kind === ts.SyntaxKind.TemplateHead) templates.push(0);
    const start = scanner.getTokenStart();
    const end = Math.max(start, scanner.getTokenEnd());
    if (start > pos) push(pos, start, 'other');
    push(Math.max(start, pos), end, tsClass(kind, scanner.getTokenText()));
    pos = Math.max(pos, end);
    const trivia =
      kind === ts.SyntaxKind.WhitespaceTrivia ||
      kind === ts.SyntaxKind.NewLineTrivia ||
      kind === ts.SyntaxKind.SingleLineCommentTrivia ||
      kind === ts.SyntaxKind.MultiLineCommentTrivia;
    if (!trivia) prev = kind;
  }
  if (pos < text.length) push(pos, text.length, 'other');
}

// ---- other languages --------------------------------------------------------------------------

const words = (s: string) => new Set(s.split(/\s+/).filter(Boolean));
const C_LIKE =
  'if else for while do switch case default break continue return goto sizeof typedef struct ' +
  'union enum static const volatile extern inline void int char short long float double ' +
  'signed unsigned bool true false NULL';
const KEYWORDS: Record<string, Set<string>> = {
  python: words(
    'False None True and as assert async await break class continue def del elif else except ' +
      'finally for from global if import in is lambda nonlocal not or pass raise return try ' +
      'while with yield match case self',
  ),
  go: words(
    'break case chan const continue default defer else fallthrough for func go goto if import ' +
      'interface map package range return select struct switch type var nil true false',
  ),
  rust: words(
    'as async await break const continue crate dyn else enum extern false fn for if impl in ' +
      'let loop match mod move mut pub ref return self Self static struct super trait true type ' +
      'unsafe use where while',
  ),
  java: words(
    'abstract assert boolean break byte case catch char class const continue default do double ' +
      'else enum extends final finally float for if implements import instanceof int interface ' +
      'long native new package private protected public return short static super switch ' +
      'synchronized this throw throws transient try void volatile while true false null var',
  ),
  c: words(C_LIKE + ' register restrict'),
  cpp: words(
    C_LIKE +
      ' class namespace template typename public private protected virtual override new delete ' +
      'this try catch throw using auto constexpr nullptr operator friend explicit mutable noexcept',
  ),
  csharp: words(
    'abstract as base bool break byte case catch char checked class const continue decimal ' +
      'default delegate do double else enum event explicit extern false finally fixed float for ' +
      'foreach goto if implicit in int interface internal is lock long namespace new null object ' +
      'operator out override params private protected public readonly ref return sealed short ' +
      'sizeof static string struct switch this throw true try typeof uint ulong unchecked ' +
      'unsafe ushort using var virtual void volatile while async await',
  ),
  ruby: words(
    'BEGIN END alias and begin break case class def defined? do else elsif end ensure false ' +
      'for if in module next nil not or redo rescue retry return self super then true undef ' +
      'unless until when while yield',
  ),
  php: words(
    'abstract and array as break callable case catch class clone const continue declare default ' +
      'do echo else elseif empty enddeclare endfor endforeach endif endswitch endwhile extends ' +
      'final finally fn for foreach function global if implements include instanceof insteadof ' +
      'interface isset list match namespace new or print private protected public require ' +
      'return static switch throw trait try unset use var while yield true false null',
  ),
  shellscript: words(
    'if then else elif fi case esac for while until do done in function select time return ' +
      'exit export local readonly declare unset shift',
  ),
};
KEYWORDS.kotlin = words(
  'as break class continue do else false for fun if in interface is null object package return ' +
    'super this throw true try typealias val var when while',
);
KEYWORDS.swift = words(
  'associatedtype class deinit enum extension func import init let protocol struct subscript ' +
    'typealias var break case continue default do else fallthrough for guard if in repeat ' +
    'return switch where while as false is nil self super throw throws true try',
);
const GENERIC_KEYWORDS = words(
  'if else for while do switch case default break continue return function def class struct ' +
    'import from export const let var new delete true false null nil none None True False this ' +
    'self public private protected static try catch finally throw raise in and or not',
);

interface Syntax {
  line: string[];
  block: [string, string][];
  quotes: string[];
  tripleQuotes: boolean;
}

function syntaxOf(languageId: string): Syntax {
  const cLike: Syntax = {
    line: ['//'],
    block: [['/*', '*/']],
    quotes: ['"', "'"],
    tripleQuotes: false,
  };
  switch (languageId) {
    case 'python':
      return { line: ['#'], block: [], quotes: ['"', "'"], tripleQuotes: true };
    case 'ruby':
    case 'shellscript':
    case 'yaml':
    case 'toml':
    case 'perl':
    case 'r':
    case 'makefile':
    case 'dockerfile':
      return { line: ['#'], block: [], quotes: ['"', "'", '`'], tripleQuotes: false };
    case 'sql':
    case 'lua':
      return {
        line: ['--'],
        block: [
          ['/*', '*/'],
          ['--[[', ']]'],
        ],
        quotes: ['"', "'"],
        tripleQuotes: false,
      };
    case 'html':
    case 'xml':
    case 'markdown':
      return { line: [], block: [['<!--', '-->']], quotes: ['"'], tripleQuotes: false };
    case 'go':
    case 'kotlin':
    case 'swift':
      return { ...cLike, quotes: ['"', "'", '`'] };
    case 'php':
      return { line: ['//', '#'], block: [['/*', '*/']], quotes: ['"', "'"], tripleQuotes: false };
    default:
      return cLike;
  }
}

const IDENT_START = /[\p{L}_$]/u;
const IDENT_PART = /[\p{L}\p{N}_$]/u;
const NUMBER =
  /^(?:0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)[a-zA-Z_]*/;
const STRING_PREFIX = /^[rRbBuUfF]{1,2}(?=["'])/;

function scanGeneric(text: string, languageId: string, push: Push): void {
  const syn = syntaxOf(languageId);
  const keywords = KEYWORDS[languageId] ?? GENERIC_KEYWORDS;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i] as string;
    const start = i;
    if (/\s/.test(c)) {
      while (i < n && /\s/.test(text[i] as string)) i++;
      push(start, i, 'whitespace');
      continue;
    }
    const line = syn.line.find((m) => text.startsWith(m, i));
    const block = syn.block.find(([open]) => text.startsWith(open, i));
    if (block && (!line || block[0].length >= line.length)) {
      const close = text.indexOf(block[1], i + block[0].length);
      i = close < 0 ? n : close + block[1].length;
      push(start, i, 'comment');
      continue;
    }
    if (line) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl;
      push(start, i, 'comment');
      continue;
    }
    // Python string prefixes (r, b, f, rb, …) belong to the string.
    let q = i;
    if (syn.tripleQuotes) {
      const pre = STRING_PREFIX.exec(text.slice(i, i + 3));
      if (pre && (i === 0 || !IDENT_PART.test(text[i - 1] as string))) q = i + pre[0].length;
    }
    const quote = syn.quotes.find((m) => text.startsWith(m, q));
    if (quote) {
      i = scanString(text, q, quote, syn.tripleQuotes);
      push(start, i, 'string');
      continue;
    }
    if (/\d/.test(c) || (c === '.' && /\d/.test(text[i + 1] ?? ''))) {
      const m = NUMBER.exec(text.slice(i, i + 200));
      i += m ? Math.max(1, m[0].length) : 1;
      push(start, i, 'number');
      continue;
    }
    if (IDENT_START.test(c)) {
      while (i < n && IDENT_PART.test(text[i] as string)) i++;
      // Ruby's `defined?` and friends
      if (languageId === 'ruby' && text[i] === '?') i++;
      push(start, i, keywords.has(text.slice(start, i)) ? 'keyword' : 'identifier');
      continue;
    }
    const code = c.codePointAt(0) ?? 0;
    i += code > 0xffff ? 2 : 1;
    push(start, i, /[\p{P}\p{S}]/u.test(c) ? 'operator' : 'other');
  }
}

/** End of the string starting with `quote` at i (its end if unterminated; lines end `"`/`'`). */
function scanString(text: string, i: number, quote: string, triple: boolean): number {
  const n = text.length;
  if (triple && text.startsWith(quote.repeat(3), i)) {
    const close = text.indexOf(quote.repeat(3), i + 3);
    return close < 0 ? n : close + 3;
  }
  let j = i + quote.length;
  while (j < n) {
    const ch = text[j];
    if (ch === '\\') j += 2;
    else if (ch === quote) return j + 1;
    else if (ch === '\n' && quote !== '`') {
      return j;
    } // unterminated on this line
    else j++;
  }
  return Math.min(j, n);
}

// ---- tokens → classes --------------------------------------------------------------------------

/**
 * The class of a model token covering [start, end): the class covering most of its
 * non-whitespace characters (ties: the earliest); 'whitespace' if it is all whitespace.
 */
export function classOfRange(spans: ClassSpan[], start: number, end: number): TokenClass {
  return classifyTokens(spans, [{ start, end }])[0] ?? 'other';
}

/** classOfRange for many sorted, non-overlapping ranges, in one pass over the spans. */
export function classifyTokens(
  spans: ClassSpan[],
  ranges: { start: number; end: number }[],
): TokenClass[] {
  const out: TokenClass[] = [];
  let s = 0;
  for (const r of ranges) {
    if (r.end <= r.start) {
      out.push('other');
      continue;
    }
    // Spans are sorted: skip those that end before this range (ranges are sorted too).
    while (s < spans.length && (spans[s] as ClassSpan).end <= r.start) s++;
    let best: TokenClass | null = null;
    let bestLen = 0;
    let sawWhitespace = false;
    for (let k = s; k < spans.length; k++) {
      const sp = spans[k] as ClassSpan;
      if (sp.start >= r.end) break;
      const len = Math.min(sp.end, r.end) - Math.max(sp.start, r.start);
      if (len <= 0) continue;
      if (sp.cls === 'whitespace') {
        sawWhitespace = true;
        continue;
      }
      if (len > bestLen) {
        best = sp.cls;
        bestLen = len;
      }
    }
    out.push(best ?? (sawWhitespace ? 'whitespace' : 'other'));
  }
  return out;
}

/**
 * The classes of analysed tokens (sorted, non-overlapping [start, end) ranges of `text`): only the
 * analysed prefix is classified (a big file's tail is never scanned). Runs where the analysis runs
 * (the engine process, the CLI): the TypeScript scanner never loads in the extension host.
 */
export function classesOf(
  text: string,
  tokens: { start: number; end: number }[],
  languageId: string,
): TokenClass[] {
  const end = tokens.at(-1)?.end ?? 0;
  return classifyTokens(classifyText(text.slice(0, end), languageId), tokens);
}
