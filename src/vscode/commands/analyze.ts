// "Analyze Routing" commands: the selection or the current file (heat map plus statistics) and
// the workspace (statistics). The engine work runs in the engine process on its own KV slot
// ('analysis'), one file per call, so a completion request waits for at most one file;
// statistics are shared with `cli analyze`. Results go to the routing panel (a RoutingSink).
import * as vscode from 'vscode';
import { analyzeFiles, MAX_FILE_BYTES, type SourceFile } from '../../analysis/analyzeFiles';
import { DEFAULT_ANALYZE_TOKENS, type AnalyzedText } from '../../analysis/analyzeText';
import { RoutingStatsAccumulator } from '../../analysis/routingStats';
import { CancelledError } from '../../format/errors';
import type { EngineClient } from '../../host/engineClient';
import { languageOfPath } from '../../language/languages';
import { COMMANDS } from '../core/commandIds';
import type { EngineManager } from '../core/engineManager';
import { toPanelToken } from '../core/panelState';
import type { RoutingSink } from '../core/routingSink';
import type { Settings } from '../settings';
import {
  fullPath,
  modelName,
  refuseSecret,
  withCancellableProgress,
  type ProgressReporter,
} from './ui';

export interface AnalyzeDeps {
  client: Pick<EngineClient, 'call'>;
  engine: Pick<EngineManager, 'ensureLoaded' | 'state'>;
  routing: Pick<RoutingSink, 'analysis'>;
  settings: Pick<Settings, 'current'>;
  log: Pick<vscode.LogOutputChannel, 'error'>;
}

/** Source files the workspace analysis looks at (the languages the token scanner knows). */
const WORKSPACE_GLOB =
  '**/*.{ts,tsx,js,jsx,mjs,cjs,py,go,rs,java,c,h,cc,cpp,hpp,cs,rb,php,sh,kt,swift,lua,sql}';
const WORKSPACE_EXCLUDE = '**/{node_modules,.git,dist,out,build,target,.venv,venv,coverage}/**';
/** Files larger than this are skipped by the workspace analysis. */

export function register(deps: AnalyzeDeps): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(COMMANDS.analyzeSelection, () => analyzeText(deps, false)),
    vscode.commands.registerCommand(COMMANDS.analyzeFile, () => analyzeText(deps, true)),
    vscode.commands.registerCommand(COMMANDS.analyzeWorkspace, () => analyzeWorkspace(deps)),
  ];
}

/** fullProbs and log-probs for a text's heat map and token details; neither for statistics. */
function analyzeOne(
  client: AnalyzeDeps['client'],
  text: string,
  maxTokens: number,
  detailed: boolean,
  languageId: string,
  signal?: AbortSignal,
): Promise<AnalyzedText> {
  return client.call(
    'analyze',
    { text, maxTokens, fullProbs: detailed, logprobs: detailed, languageId, slot: 'analysis' },
    signal ? { signal } : {},
  );
}

/** Selection (or the whole file when nothing is selected): heat map plus statistics. */
async function analyzeText(deps: AnalyzeDeps, wholeFile: boolean): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('MoE Lens: open a file to analyse.');
    return;
  }
  const doc = editor.document;
  if (refuseSecret(deps.settings, doc, 'analysed')) return;
  const range = wholeFile || editor.selection.isEmpty ? undefined : editor.selection;
  const text = doc.getText(range);
  if (text.trim() === '') {
    void vscode.window.showInformationMessage('MoE Lens: nothing to analyse (empty text).');
    return;
  }
  const file = vscode.workspace.asRelativePath(doc.uri, false);
  const title = range ? `${file} (lines ${range.start.line + 1}–${range.end.line + 1})` : file;
  await withCancellableProgress(
    deps.log,
    `MoE Lens: analysing routing of ${title}`,
    'analysis',
    (signal) => analyzeTextTask(deps, { title, text, languageId: doc.languageId }, signal),
  );
}

async function analyzeTextTask(
  deps: AnalyzeDeps,
  what: { title: string; text: string; languageId: string },
  signal: AbortSignal,
): Promise<void> {
  const { title, text, languageId } = what;
  const info = await deps.engine.ensureLoaded({ explicit: true });
  const t0 = performance.now();
  const a = await analyzeOne(deps.client, text, DEFAULT_ANALYZE_TOKENS, true, languageId, signal);
  const classes = a.classes ?? [];
  const acc = new RoutingStatsAccumulator({
    model: modelName(deps.engine),
    experts: info.experts,
    topK: info.topK,
    moeLayers: info.moeLayers,
  });
  acc.addFile(
    languageId,
    a.tokens.map((t, i) => ({ ...t, cls: classes[i] ?? 'other' })),
  );
  deps.routing.analysis({
    kind: 'text',
    title,
    languageId,
    tokens: a.tokens.map((t, i) => toPanelToken(t, classes[i])),
    truncated: a.truncated,
    stats: acc.result(a.scoreMs > 0 ? a.scoreMs / 1000 : (performance.now() - t0) / 1000),
  });
  if (a.truncated) {
    void vscode.window.showInformationMessage(
      `MoE Lens: analysed the first ${a.tokens.length} of ${a.totalTokens} tokens.`,
    );
  }
}

async function analyzeWorkspace(deps: AnalyzeDeps): Promise<void> {
  if (!vscode.workspace.workspaceFolders?.length) {
    void vscode.window.showInformationMessage('MoE Lens: open a folder to analyse.');
    return;
  }
  await withCancellableProgress(
    deps.log,
    'MoE Lens: analysing workspace routing',
    'workspace analysis',
    (signal, progress) => analyzeWorkspaceTask(deps, signal, progress),
    () => void vscode.window.setStatusBarMessage('MoE Lens: workspace analysis cancelled', 3000),
  );
}

async function analyzeWorkspaceTask(
  deps: AnalyzeDeps,
  signal: AbortSignal,
  progress: ProgressReporter,
): Promise<void> {
  const info = await deps.engine.ensureLoaded({ explicit: true });
  const uris = await vscode.workspace.findFiles(
    WORKSPACE_GLOB,
    WORKSPACE_EXCLUDE,
    deps.settings.current.analysisMaxFiles,
  );
  if (signal.aborted) throw new CancelledError();
  uris.sort((a, b) => (a.fsPath < b.fsPath ? -1 : 1));
  const result = await analyzeFiles(
    uris.map(sourceFile),
    { name: modelName(deps.engine), ...info },
    (text, o) => analyzeOne(deps.client, text, o.maxTokens, false, o.languageId, o.signal),
    {
      maxTokens: DEFAULT_ANALYZE_TOKENS,
      // Secret files are skipped before they are read (the completion pipeline's list).
      secretPatterns: deps.settings.current.secretPatterns,
      signal,
      onProgress: progressReporter(progress),
      // Let the extension host breathe (and completions interleave) between files.
      betweenFiles: () => new Promise((r) => setImmediate(r)),
    },
  );
  deps.routing.analysis({
    kind: 'workspace',
    title: `${vscode.workspace.name ?? 'workspace'}: ${result.stats.files} files`,
    stats: result.stats,
    skipped: result.skipped,
  });
}

/** A workspace file for analyzeFiles: unsaved edits count, otherwise the file on disk. */
function sourceFile(uri: vscode.Uri): SourceFile {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  return {
    path: vscode.workspace.asRelativePath(uri, false),
    fullPath: fullPath(uri),
    language: open?.languageId ?? languageOfPath(uri.path) ?? 'plaintext',
    read: () => (open ? Promise.resolve(open.getText()) : readSmallFile(uri)),
  };
}

/** A file's text, never opened as a document; refused when larger than MAX_FILE_BYTES. */
async function readSmallFile(uri: vscode.Uri): Promise<string> {
  const stat = await vscode.workspace.fs.stat(uri);
  if (stat.size > MAX_FILE_BYTES) throw new Error(`larger than 1 MB (${stat.size} bytes)`);
  return new TextDecoder('utf-8').decode(await vscode.workspace.fs.readFile(uri));
}

/** analyzeFiles' progress as increments of the notification's bar. */
function progressReporter(
  progress: ProgressReporter,
): (done: number, total: number, file: string) => void {
  let last = 0;
  return (done, total, file) => {
    const pct = total > 0 ? (done / total) * 100 : 100;
    progress.report({
      increment: pct - last,
      message: file ? `${done + 1}/${total} ${file}` : 'done',
    });
    last = pct;
  };
}
