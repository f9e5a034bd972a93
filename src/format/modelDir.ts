// Where the default model lives: the first converted model (by folder name) in `<root>/models`.
// Hidden folders are never candidates: the converter's `.<out>.converting-<pid>` (and `.old`)
// folders hold a manifest before they are complete, and one left by a killed run must not be
// taken for a model. Kept free of onnxruntime so the extension host can import it without
// loading the runtime.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MoeLensError } from './errors';
import { MANIFEST_FILE } from './manifest';

/** `root` defaults to the bundle's parent (dist/ -> ..). */
export function defaultModelDir(root = resolve(__dirname, '..')): string {
  const models = join(root, 'models');
  const found = existsSync(models)
    ? readdirSync(models, { withFileTypes: true })
        .filter(
          (d) =>
            d.isDirectory() &&
            !d.name.startsWith('.') &&
            existsSync(join(models, d.name, MANIFEST_FILE)),
        )
        .map((d) => join(models, d.name))
        .sort()
    : [];
  if (found.length === 0) {
    throw new MoeLensError(`${models}: no converted model found; pass --model DIR`);
  }
  return found[0] as string;
}
