// Chat prompts for instruct models: the Jinja chat template the tokenizer loaded
// (tokenizer_config.json `chat_template` or chat_template.jinja), rendered with
// @huggingface/jinja (the implementation transformers.js uses; Python transformers renders the
// same templates with jinja2). Base models have no template and get none.
import { Template } from '@huggingface/jinja';
import { MoeLensError } from '../format/errors';
import type { Tokenizer } from './tokenizer';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatTemplate {
  source: string;
  bosToken: string;
  eosToken: string;
}

/** The tokenizer's chat template, or null for base models (no or empty template). */
export function chatTemplateOf(
  tok: Pick<Tokenizer, 'chatTemplate' | 'bosToken' | 'eosToken'>,
): ChatTemplate | null {
  const source = tok.chatTemplate;
  if (source === null || source.trim() === '') return null;
  return { source, bosToken: tok.bosToken ?? '', eosToken: tok.eosToken ?? '' };
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
