// Which model folder to load: the moeLens.modelPath setting (with ~ and ${workspaceFolder}
// expanded) or the first converted model in the extension's own models/ folder.
// src/format/modelDir.ts is free of onnxruntime, so the extension host may import it.
import { defaultModelDir } from '../../format/modelDir';
import { isAbsolute, join, resolve } from 'node:path';
import { MoeLensError } from '../../format/errors';

/** Found default models by extension root: the extension's own folder does not change. */
const found = new Map<string, string>();

/**
 * The first folder (by name) under `<extensionRoot>/models` holding a manifest. Remembered once
 * found, so requests do not list the folder again (a miss is looked up again next time).
 */
export function findDefaultModelDir(extensionRoot: string): string {
  const known = found.get(extensionRoot);
  if (known !== undefined) return known;
  let dir: string;
  try {
    dir = defaultModelDir(extensionRoot);
  } catch {
    throw new MoeLensError(
      `no converted model in ${join(extensionRoot, 'models')}; set moeLens.modelPath or run "MoE Lens: Convert Checkpoint…"`,
    );
  }
  found.set(extensionRoot, dir);
  return dir;
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
