// Extension entry: activate() only wires. The engine runs in the forked engine host
// (dist/engineHost.js) and is loaded lazily by the engine manager; the completion pipeline
// (src/completion) is vscode-free and reached through the inline provider adapter.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CompletionPipeline, engineClientAdapter } from './completion/pipeline';
import { EngineClient } from './host/engineClient';
import { COMMANDS } from './vscode/core/commandIds';
import { registerCommands } from './vscode/commands';
import { EngineManager, withHangTimeout } from './vscode/core/engineManager';
import { InlineProvider, SUPPORTED_SCHEMES } from './vscode/inlineProvider';
import { resolveModelDir } from './vscode/core/modelDir';
import { completionSettings, describePipelineEvent } from './vscode/core/pipelineApi';
import { Settings } from './vscode/settings';
import { StatusBar } from './vscode/statusBar';
import { registerAnalyzeCommands } from './vscode/analyzeCommands';
import { panelModel } from './vscode/core/panelState';
import { RoutingPanel } from './vscode/routingPanel';

export function activate(context: vscode.ExtensionContext): void {
  const subs = context.subscriptions;
  const log = vscode.window.createOutputChannel('MoE Lens', { log: true });
  subs.push(log);
  const settings = new Settings(log);
  subs.push(settings);

  const client = new EngineClient({
    hostPath: path.join(context.extensionPath, 'dist', 'engineHost.js'),
    log: (m) => log.info(`engine: ${m}`),
  });
  const engine = new EngineManager({
    client,
    settings: () => settings.current,
    resolveModelDir: (setting) =>
      resolveModelDir(setting, {
        extensionRoot: context.extensionPath,
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
    showError: (message) => {
      void vscode.window
        .showErrorMessage(`MoE Lens: ${message}`, 'Select Model…', 'Show Log')
        .then((choice) => {
          if (choice === 'Select Model…') void vscode.commands.executeCommand(COMMANDS.selectModel);
          else if (choice === 'Show Log') log.show();
        });
    },
    log,
  });
  subs.push(engine);

  const panel = new RoutingPanel(context.extensionUri, log);
  subs.push(panel);

  // The status bar needs the provider, which needs the pipeline: it joins once built.
  const statusRef: { bar?: StatusBar } = {};
  const pipeline = new CompletionPipeline(
    engineClientAdapter(withHangTimeout(client)),
    () => completionSettings(settings.current),
    (m) => log.warn(`completion: ${m}`),
  );
  pipeline.onEvent = (e) => {
    try {
      panel.onPipelineEvent(e); // the panel must never break a completion
    } catch (err) {
      log.warn(`routing panel: ${err instanceof Error ? err.message : String(err)}`);
    }
    statusRef.bar?.onPipelineEvent(e);
    const line = describePipelineEvent(e);
    if (line === null) return;
    if (e.type === 'error') log.warn(`completion ${line}`);
    // Why a request produced nothing: one line at Info level (the rest is trace).
    else if (e.type === 'none' && e.code !== 'cancelled') log.info(`completion ${line}`);
    else log.trace(`completion ${line}`);
  };
  subs.push(pipeline);
  const provider = new InlineProvider(pipeline, engine, settings, log);
  subs.push(provider);
  subs.push(
    vscode.languages.registerInlineCompletionItemProvider(
      SUPPORTED_SCHEMES.map((scheme) => ({ scheme })),
      provider,
    ),
  );
  statusRef.bar = new StatusBar(settings, engine, provider);
  subs.push(statusRef.bar);

  // The expert-routing panel follows the completion the editor actually shows.
  subs.push(
    provider.onDidShowSuggestion((s) => {
      try {
        panel.onShown(s);
      } catch (e) {
        log.warn(`routing panel: ${e instanceof Error ? e.message : String(e)}`);
      }
      // Trace: what the engine reported for the shown text (the e2e test compares the panel).
      // Built only at trace level: it is a JSON of every token × layer on every suggestion.
      if (log.logLevel === vscode.LogLevel.Trace) {
        const routing = s.tokens.map((t) => [
          t.text,
          t.routing.map((r) => [r.layer, ...r.experts]),
        ]);
        log.trace(`completion #${s.requestId} shown routing ${JSON.stringify(routing)}`);
      }
    }),
    panel.onDidChangeVisibility((visible) => {
      pipeline.routerProbs = visible; // full router distributions only while someone looks
    }),
    engine.onDidChangeState((state) => {
      if (state.kind === 'ready') {
        panel.setModel(panelModel(path.basename(state.modelDir), state.info));
        pipeline.setModel(state.info); // its context sizes the prompt window
      } else if (state.kind !== 'loading') {
        panel.setModel(null);
        pipeline.setModel(null);
      }
    }),
  );
  subs.push(...registerAnalyzeCommands({ client, engine, panel, settings, log }));
  subs.push(
    ...registerCommands({ extensionPath: context.extensionPath, settings, engine, provider, log }),
  );
  subs.push(
    settings.onDidChange((change) => {
      engine.settingsChanged((key) => change.affects(key));
      if (change.affects('enable') && !settings.current.enable) void engine.unload('disabled');
    }),
  );
  log.info(`MoE Lens ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {}
