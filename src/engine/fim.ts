// Fill-in-the-middle (FIM) prompts built from a model's own special tokens.
import { MoeLensError } from '../format/errors';
import type { Tokenizer } from './tokenizer';

/** The special-token spellings (token contents, not ids) of one model's FIM format. */
export interface FimTokens {
  prefix: string;
  suffix: string;
  middle: string;
  /** Separates files in repository-level prompts, if the model has one. */
  fileSep?: string;
  /** The token the model emits when the middle is done, if known. */
  eot?: string;
}

/**
 * Section order of the prompt; the model generates the middle after the last token.
 * - psm: `<PRE>prefix<SUF>suffix<MID>`, the order every FIM model is trained on.
 * - spm: `<SUF>suffix<PRE>prefix<MID>`. The suffix (code below the cursor) changes least while
 *   typing; putting it first and ending with the prefix means a typed character only appends
 *   tokens at the end of the prompt, so the KV cache of everything before stays valid. Note this
 *   is the "SPM" variant with the sentinels in prompt order (Qwen2.5-Coder / CodeGemma style
 *   sentinels reordered); the FIM paper's SPM (`<PRE><SUF>suffix<MID>prefix`) is a different
 *   layout, and not every model was trained on either, so psm is the safe default.
 */
export type FimOrder = 'psm' | 'spm';

interface FimFamily extends FimTokens {
  /** Alternative spellings of the end token, tried in order after `eot`. */
  eotAlternatives?: string[];
  fileSepAlternatives?: string[];
}

/** Known spellings, most specific first. */
const FAMILIES: FimFamily[] = [
  // Qwen2.5-Coder, Qwen3-Coder, CodeGemma.
  {
    prefix: '<|fim_prefix|>',
    suffix: '<|fim_suffix|>',
    middle: '<|fim_middle|>',
    fileSep: '<|file_sep|>',
    fileSepAlternatives: ['<|file_separator|>'],
    eot: '<|endoftext|>',
    eotAlternatives: ['<|fim_pad|>', '<|file_separator|>'],
  },
  // StarCoder, StarCoder2, SantaCoder, Granite code models.
  {
    prefix: '<fim_prefix>',
    suffix: '<fim_suffix>',
    middle: '<fim_middle>',
    fileSep: '<file_sep>',
    eot: '<|endoftext|>',
  },
  // DeepSeek-Coder (V1 and the V2 MoE): begin = prefix, hole = suffix, end = middle.
  {
    prefix: '<｜fim▁begin｜>',
    suffix: '<｜fim▁hole｜>',
    middle: '<｜fim▁end｜>',
    eot: '<｜end▁of▁sentence｜>',
    eotAlternatives: ['<|EOT|>'],
  },
  // CodeLlama (SentencePiece vocab spells them with a leading ▁ in some exports).
  { prefix: '<PRE>', suffix: '<SUF>', middle: '<MID>', eot: '<EOT>' },
  { prefix: '▁<PRE>', suffix: '▁<SUF>', middle: '▁<MID>', eot: '▁<EOT>' },
];

/** The FIM tokens of a tokenizer, or null if it has none of the known spellings. */
export function detectFimTokens(tok: Tokenizer): FimTokens | null {
  const has = (t: string): boolean => tok.tokenId(t) !== undefined;
  for (const f of FAMILIES) {
    if (!has(f.prefix) || !has(f.suffix) || !has(f.middle)) continue;
    const result: FimTokens = { prefix: f.prefix, suffix: f.suffix, middle: f.middle };
    const fileSep = [f.fileSep, ...(f.fileSepAlternatives ?? [])].find((t) => t && has(t));
    if (fileSep) result.fileSep = fileSep;
    const eot = [f.eot, ...(f.eotAlternatives ?? [])].find((t) => t && has(t));
    if (eot) {
      result.eot = eot;
    } else {
      const eos = tok.eosTokenIds[0];
      const eosToken = eos === undefined ? undefined : tok.idToToken(eos);
      if (eosToken !== undefined) result.eot = eosToken;
    }
    return result;
  }
  return null;
}

/**
 * Prompt ids for completing between `prefix` and `suffix`. Each text section is encoded on its
 * own and the sentinels are inserted by id, so no BPE merge ever crosses a section boundary.
 * Sections are encoded with `encodeOrdinary`: a special-token string inside the user's code
 * (say, a file that mentions `<|endoftext|>`) stays plain text and cannot break the prompt.
 */
export function buildFimIds(
  tok: Tokenizer,
  fim: FimTokens,
  /** Text, or ids already encoded with `encodeOrdinary` (the engine heals the prefix's end). */
  prefix: string | readonly number[],
  suffix: string | readonly number[],
  order: FimOrder,
): number[] {
  const id = (t: string): number => {
    const v = tok.tokenId(t);
    if (v === undefined) throw new MoeLensError(`FIM token ${t} is not in this model's vocabulary`);
    return v;
  };
  const pre = id(fim.prefix);
  const suf = id(fim.suffix);
  const mid = id(fim.middle);
  const prefixIds = typeof prefix === 'string' ? tok.encodeOrdinary(prefix) : prefix;
  const suffixIds = typeof suffix === 'string' ? tok.encodeOrdinary(suffix) : suffix;
  switch (order) {
    case 'psm':
      return [pre, ...prefixIds, suf, ...suffixIds, mid];
    case 'spm':
      return [suf, ...suffixIds, pre, ...prefixIds, mid];
    default:
      throw new MoeLensError(`unknown FIM order ${String(order)} (expected psm or spm)`);
  }
}
