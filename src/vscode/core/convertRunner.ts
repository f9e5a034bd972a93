// "Convert checkpoint…" without blocking the extension host: the converter runs in a forked
// child (the bundled CLI, dist/cli.js convert), its stderr progress lines become progress
// messages, and cancelling interrupts it. SIGINT lets the converter delete its temporary folder
// itself; if it does not exit within the grace period (or on Windows, where signals cannot be
// delivered) it is killed and its temporary folder is removed here. Either way no partial model
// is left: the converter writes into `.<out>.converting-<pid>` and renames only when complete.
import { fork } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CancelledError, MoeLensError } from '../../format/errors';
import { MANIFEST_FILE } from '../../format/manifest';

export type ConvertDType = 'int4' | 'int8' | 'fp16' | 'fp32';

export const CONVERT_DTYPES: { dtype: ConvertDType; detail: string }[] = [
  { dtype: 'int4', detail: 'smallest and fastest on the CPU; slight accuracy loss' },
  { dtype: 'int8', detail: 'twice the size of int4, closer to the original' },
  { dtype: 'fp16', detail: 'half of fp32 on disk; computed in fp32' },
  { dtype: 'fp32', detail: 'exact; largest and slowest' },
];

export interface ConvertJob {
  /** The converter CLI script (dist/cli.js, or src/cli.ts with tsx in tests). */
  cliPath: string;
  execArgv?: string[];
  hfDir: string;
  outDir: string;
  dtype: ConvertDType;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  /** How long a cancelled converter may take to clean up before it is killed. */
  graceMs?: number;
}

import { convertTempDir } from '../../convert/paths';
export { convertTempDir };

/**
 * Where to write the model for an output folder the user picked: the folder itself if it does
 * not exist, is empty or already holds a model (to replace); otherwise a new subfolder named
 * after the checkpoint and dtype. `entries` is the picked folder's listing (null: absent).
 */
export function chooseOutputDir(
  picked: string,
  entries: string[] | null,
  hfDir: string,
  dtype: ConvertDType,
): string {
  if (entries === null || entries.length === 0 || entries.includes(MANIFEST_FILE)) return picked;
  return join(picked, `${basename(resolve(hfDir))}-${dtype}`);
}

export function runConvert(job: ConvertJob): Promise<void> {
  const out = resolve(job.outDir);
  return new Promise<void>((resolvePromise, reject) => {
    if (job.signal?.aborted) {
      reject(new CancelledError('conversion cancelled; nothing was written'));
      return;
    }
    const child = fork(job.cliPath, ['convert', resolve(job.hfDir), out, '--dtype', job.dtype], {
      execArgv: job.execArgv ?? [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let lastError = '';
    let buffered = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) onLine(line.trimEnd());
    });
    const onLine = (line: string) => {
      if (line.startsWith('convert: ')) job.onProgress?.(line.slice('convert: '.length));
      else if (line.startsWith('moe-lens: ')) lastError = line.slice('moe-lens: '.length);
      else if (line !== '') lastError ||= line;
    };
    const onAbort = () => {
      cancelled = true;
      if (process.platform === 'win32') {
        child.kill();
        return;
      }
      child.kill('SIGINT');
      killTimer = setTimeout(() => child.kill('SIGKILL'), job.graceMs ?? 10_000);
    };
    job.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      job.signal?.removeEventListener('abort', onAbort);
      reject(new MoeLensError(`cannot start the converter: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      job.signal?.removeEventListener('abort', onAbort);
      if (buffered) onLine(buffered.trimEnd());
      if (cancelled) {
        // The converter removes its temporary folder on SIGINT; after a kill, do it here.
        const tmp = child.pid !== undefined ? convertTempDir(out, child.pid) : null;
        const cleanup = tmp ? rm(tmp, { recursive: true, force: true }) : Promise.resolve();
        cleanup.then(
          () => reject(new CancelledError('conversion cancelled; nothing was written')),
          (e: Error) =>
            reject(
              new CancelledError(`conversion cancelled; could not remove ${tmp}: ${e.message}`),
            ),
        );
        return;
      }
      if (code === 0) resolvePromise();
      else {
        reject(
          new MoeLensError(lastError || `the converter exited with ${signal ?? `code ${code}`}`),
        );
      }
    });
  });
}
