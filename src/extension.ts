// Extension entry: activate() only wires; the named helpers below build each part. The engine
// runs in the forked engine host (dist/engineHost.js) and is loaded lazily by the engine manager;
// the completion pipeline (src/completion) is vscode-free and reached through the inline provider
// adapter; the routing panel is fed through its RoutingSink (src/vscode/core/routingSink.ts) and
// restored after a window reload by its serializer (activation event onWebviewPanel).
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CompletionPipeline, engineClientAdapter, type PipelineEvent } from './completion/pipeline';
import { EngineClient } from './host/engineClient';
import { registerCommands } from './vscode/commands';
import { COMMANDS } from './vscode/core/commandIds';
import { EngineManager, withHangTimeout, type EngineState } from './vscode/core/engineManager';
import { resolveModelDir } from './vscode/core/modelDir';
import { panelModel } from './vscode/core/panelState';
import { completionSettings, describePipelineEvent } from './vscode/core/pipelineApi';
import { pipelineRouting } from './vscode/core/routingSink';
import { InlineProvider, SUPPORTED_SCHEMES, type ShownSuggestion } from './vscode/inlineProvider';
import { activeEditorFile, registerPanelSerializer, RoutingPanel } from './vscode/routingPanel';
import { Settings, type SettingsChange } from './vscode/settings';
import { StatusBar } from './vscode/statusBar';

type Log = vscode.LogOutputChannel;

export function activate(context: vscode.ExtensionContext): void {
  const subs = context.subscriptions;
  const own = <T extends vscode.Disposable>(d: T): T => (subs.push(d), d);
  const log = own(vscode.window.createOutputChannel('MoE Lens', { log: true }));
  const settings = own(new Settings(log));
  const client = createEngineClient(context.extensionPath, log);
  const engine = own(createEngineManager(context.extensionPath, client, settings, log));
  const panel = own(new RoutingPanel(context.extensionUri, log));
  const pipeline = own(createPipeline(client, settings, log));
  const provider = own(new InlineProvider(pipeline, engine, settings, log));
  own(registerInlineProvider(provider));
  const statusBar = own(new StatusBar(settings, engine, provider));
  // The panel follows the pipeline's generations and the completion the editor actually shows.
  const routing = pipelineRouting(panel, activeEditorFile, (m) => log.warn(m));
  pipeline.onEvent = (e) => {
    routing.onEvent(e); // first, and it never breaks a completion (a panel error is logged)
    statusBar.onPipelineEvent(e);
    logPipelineEvent(log, e);
  };
  subs.push(
    provider.onDidShowSuggestion((s) => {
      routing.onShown(s);
      traceShownRouting(log, s);
    }),
    // Full router distributions only while someone looks.
    panel.onDidChangeVisibility((visible) => (pipeline.routerProbs = visible)),
    engine.onDidChangeState((state) => followModel(state, panel, pipeline)),
    settings.onDidChange((change) => followSettings(change, settings, engine)),
    registerPanelSerializer(panel),
    ...registerCommands({
      extensionPath: context.extensionPath,
      client,
      engine,
      provider,
      panel,
      routing: panel,
      settings,
      log,
    }),
  );
  log.info(`MoE Lens ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {}

function createEngineClient(extensionPath: string, log: Log): EngineClient {
  return new EngineClient({
    hostPath: path.join(extensionPath, 'dist', 'engineHost.js'),
    log: (m) => log.info(`engine: ${m}`),
  });
}

function createEngineManager(
  extensionPath: string,
  client: EngineClient,
  settings: Settings,
  log: Log,
): EngineManager {
  return new EngineManager({
    client,
    settings: () => settings.current,
    resolveModelDir: (setting) =>
      resolveModelDir(setting, {
        extensionRoot: extensionPath,
        home: os.homedir(),
        workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      }),
    withProgress: (title, detail, task) =>
      Promise.resolve(
        vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title },
          (progress) => {
            progress.report({ message: detail });
            return task();
          },
        ),
      ),
    showError: (message) => showEngineError(message, log),
    log,
  });
}

/** An engine failure, with the two ways out. */
function showEngineError(message: string, log: Log): void {
  void vscode.window
    .showErrorMessage(`MoE Lens: ${message}`, 'Select Model…', 'Show Log')
    .then((choice) => {
      if (choice === 'Select Model…') void vscode.commands.executeCommand(COMMANDS.selectModel);
      else if (choice === 'Show Log') log.show();
    });
}

function registerInlineProvider(provider: InlineProvider): vscode.Disposable {
  return vscode.languages.registerInlineCompletionItemProvider(
    SUPPORTED_SCHEMES.map((scheme) => ({ scheme })),
    provider,
  );
}

function createPipeline(client: EngineClient, settings: Settings, log: Log): CompletionPipeline {
  return new CompletionPipeline(
    engineClientAdapter(withHangTimeout(client)),
    () => completionSettings(settings.current),
    (m) => log.warn(`completion: ${m}`),
  );
}

/** One line per pipeline event: errors warn, why a request produced nothing is Info, the rest trace. */
function logPipelineEvent(log: Log, e: PipelineEvent): void {
  const line = describePipelineEvent(e);
  if (line === null) return;
  if (e.type === 'error') log.warn(`completion ${line}`);
  else if (e.type === 'none' && e.code !== 'cancelled') log.info(`completion ${line}`);
  else log.trace(`completion ${line}`);
}

/**
 * Trace: what the engine reported for the shown text (the e2e test compares the panel). Built
 * only at trace level: it is a JSON of every token × layer on every suggestion.
 */
function traceShownRouting(log: Log, s: ShownSuggestion): void {
  if (log.logLevel !== vscode.LogLevel.Trace) return;
  const routing = s.tokens.map((t) => [t.text, t.routing.map((r) => [r.layer, ...r.experts])]);
  log.trace(`completion #${s.requestId} shown routing ${JSON.stringify(routing)}`);
}

/** The panel and the pipeline follow the loaded model (its context sizes the prompt window). */
function followModel(state: EngineState, panel: RoutingPanel, pipeline: CompletionPipeline): void {
  if (state.kind === 'ready') {
    panel.setModel(panelModel(path.basename(state.modelDir), state.info));
    pipeline.setModel(state.info);
  } else if (state.kind !== 'loading') {
    panel.setModel(null);
    pipeline.setModel(null);
  }
}

/** Settings that need the engine reloaded; disabling completion unloads the model. */
function followSettings(change: SettingsChange, settings: Settings, engine: EngineManager): void {
  engine.settingsChanged((key) => change.affects(key));
  if (change.affects('enable') && !settings.current.enable) void engine.unload('disabled');
}
