// Extra context from other visible editors (moeLens.extraContext): which files, which part of
// each, in which order. The engine places these files first in the prompt because they change
// least, so the chosen text must stay stable while the user types elsewhere: each file's window
// starts at its visible range rounded down to a whole chunk of lines, files are sorted by path,
// and files matching a secret pattern are never sent.
import { MAX_EXTRA_CHARS, MAX_EXTRA_FILES } from '../../completion/pipeline';
import { secretPattern } from '../../language/secrets';

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

/** Within the pipeline's own caps (it cuts longer files at their start). */
export const EXTRA_CONTEXT_LIMITS: ExtraContextLimits = {
  maxFiles: MAX_EXTRA_FILES,
  maxCharsPerFile: Math.min(2000, MAX_EXTRA_CHARS),
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

/** A path test for a list of globs (the pipeline's own secret-file matcher). */
export function secretMatcher(patterns: readonly string[]): (path: string) => boolean {
  return (path) => secretPattern(path, patterns) !== null;
}
