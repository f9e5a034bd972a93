// The status bar item: renders statusView() (statusFormat.ts) whenever the engine state, the
// settings, the active editor or the last suggestion change. Clicking opens the MoE Lens menu.
import * as vscode from 'vscode';
import { INTERNAL_COMMANDS } from './core/commandIds';
import type { EngineManager } from './core/engineManager';
import type { InlineProvider } from './inlineProvider';
import { Disposable } from './core/lifecycle';
import type { Settings } from './settings';
import { isLanguageEnabled } from './core/settingsSchema';
import type { PipelineEvent } from '../completion/types';
import {
  fitNote,
  lastFromSuggestion,
  nextActivity,
  statusView,
  type Activity,
  type LastSuggestion,
} from './core/statusFormat';

export const STATUS_MENU_COMMAND = INTERNAL_COMMANDS.statusMenu;

export class StatusBar extends Disposable {
  private readonly item: vscode.StatusBarItem;
  private last: LastSuggestion | undefined;
  private activity: Activity = { kind: 'idle' };
  private fitNote: string | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly engine: EngineManager,
    provider: InlineProvider,
  ) {
    super();
    this.item = this._register(
      vscode.window.createStatusBarItem('moeLens.status', vscode.StatusBarAlignment.Right, 100),
    );
    this.item.name = 'MoE Lens';
    this.item.command = STATUS_MENU_COMMAND;
    this._register(engine.onDidChangeState(() => this.update()));
    this._register(settings.onDidChange(() => this.update()));
    this._register(vscode.window.onDidChangeActiveTextEditor(() => this.update()));
    this._register(
      provider.onDidShowSuggestion((s) => {
        this.last = lastFromSuggestion(s);
        this.update();
      }),
    );
    this.update();
    this.item.show();
  }

  /** Every completion pipeline event: the state shown ("thinking", why nothing, a cut file). */
  onPipelineEvent(e: PipelineEvent): void {
    if (e.type === 'generation' && !e.speculative) this.fitNote = fitNote(e.fit);
    const next = nextActivity(this.activity, e);
    if (next === this.activity) return;
    this.activity = next;
    this.update();
  }

  private update(): void {
    const s = this.settings.current;
    const languageId = vscode.window.activeTextEditor?.document.languageId;
    const view = statusView({
      enabled: s.enable,
      languageEnabled: languageId !== undefined ? isLanguageEnabled(s, languageId) : undefined,
      languageId,
      engine: this.engine.state,
      last: this.last,
      activity: this.activity,
      fitNote: this.fitNote,
    });
    this.item.text = view.text;
    this.item.tooltip = new vscode.MarkdownString(view.tooltip);
    this.item.backgroundColor =
      view.kind === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.accessibilityInformation = { label: view.tooltip.replace(/[*`$()]/g, '') };
  }
}
