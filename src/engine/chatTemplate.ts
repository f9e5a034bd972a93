// Chat prompts for instruct models: the Jinja `chat_template` of tokenizer_config.json, rendered
// with @huggingface/jinja (the implementation transformers.js uses; Python transformers renders
// the same templates with jinja2). Base models have no template and get none.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { MoeLensError } from './errors';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatTemplate {
  source: string;
  bosToken: string;
  eosToken: string;
}

/** A special token in tokenizer_config is a string or an AddedToken object `{content, ...}`. */
function tokenText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return '';
}

/** The model folder's chat template, or null for base models (no or empty `chat_template`). */
export function loadChatTemplate(dir: string): ChatTemplate | null {
  const file = join(dir, 'tokenizer_config.json');
  if (!existsSync(file)) return null;
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new MoeLensError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  let source: unknown = cfg.chat_template;
  // Newer configs may list named templates: [{ name: 'default', template }, ...].
  if (Array.isArray(source)) {
    const named = source as { name?: unknown; template?: unknown }[];
    source = (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }
  if (typeof source !== 'string' || source.trim() === '') return null;
  return { source, bosToken: tokenText(cfg.bos_token), eosToken: tokenText(cfg.eos_token) };
}

/** The prompt text for `messages`, ending where the assistant's answer begins. */
export function renderChat(t: ChatTemplate, messages: ChatMessage[]): string {
  try {
    return new Template(t.source).render({
      messages,
      add_generation_prompt: true,
      bos_token: t.bosToken,
      eos_token: t.eosToken,
    });
  } catch (e) {
    throw new MoeLensError(`chat_template of tokenizer_config.json: ${(e as Error).message}`);
  }
}
