// The one typed accessor of `moeLens.*` settings. Values are read once, normalised against the
// table in settingsSchema.ts and cached; configuration changes re-read them and fire
// `onDidChange` with an `affects(key)` test built on `affectsConfiguration`.
import * as vscode from 'vscode';
import { Disposable } from './core/lifecycle';
import {
  readSettings,
  SECTION,
  type MoeLensSettings,
  type SettingKey,
} from './core/settingsSchema';

export interface SettingsChange {
  affects(key: SettingKey): boolean;
}

export class Settings extends Disposable {
  private _current: MoeLensSettings;
  private readonly _onDidChange = this._register(new vscode.EventEmitter<SettingsChange>());
  readonly onDidChange = this._onDidChange.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    super();
    this._current = this.read();
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration(SECTION)) return;
        this._current = this.read();
        this._onDidChange.fire({ affects: (key) => e.affectsConfiguration(`${SECTION}.${key}`) });
      }),
    );
  }

  get current(): MoeLensSettings {
    return this._current;
  }

  /** Writes a setting in the user (global) settings; the change event follows. */
  async update<K extends SettingKey>(key: K, value: MoeLensSettings[K]): Promise<void> {
    await vscode.workspace
      .getConfiguration(SECTION)
      .update(key, value, vscode.ConfigurationTarget.Global);
  }

  private read(): MoeLensSettings {
    const config = vscode.workspace.getConfiguration(SECTION);
    const { settings, problems } = readSettings((key) => config.get(key));
    for (const p of problems) this.log.warn(`settings: ${p}`);
    return settings;
  }
}
