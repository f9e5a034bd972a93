// "Explain Selection": the editor's side only. What to ask and what to make of the answer is
// vscode-free in src/explain (docComment.ts for base code models, chat.ts for instruct models,
// generate.ts for the engine call); this file reads the selection, streams the generation's
// routing into the routing panel (a RoutingSink) and shows the result: a doc comment to insert,
// or an explanation written into a Markdown document beside the code.
import * as vscode from 'vscode';
import type { CompletionEngine } from '../../completion/types';
import { chatExplainRequest, EXPLANATION_CANCELLED, EXPLANATION_HEADER } from '../../explain/chat';
import {
  docCommentPrompt,
  docCommentRequest,
  docCommentSummary,
  shapeDocComment,
  type DocComment,
  type DocCommentPrompt,
} from '../../explain/docComment';
import { BatchedAppender, explainGenerate, type ExplainGeneration } from '../../explain/generate';
import type { EngineClient } from '../../host/engineClient';
import { COMMANDS } from '../core/commandIds';
import type { EngineManager } from '../core/engineManager';
import { errorMessage } from '../core/errorNotifier';
import type { RoutingSink } from '../core/routingSink';
import type { Settings } from '../settings';
import { refuseSecret, withCancellableProgress } from './ui';

export interface ExplainDeps {
  client: Pick<EngineClient, 'call'>;
  engine: Pick<EngineManager, 'ensureLoaded'>;
  routing: Pick<RoutingSink, 'start' | 'shown'>;
  settings: Pick<Settings, 'current'>;
  log: Pick<vscode.LogOutputChannel, 'error' | 'info'>;
}

/** How often streamed explanation text is appended to its document (one edit per interval). */
const APPEND_INTERVAL_MS = 100;

export function register(deps: ExplainDeps): vscode.Disposable[] {
  return [vscode.commands.registerCommand(COMMANDS.explainSelection, () => explainSelection(deps))];
}

/** Base code models get a doc comment (fill-in-the-middle); instruct models an explanation. */
async function explainSelection(deps: ExplainDeps): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('MoE Lens: select the code to explain.');
    return;
  }
  if (refuseSecret(deps.settings, editor.document, 'explained')) return;
  const info = await deps.engine.ensureLoaded({ explicit: true }).catch((e: unknown) => {
    void vscode.window.showErrorMessage(`MoE Lens: ${errorMessage(e)}`);
    return null;
  });
  if (!info) return;
  if (info.chat) await explainWithChat(deps, editor);
  else await explainWithDocComment(deps, editor);
}

/** The engine client as the generation's engine. */
function engineOf(client: ExplainDeps['client']): Pick<CompletionEngine, 'complete'> {
  return { complete: (params, opts) => client.call('complete', params, opts) };
}

/**
 * One generation whose routing streams into the live view (the panel opens on it) and is then
 * shown whole; a cancelled or failed one gives the view back to the last shown completion.
 */
async function streamGeneration(
  deps: ExplainDeps,
  doc: vscode.TextDocument,
  params: Parameters<CompletionEngine['complete']>[0],
  signal: AbortSignal,
  onText?: (text: string) => void,
): Promise<ExplainGeneration> {
  const file = vscode.workspace.asRelativePath(doc.uri);
  const languageId = doc.languageId;
  const stream = deps.routing.start({ file, languageId, reveal: true });
  let g: ExplainGeneration;
  try {
    g = await explainGenerate(engineOf(deps.client), params, {
      signal,
      onToken: (t) => {
        stream.token(t);
        onText?.(t.text ?? '');
      },
    });
  } catch (e) {
    stream.end({ outcome: signal.aborted ? 'cancelled' : 'error', text: '' });
    throw e;
  }
  deps.routing.shown({ text: g.text, tokens: g.tokens, latencyMs: g.latencyMs, file, languageId });
  return g;
}

/**
 * Explain Selection for base code models: ask the model, through fill-in-the-middle, for the doc
 * comment that belongs above the selection; stream its routing into the panel; offer to insert.
 */
async function explainWithDocComment(deps: ExplainDeps, editor: vscode.TextEditor): Promise<void> {
  const doc = editor.document;
  const prompt = docCommentPrompt(
    doc.getText(),
    doc.languageId,
    doc.offsetAt(editor.selection.start),
    doc.offsetAt(editor.selection.end),
  );
  const anchor = doc.positionAt(prompt.anchor);
  let comment: DocComment | null = null;
  await withCancellableProgress(
    deps.log,
    'MoE Lens: writing a doc comment',
    'explain',
    async (signal) => {
      comment = await writeDocComment(deps, doc, prompt, signal);
    },
  );
  // The progress notification has closed; the result is its own message.
  await offerDocComment(deps, editor, anchor, comment);
}

async function writeDocComment(
  deps: ExplainDeps,
  doc: vscode.TextDocument,
  prompt: DocCommentPrompt,
  signal: AbortSignal,
): Promise<DocComment> {
  const path = vscode.workspace.asRelativePath(doc.uri);
  const g = await streamGeneration(deps, doc, docCommentRequest(prompt, path), signal);
  return shapeDocComment(g.text, prompt);
}

/** The comment as a notification with "Insert Doc Comment", or why there is none. */
async function offerDocComment(
  deps: ExplainDeps,
  editor: vscode.TextEditor,
  anchor: vscode.Position,
  comment: DocComment | null,
): Promise<void> {
  if (!comment) return; // cancelled, or failed (already reported)
  if (!comment.ok) {
    deps.log.info(`explain: no doc comment shown: ${comment.reason}`);
    void vscode.window.showInformationMessage(
      `MoE Lens: the model wrote no usable explanation for this selection (${comment.reason}).`,
    );
    return;
  }
  const choice = await vscode.window.showInformationMessage(
    docCommentSummary(comment.lines),
    'Insert Doc Comment',
  );
  if (choice !== 'Insert Doc Comment') return;
  const { text } = comment;
  await editor.edit((b) => b.insert(anchor, text));
}

/**
 * Explain Selection for instruct models (a chat template): the explanation streams into a
 * Markdown document beside the code, and its routing into the panel.
 */
async function explainWithChat(deps: ExplainDeps, editor: vscode.TextEditor): Promise<void> {
  const doc = editor.document;
  const code = doc.getText(editor.selection);
  const out = await vscode.workspace.openTextDocument({ language: 'markdown', content: '' });
  const view = await vscode.window.showTextDocument(out, {
    viewColumn: vscode.ViewColumn.Beside,
    preserveFocus: true,
  });
  await view.edit((b) => b.insert(new vscode.Position(0, 0), EXPLANATION_HEADER));
  const append = (text: string) => appendToEnd(view, text);
  await withCancellableProgress(
    deps.log,
    'MoE Lens: explaining the selection',
    'explain',
    (signal) => writeExplanation(deps, doc, code, append, signal),
    () => void append(EXPLANATION_CANCELLED),
  );
}

/** Inserts `text` at the end of the editor's document. */
function appendToEnd(view: vscode.TextEditor, text: string): Thenable<boolean> {
  const out = view.document;
  return view.edit((b) => b.insert(out.lineAt(out.lineCount - 1).range.end, text));
}

async function writeExplanation(
  deps: ExplainDeps,
  doc: vscode.TextDocument,
  code: string,
  append: (text: string) => Thenable<boolean>,
  signal: AbortSignal,
): Promise<void> {
  // Appends are batched: one edit per interval keeps the editor smooth while tokens stream.
  const appender = new BatchedAppender(append);
  appender.start(APPEND_INTERVAL_MS);
  try {
    const params = chatExplainRequest(code, doc.languageId);
    await streamGeneration(deps, doc, params, signal, (text) => appender.push(text));
  } finally {
    await appender.stop();
  }
}
