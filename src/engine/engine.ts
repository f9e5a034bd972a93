// The engine facade used by the CLI and the engine host: a model, its tokenizer (optional: a
// model without one still runs on token ids), and named KV slots, one per purpose.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { IncrementalDecoder } from './detokenizer';
import { MoeLensError } from './errors';
import { buildFimIds, type FimTokens } from './fim';
import {
  generate,
  type GenerateOptions,
  type GeneratedToken,
  type GenerationResult,
} from './generate';
import type { KvSlot } from './kvCache';
import { chatTemplateOf, renderChat, type ChatMessage, type ChatTemplate } from './chatTemplate';
import { MoeModel, type LoadOptions } from './model';
import { score, type ScoreOptions, type ScoredToken } from './score';
import { healTail } from './tokenHealing';
import { loadTokenizer, type Tokenizer } from './tokenizer';

export type PromptInput =
  | {
      kind: 'text';
      prompt: string;
      /** Token healing of the prompt's end (tokenHealing.ts); default true. */
      heal?: boolean;
    }
  | {
      kind: 'fim';
      prefix: string;
      suffix: string;
      /** Token healing of the prefix's end (tokenHealing.ts); default true. */
      heal?: boolean;
      /** Other files as context, placed first (they change least, so the KV prefix survives). */
      extra?: { path: string; text: string }[];
      /**
       * The current file's path (workspace-relative), sent as a `<file_sep>path` header before
       * the FIM sections when the model has a file separator: code models are trained on that
       * repository layout, and the extension tells it the language.
       */
      path?: string;
    }
  | { kind: 'ids'; ids: number[] }
  /** Instruct models: messages rendered with the model's chat template. */
  | { kind: 'chat'; messages: ChatMessage[] };

export interface ModelInfo {
  architecture: string;
  layers: number;
  moeLayers: number[];
  experts: number;
  topK: number;
  sharedExperts: number;
  totalParams: number;
  activeParamsPerToken: number;
  dtype: string;
  executionProvider: string;
  fim: { order: string } | null;
  /** The model has a chat template (instruct model): `chat` prompts work. */
  chat: boolean;
}

export { defaultModelDir } from './modelDir';

/** Prompt ids cut back by token healing unless `heal` is false (tokenHealing.ts). */
function healed(
  tok: Tokenizer,
  ids: number[],
  heal: boolean | undefined,
): { ids: number[]; heal: string } {
  const h = heal === false ? null : healTail(tok, ids);
  return h ? { ids: h.ids, heal: h.tail } : { ids, heal: '' };
}

export class Engine {
  private readonly slots = new Map<string, KvSlot>();

  private constructor(
    readonly model: MoeModel,
    readonly tokenizer: Tokenizer | null,
    readonly chatTemplate: ChatTemplate | null,
  ) {}

  static async open(dir: string, opts: LoadOptions = {}): Promise<Engine> {
    const model = await MoeModel.load(dir, opts);
    const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? await loadTokenizer(dir) : null;
    return new Engine(model, tokenizer, tokenizer ? chatTemplateOf(tokenizer) : null);
  }

  get dir(): string {
    return this.model.config.dir;
  }

  /** A named KV slot (completion, analysis, ...); created on first use. */
  slot(name = 'default'): KvSlot {
    let s = this.slots.get(name);
    if (!s) {
      s = this.model.newSlot();
      this.slots.set(name, s);
    }
    return s;
  }

  requireTokenizer(): Tokenizer {
    if (!this.tokenizer) {
      throw new MoeLensError(
        `${join(this.dir, 'tokenizer.json')}: not found; this model has no tokenizer (use --ids)`,
      );
    }
    return this.tokenizer;
  }

  promptIds(input: PromptInput): number[] {
    return this.prompt(input).ids;
  }

  /**
   * The prompt's ids, and the text token healing dropped from its end (generation regenerates
   * it without reporting it; '' when nothing was dropped).
   */
  prompt(input: PromptInput): { ids: number[]; heal: string } {
    if (input.kind === 'ids') return { ids: input.ids, heal: '' };
    const tok = this.requireTokenizer();
    if (input.kind === 'text') return healed(tok, tok.encode(input.prompt), input.heal);
    if (input.kind === 'chat') return { ids: this.chatIds(tok, input.messages), heal: '' };
    const fim = this.model.manifest.moe_lens.fim;
    const prefix = healed(tok, tok.encodeOrdinary(input.prefix), input.heal);
    if (!fim) return prefix; // no FIM tokens: complete from the prefix alone
    const tokens: FimTokens = { prefix: fim.prefix, suffix: fim.suffix, middle: fim.middle };
    const ids: number[] = [];
    const fileSep = fim.file_sep !== null ? tok.tokenId(fim.file_sep) : undefined;
    if (fileSep !== undefined) {
      // Repository-style context: <file_sep>path\ntext per file (models without it get none).
      for (const f of input.extra ?? []) {
        ids.push(fileSep, ...tok.encodeOrdinary(`${f.path}\n${f.text}`));
      }
      if (input.path) ids.push(fileSep, ...tok.encodeOrdinary(`${input.path}\n`));
    }
    ids.push(...buildFimIds(tok, tokens, prefix.ids, input.suffix, fim.order));
    return { ids, heal: prefix.heal };
  }

  private chatIds(tok: Tokenizer, messages: ChatMessage[]): number[] {
    if (!this.chatTemplate) {
      throw new MoeLensError(`${this.dir}: no chat template (tokenizer_config.json chat_template)`);
    }
    // Special tokens written by the template (e.g. <|im_start|>) must encode as themselves.
    return tok.encode(renderChat(this.chatTemplate, messages));
  }

  complete(
    input: PromptInput,
    opts: GenerateOptions,
    slot = 'default',
  ): AsyncGenerator<GeneratedToken, GenerationResult> {
    const { ids, heal } = this.prompt(input);
    return generate(
      this.model,
      this.tokenizer,
      this.slot(slot),
      ids,
      heal ? { ...opts, heal } : opts,
    );
  }

  async score(ids: number[], opts: ScoreOptions = {}, slot = 'score'): Promise<ScoredToken[]> {
    return score(this.model, this.slot(slot), ids, opts);
  }

  /** Per-token text increments that concatenate to decode(ids); nulls without a tokenizer. */
  tokenTexts(ids: number[]): (string | null)[] {
    if (!this.tokenizer) return ids.map(() => null);
    const decoder = new IncrementalDecoder(this.tokenizer);
    const texts = ids.map((id) => decoder.push(id));
    const tail = decoder.flush();
    if (tail && texts.length > 0) texts[texts.length - 1] += tail;
    return texts;
  }

  info(): ModelInfo {
    const m = this.model.manifest.moe_lens;
    const cfg = this.model.config;
    return {
      architecture: m.architecture,
      layers: cfg.numLayers,
      moeLayers: cfg.moeLayers,
      experts: cfg.numExperts,
      topK: cfg.topK,
      sharedExperts: m.shared_experts?.count ?? 0,
      totalParams: m.params.total,
      activeParamsPerToken: m.params.active_per_token,
      dtype: m.quantization.dtype,
      executionProvider: this.model.executionProvider,
      fim: m.fim ? { order: m.fim.order } : null,
      chat: this.chatTemplate !== null,
    };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
