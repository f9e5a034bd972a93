// Files named by a model folder (genai_config.json) or a checkpoint (its shard index), checked
// before a byte of them is read: a plain relative name, resolved (symlinks included) inside the
// folder, a regular file (never a FIFO, a device or a directory) and within a size limit, all
// with stat. Reads then go through a handle opened non-blocking and checked again with fstat, so
// a FIFO swapped in after the check cannot hang them. See docs/MODEL_FORMAT.md, "The contract".
// No onnxruntime here: the extension host imports it through manifest.ts.
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { MoeLensError } from './errors';

export const MiB = 1 << 20;
export const GiB = 1 << 30;

/** Why `name` is not a plain relative path inside a folder ('/'-separated), or null when it is. */
export function relativeNameProblem(name: string): string | null {
  if (name === '') return 'is empty';
  if (name.length > 1024) return 'is longer than 1024 characters';
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) < 0x20) return 'contains a control character';
  }
  if (name.includes('\\')) return 'contains a backslash';
  if (name.includes(':')) return 'contains ":" (a drive letter or stream name)';
  if (name.startsWith('/')) return 'is an absolute path';
  const parts = name.split('/');
  if (parts.includes('..')) return 'leaves the folder ("..")';
  if (parts.some((p) => p === '' || p === '.')) return 'has an empty or "." path segment';
  return null;
}

/** True when `path` is `root` or lies below it (both already resolved). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The real path of a folder, or its absolute path when it does not exist. */
export async function folderRoot(dir: string): Promise<string> {
  return realpath(dir).catch(() => resolve(dir));
}

/**
 * The folder that a checkpoint's files may resolve into. Usually the checkpoint folder itself;
 * for a snapshot in Hugging Face's hub cache (`<cache>/models--org--name/snapshots/<rev>/`, whose
 * files are symlinks to `../../blobs/<sha>`) the repository's cache folder `models--org--name`.
 */
export async function checkpointRoot(dir: string): Promise<string> {
  const real = await folderRoot(dir);
  const snapshots = dirname(real);
  const repo = dirname(snapshots);
  if (basename(snapshots) === 'snapshots' && /^models--./.test(basename(repo))) return repo;
  return real;
}

/** A file proven to be a regular file inside its folder; `path` is the name shown in errors. */
export interface CheckedFile {
  /** `dir`/`name`, as given: what messages show and what is handed to onnxruntime. */
  path: string;
  /** The resolved path (inside the root). */
  real: string;
  bytes: number;
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

export interface CheckOptions {
  /** Refuse files larger than this (before reading). */
  maxBytes: number;
  /** Appended to "missing" (e.g. "listed in genai_config.json"). */
  missingNote?: string;
}

/**
 * Checks `name` inside `dir` without opening it: a plain relative name, resolving (symlinks
 * followed) inside `root` (the folder's real path, or a wider root for a hub-cache snapshot),
 * a regular file of at most `maxBytes`. Throws a one-line MoeLensError naming the file.
 */
export async function checkFile(
  dir: string,
  root: string,
  name: string,
  opts: CheckOptions,
): Promise<CheckedFile> {
  const problem = relativeNameProblem(name);
  const path = join(dir, name);
  if (problem !== null) {
    throw new MoeLensError(`${path}: the name ${JSON.stringify(name)} ${problem}; refused`);
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const dangling = await lstat(path).then(
        (s) => s.isSymbolicLink(),
        () => false,
      );
      throw new MoeLensError(
        `${path}: missing${dangling ? ' (a broken symlink)' : ''}${opts.missingNote ? ` (${opts.missingNote})` : ''}`,
      );
    }
    throw new MoeLensError(`${path}: cannot resolve (${code ?? (e as Error).message})`);
  }
  if (!isInside(root, real)) {
    throw new MoeLensError(`${path}: resolves to ${real}, outside ${root}; refused`);
  }
  const s = await stat(real);
  if (!s.isFile()) throw new MoeLensError(`${path}: ${kindOf(s)}, not a regular file; refused`);
  if (s.size > opts.maxBytes) {
    throw new MoeLensError(
      `${path}: ${s.size} bytes, more than the ${opts.maxBytes}-byte limit for this file; refused`,
    );
  }
  return { path, real, bytes: s.size };
}

/** True when something (even a broken symlink) is at `path`. */
export async function present(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Opens a checked file read-only and non-blocking (a FIFO swapped in since the check cannot
 * block), and checks again on the handle that it is the same regular file of the same size.
 */
export async function openChecked(f: CheckedFile): Promise<FileHandle> {
  const flags = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);
  let h: FileHandle;
  try {
    h = await open(f.real, flags);
  } catch (e) {
    throw new MoeLensError(`${f.path}: cannot open (${(e as Error).message})`);
  }
  const s = await h.stat();
  if (!s.isFile() || s.size !== f.bytes) {
    await h.close();
    throw new MoeLensError(`${f.path}: changed while it was being opened; refused`);
  }
  return h;
}

/** Reads a checked file whole (its size was bounded by the check). */
export async function readChecked(f: CheckedFile): Promise<Buffer> {
  const h = await openChecked(f);
  try {
    const buf = Buffer.alloc(f.bytes);
    let done = 0;
    while (done < f.bytes) {
      const { bytesRead } = await h.read(buf, done, Math.min(GiB, f.bytes - done), done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done !== f.bytes) throw new MoeLensError(`${f.path}: shrank while being read`);
    return buf;
  } finally {
    await h.close();
  }
}

/** sha256 of a checked file, streamed in 4 MiB blocks (exactly its checked size). */
export async function sha256Checked(f: CheckedFile): Promise<string> {
  const h = await openChecked(f);
  try {
    const hash = createHash('sha256');
    const buf = Buffer.alloc(Math.min(4 * MiB, Math.max(f.bytes, 1)));
    let done = 0;
    while (done < f.bytes) {
      const { bytesRead } = await h.read(buf, 0, Math.min(buf.length, f.bytes - done), done);
      if (bytesRead === 0) throw new MoeLensError(`${f.path}: shrank while being read`);
      hash.update(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await h.close();
  }
}

/**
 * Reads `name` inside `dir` as UTF-8 when something is there (undefined when nothing is), after
 * the checks of `checkFile`.
 */
export async function readOptionalText(
  dir: string,
  root: string,
  name: string,
  maxBytes: number,
): Promise<string | undefined> {
  if (!(await present(join(dir, name)))) return undefined;
  const f = await checkFile(dir, root, name, { maxBytes });
  return (await readChecked(f)).toString('utf8');
}
