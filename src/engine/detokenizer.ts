// Streaming detokenization: turns generated ids into text increments one token at a time.
//
// Byte-level BPE tokens are byte strings, so a token can end in the middle of a UTF-8 character
// (an emoji is often 2-4 tokens). Decoding such a tail yields a trailing U+FFFD; we hold those
// tokens back until the character completes. Only a short window of recent ids is decoded per
// token (the ids of the last emitted increment plus the pending ones), so each push costs O(1)
// in the length of the generation. Decoding from the start of the previous increment, rather
// than from the pending ids alone, keeps decoders that treat the first token specially (e.g.
// SentencePiece's leading-space removal) consistent with decoding the whole sequence.
import type { Tokenizer } from './tokenizer';

const REPLACEMENT = '\uFFFD';

/**
 * A UTF-8 character has at most 4 bytes and every token has at least 1, so with this many pending
 * tokens still ending in U+FFFD some of the bytes are invalid. Then we emit up to the latest
 * token boundary where decoding splits cleanly, instead of buffering invalid bytes forever.
 */
const MAX_PENDING = 4;
/** Past this many pending ids with no clean boundary, emit everything (never seen in practice). */
const HARD_CAP = 32;

export class IncrementalDecoder {
  /** Recent ids: [0, readOffset) were already emitted, [readOffset, length) are pending. */
  private window: number[] = [];
  private readOffset = 0;
  /** decode(window[0, readOffset)): the emitted part of the window. */
  private prefixText = '';

  constructor(private readonly tok: Pick<Tokenizer, 'decode'>) {}

  /**
   * Adds one generated id; returns the text it completes (possibly ''). The increments, then
   * `flush()`, concatenate to `decode(allIds)`; this holds for invalid UTF-8 too.
   */
  push(id: number): string {
    this.window.push(id);
    const text = this.tok.decode(this.window);
    if (!text.endsWith(REPLACEMENT)) return this.emitAll(text);
    if (this.window.length - this.readOffset < MAX_PENDING) return '';
    return this.emitInvalid(text);
  }

  /** Emits whatever is still pending (an incomplete character comes out as U+FFFD). */
  flush(): string {
    if (this.window.length === this.readOffset) return '';
    const increment = this.increment(this.tok.decode(this.window));
    this.window = [];
    this.readOffset = 0;
    this.prefixText = '';
    return increment;
  }

  /** Emits the new part of `text` (= decode(window)); the emitted ids become the context. */
  private emitAll(text: string): string {
    const increment = this.increment(text);
    this.window = this.window.slice(this.readOffset);
    this.readOffset = this.window.length;
    this.prefixText = this.tok.decode(this.window);
    return increment;
  }

  /**
   * Pending bytes are invalid UTF-8. Emits up to the latest boundary k where decoding the two
   * sides separately gives the same text as decoding them together; then the left side's
   * decoding can no longer change (its tail has been resolved by the bytes after it), and
   * the right side can start a fresh window.
   */
  private emitInvalid(text: string): string {
    const w = this.window;
    for (let k = w.length - 1; k > this.readOffset; k--) {
      const left = this.tok.decode(w.slice(0, k));
      if (left + this.tok.decode(w.slice(k)) !== text) continue;
      const increment = this.increment(left);
      this.window = w.slice(k);
      this.readOffset = 0;
      this.prefixText = '';
      return increment;
    }
    if (w.length - this.readOffset < HARD_CAP) return '';
    const increment = this.increment(text);
    this.window = [];
    this.readOffset = 0;
    this.prefixText = '';
    return increment;
  }

  private increment(text: string): string {
    // text normally extends prefixText; if a decoder rewrote the shared part (should not happen
    // for well-formed tokenizers) emit from the first difference rather than lose text.
    return text.startsWith(this.prefixText)
      ? text.slice(this.prefixText.length)
      : text.slice(commonPrefixLength(text, this.prefixText));
  }
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
