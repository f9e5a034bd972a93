// Stage: the engine request for a completion: the FIM prompt input (prefix, suffix, file header,
// other files) and the generation options of the mode. The engine fits the prompt to the model's
// context by tokens (engine/promptFit.ts); the character caps here only bound what is sent.
import type { PromptInput } from '../engine/engine';
import type { CompleteOptions } from '../host/protocol';
import type { CompletionContext } from './context';
import type { CompletionMode } from './mode';
import { secretPattern } from '../language/secrets';
import type { CompletionRequest, CompletionSettings } from './types';

/** Single-line completions are short (Copilot: p50 line length is 19 characters). */
export const SINGLE_LINE_MAX_TOKENS = 32;
export const MAX_EXTRA_FILES = 3;
export const MAX_EXTRA_CHARS = 3000;

export function promptInput(
  req: CompletionRequest,
  ctx: CompletionContext,
  s: CompletionSettings,
): PromptInput {
  const input: PromptInput = { kind: 'fim', prefix: ctx.prefix, suffix: ctx.suffix };
  if (req.displayPath) input.path = req.displayPath;
  if (s.extraContext && req.extraFiles && req.extraFiles.length > 0) {
    const extra = extraFiles(req, s);
    if (extra.length > 0) input.extra = extra;
  }
  return input;
}

export function completeOptions(
  ctx: CompletionContext,
  mode: CompletionMode,
  s: CompletionSettings,
  routerProbs: boolean,
): CompleteOptions {
  const multi = mode.kind === 'multi-line';
  const options: CompleteOptions = {
    maxTokens: multi ? s.maxTokens : Math.min(s.maxTokens, SINGLE_LINE_MAX_TOKENS),
    temperature: s.temperature,
    topP: s.temperature > 0 ? 0.95 : 1,
    stop: multi ? ['\n\n\n'] : ['\n'],
  };
  // The budget is for decoding: a prefill after a cold start or on a loaded machine must not
  // leave a request with nothing (generate.ts starts the clock at the first token).
  if (s.maxTimeMs > 0) options.maxTimeMs = s.maxTimeMs;
  // A fresh, empty line in a block (the user pressed Enter to write code there): the model may
  // not end the middle before writing anything.
  if (multi && /\n[ \t]*$/.test(ctx.prefix)) options.minTokens = 1;
  if (routerProbs) options.fullProbs = true;
  return options;
}

/** Other files for the prompt: not the current one, not secret, capped at whole lines. */
export function extraFiles(
  req: CompletionRequest,
  s: CompletionSettings,
): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const f of req.extraFiles ?? []) {
    if (out.length >= MAX_EXTRA_FILES) break;
    if (f.path === req.path || secretPattern(f.path, s.secretPatterns) !== null) continue;
    let text = f.text;
    if (text.length > MAX_EXTRA_CHARS) {
      const cut = text.lastIndexOf('\n', MAX_EXTRA_CHARS);
      text = text.slice(0, cut > 0 ? cut + 1 : MAX_EXTRA_CHARS);
    }
    if (text.includes('\0')) continue;
    out.push({ path: f.path, text });
  }
  return out;
}
