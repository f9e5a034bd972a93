// The engine facade used by the CLI and the engine host: a model, its tokenizer (optional: a
// model without one still runs on token ids), and named KV slots, one per purpose.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { IncrementalDecoder } from './detokenizer';
import { ContextOverflowError, MoeLensError } from '../format/errors';
import { buildFimIds, type FimTokens } from './fim';
import {
  DEFAULT_SHARES,
  emptyFit,
  keepEnd,
  keepStart,
  promptBudget,
  type FitShares,
  type PromptFit,
} from './promptFit';
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
      /** Shares of the token budget for the suffix and the other files (promptFit.ts). */
      shares?: Partial<FitShares>;
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
  /** Tokens of context: prompt + generation (prompts are fitted to it, promptFit.ts). */
  contextLength: number;
  /** The model has a chat template (instruct model): `chat` prompts work. */
  chat: boolean;
}

export { defaultModelDir } from '../format/modelDir';

/** Prompt ids cut back by token healing unless `heal` is false (tokenHealing.ts). */
function healed(
  tok: Tokenizer,
  ids: number[],
  heal: boolean | undefined,
): { ids: number[]; heal: string } {
  const h = heal === false ? null : healTail(tok, ids);
  return h ? { ids: h.ids, heal: h.tail } : { ids, heal: '' };
}

/** A built prompt: its ids, the text healing dropped from its end, what fitting cut. */
export interface BuiltPrompt {
  ids: number[];
  heal: string;
  fit: PromptFit;
}

/** Longest file path sent in a prompt header (a hostile path cannot eat the context). */
const MAX_PATH_CHARS = 200;
/** A file of extra context that must be cut to fewer tokens than this is left out. */
const MIN_EXTRA_TOKENS = 16;

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

  promptIds(input: PromptInput, maxTokens = 0): number[] {
    return this.prompt(input, maxTokens).ids;
  }

  /**
   * The prompt's ids, fitted to the context with room for `maxTokens` generated tokens
   * (promptFit.ts), and the text token healing dropped from its end (generation regenerates it
   * without reporting it; '' when nothing was dropped). Ids given as ids are not cut.
   */
  prompt(input: PromptInput, maxTokens = 0): BuiltPrompt {
    const budget = promptBudget(this.model.config.contextLength, maxTokens);
    if (input.kind === 'ids') {
      return { ids: input.ids, heal: '', fit: emptyFit(budget, input.ids.length) };
    }
    const tok = this.requireTokenizer();
    let built: BuiltPrompt;
    if (input.kind === 'text') {
      const cut = keepEnd(tok, input.prompt, budget);
      const h = healed(tok, cut.ids, input.heal);
      const fit = emptyFit(budget, h.ids.length);
      fit.prefixLinesDropped = cut.dropped;
      fit.prefixLinesKept = cut.kept;
      built = { ...h, fit };
    } else if (input.kind === 'chat') {
      built = this.chatPrompt(tok, input.messages, budget);
    } else {
      built = this.fimPrompt(tok, input, budget);
    }
    if (built.ids.length > budget) {
      throw new ContextOverflowError(built.ids.length + maxTokens, this.model.config.contextLength);
    }
    return built;
  }

  private fimPrompt(
    tok: Tokenizer,
    input: PromptInput & { kind: 'fim' },
    budget: number,
  ): BuiltPrompt {
    const fit = emptyFit(budget, 0);
    const fim = this.model.manifest.moe_lens.fim;
    if (!fim) {
      // No FIM tokens: complete from the prefix alone.
      const cut = keepEnd(tok, input.prefix, budget);
      fit.prefixLinesDropped = cut.dropped;
      fit.prefixLinesKept = cut.kept;
      const h = healed(tok, cut.ids, input.heal);
      fit.promptTokens = h.ids.length;
      return { ...h, fit };
    }
    const shares = { ...DEFAULT_SHARES, ...input.shares };
    const tokens: FimTokens = { prefix: fim.prefix, suffix: fim.suffix, middle: fim.middle };
    const head: number[] = [];
    const fileSep = fim.file_sep !== null ? tok.tokenId(fim.file_sep) : undefined;
    const header =
      fileSep !== undefined && input.path
        ? [fileSep, ...tok.encodeOrdinary(`${input.path.slice(-MAX_PATH_CHARS)}\n`)]
        : [];
    const avail = budget - 3 - header.length; // 3 sentinels
    const suffix = keepStart(tok, input.suffix, Math.floor(avail * shares.suffix));
    fit.suffixLinesDropped = suffix.dropped;
    if (fileSep !== undefined) {
      // Repository-style context: <file_sep>path\ntext per file (models without it get none).
      let left = Math.floor(avail * shares.extra);
      for (const f of input.extra ?? []) {
        const cut = keepStart(tok, `${f.path.slice(-MAX_PATH_CHARS)}\n${f.text}`, left - 1);
        if (cut.dropped > 0 && cut.ids.length < MIN_EXTRA_TOKENS) {
          fit.extraFilesCut++;
          continue;
        }
        if (cut.dropped > 0) fit.extraFilesCut++;
        head.push(fileSep, ...cut.ids);
        left -= cut.ids.length + 1;
      }
    }
    head.push(...header);
    const prefix = keepEnd(
      tok,
      input.prefix,
      avail - suffix.ids.length - (head.length - header.length),
    );
    fit.prefixLinesDropped = prefix.dropped;
    fit.prefixLinesKept = prefix.kept;
    const h = healed(tok, prefix.ids, input.heal);
    const ids = [...head, ...buildFimIds(tok, tokens, h.ids, suffix.ids, fim.order)];
    fit.promptTokens = ids.length;
    return { ids, heal: h.heal, fit };
  }

  /** A chat prompt; too long, the longest message keeps its start and says it was cut. */
  private chatPrompt(tok: Tokenizer, messages: ChatMessage[], budget: number): BuiltPrompt {
    let msgs = messages;
    let ids = this.chatIds(tok, msgs);
    const fit = emptyFit(budget, ids.length);
    for (let i = 0; i < 3 && ids.length > budget; i++) {
      let longest = 0;
      msgs.forEach((m, j) => {
        if (m.content.length > (msgs[longest]?.content.length ?? 0)) longest = j;
      });
      const m = msgs[longest];
      if (!m) break;
      const own = tok.encodeOrdinary(m.content).length;
      const cut = keepStart(tok, m.content, own - (ids.length - budget) - 8);
      fit.suffixLinesDropped += cut.dropped;
      msgs = msgs.map((x, j) => (j === longest ? { ...x, content: `${cut.text}\n[…]` } : x));
      ids = this.chatIds(tok, msgs);
    }
    fit.promptTokens = ids.length;
    return { ids, heal: '', fit };
  }

  private chatIds(tok: Tokenizer, messages: ChatMessage[]): number[] {
    if (!this.chatTemplate) {
      throw new MoeLensError(`${this.dir}: no chat template (tokenizer_config.json chat_template)`);
    }
    // Special tokens written by the template (e.g. <|im_start|>) must encode as themselves.
    return tok.encode(renderChat(this.chatTemplate, messages));
  }

  async *complete(
    input: PromptInput,
    opts: GenerateOptions,
    slot = 'default',
  ): AsyncGenerator<GeneratedToken, GenerationResult> {
    const { ids, heal, fit } = this.prompt(input, opts.maxTokens);
    const result = yield* generate(
      this.model,
      this.tokenizer,
      this.slot(slot),
      ids,
      heal ? { ...opts, heal } : opts,
    );
    return { ...result, fit };
  }

  /**
   * A short prefill and one decode step on a scratch slot: onnxruntime's first runs of a
   * session allocate and are several times slower, and the user's first completion after a
   * load must not pay for that.
   */
  async warmUp(): Promise<void> {
    const ids = this.tokenizer?.encodeOrdinary('function warmUp(a) {\n  return a + 1;\n}\n') ?? [];
    const prompt = ids.length > 1 ? ids : [0, 0, 0, 0];
    const slot = this.model.newSlot();
    await this.model.forward(slot, prompt, 1);
    await this.model.forward(slot, prompt.slice(0, 1), 1);
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
      contextLength: cfg.contextLength,
      chat: this.chatTemplate !== null,
    };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
