// Extra context from other visible editors (moeLens.extraContext): which files, which part of
// each, in which order. The engine places these files first in the prompt because they change
// least, so the chosen text must stay stable while the user types elsewhere: each file's window
// starts at its visible range rounded down to a whole chunk of lines, files are sorted by path,
// and files matching a secret pattern are never sent.

export interface OpenFile {
  /** Workspace-relative path (forward slashes), as the prompt shows it. */
  path: string;
  text: string;
  /** First visible line in its editor. */
  visibleStartLine: number;
}

export interface ExtraContextLimits {
  maxFiles: number;
  maxCharsPerFile: number;
  /** Lines per anchoring chunk: the window start moves only in steps of this many lines. */
  anchorLines: number;
}

export const EXTRA_CONTEXT_LIMITS: ExtraContextLimits = {
  maxFiles: 3,
  maxCharsPerFile: 2000,
  anchorLines: 32,
};

/** `text` from line `start` on, cut at a line end to at most `maxChars` (at least one line). */
export function windowFrom(text: string, startLine: number, maxChars: number): string {
  const lines = text.split('\n');
  let out = '';
  for (let i = Math.max(0, startLine); i < lines.length; i++) {
    const line = (lines[i] as string) + (i < lines.length - 1 ? '\n' : '');
    if (out.length + line.length > maxChars) {
      if (out === '') out = line.slice(0, maxChars);
      break;
    }
    out += line;
  }
  return out;
}

export function pickExtraFiles(
  files: OpenFile[],
  currentPath: string,
  isSecret: (path: string) => boolean,
  limits: ExtraContextLimits = EXTRA_CONTEXT_LIMITS,
): { path: string; text: string }[] {
  const seen = new Set<string>([currentPath]);
  const picked: { path: string; text: string }[] = [];
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (seen.has(f.path) || isSecret(f.path)) continue;
    seen.add(f.path);
    const anchor = Math.floor(f.visibleStartLine / limits.anchorLines) * limits.anchorLines;
    const text = windowFrom(f.text, anchor, limits.maxCharsPerFile);
    if (text.trim() === '') continue;
    picked.push({ path: f.path, text });
    if (picked.length >= limits.maxFiles) break;
  }
  return picked;
}

/**
 * A glob as a RegExp over forward-slash paths: `**` any folders, `*` and `?` within one segment,
 * `{a,b}` alternatives. A pattern without `/` matches the file name anywhere.
 */
export function globToRegExp(glob: string): RegExp {
  const g = glob.includes('/') ? glob : `**/${glob}`;
  let re = '';
  let inBraces = false;
  for (let i = 0; i < g.length; i++) {
    const c = g[i] as string;
    if (c === '*') {
      if (g[i + 1] === '*') {
        i++;
        if (g[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      inBraces = true;
      re += '(?:';
    } else if (c === '}' && inBraces) {
      inBraces = false;
      re += ')';
    } else if (c === ',' && inBraces) re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^(?:.*/)?${re.replace(/^\(\?:\.\*\/\)\?/, '')}$`, 'i');
}

/** A path test for a list of globs; the path is matched with forward slashes. */
export function secretMatcher(patterns: readonly string[]): (path: string) => boolean {
  const res = patterns.map(globToRegExp);
  return (path) => {
    const p = path.replace(/\\/g, '/');
    return res.some((r) => r.test(p));
  };
}
