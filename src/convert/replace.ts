// Replacing a model folder keeps what the converter did not write there (a MODEL_CARD.md, notes,
// images): every entry of the old folder whose name is not one of the converter's files
// (CONVERTER_FILES, plus any file the old manifest listed) is hard-linked into the new folder
// before the swap (copied where the filesystem cannot link), so the old folder is never
// modified and a run killed at any point loses nothing (src/convert/paths.ts cleans up).
import {
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  symlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import { MoeLensError } from '../format/errors';
import { CONVERTER_FILES, MANIFEST_FILE } from '../format/manifest';

/** Names in `out` the converter owns: its fixed files and what the old manifest listed. */
async function ownedNames(out: string): Promise<Set<string>> {
  const owned = new Set(CONVERTER_FILES);
  try {
    const json = JSON.parse(await readFile(join(out, MANIFEST_FILE), 'utf8')) as {
      moe_lens?: { files?: unknown };
    };
    const files = json.moe_lens?.files;
    if (typeof files === 'object' && files !== null) {
      for (const name of Object.keys(files)) if (!name.includes('/')) owned.add(name);
    }
  } catch {
    // An unreadable old manifest: only the fixed names are the converter's.
  }
  return owned;
}

/** Refuses what cannot be carried over (FIFOs, sockets, devices), before any work is done. */
async function checkKeepable(path: string, depth = 0): Promise<void> {
  const s = await lstat(path);
  if (s.isFile() || s.isSymbolicLink()) return;
  if (s.isDirectory()) {
    if (depth > 32) throw new MoeLensError(`${path}: folders nested too deep to keep`);
    for (const name of await readdir(path)) await checkKeepable(join(path, name), depth + 1);
    return;
  }
  throw new MoeLensError(
    `${path}: not a regular file, folder or symlink, so a conversion cannot keep it; move it out of the model folder first`,
  );
}

/**
 * The entries of an existing model folder `out` that a conversion into it keeps (sorted), after
 * checking each can be carried over. [] when `out` does not exist.
 */
export async function entriesToKeep(out: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(out);
  } catch {
    return [];
  }
  const owned = await ownedNames(out);
  const keep = names.filter((n) => !owned.has(n)).sort();
  for (const name of keep) await checkKeepable(join(out, name));
  return keep;
}

async function carry(src: string, dst: string): Promise<void> {
  const s = await lstat(src);
  if (s.isDirectory()) {
    await mkdir(dst);
    for (const name of await readdir(src)) await carry(join(src, name), join(dst, name));
  } else if (s.isSymbolicLink()) {
    await symlink(await readlink(src), dst);
  } else if (s.isFile()) {
    await link(src, dst).catch(() => copyFile(src, dst));
  }
}

/** Hard-links (or copies) the kept entries of `out` into the new model folder `tmp`. */
export async function carryOver(out: string, tmp: string, names: string[]): Promise<void> {
  for (const name of names) await carry(join(out, name), join(tmp, name));
}
