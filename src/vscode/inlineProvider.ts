// The InlineCompletionItemProvider adapter: decides whether to complete here (enable, language,
// scheme, secret files), bridges the CancellationToken to an AbortSignal, builds the pipeline's
// request from the document, and turns a suggestion into an item inserted at the cursor. The
// item's command reports acceptance to the pipeline (speculative precompute of the next one).
// All completion logic lives in src/completion; this file only translates.
import * as vscode from 'vscode';
import { INTERNAL_COMMANDS } from './core/commandIds';
import type { EngineManager } from './core/engineManager';
import {
  EXTRA_CONTEXT_LIMITS,
  pickExtraFiles,
  secretMatcher,
  type OpenFile,
} from './core/extraContext';
import { Disposable } from './core/lifecycle';
import type { CompletionPipelineLike, CompletionRequest, Suggestion } from './core/pipelineApi';
import type { Settings } from './settings';
import { isLanguageEnabled } from './core/settingsSchema';

/** Internal command run by VS Code when the user accepts a suggestion (not in the palette). */
export const ACCEPTED_COMMAND = INTERNAL_COMMANDS.acceptedSuggestion;

/** URI schemes of real documents; output panes, git views and the like get no completions. */
export const SUPPORTED_SCHEMES = [
  'file',
  'untitled',
  'vscode-remote',
  'vscode-vfs',
  'vscode-notebook-cell',
];

/** How long after "Trigger Completion Now" a request counts as explicit. */
const EXPLICIT_WINDOW_MS = 2000;

/** Suggestions remembered for the accept command. */
const RECENT_MAX = 32;

/** The path the pipeline matches against the secret patterns. */
function documentPath(uri: vscode.Uri): string {
  return uri.scheme === 'file' ? uri.fsPath : uri.path;
}

/** A suggestion handed to the editor, with its tokens and routing (for the routing panel). */
export interface ShownSuggestion extends Suggestion {
  uri: string;
  languageId: string;
}

/** The engine manager as the provider uses it (tests pass fakes). */
export type ProviderEngine = Pick<EngineManager, 'ensureLoaded' | 'touch' | 'reportError'>;

export class InlineProvider extends Disposable implements vscode.InlineCompletionItemProvider {
  private readonly _onDidShowSuggestion = this._register(
    new vscode.EventEmitter<ShownSuggestion>(),
  );
  readonly onDidShowSuggestion = this._onDidShowSuggestion.event;
  private explicitUntil = 0;
  /** Recent suggestions by request id, for the accept command (arguments stay in-process). */
  private readonly recent = new Map<string, { req: CompletionRequest; text: string }>();
  private secretPatterns: readonly string[] | null = null;
  private isSecret: (path: string) => boolean = () => false;

  constructor(
    private readonly pipeline: CompletionPipelineLike,
    private readonly engine: ProviderEngine,
    private readonly settings: Pick<Settings, 'current'>,
    private readonly log: Pick<vscode.LogOutputChannel, 'debug'>,
  ) {
    super();
    this._register(
      vscode.commands.registerCommand(ACCEPTED_COMMAND, (id: string) => this.accepted(id)),
    );
  }

  /** The next request (within a short window) is explicit: Trigger Completion Now. */
  markExplicit(): void {
    this.explicitUntil = Date.now() + EXPLICIT_WINDOW_MS;
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const s = this.settings.current;
    const explicit =
      context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ||
      Date.now() < this.explicitUntil;
    if (!isLanguageEnabled(s, document.languageId, explicit)) return undefined;
    if (!SUPPORTED_SCHEMES.includes(document.uri.scheme)) return undefined;
    // The suggest widget is open: an inline item would have to extend its selection; stay out.
    if (context.selectedCompletionInfo) return undefined;
    const path = documentPath(document.uri);
    const isSecret = this.secret(s.secretPatterns);
    if (isSecret(path)) return undefined;
    if (token.isCancellationRequested) return undefined;

    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    try {
      await this.engine.ensureLoaded({ explicit });
      if (token.isCancellationRequested) return undefined;
      this.engine.touch();
      const req: CompletionRequest = {
        uri: document.uri.toString(),
        path,
        displayPath: vscode.workspace.asRelativePath(document.uri, false),
        languageId: document.languageId,
        text: document.getText(),
        offset: document.offsetAt(position),
        signal: controller.signal,
        explicit,
      };
      if (s.extraContext) req.extraFiles = this.extraFiles(document, isSecret);
      const suggestion = await this.pipeline.complete(req);
      if (!suggestion || suggestion.text === '' || token.isCancellationRequested) return undefined;
      if (explicit) this.explicitUntil = 0;
      this.remember(suggestion, req);
      this._onDidShowSuggestion.fire({ ...suggestion, uri: req.uri, languageId: req.languageId });
      return [
        new vscode.InlineCompletionItem(suggestion.text, new vscode.Range(position, position), {
          command: ACCEPTED_COMMAND,
          title: 'Suggestion accepted',
          arguments: [String(suggestion.requestId)],
        }),
      ];
    } catch (e) {
      this.engine.reportError(e);
      return undefined;
    } finally {
      sub.dispose();
    }
  }

  private secret(patterns: readonly string[]): (path: string) => boolean {
    if (patterns !== this.secretPatterns) {
      this.secretPatterns = patterns;
      this.isSecret = secretMatcher(patterns);
    }
    return this.isSecret;
  }

  /** Other visible text editors, capped and anchored (see extraContext.ts). */
  private extraFiles(
    document: vscode.TextDocument,
    isSecret: (path: string) => boolean,
  ): { path: string; text: string }[] {
    const files: OpenFile[] = [];
    for (const editor of vscode.window.visibleTextEditors) {
      const doc = editor.document;
      if (doc.uri.toString() === document.uri.toString()) continue;
      if (!SUPPORTED_SCHEMES.includes(doc.uri.scheme) || isSecret(documentPath(doc.uri))) continue;
      files.push({
        // The prompt shows workspace-relative paths, never the user's home folder.
        path: vscode.workspace.asRelativePath(doc.uri, false),
        text: doc.getText(),
        visibleStartLine: editor.visibleRanges[0]?.start.line ?? 0,
      });
    }
    const current = vscode.workspace.asRelativePath(document.uri, false);
    return pickExtraFiles(files, current, isSecret, EXTRA_CONTEXT_LIMITS);
  }

  private remember(suggestion: Suggestion, req: CompletionRequest): void {
    const { signal: _signal, ...plain } = req;
    const id = String(suggestion.requestId);
    this.recent.delete(id);
    this.recent.set(id, { req: plain, text: suggestion.text });
    for (const oldest of this.recent.keys()) {
      if (this.recent.size <= RECENT_MAX) break;
      this.recent.delete(oldest);
    }
  }

  private accepted(id: string): void {
    const entry = this.recent.get(id);
    if (!entry) return;
    this.recent.delete(id);
    this.log.debug(`accepted suggestion #${id}`);
    try {
      this.pipeline.accepted(entry.req, entry.text);
    } catch (e) {
      this.engine.reportError(e);
    }
  }
}
