// Stage: no completions in files that may hold secrets (.env, keys, certificates, credentials),
// so their contents never reach a prompt or the cache. Patterns are globs over the file path
// with `/` separators: `**` any number of path segments, `*` any run of characters within a
// segment, `?` one character, `{a,b}` alternatives. A pattern that starts with neither `/` nor
// `**` may match at any depth (`.env` and `config/*.key` work as `**/.env`, `**/config/*.key`). Matching ignores case (Windows and macOS file systems mostly do). Our own matcher:
// node:path.matchesGlob is still experimental in Node 20.

export const DEFAULT_SECRET_PATTERNS: readonly string[] = [
  '**/.env',
  '**/.env.*',
  '**/*.env',
  '**/*.pem',
  '**/*.key',
  '**/*.crt',
  '**/*.cer',
  '**/*.p12',
  '**/*.pfx',
  '**/*.jks',
  '**/*.keystore',
  '**/id_rsa*',
  '**/id_dsa*',
  '**/id_ecdsa*',
  '**/id_ed25519*',
  '**/.ssh/**',
  '**/.aws/**',
  '**/.netrc',
  '**/.npmrc',
  '**/.pypirc',
  '**/.git-credentials',
  '**/credentials*',
  '**/*secret*',
  '**/*.tfvars',
];

const REGEX_SPECIAL = /[.+^$()|[\]\\]/;

/** The regular expression equivalent to one glob (whole-path match). */
export function globToRegExp(glob: string): RegExp {
  let g = glob.replace(/\\/g, '/');
  if (!g.startsWith('/') && !g.startsWith('**')) g = `**/${g}`;
  // Unbalanced braces: treat them literally rather than throw on a bad setting.
  let depth = 0;
  let balanced = true;
  for (const ch of g) {
    if (ch === '{') depth++;
    else if (ch === '}' && --depth < 0) balanced = false;
  }
  balanced &&= depth === 0;
  let re = '';
  let inBraces = 0;
  for (let i = 0; i < g.length; i++) {
    const ch = g[i] as string;
    if (ch === '*') {
      if (g[i + 1] === '*') {
        // `**/` matches zero or more whole segments; a trailing `**` matches everything below.
        const atSegmentStart = i === 0 || g[i - 1] === '/';
        if (atSegmentStart && g[i + 2] === '/') {
          re += '(?:[^/]*/)*';
          i += 2;
        } else if (atSegmentStart && i + 2 === g.length) {
          re += '.*';
          i += 1;
        } else {
          re += '[^/]*';
          i += 1;
        }
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '{' && balanced) {
      inBraces++;
      re += '(?:';
    } else if (ch === '}' && inBraces > 0) {
      inBraces--;
      re += ')';
    } else if (ch === ',' && inBraces > 0) {
      re += '|';
    } else if (ch === '{' || ch === '}' || REGEX_SPECIAL.test(ch)) {
      re += `\\${ch}`;
    } else {
      re += ch;
    }
  }
  return new RegExp(`^${re}$`, 'i');
}

export function matchesGlob(path: string, glob: string): boolean {
  return compiled(glob).test(normalize(path));
}

const cache = new Map<string, RegExp>();

function compiled(glob: string): RegExp {
  let re = cache.get(glob);
  if (!re) {
    re = globToRegExp(glob);
    if (cache.size > 500) cache.clear();
    cache.set(glob, re);
  }
  return re;
}

function normalize(path: string): string {
  let p = path.replace(/\\/g, '/');
  // `**/x` must match a relative `x` and an absolute `/a/x` alike.
  if (!p.startsWith('/')) p = `/${p}`;
  return p;
}

/** The first pattern that `path` matches, or null when completions are allowed. */
export function secretPattern(path: string, patterns: readonly string[]): string | null {
  const p = normalize(path);
  for (const glob of patterns) {
    if (glob.trim() === '') continue;
    if (compiled(glob.trim()).test(p)) return glob;
  }
  return null;
}
