// Commands about inline completion itself: turn it on or off (moeLens.enable) and ask for a
// suggestion now (an explicit request: no debounce, mid-line allowed, disabled languages too).
import * as vscode from 'vscode';
import { COMMANDS } from '../core/commandIds';
import type { InlineProvider } from '../inlineProvider';
import type { Settings } from '../settings';

export interface CompletionCommandDeps {
  settings: Pick<Settings, 'current' | 'update'>;
  provider: Pick<InlineProvider, 'markExplicit'>;
}

export function register(deps: CompletionCommandDeps): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(COMMANDS.toggle, () => toggle(deps)),
    vscode.commands.registerCommand(COMMANDS.triggerNow, () => triggerNow(deps)),
  ];
}

async function toggle(deps: CompletionCommandDeps): Promise<void> {
  const enable = !deps.settings.current.enable;
  await deps.settings.update('enable', enable);
  vscode.window.setStatusBarMessage(
    `MoE Lens: inline completion ${enable ? 'enabled' : 'disabled'}`,
    3000,
  );
}

async function triggerNow(deps: CompletionCommandDeps): Promise<void> {
  if (!deps.settings.current.enable) {
    const choice = await vscode.window.showInformationMessage('MoE Lens is disabled.', 'Enable');
    if (choice !== 'Enable') return;
    await deps.settings.update('enable', true);
  }
  deps.provider.markExplicit();
  await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
}
