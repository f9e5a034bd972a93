// Extension entry: activate() only wires contributions. The completion provider, status bar and
// routing panel arrive with their issues; the engine always runs in the forked engine host.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('MoE Lens', { log: true });
  context.subscriptions.push(log);
  log.info('MoE Lens activated');
}

export function deactivate(): void {}
