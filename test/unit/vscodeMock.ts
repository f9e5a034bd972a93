// A minimal in-memory `vscode` module for unit tests of the thin vscode layer (after
// vscode-python's vscode-mock.ts): importing this file first makes `require('vscode')` return
// it. Only what src/extension.ts and src/vscode/* use is here; `state` records what they did.
import Module from 'node:module';
import { posix } from 'node:path';

type Listener<T> = (value: T) => void;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    for (const l of [...this.listeners]) l(value);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}

export class InlineCompletionItem {
  constructor(
    readonly insertText: string,
    readonly range?: Range,
    readonly command?: { command: string; title: string; arguments?: unknown[] },
  ) {}
}

export class MarkdownString {
  constructor(readonly value = '') {}
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  static from(c: { scheme: string; path: string }): Uri {
    return new Uri(c.scheme, c.path);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, posix.join(base.path, ...parts));
  }
  static parse(value: string): Uri {
    const m = /^([a-z][\w+.-]*):\/\/(.*)$/i.exec(value);
    return m ? new Uri(m[1] as string, m[2] as string) : new Uri('file', value);
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export const ViewColumn = { Active: -1, Beside: -2, One: 1, Two: 2 } as const;
export const InlineCompletionTriggerKind = { Invoke: 0, Automatic: 1 } as const;
export const StatusBarAlignment = { Left: 1, Right: 2 } as const;
export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 } as const;
export const ConfigurationTarget = { Global: 1, Workspace: 2, WorkspaceFolder: 3 } as const;
export const LogLevel = { Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 } as const;

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: this.emitter.event,
  };
  cancel(): void {
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
}

/** A webview panel: records what the host did to it; `receive` plays the webview's side. */
export class WebviewPanel {
  visible = true;
  disposed = false;
  reveals = 0;
  /** Messages the host posted to the webview. */
  readonly posted: unknown[] = [];
  private readonly received = new EventEmitter<unknown>();
  private readonly viewState = new EventEmitter<void>();
  private readonly disposing = new EventEmitter<void>();
  readonly webview = {
    html: '',
    options: {} as { enableScripts?: boolean; localResourceRoots?: Uri[] },
    cspSource: 'https://mock.vscode-cdn.net',
    asWebviewUri: (u: Uri) => Uri.from({ scheme: 'https', path: `mock.vscode-cdn.net${u.path}` }),
    postMessage: async (m: unknown) => {
      this.posted.push(m);
      return true;
    },
    onDidReceiveMessage: this.received.event,
  };
  readonly onDidChangeViewState = this.viewState.event;
  readonly onDidDispose = this.disposing.event;

  constructor(
    readonly viewType: string,
    readonly title: string,
    options: { enableScripts?: boolean; localResourceRoots?: Uri[] } = {},
  ) {
    this.webview.options = options;
  }
  reveal(): void {
    this.reveals++;
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposing.fire();
  }
  /** The webview posts `m` to the host. */
  receive(m: unknown): void {
    this.received.fire(m);
  }
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.viewState.fire();
  }
}

export interface WebviewPanelSerializer {
  deserializeWebviewPanel(panel: WebviewPanel, state: unknown): Promise<void>;
}

export interface StatusItem {
  text: string;
  tooltip?: MarkdownString;
  command?: string;
  shown: boolean;
  disposed: boolean;
}

/** What the code under test did. */
export const state = {
  config: new Map<string, unknown>(),
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  providers: [] as { selector: unknown; provider: unknown }[],
  statusItems: [] as StatusItem[],
  messages: [] as { kind: 'info' | 'warning' | 'error'; text: string }[],
  progress: [] as string[],
  logs: [] as string[],
  /** Panels createWebviewPanel made (restored ones are made by the test). */
  panels: [] as WebviewPanel[],
  serializers: new Map<string, WebviewPanelSerializer>(),
  reset(): void {
    this.panels = [];
    this.serializers.clear();
    this.config.clear();
    this.commands.clear();
    this.providers = [];
    this.statusItems = [];
    this.messages = [];
    this.progress = [];
    this.logs = [];
  },
};

const configChanged = new EventEmitter<{ affectsConfiguration(s: string): boolean }>();

export const commands = {
  registerCommand(id: string, fn: (...args: unknown[]) => unknown) {
    if (state.commands.has(id)) throw new Error(`command ${id} already registered`);
    state.commands.set(id, fn);
    return { dispose: () => state.commands.delete(id) };
  },
  async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    const fn = state.commands.get(id);
    return fn ? fn(...args) : undefined;
  },
};

function logChannel(name: string) {
  const line = (level: string) => (m: unknown) => state.logs.push(`[${level}] ${String(m)}`);
  return {
    name,
    logLevel: 2,
    trace: line('trace'),
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    append: () => {},
    appendLine: line('info'),
    show: () => {},
    hide: () => {},
    clear: () => {},
    replace: () => {},
    dispose: () => {},
    onDidChangeLogLevel: new EventEmitter<number>().event,
  };
}

const message =
  (kind: 'info' | 'warning' | 'error') =>
  async (text: string, ..._items: unknown[]): Promise<undefined> => {
    state.messages.push({ kind, text });
    return undefined;
  };

export const window = {
  createOutputChannel: (name: string) => logChannel(name),
  createStatusBarItem(_id: string, _align: number, _priority: number) {
    const item: StatusItem & Record<string, unknown> = {
      text: '',
      shown: false,
      disposed: false,
      show: () => (item.shown = true),
      hide: () => (item.shown = false),
      dispose: () => (item.disposed = true),
    };
    state.statusItems.push(item);
    return item;
  },
  showInformationMessage: message('info'),
  showWarningMessage: message('warning'),
  showErrorMessage: message('error'),
  setStatusBarMessage: () => ({ dispose: () => {} }),
  async withProgress<T>(
    opts: { title?: string },
    task: (p: { report(v: { message?: string }): void }, token: unknown) => Promise<T>,
  ): Promise<T> {
    state.progress.push(opts.title ?? '');
    return task({ report: () => {} }, new CancellationTokenSource().token);
  },
  createWebviewPanel(
    viewType: string,
    title: string,
    _show: unknown,
    options: { enableScripts?: boolean; localResourceRoots?: Uri[] },
  ) {
    const panel = new WebviewPanel(viewType, title, options);
    state.panels.push(panel);
    return panel;
  },
  registerWebviewPanelSerializer(viewType: string, serializer: WebviewPanelSerializer) {
    if (state.serializers.has(viewType)) throw new Error(`serializer ${viewType} twice`);
    state.serializers.set(viewType, serializer);
    return { dispose: () => state.serializers.delete(viewType) };
  },
  showQuickPick: async () => undefined,
  showOpenDialog: async () => undefined,
  visibleTextEditors: [] as unknown[],
  activeTextEditor: undefined as unknown,
  onDidChangeActiveTextEditor: new EventEmitter<unknown>().event,
};

export const workspace = {
  workspaceFolders: [{ uri: Uri.file('/ws'), name: 'ws', index: 0 }],
  getConfiguration(section: string) {
    return {
      get: (key: string) => state.config.get(`${section}.${key}`),
      async update(key: string, value: unknown) {
        const full = `${section}.${key}`;
        state.config.set(full, value);
        configChanged.fire({
          affectsConfiguration: (s: string) => full === s || full.startsWith(`${s}.`),
        });
      },
    };
  },
  onDidChangeConfiguration: configChanged.event,
  asRelativePath(uri: Uri | string): string {
    const p = typeof uri === 'string' ? uri : uri.path;
    return p.startsWith('/ws/') ? posix.relative('/ws', p) : p;
  },
};

export const languages = {
  registerInlineCompletionItemProvider(selector: unknown, provider: unknown) {
    const entry = { selector, provider };
    state.providers.push(entry);
    return { dispose: () => (state.providers = state.providers.filter((p) => p !== entry)) };
  },
};

/** A text document over a string (LF line ends). */
export function textDocument(path: string, text: string, languageId = 'typescript') {
  return {
    uri: Uri.file(path),
    languageId,
    getText: () => text,
    offsetAt: (p: Position) => {
      const lines = text.split('\n');
      let off = 0;
      for (let i = 0; i < p.line; i++) off += (lines[i] ?? '').length + 1;
      return off + p.character;
    },
    positionAt: (offset: number) => positionAt(text, offset),
  };
}

/** The position of `offset` in `text`. */
export function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, offset).split('\n');
  return new Position(before.length - 1, (before[before.length - 1] ?? '').length);
}

const vscode = {
  EventEmitter,
  Position,
  Range,
  InlineCompletionItem,
  MarkdownString,
  ThemeColor,
  Uri,
  ViewColumn,
  InlineCompletionTriggerKind,
  StatusBarAlignment,
  ProgressLocation,
  ConfigurationTarget,
  LogLevel,
  CancellationTokenSource,
  commands,
  window,
  workspace,
  languages,
};

// Route require('vscode') here (CommonJS; tsx compiles the sources to it).
const mod = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = mod._load;
mod._load = function (request: string, ...rest: unknown[]) {
  if (request === 'vscode') return vscode;
  return load.call(this, request, ...rest);
};
