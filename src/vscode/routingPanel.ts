// The routing panel's webview: one panel at a time, created on demand beside the editor or
// restored by VS Code after a window reload (the serializer below; activation event
// onWebviewPanel:moeLens.routingPanel). The host keeps the state (core/panelState.ts) and resends
// it whenever the webview says `ready` (first load, shown again after being hidden, restored); a
// restored panel brings back what it last showed (core/panelRestore.ts checks it). The panel is
// the RoutingSink (core/routingSink.ts) that completions, Explain and Analyze feed. Exports go
// through a save dialog.
import * as vscode from 'vscode';
import {
  parseWebviewMessage,
  type Analysis,
  type ExportFormat,
  type HostMessage,
  type PanelModel,
} from '../webview/protocol';
import { Disposable } from './core/lifecycle';
import { panelHtml } from './core/panelHtml';
import { parseSavedPanelState } from './core/panelRestore';
import { PanelStateStore } from './core/panelState';
import type { RoutingShown, RoutingSink, RoutingStart, RoutingStream } from './core/routingSink';

export const PANEL_VIEW_TYPE = 'moeLens.routingPanel';

const EXPORT_FILTERS: Record<ExportFormat, Record<string, string[]>> = {
  json: { JSON: ['json'] },
  csv: { CSV: ['csv'] },
  svg: { 'SVG image': ['svg'] },
  png: { 'PNG image': ['png'] },
};

export class RoutingPanel extends Disposable implements RoutingSink {
  private panel: vscode.WebviewPanel | null = null;
  private ready = false;
  readonly store: PanelStateStore;
  private readonly _onDidChangeVisibility = this._register(new vscode.EventEmitter<boolean>());
  /** True while the panel is open and visible (the pipeline then asks for full router probs). */
  readonly onDidChangeVisibility = this._onDidChangeVisibility.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: Pick<vscode.LogOutputChannel, 'warn' | 'info'>,
  ) {
    super();
    this.store = new PanelStateStore((m) => this.post(m));
  }

  get visible(): boolean {
    return this.panel?.visible ?? false;
  }

  show(view?: 'live' | 'analysis'): void {
    if (view) this.store.setView(view);
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      'MoE Lens: Expert Routing',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      this.webviewOptions(),
    );
    this.attach(panel);
  }

  /**
   * The panel VS Code restores after a window reload, with the state its webview saved: the
   * store takes what this host has nothing newer for, then the panel is ours like a new one.
   */
  restore(panel: vscode.WebviewPanel, saved: unknown): void {
    if (this.panel) {
      panel.dispose(); // one panel at a time
      return;
    }
    const parsed = parseSavedPanelState(saved);
    if (parsed.ok) this.store.restore(parsed.state);
    else if (saved !== undefined && saved !== null) {
      this.log.warn(`routing panel: restored without its last state: ${parsed.reason}`);
    }
    this.attach(panel);
  }

  setModel(model: PanelModel | null): void {
    this.store.setModel(model);
  }

  start(meta: RoutingStart): RoutingStream {
    if (meta.reveal) this.show('live');
    return this.store.start(meta);
  }

  shown(s: RoutingShown): void {
    // Show a workspace-relative path, never a file:// URI.
    const uri = /^[a-z][\w+.-]*:/i.test(s.file) ? vscode.Uri.parse(s.file) : null;
    this.store.shown({ ...s, file: uri ? vscode.workspace.asRelativePath(uri, false) : s.file });
  }

  analysis(a: Analysis): void {
    this.store.setAnalysis(a);
    this.show('analysis');
  }

  override dispose(): void {
    this.panel?.dispose();
    super.dispose();
  }

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
  }

  /** Makes `panel` this host's panel: strict-CSP HTML, message and visibility handlers. */
  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    const webview = panel.webview;
    webview.options = this.webviewOptions(); // a restored panel comes without them
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'panel.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'panel.css')).toString(),
    });
    const subs = [
      webview.onDidReceiveMessage((m: unknown) => {
        // A failed export (disk full, no permission) must not become an unhandled rejection.
        this.onMessage(m).catch((e: unknown) =>
          this.log.warn(`routing panel: ${e instanceof Error ? e.message : String(e)}`),
        );
      }),
      panel.onDidChangeViewState(() => {
        // A hidden webview is torn down (no retainContextWhenHidden): wait for its next `ready`.
        if (!panel.visible) this.ready = false;
        this._onDidChangeVisibility.fire(panel.visible);
      }),
    ];
    panel.onDidDispose(() => {
      for (const s of subs) s.dispose();
      this.panel = null;
      this.ready = false;
      this._onDidChangeVisibility.fire(false);
    });
    this._onDidChangeVisibility.fire(panel.visible);
  }

  private post(m: HostMessage): void {
    // Before `ready` the webview would drop messages; it gets the whole state then.
    if (this.panel && this.ready) void this.panel.webview.postMessage(m);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = parseWebviewMessage(raw);
    if (!m) {
      this.log.warn('routing panel: ignored a message that is not a panel message');
      return;
    }
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.store.resend();
        return;
      case 'view':
        this.store.state.view = m.view;
        return;
      case 'export':
        await this.export(m.format, m.name, m.data);
        return;
      case 'error':
        this.log.warn(`routing panel: ${m.message}`);
        return;
    }
  }

  private async export(format: ExportFormat, name: string, data: string): Promise<void> {
    const safe = name.replace(/[^\w.-]+/g, '-').slice(0, 80) || 'routing';
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: `MoE Lens: export ${format.toUpperCase()}`,
      filters: EXPORT_FILTERS[format],
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `${safe}.${format}`) } : {}),
    });
    if (!target) return;
    let bytes: Uint8Array;
    if (format === 'png') {
      const m = /^data:image\/png;base64,(.*)$/s.exec(data);
      if (!m) {
        void vscode.window.showErrorMessage('MoE Lens: the panel sent no PNG data.');
        return;
      }
      bytes = Buffer.from(m[1] ?? '', 'base64');
    } else {
      bytes = Buffer.from(data, 'utf8');
    }
    await vscode.workspace.fs.writeFile(target, bytes);
    this.log.info(`exported ${format} to ${target.fsPath}`);
  }
}

/** The file being typed in, for a streaming completion's header (workspace-relative). */
export function activeEditorFile(): { file: string; languageId: string } {
  const doc = vscode.window.activeTextEditor?.document;
  return {
    file: doc ? vscode.workspace.asRelativePath(doc.uri, false) : '',
    languageId: doc?.languageId ?? '',
  };
}

/** Restores the routing panel after a window reload (package.json: onWebviewPanel activation). */
export function registerPanelSerializer(panel: RoutingPanel): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
    deserializeWebviewPanel: async (webviewPanel, state: unknown) =>
      panel.restore(webviewPanel, state),
  });
}
