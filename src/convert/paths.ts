// The converter's temporary sibling folder, renamed into place when a conversion completes.
// Shared with the extension, which cleans it up after killing a cancelled converter.
import { basename, dirname, join, resolve } from 'node:path';

export function convertTempDir(outDir: string, pid = process.pid): string {
  const out = resolve(outDir);
  return join(dirname(out), `.${basename(out)}.converting-${pid}`);
}
