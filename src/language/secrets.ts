// Stage: no completions in files that may hold secrets (.env, keys, certificates, credentials),
// so their contents never reach a prompt or the cache; the routing analyses skip them too
// (src/analysis/analyzeFiles.ts). Patterns are globs over the file path with `/` separators:
// `**/` any number of whole path segments (a trailing `/**` everything below), `*` any run of
// characters within a segment, `?` one character, `[abc]`/`[a-z]`/`[!abc]` one character of a
// set, `{a,b}` alternatives (nested too). A pattern that starts with neither `/` nor `**` may
// match at any depth (`.env` and `config/*.key` work as `**/.env`, `**/config/*.key`). Matching
// ignores case (Windows and macOS file systems mostly do); dotfiles are matched like any file.
//
// Linear time, by construction: a pattern compiles to a small NFA (Thompson's construction) that
// is simulated over the path one character at a time, each state at most once per character, so
// a match costs O(pattern length × path length) whatever the pattern. A backtracking regular
// expression cannot promise that: our former glob → RegExp took 197 s for `**/` × 10 on a
// 31-segment path, and picomatch 4 (which also compiles to a backtracking RegExp) takes over 20 s
// for `**/*/` × 10 or `**/` + `*a` × 12 + `b` (docs/SECURITY.md). Patterns longer than
// MAX_SECRET_PATTERN_LENGTH are ignored and at most MAX_SECRET_PATTERNS are used (the settings
// layer reports both), which bounds the work per path.

export const DEFAULT_SECRET_PATTERNS: readonly string[] = [
  '**/.env',
  '**/.env.*',
  '**/*.env',
  '**/.envrc',
  '**/*.pem',
  '**/*.key',
  '**/*.crt',
  '**/*.cer',
  '**/*.p8',
  '**/*.p12',
  '**/*.pfx',
  '**/*.ppk',
  '**/*.jks',
  '**/*.keystore',
  '**/id_rsa*',
  '**/id_dsa*',
  '**/id_ecdsa*',
  '**/id_ed25519*',
  '**/.ssh/**',
  '**/.gnupg/**',
  '**/.aws/**',
  '**/.docker/config.json',
  '**/.kube/config',
  '**/.netrc',
  '**/.npmrc',
  '**/.pypirc',
  '**/.pgpass',
  '**/.htpasswd',
  '**/.git-credentials',
  '**/credentials*',
  '**/service-account*.json',
  '**/secrets/**',
  '**/*secret*',
  '**/*.tfvars',
  '**/*.tfstate',
  '**/*.tfstate.*',
];

/** Longer patterns are ignored (and reported by the settings layer). */
export const MAX_SECRET_PATTERN_LENGTH = 256;
/** Patterns past this many are ignored (and reported by the settings layer). */
export const MAX_SECRET_PATTERNS = 128;

// ---- The NFA -------------------------------------------------------------------------------

type Op =
  /** One character. */
  | { op: 'char'; ch: string }
  /** Any one character but `/`. */
  | { op: 'seg' }
  /** Any one character. */
  | { op: 'any' }
  /** One character (not `/`) in (or, negated, not in) the ranges (of UTF-16 code units). */
  | { op: 'class'; negated: boolean; ranges: [number, number][] }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; to: number }
  | { op: 'match' };

type Node =
  | { t: 'lit'; ch: string }
  | { t: 'one' }
  | { t: 'star' }
  /** `**` + `/` at a segment start: empty, or anything ending in `/` (zero or more segments). */
  | { t: 'dirs' }
  /** A trailing `**` at a segment start: anything. */
  | { t: 'all' }
  | { t: 'class'; negated: boolean; ranges: [number, number][] }
  | { t: 'alt'; alts: Node[][] };

/** Braces are alternatives only when they balance; otherwise every brace is a literal. */
function bracesBalance(g: string): boolean {
  let depth = 0;
  for (const ch of g) {
    if (ch === '{') depth++;
    else if (ch === '}' && --depth < 0) return false;
  }
  return depth === 0;
}

/** `[...]` at `g[i]`: the class and the index after it, or null (then `[` is a literal). */
function parseClass(g: string, i: number): { node: Node; end: number } | null {
  let j = i + 1;
  const negated = g[j] === '!' || g[j] === '^';
  if (negated) j++;
  const ranges: [number, number][] = [];
  let first = true;
  while (j < g.length) {
    const ch = g[j] as string;
    if (ch === '/') return null;
    if (ch === ']' && !first) return { node: { t: 'class', negated, ranges }, end: j + 1 };
    first = false;
    const lo = ch.charCodeAt(0);
    if (g[j + 1] === '-' && j + 2 < g.length && g[j + 2] !== ']') {
      const hi = (g[j + 2] as string).charCodeAt(0);
      ranges.push(lo <= hi ? [lo, hi] : [hi, lo]);
      j += 3;
    } else {
      ranges.push([lo, lo]);
      j++;
    }
  }
  return null;
}

function parse(g: string): Node[] {
  const braces = bracesBalance(g);
  let i = 0;
  const seq = (depth: number): Node[] => {
    const out: Node[] = [];
    while (i < g.length) {
      const ch = g[i] as string;
      if (depth > 0 && (ch === ',' || ch === '}')) return out;
      if (ch === '*') {
        const atSegmentStart = i === 0 || g[i - 1] === '/';
        if (g[i + 1] === '*' && atSegmentStart && g[i + 2] === '/') {
          out.push({ t: 'dirs' });
          i += 3;
        } else if (g[i + 1] === '*' && atSegmentStart && i + 2 === g.length) {
          out.push({ t: 'all' });
          i += 2;
        } else {
          out.push({ t: 'star' });
          i += g[i + 1] === '*' ? 2 : 1;
        }
      } else if (ch === '?') {
        out.push({ t: 'one' });
        i++;
      } else if (ch === '[' && parseClass(g, i) !== null) {
        const c = parseClass(g, i) as { node: Node; end: number };
        out.push(c.node);
        i = c.end;
      } else if (ch === '{' && braces) {
        i++;
        const alts: Node[][] = [];
        for (;;) {
          alts.push(seq(depth + 1));
          const end = g[i];
          i++;
          if (end !== ',') break; // '}' (balanced braces always close)
        }
        out.push({ t: 'alt', alts });
      } else {
        out.push({ t: 'lit', ch });
        i++;
      }
    }
    return out;
  };
  return seq(0);
}

function emit(nodes: Node[], prog: Op[]): void {
  /** A loop over one op (`x*`): split → op → jmp back; leaves with the split's other branch. */
  const loop = (op: Op) => {
    const split = prog.length;
    prog.push({ op: 'split', x: split + 1, y: -1 }, op, { op: 'jmp', to: split });
    (prog[split] as { y: number }).y = prog.length;
  };
  for (const n of nodes) {
    switch (n.t) {
      case 'lit':
        prog.push({ op: 'char', ch: n.ch });
        break;
      case 'one':
        prog.push({ op: 'seg' });
        break;
      case 'star':
        loop({ op: 'seg' });
        break;
      case 'all':
        loop({ op: 'any' });
        break;
      case 'dirs': {
        // (.*/)?  — equal to (?:[^/]*/)*: empty, or anything that ends with a slash.
        const split = prog.length;
        prog.push({ op: 'split', x: split + 1, y: -1 });
        loop({ op: 'any' });
        prog.push({ op: 'char', ch: '/' });
        (prog[split] as { y: number }).y = prog.length;
        break;
      }
      case 'class':
        prog.push({ op: 'class', negated: n.negated, ranges: n.ranges });
        break;
      case 'alt': {
        const jumps: number[] = [];
        n.alts.forEach((alt, k) => {
          const last = k === n.alts.length - 1;
          const split = prog.length;
          if (!last) prog.push({ op: 'split', x: split + 1, y: -1 });
          emit(alt, prog);
          if (!last) {
            jumps.push(prog.length);
            prog.push({ op: 'jmp', to: -1 });
            (prog[split] as { y: number }).y = prog.length;
          }
        });
        for (const j of jumps) (prog[j] as { to: number }).to = prog.length;
        break;
      }
    }
  }
}

function inRanges(ranges: [number, number][], ch: string): boolean {
  const code = ch.charCodeAt(0);
  return ranges.some(([lo, hi]) => code >= lo && code <= hi);
}

function consumes(op: Op, ch: string): boolean {
  switch (op.op) {
    case 'char':
      return op.ch === ch;
    case 'seg':
      return ch !== '/';
    case 'any':
      return true;
    case 'class':
      return ch !== '/' && inRanges(op.ranges, ch) !== op.negated;
    default:
      return false;
  }
}

/** A compiled glob: tests a normalised, lower-cased path in O(program × path) steps. */
export class CompiledGlob {
  private readonly seen: Int32Array;

  constructor(private readonly prog: readonly Op[]) {
    this.seen = new Int32Array(prog.length);
  }

  /** Number of NFA states (about twice the pattern length at most). */
  get size(): number {
    return this.prog.length;
  }

  /** `path` must be normalised (`/` separators, a leading `/`) and lower-cased. */
  test(path: string): boolean {
    const { prog, seen } = this;
    seen.fill(-1);
    let current: number[] = [];
    const stack: number[] = [];
    // Adds `pc` and everything reachable from it without reading a character.
    const add = (list: number[], pc: number, step: number) => {
      stack.push(pc);
      while (stack.length > 0) {
        const at = stack.pop() as number;
        if (seen[at] === step) continue;
        seen[at] = step;
        const op = prog[at] as Op;
        if (op.op === 'split') stack.push(op.y, op.x);
        else if (op.op === 'jmp') stack.push(op.to);
        else list.push(at);
      }
    };
    add(current, 0, 0);
    for (let i = 0; i < path.length; i++) {
      const ch = path[i] as string;
      const next: number[] = [];
      for (const pc of current) {
        if (consumes(prog[pc] as Op, ch)) add(next, pc + 1, i + 1);
      }
      if (next.length === 0) return false;
      current = next;
    }
    return current.some((pc) => (prog[pc] as Op).op === 'match');
  }
}

/** One glob compiled for whole-path matching, or null when it is longer than the cap. */
export function compileGlob(glob: string): CompiledGlob | null {
  if (glob.length > MAX_SECRET_PATTERN_LENGTH) return null;
  // Case-insensitive: the pattern and the path are both lower-cased (classes included).
  let g = glob.replace(/\\/g, '/').toLowerCase();
  if (!g.startsWith('/') && !g.startsWith('**')) g = `**/${g}`;
  const prog: Op[] = [];
  emit(parse(g), prog);
  prog.push({ op: 'match' });
  return new CompiledGlob(prog);
}

const cache = new Map<string, CompiledGlob | null>();

function compiled(glob: string): CompiledGlob | null {
  let c = cache.get(glob);
  if (c === undefined) {
    c = compileGlob(glob);
    if (cache.size > 500) cache.clear();
    cache.set(glob, c);
  }
  return c;
}

function normalize(path: string): string {
  let p = path.replace(/\\/g, '/');
  // `**/x` must match a relative `x` and an absolute `/a/x` alike.
  if (!p.startsWith('/')) p = `/${p}`;
  return p.toLowerCase();
}

export function matchesGlob(path: string, glob: string): boolean {
  return compiled(glob)?.test(normalize(path)) ?? false;
}

/**
 * The first pattern that `path` matches, or null when the file may be read. Blank patterns,
 * patterns over MAX_SECRET_PATTERN_LENGTH and those past the first MAX_SECRET_PATTERNS are
 * ignored.
 */
export function secretPattern(path: string, patterns: readonly string[]): string | null {
  const p = normalize(path);
  for (const glob of patterns.slice(0, MAX_SECRET_PATTERNS)) {
    const trimmed = glob.trim();
    if (trimmed === '') continue;
    if (compiled(trimmed)?.test(p)) return glob;
  }
  return null;
}
