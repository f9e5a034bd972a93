// Explain Selection for instruct models (a chat template), without the editor: the messages and
// the engine request, and what the explanation document says around the model's text. The
// command (src/vscode/commands/explain.ts) streams the text into a Markdown document beside the
// code.
import type { EngineApi } from '../host/protocol';

/** Longest explanation asked for, in tokens. */
export const CHAT_EXPLAIN_MAX_TOKENS = 512;
/** The explanation document's first lines, before the model's text. */
export const EXPLANATION_HEADER = '# Explanation\n\n';
/** Appended when the user cancels the explanation. */
export const EXPLANATION_CANCELLED = '\n\n_(cancelled)_\n';

/** The engine request explaining `code` (its own KV slot, greedy). */
export function chatExplainRequest(
  code: string,
  languageId: string,
): EngineApi['complete']['params'] {
  return {
    input: {
      kind: 'chat',
      messages: [
        { role: 'system', content: 'You are a concise, precise programming assistant.' },
        {
          role: 'user',
          content: `Explain what this ${languageId} code does.\n\n\`\`\`${languageId}\n${code}\n\`\`\``,
        },
      ],
    },
    options: {
      maxTokens: CHAT_EXPLAIN_MAX_TOKENS,
      temperature: 0,
      topP: 1,
      stop: [],
      fullProbs: true,
    },
    slot: 'explain',
  };
}
