// Loads a Hugging Face `tokenizer.json` (plus optional `tokenizer_config.json`,
// `generation_config.json` and `chat_template.jinja`) with @huggingface/tokenizers, a pure-JS
// port of the Rust `tokenizers` library, behind a small interface the engine owns.
import * as path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { checkpointRoot, readOptionalText } from '../format/confinedFile';
import { MoeLensError } from '../format/errors';

export interface Tokenizer {
  /**
   * Number of ids the tokenizer knows (highest id + 1, added tokens included). The model's
   * embedding matrix is often larger (padding rows); ids beyond this decode to ''.
   */
  readonly vocabSize: number;
  /**
   * Text → ids. Adds no special tokens (no BOS/EOS), but special tokens written in the text,
   * such as `<|fim_prefix|>`, map to their ids, as in Python `tokenizers`.
   */
  encode(text: string): number[];
  /**
   * Like `encode`, but special-token strings in the text are encoded as ordinary text (as
   * tiktoken's `encode_ordinary`). Use it for user content (source files may well contain the
   * literal string `<|endoftext|>`) so it can never inject control tokens into a prompt.
   */
  encodeOrdinary(text: string): number[];
  /**
   * Ids → text, special tokens included as their text, no clean-up of spaces: byte-exact inverse
   * of `encode` for byte-level BPE. Unknown ids decode to ''.
   */
  decode(ids: readonly number[]): string;
  /** The id of a token, written as in the vocabulary (e.g. `Ġthe`, `<|endoftext|>`). */
  tokenId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Ids that end generation: tokenizer_config's eos_token, generation_config's eos_token_id and
   * special end tokens such as `<|endoftext|>`, `<|im_end|>`, `<|eot_id|>`. Config ones first. */
  readonly eosTokenIds: number[];
  /** Ids of the added tokens flagged special (sentinels, turn markers): never generated text. */
  readonly specialIds: ReadonlySet<number>;
  /** The Jinja chat template, if the model has one. */
  readonly chatTemplate: string | null;
  /** tokenizer_config's bos_token / eos_token contents (what chat templates call them). */
  readonly bosToken: string | null;
  readonly eosToken: string | null;
}

/** Special tokens that end a document or a turn in common model families. */
const END_TOKENS = [
  '<|endoftext|>',
  '<|im_end|>',
  '<|end_of_text|>',
  '<|eot_id|>',
  '<|end|>',
  '<|EOT|>',
  '<｜end▁of▁sentence｜>',
  '<eos>',
  '</s>',
];

const SUPPORTED_MODELS = ['BPE', 'WordPiece', 'Unigram'];

type Json = Record<string, unknown>;

/** Largest tokenizer.json read (real ones are at most a few tens of MB). */
export const MAX_TOKENIZER_BYTES = 128 << 20;
/** Largest tokenizer_config.json, generation_config.json or chat_template.jinja read. */
export const MAX_TOKENIZER_SIDE_FILE_BYTES = 16 << 20;

export async function loadTokenizer(modelDir: string): Promise<Tokenizer> {
  // Each file is checked before it is read (confinedFile.ts): inside the folder (or, for a
  // Hugging Face hub-cache snapshot, its repository's cache folder), a regular file (never a
  // FIFO or a device), within its size limit.
  const root = await checkpointRoot(modelDir);
  const readOptional = (file: string, maxBytes = MAX_TOKENIZER_SIDE_FILE_BYTES) =>
    readOptionalText(modelDir, root, path.basename(file), maxBytes).catch((err: unknown) => {
      if (err instanceof MoeLensError) throw err;
      throw new MoeLensError(`${file}: cannot read: ${errorMessage(err)}`);
    });
  const tokenizerFile = path.join(modelDir, 'tokenizer.json');
  const tokenizerText = await readOptional(tokenizerFile, MAX_TOKENIZER_BYTES);
  if (tokenizerText === undefined) {
    throw new MoeLensError(`${tokenizerFile}: not found; this model has no tokenizer (use --ids)`);
  }
  const tokenizerJson = parseObject(tokenizerFile, tokenizerText);
  const configFile = path.join(modelDir, 'tokenizer_config.json');
  const configText = await readOptional(configFile);
  const config = configText === undefined ? {} : parseObject(configFile, configText);
  const genFile = path.join(modelDir, 'generation_config.json');
  const genText = await readOptional(genFile);
  const genConfig = genText === undefined ? {} : parseObject(genFile, genText);
  const templateFile = path.join(modelDir, 'chat_template.jinja');
  const chatTemplate =
    pickChatTemplate(config['chat_template']) ?? (await readOptional(templateFile));

  const model = tokenizerJson['model'];
  if (!isObject(model)) {
    throw new MoeLensError(`${tokenizerFile}: not a tokenizer.json (no "model" object)`);
  }
  const modelType = model['type'];
  if (modelType !== undefined && !SUPPORTED_MODELS.includes(String(modelType))) {
    throw new MoeLensError(
      `${tokenizerFile}: unsupported tokenizer model type "${String(modelType)}" ` +
        `(supported: ${SUPPORTED_MODELS.join(', ')})`,
    );
  }

  let hf: HfTokenizer;
  try {
    // The library insists on these keys being present; saved files always have them (maybe null).
    const full = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      added_tokens: [],
      ...tokenizerJson,
    };
    hf = new HfTokenizer(full, config);
  } catch (err) {
    throw new MoeLensError(`${tokenizerFile}: cannot load tokenizer: ${errorMessage(err)}`);
  }
  return new HfBackedTokenizer(hf, config, genConfig, chatTemplate ?? null);
}

/** out.push(...more) without spreading (a big file's ids overflow the call stack). */
function append(out: number[], more: readonly number[]): void {
  for (const id of more) out.push(id);
}

class HfBackedTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenIds: number[];
  readonly specialIds: ReadonlySet<number>;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  /** Contents of the added tokens flagged special, for `encodeOrdinary`. */
  private readonly specialContents: string[];

  constructor(
    private readonly hf: HfTokenizer,
    config: Json,
    genConfig: Json,
    readonly chatTemplate: string | null,
  ) {
    this.bosToken = tokenContent(config['bos_token']) ?? null;
    this.eosToken = tokenContent(config['eos_token']) ?? null;
    let maxId = -1;
    for (const id of hf.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;

    const added = hf.get_added_tokens_decoder();
    this.specialContents = [...added.values()]
      .filter((t) => t.special && t.content.length > 0)
      .map((t) => t.content);
    this.specialIds = new Set([...added].filter(([, t]) => t.special).map(([id]) => id));

    const eos: number[] = [];
    const addId = (id: number | undefined): void => {
      if (id !== undefined && Number.isInteger(id) && id >= 0 && !eos.includes(id)) eos.push(id);
    };
    const eosToken = tokenContent(config['eos_token']);
    if (eosToken !== undefined) addId(hf.token_to_id(eosToken));
    const genEos = genConfig['eos_token_id'];
    if (typeof genEos === 'number') addId(genEos);
    if (Array.isArray(genEos)) for (const id of genEos) if (typeof id === 'number') addId(id);
    for (const t of END_TOKENS) {
      const id = hf.token_to_id(t);
      if (id !== undefined && added.get(id)?.special === true) addId(id);
    }
    this.eosTokenIds = eos;
  }

  encode(text: string): number[] {
    if (text.length === 0) return [];
    // Without an unk token the library yields undefined for unknown pieces; Python drops them.
    const ids: (number | undefined)[] = this.hf.encode(text, { add_special_tokens: false }).ids;
    return ids.filter((id): id is number => id !== undefined);
  }

  encodeOrdinary(text: string): number[] {
    const ids: number[] = [];
    let rest = text;
    for (;;) {
      // Find the earliest special-token occurrence and cut it after its first code point, so
      // neither piece contains it; the rest may hold more occurrences, hence the loop.
      let at = -1;
      let found = '';
      for (const s of this.specialContents) {
        const i = rest.indexOf(s);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
          found = s;
        }
      }
      if (at < 0) break;
      const cut = at + String.fromCodePoint(found.codePointAt(0) ?? 0).length;
      append(ids, this.encode(rest.slice(0, cut)));
      rest = rest.slice(cut);
    }
    append(ids, this.encode(rest));
    return ids;
  }

  decode(ids: readonly number[]): string {
    const known = ids.filter((id) => this.idToToken(id) !== undefined);
    if (known.length === 0) return '';
    return this.hf.decode(known, {
      skip_special_tokens: false,
      // Completions must be byte-exact; never "clean up" spaces before punctuation.
      clean_up_tokenization_spaces: false,
    });
  }

  tokenId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    if (!Number.isInteger(id) || id < 0) return undefined;
    return this.hf.id_to_token(id);
  }
}

function parseObject(file: string, text: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MoeLensError(`${file}: not valid JSON (${errorMessage(err)})`);
  }
  if (!isObject(value)) throw new MoeLensError(`${file}: expected a JSON object`);
  return value;
}

/** `chat_template`: a string, or a list of `{name, template}` ("default", else the first). */
function pickChatTemplate(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.filter(isObject);
    const chosen = named.find((t) => t['name'] === 'default') ?? named[0];
    const template = chosen?.['template'];
    if (typeof template === 'string') return template;
  }
  return undefined;
}

/** A special token in tokenizer_config is a string or an AddedToken object `{content, ...}`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value['content'] === 'string') return value['content'];
  return undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
