// What the command features share: the secret-file refusal (a secret document never goes to the
// engine, as with completions), a cancellable progress notification around engine work, and the
// loaded model's display name.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { secretPatternOf } from '../../analysis/analyzeFiles';
import { CancelledError } from '../../format/errors';
import type { EngineManager } from '../core/engineManager';
import { errorMessage } from '../core/errorNotifier';
import type { Settings } from '../settings';

/** The path the secret patterns test (as the inline provider does). */
export function fullPath(uri: vscode.Uri): string {
  return uri.scheme === 'file' ? uri.fsPath : uri.path;
}

/**
 * True (after telling the user) when `doc` matches moeLens.secretPatterns: its text never goes
 * to the engine, as with completions (docs/SECURITY.md).
 */
export function refuseSecret(
  settings: Pick<Settings, 'current'>,
  doc: vscode.TextDocument,
  what: string,
): boolean {
  const path = vscode.workspace.asRelativePath(doc.uri, false);
  const secret = secretPatternOf(
    { path, fullPath: fullPath(doc.uri) },
    settings.current.secretPatterns,
  );
  if (secret === null) return false;
  void vscode.window.showInformationMessage(
    `MoE Lens: ${path} matches moeLens.secretPatterns (${secret}); not ${what}.`,
  );
  return true;
}

/** The loaded model's folder name ('model' while none is loaded). */
export function modelName(engine: Pick<EngineManager, 'state'>): string {
  const s = engine.state;
  return s.kind === 'ready' ? basename(s.modelDir) : 'model';
}

export type ProgressReporter = vscode.Progress<{ message?: string; increment?: number }>;

/**
 * A cancellable progress notification around `task`: Cancel aborts `signal`; a cancelled task
 * ends quietly (then `onCancel`), any other error is logged and shown once.
 */
export async function withCancellableProgress(
  log: Pick<vscode.LogOutputChannel, 'error'>,
  title: string,
  what: string,
  task: (signal: AbortSignal, progress: ProgressReporter) => Promise<void>,
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
