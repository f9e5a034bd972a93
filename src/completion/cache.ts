// Stage: the completion cache. An LRU (a Map's insertion order is its recency order) keyed by a
// hash of uri | prefix | suffix head. Besides exact hits it serves TYPE-THROUGH: when the user
// has typed since a cached request (same suffix, prefix = cached prefix + typed, typed at most
// 128 chars) and the cached suggestion starts with what they typed, the rest of the suggestion
// is still good, with no model call.
import { createHash } from 'node:crypto';

/** A Map-order LRU: get() refreshes, set() evicts the least recently used beyond capacity. */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`LRU capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Like get, without refreshing recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Entries from least to most recently used. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}

/** Chars of the suffix that take part in the key (the rest rarely changes the completion). */
export const SUFFIX_HEAD_CHARS = 1024;
/** Type-through looks back over at most this many typed chars. */
export const MAX_TYPED_CHARS = 128;

export function cacheKey(uri: string, prefix: string, suffix: string): string {
  return createHash('sha1')
    .update(uri)
    .update('\0')
    .update(prefix)
    .update('\0')
    .update(suffix.slice(0, SUFFIX_HEAD_CHARS))
    .digest('base64');
}

interface Entry<V> {
  uri: string;
  prefix: string;
  suffixHead: string;
  /** The suggestion text ('' records "no suggestion here"). */
  text: string;
  value: V;
}

export interface CacheHit<V> {
  source: 'cache' | 'typed-through';
  /** What to show now: the cached text minus what was typed. */
  text: string;
  /** Chars typed since the cached request ('' for an exact hit). */
  typed: string;
  /** The cached suggestion as stored, and its payload. */
  cachedText: string;
  value: V;
}

/** The completion cache; V is the payload stored with each suggestion (tokens, stats). */
export class CompletionCache<V> {
  private readonly lru: LruCache<string, Entry<V>>;

  constructor(
    capacity = 250,
    readonly maxTyped = MAX_TYPED_CHARS,
  ) {
    this.lru = new LruCache(capacity);
  }

  get size(): number {
    return this.lru.size;
  }

  has(uri: string, prefix: string, suffix: string): boolean {
    return this.lru.has(cacheKey(uri, prefix, suffix));
  }

  put(uri: string, prefix: string, suffix: string, text: string, value: V): void {
    const suffixHead = suffix.slice(0, SUFFIX_HEAD_CHARS);
    this.lru.set(cacheKey(uri, prefix, suffix), { uri, prefix, suffixHead, text, value });
  }

  /**
   * Exact hit, else the type-through hit with the fewest typed chars. An exact hit on "no
   * suggestion" returns text ''; a type-through hit always has text left to show.
   */
  get(uri: string, prefix: string, suffix: string): CacheHit<V> | undefined {
    const exact = this.lru.get(cacheKey(uri, prefix, suffix));
    if (exact) {
      return {
        source: 'cache',
        text: exact.text,
        typed: '',
        cachedText: exact.text,
        value: exact.value,
      };
    }
    const suffixHead = suffix.slice(0, SUFFIX_HEAD_CHARS);
    let best: Entry<V> | undefined;
    for (const [, e] of this.lru.entries()) {
      const typedLength = prefix.length - e.prefix.length;
      if (typedLength < 1 || typedLength > this.maxTyped) continue;
      if (e.text.length <= typedLength || e.uri !== uri) continue;
      if (best && best.prefix.length >= e.prefix.length) continue;
      if (e.suffixHead !== suffixHead || !prefix.startsWith(e.prefix)) continue;
      if (!e.text.startsWith(prefix.slice(e.prefix.length))) continue;
      best = e;
    }
    if (!best) return undefined;
    this.lru.get(cacheKey(best.uri, best.prefix, best.suffixHead));
    const typed = prefix.slice(best.prefix.length);
    return {
      source: 'typed-through',
      text: best.text.slice(typed.length),
      typed,
      cachedText: best.text,
      value: best.value,
    };
  }

  clear(): void {
    this.lru.clear();
  }
}
