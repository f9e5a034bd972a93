// The LRU and the completion cache: exact hits, type-through reuse, eviction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompletionCache, LruCache, cacheKey } from '../../../src/completion/cache';

test('LRU evicts the least recently used; get refreshes, peek does not', () => {
  const lru = new LruCache<string, number>(3);
  lru.set('a', 1);
  lru.set('b', 2);
  lru.set('c', 3);
  assert.equal(lru.get('a'), 1); // a is now the most recent
  lru.set('d', 4); // evicts b
  assert.equal(lru.has('b'), false);
  assert.deepEqual(
    [...lru.entries()].map(([k]) => k),
    ['c', 'a', 'd'],
  );
  assert.equal(lru.peek('c'), 3);
  lru.set('e', 5); // c was only peeked: evicted
  assert.equal(lru.has('c'), false);
  lru.set('a', 10); // overwrite refreshes
  assert.deepEqual(
    [...lru.entries()].map(([k]) => k),
    ['d', 'e', 'a'],
  );
  assert.equal(lru.size, 3);
  assert.throws(() => new LruCache(0), RangeError);
});

test('keys differ by uri, prefix and suffix head; the suffix tail does not count', () => {
  const k = cacheKey('u', 'p', 's');
  assert.notEqual(k, cacheKey('v', 'p', 's'));
  assert.notEqual(k, cacheKey('u', 'q', 's'));
  assert.notEqual(k, cacheKey('u', 'p', 't'));
  assert.notEqual(cacheKey('u', 'ab', 'c'), cacheKey('u', 'a', 'bc'));
  const head = 'x'.repeat(1024);
  assert.equal(cacheKey('u', 'p', head + 'tail1'), cacheKey('u', 'p', head + 'tail2'));
});

test('exact hit returns the stored suggestion and payload', () => {
  const c = new CompletionCache<number>();
  c.put('u', 'const x = ', ';\n', 'foo(1)', 7);
  const hit = c.get('u', 'const x = ', ';\n');
  assert.deepEqual(hit, {
    source: 'cache',
    text: 'foo(1)',
    typed: '',
    cachedText: 'foo(1)',
    value: 7,
  });
  assert.equal(c.get('u', 'const y = ', ';\n'), undefined);
});

test('type-through: typing the start of a suggestion keeps the rest', () => {
  const c = new CompletionCache<string>();
  c.put('u', 'const x = ', ';\n', 'foo(1)', 'payload');
  const hit = c.get('u', 'const x = fo', ';\n');
  assert.equal(hit?.source, 'typed-through');
  assert.equal(hit?.text, 'o(1)');
  assert.equal(hit?.typed, 'fo');
  assert.equal(hit?.value, 'payload');
  // not what was suggested, another suffix, another file, or nothing left: misses
  assert.equal(c.get('u', 'const x = fa', ';\n'), undefined);
  assert.equal(c.get('u', 'const x = fo', ')\n'), undefined);
  assert.equal(c.get('v', 'const x = fo', ';\n'), undefined);
  assert.equal(c.get('u', 'const x = foo(1)', ';\n'), undefined);
});

test('type-through prefers the most recent state and looks back at most 128 chars', () => {
  const c = new CompletionCache<number>();
  const long = 'a'.repeat(200);
  c.put('u', 'p', 's', long, 1);
  assert.equal(c.get('u', 'p' + 'a'.repeat(128), 's')?.text, 'a'.repeat(72));
  assert.equal(c.get('u', 'p' + 'a'.repeat(129), 's'), undefined);
  c.put('u', 'paa', 's', 'aaXY', 2);
  const hit = c.get('u', 'paaa', 's');
  assert.equal(hit?.value, 2, 'the entry with the fewest typed chars wins');
  assert.equal(hit?.text, 'aXY');
});

test('"no suggestion" entries are exact hits only', () => {
  const c = new CompletionCache<number>();
  c.put('u', 'p', 's', '', 0);
  assert.equal(c.get('u', 'p', 's')?.text, '');
  assert.equal(c.get('u', 'px', 's'), undefined);
});

test('the cache is bounded', () => {
  const c = new CompletionCache<number>(2);
  c.put('u', 'a', '', 'x', 1);
  c.put('u', 'b', '', 'x', 2);
  c.get('u', 'a', '');
  c.put('u', 'c', '', 'x', 3);
  assert.equal(c.size, 2);
  assert.equal(c.has('u', 'b', ''), false);
  assert.equal(c.has('u', 'a', ''), true);
});
