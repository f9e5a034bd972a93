// `npm run eval:editor -- [--json] [--model DIR] [--positions N] ...`: completions as a user
// feels them. Replays real source files that the model never saw (test/fixtures/editor-eval:
// npm packages absent from training/corpus-manifest.json, see its manifest.json) through the
// real CompletionPipeline (debounce, cache, gate, post-processing; default settings, real
// timers) and the in-process engine, typing the true text keystroke by keystroke.
//
// Positions (seeded, spread evenly over the kinds, then round-robin over the files):
//   assign  mid-line after `= `          call    mid-line after a call's `(`
//   member  mid-line after `.`           return  mid-line after `return `
//   block   a fresh line after a line ending with `{`, `(`, `[`, `=>` (`:` in Python), the
//           cursor at the body's indentation (as VS Code puts it after Enter)
// At a position the target span (the rest of the line; for a block, the body up to its closing
// line) is removed, and keystroke k sees the original file with the span replaced by its first
// k characters (the rest of the file stays, as in an editor where the user writes the line).
// A line break in a block body is one keystroke that brings the next line's indentation.
//
// The simulated user: at a position's first keystroke they wait for the ghost text (up to
// --pause-ms), then type one key every --typing-ms (± 20 %, seeded); each keystroke aborts the
// previous request's signal (VS Code cancels it). A suggestion is SHOWN when it arrives before
// the next keystroke. It is EXACT when it equals the true rest of the line (mid-line) or of the
// block (multi-line), trailing whitespace of each line ignored; at a block position a
// single-line suggestion equal to the rest of the cursor's line counts too (Tab, then the user
// goes on). On an exact suggestion the user presses Tab: the keystrokes it saves are the
// remaining ones − 1 (Tab); `accepted()` runs as the extension runs it.
//
// Reports (--json): { positions, keystrokes, shownRate (shown / keystrokes), exactRate
// (exact / shown), syntaxBreakRate (JS/TS shown suggestions whose insertion adds a TypeScript
// parse error), repeatsTyped, tabBreaks, keystrokesSavedRate, p50Ms/p95Ms (keystroke →
// suggestion, debounce included, over shown suggestions), dropped: {reason: keystrokes},
// byKind, byLanguage, sweep: [{threshold on the mean token logprob, shownRate, exactRate}] }.
// Latencies of keystrokes typed over are censored by the typing interval; `pause` has the
// uncensored ones (first keystroke of each position, where the user waits).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ts from 'typescript';
import { inProcessEngine } from '../src/completion/inProcessEngine';
import {
  CompletionPipeline,
  DEFAULT_COMPLETION_SETTINGS,
  type CompletionRequest,
  type CompletionSettings,
  type PipelineEvent,
  type Suggestion,
} from '../src/completion/pipeline';
import { Engine } from '../src/engine/engine';
import { mulberry32 } from '../src/engine/sampler';

const ROOT = resolve(__dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'editor-eval');

const USAGE = `usage: node --import tsx scripts/evalEditor.ts [options]
  --model DIR          model folder (default models/moe-lens-code)
  --positions N        positions to replay (default 300)
  --seed N             seed of the positions and the typing rhythm (default 1)
  --files PATTERNS     comma-separated globs or substrings of <package>/<path> (default: all)
  --typing-ms MS       interval between keystrokes (default 150, ± 20 % seeded jitter)
  --pause-ms MS        longest wait for ghost text at a position's first keystroke (default 2000)
  --max-keys N         keystrokes replayed per position at most (default 16; the rest is typed
                       without measuring, and counts as typed)
  --threads N          onnxruntime intra-op threads (default 0: its choice)
  --min-confidence X   the gate's setting (default: the pipeline's); -inf: no confidence gate,
                       to calibrate it with the sweep
  --limit-seconds S    start no new position after S seconds (default: none)
  --out FILE           also write the JSON result to FILE
  --records FILE       write one JSON line per keystroke to FILE
  --list               print the positions and their composition, run nothing
  --json               print only the JSON result
  --verbose            print each position (typed, shown, truth) to stderr`;

type Kind = 'assign' | 'call' | 'member' | 'return' | 'block';
const KINDS: Kind[] = ['assign', 'call', 'member', 'return', 'block'];

/** Mid-line targets longer than this (characters) are not used. */
const MAX_LINE_REST = 48;
/** Lines longer than this are not used (generated-looking, wrapped by hand elsewhere). */
const MAX_LINE = 120;
/** Block bodies: at most this many lines and typed characters (indentation excluded). */
const MAX_BLOCK_LINES = 4;
const MAX_BLOCK_CHARS = 120;
/** Pause between two positions (the user moves elsewhere). */
const MOVE_MS = 300;
/** Thresholds of the sweep over the mean token logprob of a suggestion. */
const SWEEP_MEAN = [-Infinity, -3, -2.5, -2, -1.5, -1, -0.75, -0.5, -0.25];
const SWEEP_MIN = [-Infinity, -8, -6, -5, -4, -3, -2, -1.5, -1];

// --- fixtures ------------------------------------------------------------------------------------

interface FixtureFile {
  pkg: string;
  /** Path inside the package (the language comes from it). */
  path: string;
  languageId: 'typescript' | 'javascript' | 'python';
  text: string;
}

interface FixtureManifest {
  packages: { package: string; files: { path: string; file: string }[] }[];
}

function languageOf(path: string): FixtureFile['languageId'] | null {
  if (/\.(ts|mts|cts|tsx)$/.test(path)) return 'typescript';
  if (/\.(js|mjs|cjs|jsx)$/.test(path)) return 'javascript';
  if (/\.py$/.test(path)) return 'python';
  return null;
}

function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else {
      re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

function loadFixtures(filter: string | undefined): FixtureFile[] {
  const manifest = JSON.parse(
    readFileSync(join(FIXTURES, 'manifest.json'), 'utf8'),
  ) as FixtureManifest;
  const patterns = (filter ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const wanted = (name: string): boolean =>
    patterns.length === 0 ||
    patterns.some((p) => (/[*?]/.test(p) ? globRegExp(p).test(name) : name.includes(p)));
  const out: FixtureFile[] = [];
  for (const p of manifest.packages) {
    for (const f of p.files) {
      const languageId = languageOf(f.path);
      if (!languageId || !wanted(`${p.package}/${f.path}`)) continue;
      const text = readFileSync(join(FIXTURES, f.file), 'utf8').replace(/\r\n?/g, '\n');
      out.push({ pkg: p.package, path: f.path, languageId, text });
    }
  }
  if (out.length === 0) throw new Error(`no fixture file matches --files ${filter ?? ''}`);
  return out;
}

// --- positions -----------------------------------------------------------------------------------

interface Candidate {
  kind: Kind;
  /** 0-based line of the cursor's line (block: the opener's line). */
  line: number;
  /** Document = before + target.slice(0, typed) + after; cursor at before.length + typed. */
  before: string;
  target: string;
  after: string;
  /** Characters of the target present at the first keystroke (block: the indentation). */
  start: number;
}

interface Position extends Candidate {
  id: number;
  file: FixtureFile;
}

const indentOf = (line: string): string => /^[ \t]*/.exec(line)?.[0] ?? '';
const isBlankLine = (line: string): boolean => line.trim().length === 0;

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

/** The file's indentation unit: the most common positive step between consecutive lines. */
function indentUnit(lines: string[]): string {
  if (lines.some((l) => l.startsWith('\t'))) return '\t';
  const counts = new Map<number, number>();
  let prev = 0;
  for (const l of lines) {
    if (isBlankLine(l)) continue;
    const w = indentOf(l).length;
    if (w > prev) counts.set(w - prev, (counts.get(w - prev) ?? 0) + 1);
    prev = w;
  }
  let best = 2;
  let bestCount = -1;
  for (const [w, c] of counts) {
    if (c > bestCount) [best, bestCount] = [w, c];
  }
  return ' '.repeat(best);
}

/** A mid-line position at `cursor` (the target: the rest of its line), or null. */
function midLine(
  text: string,
  starts: number[],
  line: number,
  cursor: number,
  kind: Kind,
): Candidate | null {
  const lineStart = starts[line] as number;
  const lineEnd = line + 1 < starts.length ? (starts[line + 1] as number) - 1 : text.length;
  const full = text.slice(lineStart, lineEnd);
  const rest = text.slice(cursor, lineEnd).trimEnd();
  if (full.length > MAX_LINE || rest.length === 0 || rest.length > MAX_LINE_REST) return null;
  // A trailing comment is not code to complete (Python's `#`: the caller checks).
  if (/\/\/|\/\*/.test(rest)) return null;
  return {
    kind,
    line,
    before: text.slice(0, cursor),
    target: rest,
    after: text.slice(lineEnd),
    start: 0,
  };
}

/** A block position after the opener on `line`, or null (see MAX_BLOCK_*). */
function blockAfter(lines: string[], starts: number[], text: string, line: number, unit: string) {
  const opener = lines[line] as string;
  const indent = indentOf(opener);
  const first = lines[line + 1];
  if (first === undefined || isBlankLine(first)) return null;
  const bodyIndent = indentOf(first);
  if (bodyIndent !== indent + unit) return null;
  let last = line + 1;
  let close = -1;
  for (let i = line + 1; i < lines.length; i++) {
    const l = lines[i] as string;
    if (isBlankLine(l)) continue;
    if (indentOf(l).length <= indent.length) {
      close = i;
      break;
    }
    last = i;
  }
  if (close < 0 || last - line > MAX_BLOCK_LINES) return null;
  const bodyStart = starts[line + 1] as number;
  const bodyEnd = (starts[last + 1] as number) - 1;
  const target = text.slice(bodyStart, bodyEnd);
  const typedChars = target.split('\n').reduce((n, l) => n + l.trimStart().length + 1, -1);
  if (typedChars > MAX_BLOCK_CHARS) return null;
  if (lines.slice(line + 1, last + 1).some((l) => l.length > MAX_LINE)) return null;
  return {
    kind: 'block' as const,
    line,
    before: text.slice(0, bodyStart),
    target,
    after: text.slice(bodyEnd),
    start: bodyIndent.length,
  };
}

/** Every token of a source file, JSDoc excluded, in order. */
function tokensOf(sf: ts.SourceFile): ts.Node[] {
  const out: ts.Node[] = [];
  const visit = (n: ts.Node): void => {
    if (n.kind >= ts.SyntaxKind.FirstJSDocNode && n.kind <= ts.SyntaxKind.LastJSDocNode) return;
    if (n.kind <= ts.SyntaxKind.LastToken) {
      out.push(n);
      return;
    }
    for (const c of n.getChildren(sf)) visit(c);
  };
  visit(sf);
  return out;
}

function candidatesJs(f: FixtureFile): Candidate[] {
  const text = f.text;
  const lines = text.split('\n');
  const starts = lineStarts(text);
  const unit = indentUnit(lines);
  const sf = ts.createSourceFile(
    f.path,
    text,
    ts.ScriptTarget.Latest,
    true,
    f.languageId === 'typescript' ? ts.ScriptKind.TS : ts.ScriptKind.JS,
  );
  const toks = tokensOf(sf).filter((t) => t.kind !== ts.SyntaxKind.EndOfFileToken);
  const out: Candidate[] = [];
  for (const [i, t] of toks.entries()) {
    const start = t.getStart(sf);
    const end = t.getEnd();
    const line = sf.getLineAndCharacterOfPosition(start).line;
    const next = toks[i + 1];
    const nextOnLine =
      next !== undefined && sf.getLineAndCharacterOfPosition(next.getStart(sf)).line === line;
    let c: Candidate | null = null;
    switch (t.kind) {
      case ts.SyntaxKind.EqualsToken:
        if (text[end] === ' ' && nextOnLine) c = midLine(text, starts, line, end + 1, 'assign');
        break;
      case ts.SyntaxKind.ReturnKeyword:
        if (text[end] === ' ' && nextOnLine) c = midLine(text, starts, line, end + 1, 'return');
        break;
      case ts.SyntaxKind.DotToken:
        if (
          t.parent !== undefined &&
          ts.isPropertyAccessExpression(t.parent) &&
          next?.kind === ts.SyntaxKind.Identifier &&
          nextOnLine
        ) {
          c = midLine(text, starts, line, end, 'member');
        }
        break;
      case ts.SyntaxKind.OpenParenToken:
        if (
          nextOnLine &&
          t.parent !== undefined &&
          (ts.isCallExpression(t.parent) || ts.isNewExpression(t.parent))
        ) {
          c = midLine(text, starts, line, end, 'call');
        }
        break;
    }
    if (c) out.push(c);
    const opener =
      t.kind === ts.SyntaxKind.OpenBraceToken ||
      t.kind === ts.SyntaxKind.OpenParenToken ||
      t.kind === ts.SyntaxKind.OpenBracketToken ||
      t.kind === ts.SyntaxKind.EqualsGreaterThanToken;
    if (
      opener &&
      !nextOnLine &&
      /^[ \t]*$/.test(lines[line]?.slice(end - (starts[line] ?? 0)) ?? '')
    ) {
      const b = blockAfter(lines, starts, text, line, unit);
      if (b) out.push(b);
    }
  }
  return out;
}

/** Python, line by line: no strings or comments before the cursor, no docstrings. */
function candidatesPy(f: FixtureFile): Candidate[] {
  const text = f.text;
  const lines = text.split('\n');
  const starts = lineStarts(text);
  const unit = indentUnit(lines);
  const out: Candidate[] = [];
  let inDoc = false;
  for (const [line, l] of lines.entries()) {
    const triple = (l.match(/"""|'''/g) ?? []).length;
    if (inDoc || triple > 0) {
      if (triple % 2 === 1) inDoc = !inDoc;
      continue;
    }
    if (/^\s*#/.test(l) || isBlankLine(l)) continue;
    const lineStart = starts[line] as number;
    const code = (col: number): boolean => {
      const head = l.slice(0, col);
      return (
        !head.includes('#') &&
        (head.match(/"/g) ?? []).length % 2 === 0 &&
        (head.match(/'/g) ?? []).length % 2 === 0
      );
    };
    const add = (re: RegExp, kind: Kind, delta: (m: RegExpExecArray) => number): void => {
      for (const m of l.matchAll(new RegExp(re.source, 'g'))) {
        const col = (m.index ?? 0) + delta(m as RegExpExecArray);
        if (!code(col)) continue;
        const rest = l.slice(col);
        if (rest.includes('#')) continue;
        const c = midLine(text, starts, line, lineStart + col, kind);
        if (c) out.push(c);
      }
    };
    add(/[\w\])] = (?!=)/, 'assign', (m) => m[0].length);
    add(/(?<!\b(?:def|class) \w*)\w\((?!\s*$)/, 'call', () => 2);
    add(/[A-Za-z_]\w*\.(?=[A-Za-z_])/, 'member', (m) => m[0].length);
    add(/^\s*return (?=\S)/, 'return', (m) => m[0].length);
    if (/:\s*$/.test(l) && code(l.length)) {
      const b = blockAfter(lines, starts, text, line, unit);
      if (b) out.push(b);
    }
  }
  return out;
}

function choosePositions(files: FixtureFile[], n: number, rng: () => number): Position[] {
  const byKind = new Map<Kind, { file: FixtureFile; cands: Candidate[] }[]>();
  for (const kind of KINDS) byKind.set(kind, []);
  for (const file of files) {
    const all = file.languageId === 'python' ? candidatesPy(file) : candidatesJs(file);
    for (const kind of KINDS) {
      const cands = all.filter((c) => c.kind === kind);
      if (cands.length > 0) byKind.get(kind)?.push({ file, cands });
    }
  }
  const used = new Set<string>();
  const picked: { file: FixtureFile; c: Candidate }[] = [];
  const shuffle = <T>(xs: T[]): T[] => {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [a[i], a[j]] = [a[j] as T, a[i] as T];
    }
    return a;
  };
  // Even quotas per kind; what a kind cannot fill goes to the others.
  let left = n;
  let kinds = KINDS.filter((k) => (byKind.get(k)?.length ?? 0) > 0);
  const pools = new Map(
    kinds.map((k) => [k, (byKind.get(k) ?? []).map((p) => ({ ...p, cands: shuffle(p.cands) }))]),
  );
  while (left > 0 && kinds.length > 0) {
    const quota = Math.ceil(left / kinds.length);
    const exhausted: Kind[] = [];
    for (const kind of kinds) {
      const pool = shuffle(pools.get(kind) ?? []);
      let got = 0;
      while (got < quota && left > 0) {
        let progress = false;
        for (const p of pool) {
          if (got >= quota || left <= 0) break;
          while (p.cands.length > 0) {
            const c = p.cands.pop() as Candidate;
            const key = `${p.file.pkg}/${p.file.path}:${c.line}`;
            if (used.has(key)) continue;
            used.add(key);
            picked.push({ file: p.file, c });
            got++;
            left--;
            progress = true;
            break;
          }
        }
        if (!progress) {
          exhausted.push(kind);
          break;
        }
      }
    }
    kinds = kinds.filter((k) => !exhausted.includes(k));
  }
  // Grouped by file (a user works in one file, then the next), in random order within a file.
  const order = new Map(files.map((f, i) => [f, i]));
  const grouped = shuffle(picked).sort(
    (a, b) => (order.get(a.file) as number) - (order.get(b.file) as number),
  );
  return grouped.map((p, id) => ({ ...p.c, id, file: p.file }));
}

/** The text before the cursor at a position's first keystroke: its line (block: and the opener's). */
function cursorHead(p: Position): string {
  const head = p.before + p.target.slice(0, p.start);
  const lines = head.split('\n');
  return lines.slice(p.kind === 'block' ? -2 : -1).join('\n');
}

/** How many positions of each kind and language, and the keystrokes they take to type. */
function composition(positions: Position[]) {
  const count = (xs: string[]): Record<string, number> =>
    xs.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x]: (acc[x] ?? 0) + 1 }), {});
  return {
    positions: positions.length,
    byKind: count(positions.map((p) => p.kind)),
    byLanguage: count(positions.map((p) => p.file.languageId)),
    byPackage: count(positions.map((p) => p.file.pkg)),
    keystrokesToType: positions.reduce((n, p) => n + keysFrom(p.target, p.start), 0),
  };
}

// --- judging -------------------------------------------------------------------------------------

/** Trailing whitespace of each line and of the whole ignored. */
const norm = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trimEnd();

/** Keystrokes to type target[from..]: one per character, a line break with its indentation one. */
function keysFrom(target: string, from: number): number {
  let n = 0;
  for (let i = from; i < target.length; i++) {
    n++;
    if (target[i] === '\n') i += indentOf(target.slice(i + 1)).length;
  }
  return n;
}

/** Characters typed by the keystroke at target[at]. */
function keyLength(target: string, at: number): number {
  return target[at] === '\n' ? 1 + indentOf(target.slice(at + 1)).length : 1;
}

const REPEAT_KEYWORDS = new Set(
  (
    'return const let var new await typeof yield throw import export function class extends ' +
    'instanceof in of delete void async def lambda not and or is'
  ).split(' '),
);

/** The operator or keyword the line before the cursor ends with, if a repeat of it is an error. */
function lastOperator(linePrefix: string): string | null {
  const t = linePrefix.trimEnd();
  const op = /(?:[=+\-*/%&|^<>!?:.,]+)$/.exec(t)?.[0];
  if (op) return op;
  const word = /(?:^|[^\w$])([A-Za-z_]+)$/.exec(t)?.[1];
  return word !== undefined && REPEAT_KEYWORDS.has(word) ? word : null;
}

function repeatsTyped(linePrefix: string, suggestion: string, truth: string): boolean {
  const op = lastOperator(linePrefix);
  if (op === null) return false;
  const s = suggestion.trimStart();
  const starts = (x: string): boolean =>
    /^\w/.test(op) ? new RegExp(`^${op}(?![\\w$])`).test(x) : x.startsWith(op);
  return starts(s) && !starts(truth.trimStart());
}

function tabBreaks(linePrefix: string, suggestion: string): boolean {
  return /^[ \t]/.test(suggestion) && (linePrefix.trim() === '' || /[ \t]$/.test(linePrefix));
}

/** TypeScript parse errors of a JS/TS document. */
function parseErrors(text: string, languageId: string): number {
  const sf = ts.createSourceFile(
    languageId === 'typescript' ? 'x.ts' : 'x.js',
    text,
    ts.ScriptTarget.Latest,
    false,
    languageId === 'typescript' ? ts.ScriptKind.TS : ts.ScriptKind.JS,
  );
  return (sf as unknown as { parseDiagnostics: readonly ts.Diagnostic[] }).parseDiagnostics.length;
}

// --- the replay ----------------------------------------------------------------------------------

interface KeyRecord {
  pos: number;
  /** Keystroke index within the position, and target characters typed before it. */
  k: number;
  typed: number;
  pause: boolean;
  requestId: number;
  shown: boolean;
  text?: string;
  source?: Suggestion['source'];
  latencyMs?: number;
  meanLogprob?: number;
  minLogprob?: number;
  exact?: 'rest' | 'line' | null;
  prefix?: boolean;
  syntaxBreak?: boolean | null;
  repeatsTyped?: boolean;
  tabBreak?: boolean;
  accepted?: boolean;
  /** Why nothing was shown. */
  reason?: string;
  /** Still pending when the next keystroke came. */
  typedOver?: boolean;
}

interface PositionResult {
  pos: Position;
  keys: KeyRecord[];
  keysToType: number;
  saved: number;
  capped: boolean;
}

interface EventNote {
  type: string;
  code?: string;
  reason?: string;
  discarded?: string;
  superseded?: boolean;
  speculative?: boolean;
}

/** A reason without its details (numbers, the parenthesis), so that reasons can be counted. */
const general = (reason: string | undefined): string =>
  (reason ?? '')
    .replace(/\s*\(.*$/s, '')
    .replace(/-?\d+(\.\d+)?/g, 'N')
    .trim();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

class Replay {
  readonly events = new Map<number, EventNote[]>();
  readonly eventCounts: Record<string, number> = {};
  /** Request ids as the pipeline numbers them (one per complete() and accepted() call). */
  private calls = 0;
  private idOffset = 0;
  idMismatches = 0;

  constructor(
    private readonly pipeline: CompletionPipeline,
    private readonly opts: {
      typingMs: number;
      pauseMs: number;
      maxKeys: number;
      rng: () => number;
    },
  ) {
    pipeline.onEvent = (e: PipelineEvent) => this.onEvent(e);
  }

  private onEvent(e: PipelineEvent): void {
    const any = e as unknown as Record<string, unknown>;
    const type = String(any.type);
    if (type === 'token') return;
    this.eventCounts[type] = (this.eventCounts[type] ?? 0) + 1;
    const id = typeof any.requestId === 'number' ? any.requestId : -1;
    const note: EventNote = { type };
    if (typeof any.reason === 'string') note.reason = any.reason;
    if (typeof any.code === 'string') note.code = any.code;
    if (typeof any.message === 'string') note.reason = any.message;
    if (typeof any.discarded === 'string') note.discarded = any.discarded;
    if (typeof any.superseded === 'boolean') note.superseded = any.superseded;
    if (typeof any.speculative === 'boolean') note.speculative = any.speculative;
    const list = this.events.get(id) ?? [];
    list.push(note);
    this.events.set(id, list);
  }

  private gap(): number {
    return this.opts.typingMs * (0.8 + 0.4 * this.opts.rng());
  }

  async position(pos: Position): Promise<PositionResult> {
    const uri = `file:///workspace/${pos.file.pkg}/${pos.file.path}`;
    const keys: KeyRecord[] = [];
    const keysToType = keysFrom(pos.target, pos.start);
    let typed = pos.start;
    let saved = 0;
    let capped = false;
    let pause = true;
    for (let k = 0; typed < pos.target.length; k++) {
      if (k >= this.opts.maxKeys) {
        capped = true;
        break;
      }
      const controller = new AbortController();
      const req: CompletionRequest = {
        uri,
        path: `/workspace/${pos.file.pkg}/${pos.file.path}`,
        displayPath: pos.file.path,
        languageId: pos.file.languageId,
        text: pos.before + pos.target.slice(0, typed) + pos.after,
        offset: pos.before.length + typed,
        signal: controller.signal,
      };
      const rec: KeyRecord = {
        pos: pos.id,
        k,
        typed,
        pause,
        requestId: ++this.calls + this.idOffset,
        shown: false,
      };
      keys.push(rec);
      let settled = false;
      let over = false;
      let suggestion: Suggestion | null = null;
      let settledAt = 0;
      const t0 = performance.now();
      const done = this.pipeline.complete(req).then(
        (s) => {
          settledAt = performance.now();
          settled = true;
          if (!over) suggestion = s;
        },
        (e: unknown) => {
          settledAt = performance.now();
          settled = true;
          if (!over) rec.reason = `error: ${e instanceof Error ? e.message : String(e)}`;
        },
      );
      const rest = pos.target.slice(typed);
      const nl = rest.indexOf('\n');
      const restLine = nl < 0 ? rest : rest.slice(0, nl);
      /** Records what arrived; the exactness that makes the user press Tab. */
      const evaluate = (): 'rest' | 'line' | null => {
        const s = suggestion as Suggestion | null;
        if (!s || s.text.length === 0) return null;
        rec.shown = true;
        rec.text = s.text;
        rec.source = s.source;
        rec.latencyMs = settledAt - t0;
        if (s.requestId !== rec.requestId) {
          this.idMismatches++;
          this.idOffset += s.requestId - rec.requestId;
          rec.requestId = s.requestId;
        }
        const lps = s.tokens.map((t) => t.logprob).filter((x) => Number.isFinite(x));
        rec.meanLogprob = lps.length ? lps.reduce((a, b) => a + b, 0) / lps.length : -Infinity;
        rec.minLogprob = lps.length ? Math.min(...lps) : -Infinity;
        const sn = norm(s.text);
        rec.prefix = sn !== '' && rest.startsWith(s.text.trimEnd());
        let exact: 'rest' | 'line' | null = null;
        if (sn !== '' && sn === norm(rest)) exact = 'rest';
        else if (pos.kind === 'block' && nl >= 0 && sn !== '' && sn === norm(restLine)) {
          exact = 'line';
        }
        rec.exact = exact;
        return exact;
      };
      // Wait for the next keystroke: one typing interval; at a pause, until the ghost text
      // comes (at most pauseMs) and one interval more. An exact suggestion is taken at once.
      let deadline = t0 + (pause ? this.opts.pauseMs : this.gap());
      let extended = !pause;
      let evaluated = false;
      let accept: 'rest' | 'line' | null = null;
      for (;;) {
        const now = performance.now();
        if (now >= deadline) {
          if (extended) break;
          extended = true;
          deadline = now + this.gap();
          continue;
        }
        if (settled) await sleep(deadline - now);
        else await Promise.race([done, sleep(deadline - now)]);
        if (settled && !evaluated) {
          evaluated = true;
          accept = evaluate();
          if (accept) break;
          if (!extended) {
            extended = true;
            deadline = settledAt + this.gap();
          }
        }
      }
      if (accept) {
        // Tab: the suggestion goes in; the remaining keystrokes of what it covers are saved.
        rec.accepted = true;
        const covered = accept === 'rest' ? rest.length : restLine.length;
        saved += keysFrom(pos.target.slice(0, typed + covered), typed) - 1;
        this.calls++;
        this.pipeline.accepted(req, rec.text as string);
        typed += covered;
        pause = false;
        continue;
      }
      if (!settled) {
        over = true;
        rec.typedOver = true;
        controller.abort();
      }
      typed += keyLength(pos.target, typed);
      pause = false;
    }
    // The user moves elsewhere: VS Code cancels whatever is pending.
    await sleep(MOVE_MS);
    return { pos, keys, keysToType, saved, capped };
  }

  /** Why nothing was shown at `rec`, from the pipeline's events for its request. */
  reasonOf(rec: KeyRecord): string {
    if (rec.reason) return rec.reason;
    const evs = (this.events.get(rec.requestId) ?? []).filter((e) => !e.speculative);
    if (rec.typedOver) {
      const passed = evs.some((e) => e.type === 'debounce' && e.superseded === false);
      return passed ? 'typed over: generating' : 'typed over: before generation';
    }
    const skip = evs.find((e) => e.type === 'skip');
    if (skip) return `skip: ${general(skip.reason)}`;
    const gen = evs.find((e) => e.type === 'generation' && e.discarded !== undefined);
    if (gen) return `discarded: ${general(gen.discarded)}`;
    const none = evs.find((e) => e.type === 'none');
    if (none) return `none: ${none.code ?? general(none.reason)}`;
    const err = evs.find((e) => e.type === 'error');
    if (err) return `error: ${general(err.reason).slice(0, 80)}`;
    if (evs.some((e) => e.type === 'cancelled')) return 'cancelled';
    if (evs.some((e) => e.type === 'debounce' && e.superseded)) return 'debounce superseded';
    const other = evs.find((e) => e.reason !== undefined || e.code !== undefined);
    if (other) return `${other.type}: ${other.code ?? general(other.reason)}`;
    return evs.length > 0 ? `no suggestion (${evs[evs.length - 1]?.type ?? ''})` : 'no event';
  }
}

// --- report --------------------------------------------------------------------------------------

function percentile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

const round = (x: number | null, d = 3): number | null =>
  x === null || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d;
const rate = (a: number, b: number): number | null => (b > 0 ? round(a / b) : null);

interface Summary {
  positions: number;
  keystrokes: number;
  shown: number;
  exact: number;
  shownRate: number | null;
  exactRate: number | null;
  positionsShownRate: number | null;
  positionsExactRate: number | null;
  prefixRate: number | null;
  syntaxChecked: number;
  syntaxBreaks: number;
  syntaxBreakRate: number | null;
  repeatsTyped: number;
  tabBreaks: number;
  keystrokesToType: number;
  keystrokesSaved: number;
  keystrokesSavedRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
}

function summarize(results: PositionResult[]): Summary {
  const keys = results.flatMap((r) => r.keys);
  const shown = keys.filter((k) => k.shown);
  const exact = shown.filter((k) => k.exact);
  const checked = shown.filter((k) => k.syntaxBreak !== null && k.syntaxBreak !== undefined);
  const breaks = checked.filter((k) => k.syntaxBreak);
  const toType = results.reduce((n, r) => n + r.keysToType, 0);
  const saved = results.reduce((n, r) => n + r.saved, 0);
  const lat = shown.map((k) => k.latencyMs as number);
  return {
    positions: results.length,
    keystrokes: keys.length,
    shown: shown.length,
    exact: exact.length,
    shownRate: rate(shown.length, keys.length),
    exactRate: rate(exact.length, shown.length),
    positionsShownRate: rate(
      results.filter((r) => r.keys.some((k) => k.shown)).length,
      results.length,
    ),
    positionsExactRate: rate(
      results.filter((r) => r.keys.some((k) => k.exact)).length,
      results.length,
    ),
    prefixRate: rate(shown.filter((k) => k.prefix).length, shown.length),
    syntaxChecked: checked.length,
    syntaxBreaks: breaks.length,
    syntaxBreakRate: rate(breaks.length, checked.length),
    repeatsTyped: shown.filter((k) => k.repeatsTyped).length,
    tabBreaks: shown.filter((k) => k.tabBreak).length,
    keystrokesToType: toType,
    keystrokesSaved: saved,
    keystrokesSavedRate: rate(saved, toType),
    p50Ms: round(percentile(lat, 0.5), 1),
    p95Ms: round(percentile(lat, 0.95), 1),
  };
}

function sweep(keys: KeyRecord[], field: 'meanLogprob' | 'minLogprob', thresholds: number[]) {
  const shown = keys.filter((k) => k.shown);
  return thresholds.map((t) => {
    const kept = shown.filter((k) => (k[field] ?? -Infinity) >= t);
    const exact = kept.filter((k) => k.exact).length;
    return {
      threshold: Number.isFinite(t) ? t : null,
      shown: kept.length,
      exact,
      shownRate: rate(kept.length, keys.length),
      exactRate: rate(exact, kept.length),
    };
  });
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const ms = (x: number | null): string => (x === null ? '-' : `${x.toFixed(0)}`);
const show = (s: string | undefined): string => JSON.stringify(s ?? '');

function table(rows: [string, Summary][]): string {
  const head = [
    '',
    'pos',
    'keys',
    'shown',
    'exact',
    'pos≥1',
    'synBrk',
    'rep',
    'tab',
    'saved',
    'p50',
    'p95',
  ];
  const body = rows.map(([name, s]) => [
    name,
    String(s.positions),
    String(s.keystrokes),
    pct(s.shownRate),
    pct(s.exactRate),
    pct(s.positionsShownRate),
    pct(s.syntaxBreakRate),
    String(s.repeatsTyped),
    String(s.tabBreaks),
    pct(s.keystrokesSavedRate),
    ms(s.p50Ms),
    ms(s.p95Ms),
  ]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length)));
  return all
    .map((r) =>
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

// --- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      positions: { type: 'string', default: '300' },
      seed: { type: 'string', default: '1' },
      files: { type: 'string' },
      'typing-ms': { type: 'string', default: '150' },
      'pause-ms': { type: 'string', default: '2000' },
      'max-keys': { type: 'string', default: '16' },
      threads: { type: 'string', default: '0' },
      'min-confidence': { type: 'string' },
      'limit-seconds': { type: 'string' },
      out: { type: 'string' },
      records: { type: 'string' },
      json: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const modelDir = resolve(values.model ?? join(ROOT, 'models', 'moe-lens-code'));
  const seed = Number(values.seed);
  const typingMs = Number(values['typing-ms']);
  const pauseMs = Number(values['pause-ms']);
  const maxKeys = Number(values['max-keys']);
  const threads = Number(values.threads);
  const limitMs =
    values['limit-seconds'] !== undefined ? 1000 * Number(values['limit-seconds']) : Infinity;
  const settings: CompletionSettings = { ...DEFAULT_COMPLETION_SETTINGS };
  const minConfidence = values['min-confidence'];
  if (minConfidence !== undefined) {
    const x = /^-inf(inity)?$/i.test(minConfidence) ? -Infinity : Number(minConfidence);
    if (Number.isNaN(x)) throw new Error(`--min-confidence ${minConfidence}: not a number`);
    (settings as unknown as Record<string, unknown>).minConfidence = x;
  }

  const files = loadFixtures(values.files);
  const positions = choosePositions(files, Number(values.positions), mulberry32(seed));
  if (values.list) {
    for (const p of positions) {
      console.log(
        `#${p.id} ${p.kind} ${p.file.pkg}/${p.file.path}:${p.line + 1} ${show(cursorHead(p))} ▸ ${show(p.target.slice(p.start))} (${keysFrom(p.target, p.start)} keys)`,
      );
    }
    console.log(JSON.stringify(composition(positions)));
    return;
  }
  const engine = await Engine.open(modelDir, { executionProvider: 'cpu', threads });
  const pipeline = new CompletionPipeline(inProcessEngine(engine), () => settings);
  // The extension tells the pipeline the model's context (where the pipeline takes it).
  (pipeline as unknown as { setModel?: (m: { contextLength: number }) => void }).setModel?.({
    contextLength: engine.info().contextLength,
  });
  const replay = new Replay(pipeline, {
    typingMs,
    pauseMs,
    maxKeys,
    rng: mulberry32((seed ^ 0x9e3779b9) >>> 0),
  });

  const t0 = performance.now();
  const results: PositionResult[] = [];
  let truncated = false;
  for (const pos of positions) {
    if (performance.now() - t0 > limitMs) {
      truncated = true;
      break;
    }
    results.push(await replay.position(pos));
    if (results.length % 25 === 0) {
      const s = summarize(results);
      process.stderr.write(
        `${results.length}/${positions.length} positions, ${((performance.now() - t0) / 1000).toFixed(0)} s: ` +
          `shown ${pct(s.shownRate)}, exact ${pct(s.exactRate)}\n`,
      );
    }
  }
  const wallMs = performance.now() - t0;
  pipeline.dispose();
  await engine.dispose();

  // Judging after the replay (parsing would slow the event loop while keys are timed).
  const dropped: Record<string, number> = {};
  const errorCache = new Map<string, number>();
  for (const r of results) {
    const p = r.pos;
    for (const k of r.keys) {
      if (!k.shown) {
        const why = replay.reasonOf(k);
        k.reason = why;
        dropped[why] = (dropped[why] ?? 0) + 1;
        continue;
      }
      const text = k.text as string;
      const head = p.before + p.target.slice(0, k.typed);
      const linePrefix = head.slice(head.lastIndexOf('\n') + 1);
      const rest = p.target.slice(k.typed);
      k.repeatsTyped = repeatsTyped(linePrefix, text, rest);
      k.tabBreak = tabBreaks(linePrefix, text);
      if (p.file.languageId === 'python') {
        k.syntaxBreak = null;
      } else {
        const key = `${p.id}:${k.typed}`;
        let base = errorCache.get(key);
        if (base === undefined) {
          base = parseErrors(head + p.after, p.file.languageId);
          errorCache.set(key, base);
        }
        k.syntaxBreak = parseErrors(head + text + p.after, p.file.languageId) > base;
      }
    }
  }

  const keys = results.flatMap((r) => r.keys);
  const byKind: Record<string, Summary> = {};
  for (const kind of KINDS) byKind[kind] = summarize(results.filter((r) => r.pos.kind === kind));
  const byLanguage: Record<string, Summary> = {};
  for (const lang of ['typescript', 'javascript', 'python']) {
    const rs = results.filter((r) => r.pos.file.languageId === lang);
    if (rs.length > 0) byLanguage[lang] = summarize(rs);
  }
  const pauseKeys = keys.filter((k) => k.pause);
  const pauseShown = pauseKeys.filter((k) => k.shown);
  const all = summarize(results);
  const result = {
    model: relative(ROOT, modelDir) || modelDir,
    ...all,
    composition: composition(results.map((r) => r.pos)),
    dropped: Object.fromEntries(Object.entries(dropped).sort((a, b) => b[1] - a[1])),
    byKind,
    byLanguage,
    sweep: sweep(keys, 'meanLogprob', SWEEP_MEAN),
    sweepMin: sweep(keys, 'minLogprob', SWEEP_MIN),
    pause: {
      keystrokes: pauseKeys.length,
      shownRate: rate(pauseShown.length, pauseKeys.length),
      exactRate: rate(pauseShown.filter((k) => k.exact).length, pauseShown.length),
      p50Ms: round(
        percentile(
          pauseShown.map((k) => k.latencyMs as number),
          0.5,
        ),
        1,
      ),
      p95Ms: round(
        percentile(
          pauseShown.map((k) => k.latencyMs as number),
          0.95,
        ),
        1,
      ),
    },
    sources: keys
      .filter((k) => k.shown)
      .reduce<Record<string, number>>((acc, k) => {
        acc[k.source ?? '?'] = (acc[k.source ?? '?'] ?? 0) + 1;
        return acc;
      }, {}),
    accepted: keys.filter((k) => k.accepted).length,
    cappedPositions: results.filter((r) => r.capped).length,
    events: replay.eventCounts,
    requestIdMismatches: replay.idMismatches,
    files: files.map((f) => `${f.pkg}/${f.path}`),
    seed,
    typingMs,
    pauseMs,
    maxKeys,
    threads,
    settings: { ...settings, secretPatterns: undefined },
    truncated,
    wallSeconds: Math.round(wallMs / 1000),
  };

  if (values.verbose) {
    for (const r of results) {
      const p = r.pos;
      process.stderr.write(
        `\n#${p.id} ${p.kind} ${p.file.pkg}/${p.file.path}:${p.line + 1}  ${show(cursorHead(p))} ▸ truth ${show(p.target.slice(p.start))}\n`,
      );
      for (const k of r.keys) {
        if (!k.shown) continue;
        const flags = [
          k.exact ? `EXACT(${k.exact})` : '',
          k.syntaxBreak ? 'SYNTAX' : '',
          k.repeatsTyped ? 'REPEAT' : '',
          k.tabBreak ? 'TAB' : '',
        ].filter((x) => x);
        process.stderr.write(
          `  k=${k.k} typed ${show(p.target.slice(p.start, k.typed))} shown ${show(k.text)} ` +
            `${(k.latencyMs ?? 0).toFixed(0)} ms lp ${(k.meanLogprob ?? 0).toFixed(2)} ${flags.join(' ')}\n`,
        );
      }
      const none = r.keys.filter((k) => !k.shown).map((k) => k.reason ?? '');
      if (none.length > 0) {
        const counts: Record<string, number> = {};
        for (const n of none) counts[n] = (counts[n] ?? 0) + 1;
        process.stderr.write(`  not shown: ${JSON.stringify(counts)}\n`);
      }
    }
  }
  if (values.records) {
    writeFileSync(
      values.records,
      keys
        .map((k) => {
          const r = results.find((x) => x.pos.id === k.pos) as PositionResult;
          return JSON.stringify({
            ...k,
            kind: r.pos.kind,
            file: `${r.pos.file.pkg}/${r.pos.file.path}`,
            line: r.pos.line + 1,
            truth: r.pos.target.slice(k.typed),
          });
        })
        .join('\n') + '\n',
    );
  }
  const json = JSON.stringify(result, null, 2);
  if (values.out) writeFileSync(values.out, json + '\n');
  if (values.json) {
    console.log(json);
    return;
  }
  console.log(
    `${result.model}: ${results.length} positions, ${keys.length} keystrokes, ${result.wallSeconds} s`,
  );
  console.log(
    table([...KINDS.map((k) => [k, byKind[k] as Summary] as [string, Summary]), ['all', all]]),
  );
  console.log(
    `first keystroke (user waits): shown ${pct(result.pause.shownRate)}, exact ${pct(result.pause.exactRate)}, ` +
      `p50 ${ms(result.pause.p50Ms)} ms, p95 ${ms(result.pause.p95Ms)} ms`,
  );
  console.log('\nnot shown (keystrokes):');
  for (const [why, n] of Object.entries(result.dropped)) {
    console.log(`  ${String(n).padStart(6)}  ${why}`);
  }
  console.log('\nthreshold on mean logprob: shown / exact');
  for (const s of result.sweep) {
    console.log(
      `  ${(s.threshold === null ? '-inf' : String(s.threshold)).padStart(6)}  ${pct(s.shownRate).padStart(6)}  ${pct(s.exactRate).padStart(6)}  (${s.exact}/${s.shown})`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(`evalEditor: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
