// The status bar item's menu (an internal command: not in the palette) and Show Log. The menu's
// entries run the MoE Lens commands by id, so each runs exactly as from the palette.
import * as vscode from 'vscode';
import { COMMANDS, INTERNAL_COMMANDS } from '../core/commandIds';
import type { Settings } from '../settings';

export interface MenuDeps {
  settings: Pick<Settings, 'current'>;
  log: Pick<vscode.LogOutputChannel, 'show'>;
}

export function register(deps: MenuDeps): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(COMMANDS.showLog, () => deps.log.show()),
    vscode.commands.registerCommand(INTERNAL_COMMANDS.statusMenu, () => statusMenu(deps)),
  ];
}

interface MenuItem extends vscode.QuickPickItem {
  command: string;
}

/** The menu's entries; the first one says what toggling would do now. */
export function menuItems(enabled: boolean): MenuItem[] {
  return [
    {
      label: enabled
        ? '$(circle-slash) Disable inline completion'
        : '$(check) Enable inline completion',
      command: COMMANDS.toggle,
    },
    { label: '$(folder-opened) Select model folder…', command: COMMANDS.selectModel },
    { label: '$(type-hierarchy) Open expert routing panel', command: COMMANDS.showRoutingPanel },
    { label: '$(info) Show model info', command: COMMANDS.showModelInfo },
    { label: '$(file-binary) Convert checkpoint…', command: COMMANDS.convertCheckpoint },
    { label: '$(output) Show log', command: COMMANDS.showLog },
  ];
}

async function statusMenu(deps: MenuDeps): Promise<void> {
  const choice = await vscode.window.showQuickPick(menuItems(deps.settings.current.enable), {
    title: 'MoE Lens',
  });
  if (choice) await vscode.commands.executeCommand(choice.command);
}
