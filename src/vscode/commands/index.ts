// Every MoE Lens command, one file per feature: completion (toggle, trigger now), model (select,
// info, convert), panel, analyze, explain, menu (status menu, log). Each feature exports
// `register(deps)`; the ids are in core/commandIds.ts (package.json contributes them, checked by
// test/unit/vscode/settings.test.ts).
import type * as vscode from 'vscode';
import * as analyze from './analyze';
import * as completion from './completion';
import * as explain from './explain';
import * as menu from './menu';
import * as model from './model';
import * as panel from './panel';

/** What the commands need, all together (each feature takes its part). */
export type CommandDeps = completion.CompletionCommandDeps &
  model.ModelCommandDeps &
  panel.PanelCommandDeps &
  analyze.AnalyzeDeps &
  explain.ExplainDeps &
  menu.MenuDeps;

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  return [
    ...completion.register(deps),
    ...model.register(deps),
    ...panel.register(deps),
    ...analyze.register(deps),
    ...explain.register(deps),
    ...menu.register(deps),
  ];
}
