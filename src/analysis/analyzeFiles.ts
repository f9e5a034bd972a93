// Routing analysis of many files, shared by `cli analyze` and the editor's "Analyze Routing"
// commands: each file is scored on its own (one engine call per file, so completions queued
// behind it wait for at most one file), its tokens classified by a real scanner of its language,
// and added to one RoutingStatsAccumulator. Files matching the secret patterns (the completion
// pipeline's list, `moeLens.secretPatterns` in the editor) are never listed nor read.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DEFAULT_SECRET_PATTERNS, secretPattern } from '../language/secrets';
import type { AnalyzedText } from './analyzeText';
import { CancelledError } from '../format/errors';
import { RoutingStatsAccumulator } from './routingStats';
import { languageOfPath } from '../language/languages';
import type { RoutingStats } from './routingStats';

/** Files larger than this are skipped (generated bundles, data). */
export const MAX_FILE_BYTES = 1_000_000;
/** Folders never walked: dependencies, VCS, build output. */
const SKIP_DIRS = new Set([
  '.git',
  '.hg',
  '.svn',
  'node_modules',
  'dist',
  'out',
  'build',
  'target',
  '.tmp',
  '.venv',
  'venv',
  '__pycache__',
  '.next',
  'coverage',
]);

export interface AnalyzerModel {
  name: string;
  experts: number;
  topK: number;
  moeLayers: number[];
}

/** The engine as the analysis uses it: in-process (CLI) or through the engine host (editor). */
export type AnalyzeTextFn = (
  text: string,
  /** languageId: the result must carry each token's class (AnalyzedText.classes). */
  opts: { maxTokens: number; languageId: string; signal?: AbortSignal },
) => Promise<AnalyzedText>;

export interface SourceFile {
  /** Shown in results and errors (workspace-relative where possible). */
  path: string;
  /** The file's full path, when `path` is relative: the secret patterns are tested on both. */
  fullPath?: string;
  language: string;
  read(): Promise<string>;
}

export interface AnalyzeFilesOptions {
  maxTokens: number;
  /** Files matching any of these are skipped unread; default DEFAULT_SECRET_PATTERNS. */
  secretPatterns?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, file: string) => void;
  /** Called between files; the editor yields to the event loop there. */
  betweenFiles?: () => Promise<void>;
}

export interface FilesAnalysis {
  stats: RoutingStats;
  skipped: { file: string; reason: string }[];
}

/** The secret pattern a file matches (by its shown or its full path), or null. */
export function secretPatternOf(
  file: Pick<SourceFile, 'path' | 'fullPath'>,
  patterns: readonly string[] = DEFAULT_SECRET_PATTERNS,
): string | null {
  return (
    secretPattern(file.path, patterns) ??
    (file.fullPath !== undefined ? secretPattern(file.fullPath, patterns) : null)
  );
}

function isCancellation(e: unknown): boolean {
  return e instanceof CancelledError || (e instanceof Error && e.name === 'CancelledError');
}

function isCrash(e: unknown): boolean {
  return e instanceof Error && e.name === 'EngineCrashedError';
}

/** True when the text looks binary (NUL or many control characters in its first 8 KB). */
export function looksBinary(text: string): boolean {
  const head = text.slice(0, 8192);
  if (head.includes('\0')) return true;
  let control = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) control++;
  }
  return head.length > 0 && control / head.length > 0.1;
}

export async function analyzeFiles(
  files: SourceFile[],
  model: AnalyzerModel,
  analyze: AnalyzeTextFn,
  opts: AnalyzeFilesOptions,
): Promise<FilesAnalysis> {
  const acc = new RoutingStatsAccumulator({
    model: model.name,
    experts: model.experts,
    topK: model.topK,
    moeLayers: model.moeLayers,
  });
  const skipped: FilesAnalysis['skipped'] = [];
  let scoreMs = 0;
  for (const [i, f] of files.entries()) {
    if (opts.signal?.aborted) throw new CancelledError();
    opts.onProgress?.(i, files.length, f.path);
    const secret = secretPatternOf(f, opts.secretPatterns);
    if (secret !== null) {
      skipped.push({ file: f.path, reason: `secret file (matches ${secret})` });
      continue;
    }
    let text: string;
    try {
      text = await f.read();
    } catch (e) {
      skipped.push({ file: f.path, reason: `unreadable: ${(e as Error).message}` });
      continue;
    }
    if (looksBinary(text)) {
      skipped.push({ file: f.path, reason: 'binary' });
      continue;
    }
    if (text.trim() === '') {
      skipped.push({ file: f.path, reason: 'empty' });
      continue;
    }
    let a: AnalyzedText;
    try {
      a = await analyze(text, {
        maxTokens: opts.maxTokens,
        languageId: f.language,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (e) {
      // One bad file must not cost the whole analysis; cancellation and a dead engine do.
      if (opts.signal?.aborted || isCancellation(e) || isCrash(e)) throw e;
      skipped.push({ file: f.path, reason: (e as Error).message ?? String(e) });
      continue;
    }
    scoreMs += a.scoreMs;
    // Classes come with the analysis (computed where it ran: the engine process or the CLI).
    const classes = a.classes ?? [];
    acc.addFile(
      f.language,
      a.tokens.map((t, j) => ({ ...t, cls: classes[j] ?? 'other' })),
    );
    await opts.betweenFiles?.();
  }
  opts.onProgress?.(files.length, files.length, '');
  return { stats: acc.result(scoreMs / 1000), skipped };
}

/**
 * Source files under the given paths (files are taken as given; folders are walked in sorted
 * order, skipping dependency/build folders, dotfiles, unknown languages and files over
 * MAX_FILE_BYTES), at most `limit`. Files matching `secretPatterns` are skipped (and reported),
 * named ones too.
 */
export async function listSourceFiles(
  paths: string[],
  limit: number,
  base = process.cwd(),
  secretPatterns: readonly string[] = DEFAULT_SECRET_PATTERNS,
): Promise<{ files: SourceFile[]; skipped: FilesAnalysis['skipped'] }> {
  const files: SourceFile[] = [];
  const skipped: FilesAnalysis['skipped'] = [];
  const add = (abs: string, explicit: boolean, size: number) => {
    const shown = relative(base, abs) || abs;
    const secret = secretPatternOf({ path: shown, fullPath: abs }, secretPatterns);
    if (secret !== null) {
      skipped.push({ file: shown, reason: `secret file (matches ${secret})` });
      return;
    }
    const language = languageOfPath(abs);
    if (!language) {
      if (explicit) skipped.push({ file: shown, reason: 'unknown language (file extension)' });
      return;
    }
    if (size > MAX_FILE_BYTES) {
      skipped.push({ file: shown, reason: `larger than ${MAX_FILE_BYTES} bytes` });
      return;
    }
    files.push({ path: shown, fullPath: abs, language, read: () => readFile(abs, 'utf8') });
  };
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (files.length >= limit) return;
      if (e.name.startsWith('.')) continue;
      const abs = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(abs);
      } else if (e.isFile()) {
        add(abs, false, (await stat(abs)).size);
      }
    }
  };
  for (const p of paths) {
    if (files.length >= limit) break;
    const s = await stat(p); // a missing path is the caller's error: let it throw
    if (s.isDirectory()) await walk(p);
    else add(p, true, s.size);
  }
  return { files: files.slice(0, limit), skipped };
}
