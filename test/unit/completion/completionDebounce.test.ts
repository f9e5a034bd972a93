// Debounce by request id: a newer request supersedes older ones; the delay adapts to typing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Debouncer, realSleep } from '../../../src/completion/debounce';

test('a newer request supersedes the waiting one; the newest runs', async () => {
  const d = new Debouncer({ baseMs: 20 });
  const first = d.wait();
  await realSleep(5);
  const second = d.wait();
  assert.deepEqual(await Promise.all([first, second]), [false, true]);
});

test('supersede() without waiting also makes older waits stale', async () => {
  const d = new Debouncer({ baseMs: 10 });
  const w = d.wait();
  d.supersede();
  assert.equal(await w, false);
});

test('cancellation ends the wait at once with false (no busy-wait)', async () => {
  // A timer that never fires: only the abort can end the wait (a hang fails by the timeout).
  const sleep = (_ms: number, signal?: AbortSignal) =>
    new Promise<void>((r) => signal?.addEventListener('abort', () => r(), { once: true }));
  const d = new Debouncer({ baseMs: 10_000, sleep });
  const c = new AbortController();
  const w = d.wait(c.signal);
  setTimeout(() => c.abort(), 5);
  assert.equal(await w, false);
});

test('delay: base until three gaps are known, then mean gap × factor, clamped', () => {
  let now = 0;
  const d = new Debouncer({ baseMs: 100, now: () => now });
  assert.equal(d.delay(), 100);
  for (const gap of [0, 100, 100, 100]) {
    now += gap;
    d.keystroke();
  }
  assert.equal(d.delay(), 150); // 100 × 1.5
  for (let i = 0; i < 10; i++) {
    now += 20;
    d.keystroke();
  }
  assert.equal(d.delay(), 50, 'fast typing: clamped to minMs (base / 2)');
  for (let i = 0; i < 10; i++) {
    now += 1000;
    d.keystroke();
  }
  assert.equal(d.delay(), 200, 'slow typing: clamped to maxMs (base × 2)');
  now += 60_000; // a pause is not a typing gap
  d.keystroke();
  assert.equal(d.delay(), 200);
});

test('delay 0 disables debouncing; adaptive off keeps the base', async () => {
  let now = 0;
  const zero = new Debouncer({ baseMs: 0, now: () => now });
  assert.equal(zero.delay(), 0);
  assert.equal(await zero.wait(), true);
  const fixed = new Debouncer({ baseMs: 80, adaptive: false, now: () => now });
  for (let i = 0; i < 5; i++) {
    now += 10;
    fixed.keystroke();
  }
  assert.equal(fixed.delay(), 80);
});

test('an injected sleep drives the wait (simulated time)', async () => {
  const slept: number[] = [];
  const d = new Debouncer({ baseMs: 75, sleep: async (ms) => void slept.push(ms) });
  assert.equal(await d.wait(), true);
  assert.deepEqual(slept, [75]);
});
