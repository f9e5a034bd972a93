// A soak of the real engine host: 2,000 completions through EngineClient (forking engineHost.ts)
// on the shipped default model, the way an editor drives it: typing through real source files
// (each keystroke's prompt extends the last, so the KV prefix is reused; switching files misses
// it), prompts longer than the context (fitted to it), a few requests in flight at once, some
// cancelled while queued, mid-stream or at a random moment, and encode/score calls in between.
// Nothing may hang (every call settles before a deadline), every result is well-formed, the
// engine never crashes (same pid), the client forgets every call (empty pending map), and the
// engine's RSS after the run stays within a bound of its RSS after a warm-up (a per-call leak of
// 25 KiB would exceed it). Linux only for the RSS (/proc); the rest runs everywhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { GenerationResult } from '../../../src/engine/generate';
import { EngineClient } from '../../../src/host/engineClient';

const ROOT = join(__dirname, '..', '..', '..');
const MODEL = join(ROOT, 'models', 'moe-lens-code');
const CALLS = 2_000;
const WARMUP_CALLS = 200;
/** RSS is compared by its least value over this many calls after the warm-up and at the end. */
const RSS_WINDOW = 400;
/** Whole soak; a hang fails here (or at the per-batch deadline) instead of at the runner's. */
const DEADLINE_MS = 240_000;
/** One batch of at most four small requests; a working engine needs well under a second. */
const BATCH_DEADLINE_MS = 30_000;
/**
 * RSS growth allowed between the least RSS over calls 200..600 and over the last 400: measured
 * -4.5, +0.6 and +8.3 MiB; with 25 KiB leaked per complete call (an injected leak) +70.6 MiB.
 */
const MAX_RSS_GROWTH_MIB = 20;
const FINISH_REASONS = new Set(['stop', 'length', 'time', 'eos', 'cancelled']);

const logs: string[] = [];
const client = new EngineClient({
  hostPath: join(ROOT, 'src', 'host', 'engineHost.ts'),
  execArgv: ['--import', 'tsx'],
  log: (m) => logs.push(m),
});
before(async () => {
  await client.call('load', { modelDir: MODEL, executionProvider: 'cpu', threads: 1 });
});
after(() => client.dispose());

/** mulberry32: a fixed seed, so a failure replays the same calls. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Real-looking code to type through: this repository's own sources. */
function corpus(): { path: string; text: string }[] {
  const files: { path: string; text: string }[] = [];
  for (const dir of ['src/engine', 'src/convert', 'src/host', 'src/completion']) {
    const abs = join(ROOT, dir);
    if (!existsSync(abs)) continue;
    for (const name of readdirSync(abs).sort()) {
      if (!name.endsWith('.ts')) continue;
      files.push({ path: `${dir}/${name}`, text: readFileSync(join(abs, name), 'utf8') });
    }
  }
  return files;
}

/** Resident set size of a process in KiB (Linux /proc), or null elsewhere. */
function rssKiB(pid: number): number | null {
  const file = `/proc/${pid}/status`;
  if (!existsSync(file)) return null;
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : null;
}

/** By name: the error classes' module may move; the wire's `cancelled` kind is what counts. */
const isCancellation = (e: unknown) => e instanceof Error && e.name === 'CancelledError';

const mib = (kib: number) => (kib / 1024).toFixed(1);

type Cancel = 'none' | 'immediate' | 'first-token' | 'timer';

interface Outcome {
  label: string;
  settled: boolean;
}

test(
  '2,000 completions with cancels, queueing and long prompts: nothing hangs, leaks or crashes',
  {
    timeout: DEADLINE_MS + 60_000,
  },
  async (t) => {
    const rand = rng(0x5eed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const files = corpus();
    assert.ok(files.length >= 10, 'enough source files to type through');
    const longFiles = files.filter((f) => f.text.length > 12_000);
    assert.ok(longFiles.length > 0, 'a file longer than the context');

    const pid = client.pid;
    assert.ok(pid !== undefined, 'the engine runs');
    const t0 = performance.now();
    const deadline = Date.now() + DEADLINE_MS;
    const counts = {
      complete: 0,
      encode: 0,
      score: 0,
      cancelledResult: 0,
      cancelledRejected: 0,
      reused: 0,
      missed: 0,
      fitted: 0,
      maxInFlight: 0,
    };
    const rss: { calls: number; kib: number }[] = [];
    let scoreIds: number[] = [];
    // The editor: a file, the end of the code being typed (the suffix starts there and stays while
    // the prefix grows, so the KV prefix is reused: this model's FIM order puts the suffix first)
    // and the cursor.
    let file = pick(files);
    let codeEnd = 0;
    /** Plain prompts (no FIM) in some sessions: a switch of kind misses the KV prefix too. */
    let plain = false;
    let cursor = 0;
    let issued = 0;
    let inFlight = 0;

    const nextPrompt = (): {
      prefix: string;
      suffix: string;
      path: string;
      plain: boolean;
      long: boolean;
    } => {
      const r = rand();
      if (r < 0.05) {
        // Deep into a long file: more tokens than the context holds (one call; the next moves on).
        file = pick(longFiles);
        codeEnd = Math.floor(file.text.length * (0.6 + 0.35 * rand()));
        cursor = codeEnd;
      } else if (r < 0.18 || cursor >= codeEnd) {
        // Another file, or another place: the KV prefix is missed.
        file = pick(files);
        codeEnd = 100 + Math.floor(rand() * Math.min(file.text.length - 100, 1_400));
        plain = rand() < 0.2;
        cursor = Math.max(0, codeEnd - 50 - Math.floor(rand() * 250));
      } else {
        // Typing on.
        cursor = Math.min(codeEnd, cursor + 1 + Math.floor(rand() * 20));
      }
      return {
        prefix: file.text.slice(0, cursor),
        suffix: file.text.slice(codeEnd, codeEnd + 300),
        path: file.path,
        plain,
        long: cursor > 6_000,
      };
    };

    async function completeOnce(label: string): Promise<void> {
      const p = nextPrompt();
      const maxTokens = 4 + Math.floor(rand() * 5);
      const r = rand();
      const cancel: Cancel =
        r < 0.07 ? 'immediate' : r < 0.17 ? 'first-token' : r < 0.25 ? 'timer' : 'none';
      const input = p.plain
        ? { kind: 'text' as const, prompt: p.prefix || '//' }
        : { kind: 'fim' as const, prefix: p.prefix, suffix: p.suffix, path: p.path };
      const controller = new AbortController();
      const streamed: string[] = [];
      let result: GenerationResult;
      try {
        const call = client.call(
          'complete',
          { input, options: { maxTokens, temperature: 0, topP: 1 }, slot: 'completion' },
          {
            signal: controller.signal,
            onToken: (tok) => {
              streamed.push(tok.text ?? '');
              if (cancel === 'first-token') controller.abort();
            },
          },
        );
        if (cancel === 'immediate') controller.abort();
        if (cancel === 'timer') setTimeout(() => controller.abort(), Math.floor(rand() * 15));
        result = await call;
      } catch (e) {
        // Only a cancel may reject (cancelled before it ran, or while waiting behind others).
        assert.ok(isCancellation(e), `${label}: unexpected rejection ${String(e)}`);
        assert.notEqual(cancel, 'none', `${label}: rejected as cancelled but never aborted`);
        assert.equal(streamed.length, 0, `${label}: a request answered as cancelled never runs`);
        counts.cancelledRejected++;
        return;
      }
      counts.complete++;
      assert.ok(FINISH_REASONS.has(result.finishReason), `${label}: ${result.finishReason}`);
      assert.equal(typeof result.text, 'string', `${label}: text`);
      assert.equal(result.text, streamed.join(''), `${label}: increments concatenate to the text`);
      assert.ok(streamed.length <= maxTokens, `${label}: ${streamed.length} > ${maxTokens} tokens`);
      const s = result.stats;
      assert.ok(s.promptTokens + maxTokens <= 512, `${label}: prompt fitted to the context`);
      if (cancel === 'none') {
        assert.notEqual(result.finishReason, 'cancelled', `${label}: cancelled without an abort`);
      }
      if (cancel === 'immediate') {
        assert.equal(result.finishReason, 'cancelled', `${label}: aborted at once but ran`);
      }
      if (result.finishReason === 'cancelled') counts.cancelledResult++;
      else if (s.reusedTokens >= s.promptTokens / 2) counts.reused++;
      else counts.missed++;
      if (p.long && result.fit && result.fit.prefixLinesDropped > 0) counts.fitted++;
    }

    async function encodeOrScore(label: string, score: boolean): Promise<void> {
      const text = pick(files).text.slice(0, 200 + Math.floor(rand() * 600));
      if (!score || scoreIds.length === 0) {
        const ids = await client.call('encode', { text });
        assert.ok(Array.isArray(ids) && ids.length > 0, `${label}: ids`);
        assert.ok(
          ids.every((id) => Number.isInteger(id) && id >= 0),
          `${label}: ids are token ids`,
        );
        scoreIds = ids.slice(0, 200);
        counts.encode++;
        return;
      }
      const ids = scoreIds;
      const scored = await client.call('score', { ids, fullProbs: false, slot: 'score' });
      assert.equal(scored.length, ids.length, `${label}: one entry per token`);
      assert.ok(
        scored.every((s) => s.logprob === null || Number.isFinite(s.logprob)),
        `${label}: logprobs`,
      );
      counts.score++;
    }

    while (issued < CALLS) {
      const size = Math.min(CALLS - issued, rand() < 0.7 ? 1 : 2 + Math.floor(rand() * 3));
      const outcomes: Outcome[] = [];
      const batch: Promise<void>[] = [];
      for (let i = 0; i < size; i++) {
        const label = `call ${++issued}`;
        const o: Outcome = { label, settled: false };
        outcomes.push(o);
        const r = rand();
        const run =
          r < 0.03
            ? encodeOrScore(label, false)
            : r < 0.06
              ? encodeOrScore(label, true)
              : completeOnce(label);
        inFlight++;
        counts.maxInFlight = Math.max(counts.maxInFlight, inFlight);
        batch.push(
          run.finally(() => {
            o.settled = true;
            inFlight--;
          }),
        );
      }
      let timer: NodeJS.Timeout | undefined;
      const limit = Math.min(BATCH_DEADLINE_MS, deadline - Date.now());
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const open = outcomes.filter((o) => !o.settled).map((o) => o.label);
          reject(new Error(`hang: ${open.join(', ')} unsettled after ${limit} ms`));
        }, limit);
      });
      try {
        await Promise.race([Promise.all(batch), hung]);
      } finally {
        clearTimeout(timer);
      }
      assert.equal(client.pid, pid, `the engine process was replaced by ${issued} calls`);
      const kib = rssKiB(pid);
      if (kib !== null) rss.push({ calls: issued, kib });
    }
    const seconds = (performance.now() - t0) / 1000;

    // Still serving, same process, and the client remembers no call.
    const last = await client.call('complete', {
      input: {
        kind: 'fim',
        prefix: 'function add(a: number, b: number) {\n  return ',
        suffix: '\n}\n',
      },
      options: { maxTokens: 4, temperature: 0, topP: 1 },
      slot: 'completion',
    });
    assert.notEqual(last.finishReason, 'cancelled');
    assert.equal(client.pid, pid, 'the engine never restarted');
    const pending = (client as unknown as { pending: Map<number, unknown> }).pending;
    assert.ok(pending instanceof Map, 'EngineClient keeps its calls in a `pending` map');
    assert.equal(pending.size, 0, 'no call is left pending');
    assert.deepEqual(
      logs.filter((l) => /exited|restart|exceeded/.test(l)),
      [],
      'no crash or timeout was logged',
    );

    t.diagnostic(
      `${CALLS} calls in ${seconds.toFixed(1)} s (${(CALLS / seconds).toFixed(1)} calls/s): ` +
        JSON.stringify(counts),
    );
    // The run exercised what it claims to.
    assert.ok(counts.reused > 500 && counts.missed > 100, 'KV prefix reuse and misses');
    assert.ok(counts.fitted > 20, 'prompts cut to the context');
    assert.ok(counts.cancelledResult > 20 && counts.cancelledRejected > 5, 'cancels of both kinds');
    assert.ok(counts.maxInFlight >= 3, 'several calls in flight at once');
    assert.ok(counts.encode > 10 && counts.score > 10, 'encode and score calls');

    if (rss.length === 0) {
      t.diagnostic('RSS not measured (no /proc)');
      return;
    }
    // RSS swings by tens of MiB as the engine's heaps grow and are collected (the least RSS of a
    // window of 200 calls was once 25 MiB above its neighbours'); the least RSS over 400 calls is
    // steady, and a leak raises it: 25 KiB a call adds at least 1,000 * 25 KiB = 24 MiB between
    // the two windows compared here (calls 200..600 and 1,600..2,000).
    const least = (from: number, to: number) =>
      Math.min(...rss.filter((r) => r.calls > from && r.calls <= to).map((r) => r.kib));
    const warm = least(WARMUP_CALLS, WARMUP_CALLS + RSS_WINDOW);
    const end = least(CALLS - RSS_WINDOW, CALLS);
    assert.ok(Number.isFinite(warm) && Number.isFinite(end), 'RSS sampled through the run');
    const trend: string[] = [];
    for (let c = 0; c < CALLS; c += 200) trend.push(`${c + 200}:${mib(least(c, c + 200))}`);
    t.diagnostic(`engine RSS MiB, least per 200 calls: ${trend.join(' ')}`);
    const growth = (end - warm) / 1024;
    t.diagnostic(
      `engine RSS after warm-up ${mib(warm)} MiB, at the end ${mib(end)} MiB ` +
        `(growth ${growth.toFixed(1)} MiB, bound ${MAX_RSS_GROWTH_MIB})`,
    );
    assert.ok(
      growth <= MAX_RSS_GROWTH_MIB,
      `engine RSS grew ${growth.toFixed(1)} MiB from calls ${WARMUP_CALLS}..${WARMUP_CALLS + RSS_WINDOW} to the last ${RSS_WINDOW}`,
    );
  },
);
