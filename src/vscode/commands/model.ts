// Model commands: select a converted model folder (loaded as a candidate before the setting
// changes), show the loaded model's facts, and convert a Hugging Face checkpoint (pickers, then
// the bundled converter in a child process, cancellable; core/convertRunner.ts). Short UI flows
// over the engine manager and the settings; no heavy work in the extension host.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { CancelledError } from '../../format/errors';
import { MANIFEST_FILE } from '../../format/manifest';
import { COMMANDS } from '../core/commandIds';
import {
  chooseOutputDir,
  CONVERT_DTYPES,
  runConvert,
  type ConvertDType,
} from '../core/convertRunner';
import type { EngineManager } from '../core/engineManager';
import { errorMessage } from '../core/errorNotifier';
import { formatCount } from '../core/statusFormat';
import type { Settings } from '../settings';

export interface ModelCommandDeps {
  extensionPath: string;
  settings: Pick<Settings, 'update'>;
  engine: Pick<EngineManager, 'loadCandidate' | 'ensureLoaded' | 'state'>;
  log: Pick<vscode.LogOutputChannel, 'info' | 'error'>;
}

/** One conversion at a time (per registration). */
interface ConvertState {
  running: boolean;
}

export function register(deps: ModelCommandDeps): vscode.Disposable[] {
  const convert: ConvertState = { running: false };
  return [
    vscode.commands.registerCommand(COMMANDS.selectModel, () => selectModel(deps)),
    vscode.commands.registerCommand(COMMANDS.showModelInfo, () => showModelInfo(deps)),
    vscode.commands.registerCommand(COMMANDS.convertCheckpoint, () =>
      convertCheckpoint(deps, convert),
    ),
  ];
}

async function selectModel(deps: ModelCommandDeps): Promise<void> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    title: 'MoE Lens: select a converted model folder',
    openLabel: 'Use This Model',
  });
  const dir = picked?.[0]?.fsPath;
  if (!dir) return;
  try {
    const info = await deps.engine.loadCandidate(dir);
    await deps.settings.update('modelPath', dir);
    void vscode.window.showInformationMessage(
      `MoE Lens: using ${basename(dir)} (${info.architecture}, ${info.dtype}, ${info.executionProvider})`,
    );
  } catch (e) {
    void vscode.window.showErrorMessage(
      `MoE Lens: ${dir} is not a usable model: ${errorMessage(e)}`,
    );
  }
}

async function showModelInfo(deps: ModelCommandDeps): Promise<void> {
  try {
    const info = await deps.engine.ensureLoaded({ explicit: true });
    deps.log.info(`model info: ${JSON.stringify(info)}`);
    const state = deps.engine.state;
    const name = state.kind === 'ready' ? basename(state.modelDir) : info.architecture;
    void vscode.window.showInformationMessage(
      `MoE Lens: ${name}: ${info.architecture}, ${info.dtype} on ${info.executionProvider}; ` +
        `${formatCount(info.activeParamsPerToken)} of ${formatCount(info.totalParams)} ` +
        `parameters active per token; top-${info.topK} of ${info.experts} experts.`,
    );
  } catch {
    // ensureLoaded has notified and logged the failure.
  }
}

async function convertCheckpoint(deps: ModelCommandDeps, state: ConvertState): Promise<void> {
  if (state.running) {
    void vscode.window.showInformationMessage('MoE Lens: a conversion is already running.');
    return;
  }
  state.running = true;
  try {
    const job = await pickConversion();
    if (job) await convert(deps, job);
  } finally {
    state.running = false;
  }
}

interface Conversion {
  hfDir: string;
  dtype: ConvertDType;
  outDir: string;
}

/** Checkpoint folder → dtype → output folder (→ replace an existing model?); undefined: dropped. */
async function pickConversion(): Promise<Conversion | undefined> {
  const src = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    title: 'MoE Lens: select a Hugging Face MoE checkpoint (config.json + *.safetensors)',
    openLabel: 'Convert This Checkpoint',
  });
  const hfDir = src?.[0]?.fsPath;
  if (!hfDir) return undefined;
  const pick = await vscode.window.showQuickPick(
    CONVERT_DTYPES.map((d) => ({ label: d.dtype, detail: d.detail })),
    { title: 'MoE Lens: weight type of the converted model', placeHolder: 'int4' },
  );
  if (!pick) return undefined;
  const dtype = pick.label as ConvertDType;
  const dst = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    defaultUri: vscode.Uri.file(dirname(hfDir)),
    title: 'MoE Lens: select the output folder (an empty folder, or a parent for a new one)',
    openLabel: 'Write Model Here',
  });
  const picked = dst?.[0]?.fsPath;
  if (!picked) return undefined;
  const outDir = chooseOutputDir(picked, await readdir(picked).catch(() => null), hfDir, dtype);
  const existing = await readdir(outDir).catch(() => [] as string[]);
  if (existing.includes(MANIFEST_FILE)) {
    const answer = await vscode.window.showWarningMessage(
      `${outDir} already holds a model. Replace it?`,
      { modal: true },
      'Replace',
    );
    if (answer !== 'Replace') return undefined;
  }
  return { hfDir, dtype, outDir };
}

/** The converter in a child under a cancellable notification, then "Use This Model". */
async function convert(deps: ModelCommandDeps, job: Conversion): Promise<void> {
  const { hfDir, dtype, outDir } = job;
  deps.log.info(`converting ${hfDir} -> ${outDir} (${dtype})`);
  try {
    await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `MoE Lens: converting ${basename(hfDir)} (${dtype})`,
        cancellable: true,
      },
      (progress, token) => runConverter(deps, job, progress, token),
    );
    deps.log.info(`converted ${hfDir} -> ${outDir}`);
    const use = await vscode.window.showInformationMessage(
      `MoE Lens: converted ${basename(hfDir)} to ${outDir}.`,
      'Use This Model',
    );
    if (use === 'Use This Model') await deps.settings.update('modelPath', outDir);
  } catch (e) {
    if (e instanceof CancelledError) {
      deps.log.info(e.message);
      void vscode.window.showInformationMessage(`MoE Lens: ${e.message}.`);
    } else {
      deps.log.error(`convert failed: ${errorMessage(e)}`);
      void vscode.window.showErrorMessage(`MoE Lens: conversion failed: ${errorMessage(e)}`);
    }
  }
}

async function runConverter(
  deps: ModelCommandDeps,
  job: Conversion,
  progress: vscode.Progress<{ message?: string }>,
  token: vscode.CancellationToken,
): Promise<void> {
  const controller = new AbortController();
  const sub = token.onCancellationRequested(() => controller.abort());
  try {
    await runConvert({
      cliPath: join(deps.extensionPath, 'dist', 'cli.js'),
      ...job,
      signal: controller.signal,
      onProgress: (m) => {
        deps.log.info(`convert: ${m}`);
        progress.report({ message: m });
      },
    });
  } finally {
    sub.dispose();
  }
}
