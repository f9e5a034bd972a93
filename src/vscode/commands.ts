// The MoE Lens commands (ids are declared in package.json contributes.commands, except the
// internal status menu). Each handler is a short UI flow over the engine manager, the settings
// and the converter runner; none of them does heavy work in the extension host.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { CancelledError } from '../format/errors';
import { MANIFEST_FILE } from '../format/manifest';
import {
  chooseOutputDir,
  CONVERT_DTYPES,
  runConvert,
  type ConvertDType,
} from './core/convertRunner';
import { COMMANDS } from './core/commandIds';
import type { EngineManager } from './core/engineManager';
import { errorMessage } from './core/errorNotifier';
import type { InlineProvider } from './inlineProvider';
import type { Settings } from './settings';
import { STATUS_MENU_COMMAND } from './statusBar';
import { formatCount } from './core/statusFormat';

export interface CommandDeps {
  extensionPath: string;
  settings: Settings;
  engine: EngineManager;
  provider: InlineProvider;
  log: vscode.LogOutputChannel;
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { settings, engine, provider, log } = deps;
  let converting = false;

  const toggle = async () => {
    const enable = !settings.current.enable;
    await settings.update('enable', enable);
    vscode.window.setStatusBarMessage(
      `MoE Lens: inline completion ${enable ? 'enabled' : 'disabled'}`,
      3000,
    );
  };

  const triggerNow = async () => {
    if (!settings.current.enable) {
      const choice = await vscode.window.showInformationMessage('MoE Lens is disabled.', 'Enable');
      if (choice !== 'Enable') return;
      await settings.update('enable', true);
    }
    provider.markExplicit();
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  };

  const selectModel = async () => {
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
      const info = await engine.loadCandidate(dir);
      await settings.update('modelPath', dir);
      void vscode.window.showInformationMessage(
        `MoE Lens: using ${basename(dir)} (${info.architecture}, ${info.dtype}, ${info.executionProvider})`,
      );
    } catch (e) {
      void vscode.window.showErrorMessage(
        `MoE Lens: ${dir} is not a usable model: ${errorMessage(e)}`,
      );
    }
  };

  const showModelInfo = async () => {
    try {
      const info = await engine.ensureLoaded({ explicit: true });
      log.info(`model info: ${JSON.stringify(info)}`);
      const state = engine.state;
      const name = state.kind === 'ready' ? basename(state.modelDir) : info.architecture;
      void vscode.window.showInformationMessage(
        `MoE Lens: ${name}: ${info.architecture}, ${info.dtype} on ${info.executionProvider}; ` +
          `${formatCount(info.activeParamsPerToken)} of ${formatCount(info.totalParams)} ` +
          `parameters active per token; top-${info.topK} of ${info.experts} experts.`,
      );
    } catch {
      // ensureLoaded has notified and logged the failure.
    }
  };

  const convertCheckpoint = async () => {
    if (converting) {
      void vscode.window.showInformationMessage('MoE Lens: a conversion is already running.');
      return;
    }
    converting = true;
    try {
      await convertFlow();
    } finally {
      converting = false;
    }
  };

  /** Checkpoint folder → dtype → output folder → the converter in a child, cancellable. */
  const convertFlow = async () => {
    const src = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      title: 'MoE Lens: select a Hugging Face MoE checkpoint (config.json + *.safetensors)',
      openLabel: 'Convert This Checkpoint',
    });
    const hfDir = src?.[0]?.fsPath;
    if (!hfDir) return;
    const pick = await vscode.window.showQuickPick(
      CONVERT_DTYPES.map((d) => ({ label: d.dtype, detail: d.detail })),
      { title: 'MoE Lens: weight type of the converted model', placeHolder: 'int4' },
    );
    if (!pick) return;
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
    if (!picked) return;
    const outDir = chooseOutputDir(picked, await readdir(picked).catch(() => null), hfDir, dtype);
    const existing = await readdir(outDir).catch(() => [] as string[]);
    if (existing.includes(MANIFEST_FILE)) {
      const answer = await vscode.window.showWarningMessage(
        `${outDir} already holds a model. Replace it?`,
        { modal: true },
        'Replace',
      );
      if (answer !== 'Replace') return;
    }
    log.info(`converting ${hfDir} -> ${outDir} (${dtype})`);
    try {
      await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `MoE Lens: converting ${basename(hfDir)} (${dtype})`,
          cancellable: true,
        },
        async (progress, token) => {
          const controller = new AbortController();
          const sub = token.onCancellationRequested(() => controller.abort());
          try {
            await runConvert({
              cliPath: join(deps.extensionPath, 'dist', 'cli.js'),
              hfDir,
              outDir,
              dtype,
              signal: controller.signal,
              onProgress: (m) => {
                log.info(`convert: ${m}`);
                progress.report({ message: m });
              },
            });
          } finally {
            sub.dispose();
          }
        },
      );
      log.info(`converted ${hfDir} -> ${outDir}`);
      const use = await vscode.window.showInformationMessage(
        `MoE Lens: converted ${basename(hfDir)} to ${outDir}.`,
        'Use This Model',
      );
      if (use === 'Use This Model') await settings.update('modelPath', outDir);
    } catch (e) {
      if (e instanceof CancelledError) {
        log.info(e.message);
        void vscode.window.showInformationMessage(`MoE Lens: ${e.message}.`);
      } else {
        log.error(`convert failed: ${errorMessage(e)}`);
        void vscode.window.showErrorMessage(`MoE Lens: conversion failed: ${errorMessage(e)}`);
      }
    }
  };

  const statusMenu = async () => {
    const enabled = settings.current.enable;
    const items: (vscode.QuickPickItem & { run: () => unknown })[] = [
      {
        label: enabled
          ? '$(circle-slash) Disable inline completion'
          : '$(check) Enable inline completion',
        run: toggle,
      },
      { label: '$(folder-opened) Select model folder…', run: selectModel },
      {
        label: '$(type-hierarchy) Open expert routing panel',
        run: () => vscode.commands.executeCommand(COMMANDS.showRoutingPanel),
      },
      { label: '$(info) Show model info', run: showModelInfo },
      { label: '$(file-binary) Convert checkpoint…', run: convertCheckpoint },
      { label: '$(output) Show log', run: () => log.show() },
    ];
    const choice = await vscode.window.showQuickPick(items, { title: 'MoE Lens' });
    await choice?.run();
  };

  return [
    vscode.commands.registerCommand(COMMANDS.toggle, toggle),
    vscode.commands.registerCommand(COMMANDS.triggerNow, triggerNow),
    vscode.commands.registerCommand(COMMANDS.selectModel, selectModel),
    vscode.commands.registerCommand(COMMANDS.showLog, () => log.show()),
    vscode.commands.registerCommand(COMMANDS.convertCheckpoint, convertCheckpoint),
    vscode.commands.registerCommand(COMMANDS.showModelInfo, showModelInfo),
    vscode.commands.registerCommand(STATUS_MENU_COMMAND, statusMenu),
  ];
}
