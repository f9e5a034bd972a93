// The routing panel's command: open it (or bring it forward) on the live view.
import * as vscode from 'vscode';
import { COMMANDS } from '../core/commandIds';
import type { RoutingPanel } from '../routingPanel';

export interface PanelCommandDeps {
  panel: Pick<RoutingPanel, 'show'>;
}

export function register(deps: PanelCommandDeps): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(COMMANDS.showRoutingPanel, () => deps.panel.show('live')),
  ];
}
