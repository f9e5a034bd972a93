// Which model folder to load: the moeLens.modelPath setting (with ~ and ${workspaceFolder}
// expanded) or the first converted model in the extension's own models/ folder.
// This mirrors defaultModelDir() of src/engine/engine.ts without importing it: engine.ts pulls in
// onnxruntime-node, which must never load in the extension host.
import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { MoeLensError } from '../engine/errors';
import { MANIFEST_FILE } from '../engine/manifest';

/** The first folder (by name) under `<extensionRoot>/models` holding a manifest. */
export function findDefaultModelDir(extensionRoot: string): string {
  const models = join(extensionRoot, 'models');
  const found = existsSync(models)
    ? readdirSync(models, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(models, d.name, MANIFEST_FILE)))
        .map((d) => join(models, d.name))
        .sort()
    : [];
  if (found.length === 0) {
    throw new MoeLensError(
      `no converted model in ${models}; set moeLens.modelPath or run "MoE Lens: Convert Checkpoint…"`,
    );
  }
  return found[0] as string;
}

export interface ModelDirContext {
  extensionRoot: string;
  home: string;
  /** First workspace folder, if any (for ${workspaceFolder} and relative paths). */
  workspaceFolder?: string;
}

export function resolveModelDir(setting: string, ctx: ModelDirContext): string {
  let p = setting.trim();
  if (p === '') return findDefaultModelDir(ctx.extensionRoot);
  if (p.includes('${workspaceFolder}')) {
    if (!ctx.workspaceFolder) {
      throw new MoeLensError(
        `moeLens.modelPath "${setting}" uses \${workspaceFolder}, but no folder is open`,
      );
    }
    p = p.split('${workspaceFolder}').join(ctx.workspaceFolder);
  }
  if (p === '~' || p.startsWith('~/') || p.startsWith('~\\')) p = join(ctx.home, p.slice(1));
  if (!isAbsolute(p)) {
    if (!ctx.workspaceFolder) {
      throw new MoeLensError(`moeLens.modelPath "${setting}" is relative, but no folder is open`);
    }
    p = resolve(ctx.workspaceFolder, p);
  }
  return resolve(p);
}
