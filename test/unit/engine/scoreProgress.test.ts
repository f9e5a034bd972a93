// Long scoring reports progress and can be cancelled between chunks: a 2 MiB `score --file` once
// ran for minutes with no sign of life.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError } from '../../../src/format/errors';
import { useEngine } from '../engineFixture';

const engine = useEngine('tiny-test');

test('score reports progress after every chunk, ending at the total', async () => {
  const ids = Array.from({ length: 300 }, (_, i) => 10 + (i % 50));
  const seen: [number, number][] = [];
  const out = await engine().score(ids, { chunk: 64, onProgress: (d, t) => seen.push([d, t]) });
  assert.equal(out.length, ids.length);
  assert.ok(seen.length >= Math.ceil(ids.length / 64), `${seen.length} progress calls`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![0] >= seen[i - 1]![0], 'monotonic');
  assert.deepEqual(seen.at(-1), [ids.length, ids.length]);
});

test('score stops at the next chunk when cancelled from its progress callback', async () => {
  const ids = Array.from({ length: 300 }, (_, i) => 10 + (i % 50));
  const controller = new AbortController();
  let calls = 0;
  await assert.rejects(
    engine().score(ids, {
      chunk: 32,
      signal: controller.signal,
      onProgress: () => {
        if (++calls === 2) controller.abort();
      },
    }),
    (e: unknown) => e instanceof CancelledError,
  );
  assert.equal(calls, 2);
});
