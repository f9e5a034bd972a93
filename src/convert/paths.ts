// The converter's temporary sibling folder, renamed into place when a conversion completes.
// Shared with the extension, which cleans it up after killing a cancelled converter.
// `.<out>.converting-<pid>` holds a conversion in progress; `.<out>.converting-<pid>.old` holds
// the model it replaces for the instant between the two renames of the swap. A run killed
// (SIGKILL, power loss) leaves them behind: the next conversion to the same output removes
// them once their pid is gone (`cleanStaleConversions`), and no model lookup ever takes a
// dot-folder for a model (src/format/modelDir.ts).
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export function convertTempDir(outDir: string, pid = process.pid): string {
  const out = resolve(outDir);
  return join(dirname(out), `.${basename(out)}.converting-${pid}`);
}

/** The pid in a temporary folder name of `outDir`, and whether it is the `.old` one; else null. */
export function parseTempName(outDir: string, name: string): { pid: number; old: boolean } | null {
  const prefix = `.${basename(resolve(outDir))}.converting-`;
  if (!name.startsWith(prefix)) return null;
  const m = /^(\d{1,10})(\.old)?$/.exec(name.slice(prefix.length));
  if (!m) return null;
  const pid = Number(m[1]);
  if (pid < 1 || pid > 0x7fffffff) return null;
  return { pid, old: m[2] !== undefined };
}

/**
 * Whether a process with this pid runs (on this machine, in this pid namespace). Unsure answers
 * (no permission to signal it, odd errors) count as alive: a folder is never taken from a run
 * that may still be writing it.
 */
export function isPidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return lstat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * Removes what killed conversions to `outDir` left beside it: `.<out>.converting-<pid>` folders
 * whose pid no longer runs. When a run died between the two renames of its swap (the output
 * missing, the replaced model in `.converting-<pid>.old`), that model is put back first.
 * Folders of live runs are left alone. Returns one line per action (for the caller to report).
 */
export async function cleanStaleConversions(outDir: string): Promise<string[]> {
  const out = resolve(outDir);
  const parent = dirname(out);
  const names = await readdir(parent).catch(() => [] as string[]);
  const stale = new Set<number>();
  for (const name of names) {
    const t = parseTempName(out, name);
    if (t && !isPidAlive(t.pid)) stale.add(t.pid);
  }
  const done: string[] = [];
  for (const pid of [...stale].sort((a, b) => a - b)) {
    const tmp = convertTempDir(out, pid);
    const old = `${tmp}.old`;
    if (await isDirectory(old)) {
      const outThere = await lstat(out).then(
        () => true,
        () => false,
      );
      if (!outThere) {
        await rename(old, out);
        done.push(
          `restored ${out} from ${basename(old)} (a conversion, pid ${pid}, was killed while replacing it)`,
        );
      } else {
        await rm(old, { recursive: true, force: true });
        done.push(`removed ${basename(old)} (left by a killed conversion, pid ${pid})`);
      }
    }
    if (await isDirectory(tmp)) {
      await rm(tmp, { recursive: true, force: true });
      done.push(`removed ${basename(tmp)} (left by a killed conversion, pid ${pid})`);
    }
  }
  return done;
}
