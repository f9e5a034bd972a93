// "Analyze Routing" commands (selection / file, workspace) and "Explain Selection". The engine
// work runs in the engine process on its own KV slot ('analysis'), one file per call, so a
// completion request waits for at most one file; statistics are shared with `cli analyze`.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { dedupeLines, proseGate } from '../completion/gate';
import { analyzeFiles, secretPatternOf, type SourceFile } from '../analysis/analyzeFiles';
import { RoutingStatsAccumulator } from '../analysis/routingStats';
import { languageOfPath } from '../language/languages';
import { DEFAULT_ANALYZE_TOKENS, type AnalyzedText } from '../analysis/analyzeText';
import { CancelledError } from '../format/errors';
import type { GeneratedToken, GenerationResult } from '../engine/generate';
import type { EngineClient } from '../host/engineClient';
import { COMMANDS } from './core/commandIds';
import type { EngineManager } from './core/engineManager';
import { errorMessage } from './core/errorNotifier';
import { toPanelToken } from './core/panelState';
import type { RoutingPanel } from './routingPanel';
import type { Settings } from './settings';

export interface AnalyzeDeps {
  client: Pick<EngineClient, 'call'>;
  engine: EngineManager;
  panel: RoutingPanel;
  settings: Settings;
  log: vscode.LogOutputChannel;
}

/** Source files the workspace analysis looks at (the languages the token scanner knows). */
const WORKSPACE_GLOB =
  '**/*.{ts,tsx,js,jsx,mjs,cjs,py,go,rs,java,c,h,cc,cpp,hpp,cs,rb,php,sh,kt,swift,lua,sql}';
const WORKSPACE_EXCLUDE = '**/{node_modules,.git,dist,out,build,target,.venv,venv,coverage}/**';

/** The path the secret patterns test (as the inline provider does). */
function fullPath(uri: vscode.Uri): string {
  return uri.scheme === 'file' ? uri.fsPath : uri.path;
}

/**
 * True (after telling the user) when `doc` matches moeLens.secretPatterns: its text never goes
 * to the engine, as with completions (docs/SECURITY.md).
 */
function refuseSecret(deps: AnalyzeDeps, doc: vscode.TextDocument, what: string): boolean {
  const path = vscode.workspace.asRelativePath(doc.uri, false);
  const secret = secretPatternOf(
    { path, fullPath: fullPath(doc.uri) },
    deps.settings.current.secretPatterns,
  );
  if (secret === null) return false;
  void vscode.window.showInformationMessage(
    `MoE Lens: ${path} matches moeLens.secretPatterns (${secret}); not ${what}.`,
  );
  return true;
}

function modelName(engine: EngineManager): string {
  const s = engine.state;
  return s.kind === 'ready' ? basename(s.modelDir) : 'model';
}

/** fullProbs and log-probs for a text's heat map and token details; neither for statistics. */
async function analyzeOne(
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

export function registerAnalyzeCommands(deps: AnalyzeDeps): vscode.Disposable[] {
  const { client, engine, panel, log } = deps;

  /** Selection (or the whole file when nothing is selected): heat map plus statistics. */
  const analyzeText = async (wholeFile: boolean) => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('MoE Lens: open a file to analyse.');
      return;
    }
    const doc = editor.document;
    if (refuseSecret(deps, doc, 'analysed')) return;
    const range = wholeFile || editor.selection.isEmpty ? undefined : editor.selection;
    const text = doc.getText(range);
    if (text.trim() === '') {
      void vscode.window.showInformationMessage('MoE Lens: nothing to analyse (empty text).');
      return;
    }
    const file = vscode.workspace.asRelativePath(doc.uri, false);
    const title = range ? `${file} (lines ${range.start.line + 1}–${range.end.line + 1})` : file;
    await withCancellableProgress(
      log,
      `MoE Lens: analysing routing of ${title}`,
      'analysis',
      async (signal, _progress) => {
        const info = await engine.ensureLoaded({ explicit: true });
        const t0 = performance.now();
        const a = await analyzeOne(
          client,
          text,
          DEFAULT_ANALYZE_TOKENS,
          true,
          doc.languageId,
          signal,
        );
        const classes = a.classes ?? [];
        const acc = new RoutingStatsAccumulator({
          model: modelName(engine),
          experts: info.experts,
          topK: info.topK,
          moeLayers: info.moeLayers,
        });
        acc.addFile(
          doc.languageId,
          a.tokens.map((t, i) => ({ ...t, cls: classes[i] ?? 'other' })),
        );
        panel.showAnalysis({
          kind: 'text',
          title,
          languageId: doc.languageId,
          tokens: a.tokens.map((t, i) => toPanelToken(t, classes[i])),
          truncated: a.truncated,
          stats: acc.result(a.scoreMs > 0 ? a.scoreMs / 1000 : (performance.now() - t0) / 1000),
        });
        if (a.truncated) {
          void vscode.window.showInformationMessage(
            `MoE Lens: analysed the first ${a.tokens.length} of ${a.totalTokens} tokens.`,
          );
        }
      },
    );
  };

  const analyzeWorkspace = async () => {
    if (!vscode.workspace.workspaceFolders?.length) {
      void vscode.window.showInformationMessage('MoE Lens: open a folder to analyse.');
      return;
    }
    const maxFiles = deps.settings.current.analysisMaxFiles;
    await withCancellableProgress(
      log,
      'MoE Lens: analysing workspace routing',
      'workspace analysis',
      async (signal, progress) => {
        const info = await engine.ensureLoaded({ explicit: true });
        const uris = await vscode.workspace.findFiles(WORKSPACE_GLOB, WORKSPACE_EXCLUDE, maxFiles);
        if (signal.aborted) throw new CancelledError();
        uris.sort((a, b) => (a.fsPath < b.fsPath ? -1 : 1));
        const files: SourceFile[] = [];
        for (const uri of uris) {
          const open = vscode.workspace.textDocuments.find(
            (d) => d.uri.toString() === uri.toString(),
          );
          files.push({
            path: vscode.workspace.asRelativePath(uri, false),
            fullPath: fullPath(uri),
            language: open?.languageId ?? languageOfPath(uri.path) ?? 'plaintext',
            read: async () => {
              // Unsaved edits count; otherwise the file on disk (never opened as a document).
              if (open) return open.getText();
              const stat = await vscode.workspace.fs.stat(uri);
              if (stat.size > 1_000_000) throw new Error(`larger than 1 MB (${stat.size} bytes)`);
              return new TextDecoder('utf-8').decode(await vscode.workspace.fs.readFile(uri));
            },
          });
        }
        let last = 0;
        const result = await analyzeFiles(
          files,
          { name: modelName(engine), ...info },
          (text, o) => analyzeOne(client, text, o.maxTokens, false, o.languageId, o.signal),
          {
            maxTokens: DEFAULT_ANALYZE_TOKENS,
            // Secret files are skipped before they are read (the completion pipeline's list).
            secretPatterns: deps.settings.current.secretPatterns,
            signal,
            onProgress: (done, total, file) => {
              const pct = total > 0 ? (done / total) * 100 : 100;
              progress.report({
                increment: pct - last,
                message: file ? `${done + 1}/${total} ${file}` : 'done',
              });
              last = pct;
            },
            // Let the extension host breathe (and completions interleave) between files.
            betweenFiles: () => new Promise((r) => setImmediate(r)),
          },
        );
        panel.showAnalysis({
          kind: 'workspace',
          title: `${vscode.workspace.name ?? 'workspace'}: ${result.stats.files} files`,
          stats: result.stats,
          skipped: result.skipped,
        });
      },
      () => void vscode.window.setStatusBarMessage('MoE Lens: workspace analysis cancelled', 3000),
    );
  };

  return [
    vscode.commands.registerCommand(COMMANDS.showRoutingPanel, () => panel.show('live')),
    vscode.commands.registerCommand(COMMANDS.analyzeSelection, () => analyzeText(false)),
    vscode.commands.registerCommand(COMMANDS.analyzeFile, () => analyzeText(true)),
    vscode.commands.registerCommand(COMMANDS.analyzeWorkspace, analyzeWorkspace),
    vscode.commands.registerCommand(COMMANDS.explainSelection, () => explainSelection(deps)),
  ];
}

/**
 * A cancellable progress notification around `task`: Cancel aborts `signal`; a cancelled task
 * ends quietly (then `onCancel`), any other error is logged and shown once.
 */
async function withCancellableProgress(
  log: Pick<vscode.LogOutputChannel, 'error'>,
  title: string,
  what: string,
  task: (
    signal: AbortSignal,
    progress: vscode.Progress<{ message?: string; increment?: number }>,
  ) => Promise<void>,
  onCancel?: () => void,
): Promise<void> {
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const sub = token.onCancellationRequested(() => controller.abort());
      try {
        await task(controller.signal, progress);
      } catch (e) {
        if (e instanceof CancelledError || controller.signal.aborted) {
          onCancel?.();
          return;
        }
        log.error(`${what}: ${errorMessage(e)}`);
        void vscode.window.showErrorMessage(`MoE Lens: ${what} failed: ${errorMessage(e)}`);
      } finally {
        sub.dispose();
      }
    },
  );
}

/** The doc-comment shape of a language: opener line, line prefix, closer. */
export function docCommentStyle(languageId: string): { open: string; line: string; close: string } {
  if (languageId === 'python') return { open: '"""', line: '', close: '"""' };
  if (['ruby', 'shellscript', 'perl', 'r', 'yaml'].includes(languageId)) {
    return { open: '#', line: '# ', close: '' };
  }
  if (['rust'].includes(languageId)) return { open: '///', line: '/// ', close: '' };
  return { open: '/**', line: ' * ', close: ' */' };
}

/**
 * Explain Selection for base code models: ask the model, through fill-in-the-middle, for the doc
 * comment that belongs above the selection; stream its routing into the panel; offer to insert.
 */
async function explainSelection(deps: AnalyzeDeps): Promise<void> {
  const { client, engine, panel, log } = deps;
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('MoE Lens: select the code to explain.');
    return;
  }
  if (refuseSecret(deps, editor.document, 'explained')) return;
  const info = await engine.ensureLoaded({ explicit: true }).catch((e: unknown) => {
    void vscode.window.showErrorMessage(`MoE Lens: ${errorMessage(e)}`);
    return null;
  });
  if (!info) return;
  if (info.chat) return explainWithChat(deps, editor);
  const doc = editor.document;
  const sel = editor.selection;
  const startLine = doc.lineAt(sel.start.line);
  const indent = startLine.text.slice(0, startLine.firstNonWhitespaceCharacterIndex);
  const style = docCommentStyle(doc.languageId);
  const python = doc.languageId === 'python';
  // Python docstrings go inside the body (after the def line); everything else above the code.
  const anchor = python
    ? doc.lineAt(sel.start.line).rangeIncludingLineBreak.end
    : startLine.range.start;
  const bodyIndent = python ? indent + '    ' : indent;
  const opener = `${bodyIndent}${style.open}\n${bodyIndent}${style.line}`;
  const full = doc.getText();
  const at = doc.offsetAt(anchor);
  const selEnd = doc.offsetAt(sel.end);
  // The engine fits the prompt to the model's context by tokens (engine/promptFit.ts): the
  // selection, after the comment, gets most of it and keeps its start (the signature).
  const prefix = full.slice(Math.max(0, at - 4000), at) + opener;
  const closer = style.close ? `\n${bodyIndent}${style.close}\n` : '\n';
  const suffix = closer + full.slice(at, Math.max(selEnd, Math.min(full.length, at + 4000)));
  let comment: { text: string; lines: string[] } | null = null;
  let verdict = '';
  await withCancellableProgress(
    log,
    'MoE Lens: writing a doc comment',
    'explain',
    async (signal) => {
      panel.show('live');
      const requestId = -Date.now(); // explanations are not pipeline requests
      const tokens: GeneratedToken[] = [];
      const result: GenerationResult = await client.call(
        'complete',
        {
          input: {
            kind: 'fim',
            prefix,
            suffix,
            path: vscode.workspace.asRelativePath(doc.uri),
            shares: { suffix: 0.6 },
          },
          options: {
            maxTokens: 96,
            temperature: 0,
            topP: 1,
            stop: ['*/', '"""', '\n\n'],
            fullProbs: true,
          },
          slot: 'explain',
        },
        {
          signal,
          onToken: (t: GeneratedToken) => {
            tokens.push(t);
            panel.onPipelineEvent({ type: 'token', requestId, speculative: false, token: t });
          },
        },
      );
      const raw = result.text ?? '';
      panel.onShown({
        requestId,
        text: raw,
        tokens,
        latencyMs: result.stats.prefillMs,
        uri: vscode.workspace.asRelativePath(doc.uri),
        languageId: doc.languageId,
      });
      const lines = dedupeLines(
        raw
          .trim()
          .split('\n')
          .map((l) => l.replace(/^\s*(\*|#|\/\/\/)?\s?/, '').trimEnd()),
      );
      const prose = proseGate(lines.join(' '));
      if (!prose.ok) {
        verdict = prose.reason;
        return;
      }
      const text =
        `${bodyIndent}${style.open}\n` +
        lines.map((l) => `${bodyIndent}${style.line}${l}`.trimEnd()).join('\n') +
        (style.close ? `\n${bodyIndent}${style.close}` : '') +
        '\n';
      comment = { text, lines };
    },
  );
  // The progress notification has closed; the result is its own message.
  const done = comment as { text: string; lines: string[] } | null;
  if (!done) {
    if (verdict) {
      log.info(`explain: no doc comment shown: ${verdict}`);
      void vscode.window.showInformationMessage(
        `MoE Lens: the model wrote no usable explanation for this selection (${verdict}).`,
      );
    }
    return;
  }
  const choice = await vscode.window.showInformationMessage(
    `MoE Lens: ${done.lines.join(' ').slice(0, 200)}`,
    'Insert Doc Comment',
  );
  if (choice !== 'Insert Doc Comment') return;
  await editor.edit((b) => b.insert(anchor, done.text));
}

/**
 * Explain Selection for instruct models (a chat template): the explanation streams into a
 * Markdown document beside the code, and its routing into the panel.
 */
async function explainWithChat(deps: AnalyzeDeps, editor: vscode.TextEditor): Promise<void> {
  const { client, panel, log } = deps;
  const doc = editor.document;
  const code = doc.getText(editor.selection);
  const lang = doc.languageId;
  const out = await vscode.workspace.openTextDocument({ language: 'markdown', content: '' });
  const view = await vscode.window.showTextDocument(out, {
    viewColumn: vscode.ViewColumn.Beside,
    preserveFocus: true,
  });
  await view.edit((b) => b.insert(new vscode.Position(0, 0), `# Explanation\n\n`));
  await withCancellableProgress(
    log,
    'MoE Lens: explaining the selection',
    'explain',
    async (signal) => {
      const requestId = -Date.now();
      const tokens: GeneratedToken[] = [];
      // Appends are batched: one edit per ~100 ms keeps the editor smooth while tokens stream.
      let pending = '';
      let flushing: Promise<unknown> = Promise.resolve();
      const flush = () => {
        const text = pending;
        pending = '';
        if (text === '') return flushing;
        flushing = flushing.then(() =>
          view.edit((b) => b.insert(out.lineAt(out.lineCount - 1).range.end, text)),
        );
        return flushing;
      };
      const timer = setInterval(() => void flush(), 100);
      try {
        panel.show('live');
        const result: GenerationResult = await client.call(
          'complete',
          {
            input: {
              kind: 'chat',
              messages: [
                { role: 'system', content: 'You are a concise, precise programming assistant.' },
                {
                  role: 'user',
                  content: `Explain what this ${lang} code does.\n\n\`\`\`${lang}\n${code}\n\`\`\``,
                },
              ],
            },
            options: { maxTokens: 512, temperature: 0, topP: 1, stop: [], fullProbs: true },
            slot: 'explain',
          },
          {
            signal,
            onToken: (t: GeneratedToken) => {
              tokens.push(t);
              pending += t.text ?? '';
              panel.onPipelineEvent({ type: 'token', requestId, speculative: false, token: t });
            },
          },
        );
        panel.onShown({
          requestId,
          text: result.text ?? '',
          tokens,
          latencyMs: result.stats.prefillMs,
          uri: vscode.workspace.asRelativePath(doc.uri),
          languageId: lang,
        });
      } finally {
        clearInterval(timer);
        await flush();
      }
    },
    () => {
      void view.edit((b) =>
        b.insert(out.lineAt(out.lineCount - 1).range.end, '\n\n_(cancelled)_\n'),
      );
    },
  );
}
