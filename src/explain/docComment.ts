// Explain Selection for base code models, without the editor: where the doc comment goes (above
// the selection; inside the body for a Python docstring), the fill-in-the-middle prompt that asks
// the model for it, the engine request, and the model's text shaped into a comment (markers
// stripped, repeated lines dropped, the prose gate) or the reason there is none. The command
// (src/vscode/commands/explain.ts) only reads the document and shows the result.
import { dedupeLines, proseGate } from '../completion/gate';
import type { EngineApi } from '../host/protocol';

/** The doc-comment shape of a language: opener line, line prefix, closer. */
export interface DocCommentStyle {
  open: string;
  line: string;
  close: string;
}

export function docCommentStyle(languageId: string): DocCommentStyle {
  if (languageId === 'python') return { open: '"""', line: '', close: '"""' };
  if (['ruby', 'shellscript', 'perl', 'r', 'yaml'].includes(languageId)) {
    return { open: '#', line: '# ', close: '' };
  }
  if (['rust'].includes(languageId)) return { open: '///', line: '/// ', close: '' };
  return { open: '/**', line: ' * ', close: ' */' };
}

/** Characters of the document on each side of the comment given to the engine (it fits them). */
export const EXPLAIN_WINDOW_CHARS = 4000;
/** Longest doc comment asked for, in tokens. */
export const DOC_COMMENT_MAX_TOKENS = 96;

/** Where the comment goes and the prompt around it. */
export interface DocCommentPrompt {
  /** Offset in the document where the comment is inserted (a line start). */
  anchor: number;
  /** Indentation of the comment's lines. */
  bodyIndent: string;
  style: DocCommentStyle;
  /** The document before the anchor, then the comment's opener: the model continues it. */
  prefix: string;
  /** The comment's closer, then the document from the anchor through the selection. */
  suffix: string;
}

/**
 * The prompt for a doc comment on the selection [selStart, selEnd) of `text` (offsets). The
 * engine fits the prompt to the model's context by tokens (engine/promptFit.ts): the selection,
 * after the comment, gets most of it and keeps its start (the signature).
 */
export function docCommentPrompt(
  text: string,
  languageId: string,
  selStart: number,
  selEnd: number,
): DocCommentPrompt {
  const lineStart = selStart > 0 ? text.lastIndexOf('\n', selStart - 1) + 1 : 0;
  const newline = text.indexOf('\n', lineStart);
  const lineEnd = newline < 0 ? text.length : newline;
  const line = text.slice(lineStart, lineEnd).replace(/\r$/, '');
  const indent = /^\s*/.exec(line)?.[0] ?? '';
  const style = docCommentStyle(languageId);
  const python = languageId === 'python';
  // Python docstrings go inside the body (after the def line); everything else above the code.
  const anchor = python ? (newline < 0 ? text.length : newline + 1) : lineStart;
  const bodyIndent = python ? indent + '    ' : indent;
  const opener = `${bodyIndent}${style.open}\n${bodyIndent}${style.line}`;
  const prefix = text.slice(Math.max(0, anchor - EXPLAIN_WINDOW_CHARS), anchor) + opener;
  const closer = style.close ? `\n${bodyIndent}${style.close}\n` : '\n';
  const end = Math.max(selEnd, Math.min(text.length, anchor + EXPLAIN_WINDOW_CHARS));
  const suffix = closer + text.slice(anchor, end);
  return { anchor, bodyIndent, style, prefix, suffix };
}

/** The engine request for the comment (its own KV slot; stops where a comment ends). */
export function docCommentRequest(
  p: DocCommentPrompt,
  path: string,
): EngineApi['complete']['params'] {
  return {
    input: { kind: 'fim', prefix: p.prefix, suffix: p.suffix, path, shares: { suffix: 0.6 } },
    options: {
      maxTokens: DOC_COMMENT_MAX_TOKENS,
      temperature: 0,
      topP: 1,
      stop: ['*/', '"""', '\n\n'],
      fullProbs: true,
    },
    slot: 'explain',
  };
}

export type DocComment =
  /** `text`: the comment to insert at the anchor; `lines`: its prose, one entry per line. */
  | { ok: true; text: string; lines: string[] }
  /** Why the model's text is not shown (the prose gate's reason). */
  | { ok: false; reason: string };

/** The model's raw text as a doc comment: comment markers stripped, repeats dropped, gated. */
export function shapeDocComment(
  raw: string,
  p: Pick<DocCommentPrompt, 'bodyIndent' | 'style'>,
): DocComment {
  const lines = dedupeLines(
    raw
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\s*(\*|#|\/\/\/)?\s?/, '').trimEnd()),
  );
  const prose = proseGate(lines.join(' '));
  if (!prose.ok) return { ok: false, reason: prose.reason };
  const { bodyIndent, style } = p;
  const text =
    `${bodyIndent}${style.open}\n` +
    lines.map((l) => `${bodyIndent}${style.line}${l}`.trimEnd()).join('\n') +
    (style.close ? `\n${bodyIndent}${style.close}` : '') +
    '\n';
  return { ok: true, text, lines };
}

/** The one-line notification offering the comment (its prose, capped). */
export function docCommentSummary(lines: readonly string[]): string {
  return `MoE Lens: ${lines.join(' ').slice(0, 200)}`;
}
