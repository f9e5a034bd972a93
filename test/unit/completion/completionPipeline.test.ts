// The completion pipeline end to end with the REAL engine in-process (models/tiny-test: a tiny
// random Qwen3-MoE with a real tokenizer and FIM tokens, so its text is noise but every rule
// applies), plus a few cases on a scripted engine where exact text matters.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Engine } from '../../../src/engine/engine';
import { CancelledError } from '../../../src/format/errors';
import type { GeneratedToken, GenerationResult } from '../../../src/engine/generate';
import {
  CompletionPipeline,
  DEFAULT_COMPLETION_SETTINGS,
  engineClientAdapter,
  tokensInRange,
  type CompletionEngine,
  type CompletionRequest,
  type CompletionSettings,
  type PipelineEvent,
} from '../../../src/completion/pipeline';
import { inProcessEngine } from '../../../src/completion/inProcessEngine';

const MODEL = join(__dirname, '..', '..', '..', 'models', 'tiny-test');
let engine: Engine;

before(async () => {
  engine = await Engine.open(MODEL, { executionProvider: 'cpu', threads: 1 });
});
after(async () => {
  await engine.dispose();
});

/** Counts engine calls, records inputs, and lets a test wait until no call is running. */
function counting(inner: () => CompletionEngine, onToken?: (t: GeneratedToken, n: number) => void) {
  const running = new Set<Promise<unknown>>();
  const c = {
    calls: 0,
    tokens: 0,
    params: [] as Parameters<CompletionEngine['complete']>[0][],
    engine: {
      complete(params, opts) {
        c.calls++;
        c.params.push(params);
        let n = 0;
        const p = inner().complete(params, {
          ...opts,
          onToken: (t) => {
            c.tokens++;
            opts.onToken?.(t);
            onToken?.(t, ++n);
          },
        });
        running.add(p);
        void p.finally(() => running.delete(p)).catch(() => {});
        return p;
      },
    } as CompletionEngine,
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
  return c;
}

const settings =
  (over: Partial<CompletionSettings> = {}) =>
  () => ({
    ...DEFAULT_COMPLETION_SETTINGS,
    debounceMs: 0,
    // The tiny random model is never confident; the gate has tests of its own.
    minConfidence: -100,
    ...over,
  });

const DOC = [
  "import { readFileSync } from 'node:fs';",
  '',
  'export function add(a: number, b: number): number {',
  '  const s = a + b;',
  '  return s;',
  '}',
  '',
  ...Array.from({ length: 40 }, (_, i) => `export const value${i} = add(${i}, ${i + 1});`),
  'const total = ',
  '',
  'console.log(total);',
  '',
].join('\n');

function req(
  text: string,
  offset: number,
  more: Partial<CompletionRequest> = {},
): CompletionRequest {
  return {
    uri: 'file:///w/a.ts',
    path: '/w/a.ts',
    languageId: 'typescript',
    text,
    offset,
    ...more,
  };
}

/** The document with `typed` inserted at `offset`, and the request after it. */
function type(r: CompletionRequest, typed: string): CompletionRequest {
  return {
    ...r,
    text: r.text.slice(0, r.offset) + typed + r.text.slice(r.offset),
    offset: r.offset + typed.length,
  };
}

const AT_TOTAL = DOC.indexOf('const total = ') + 'const total = '.length;

test('a request returns a model suggestion that follows the single-line rules', async () => {
  const c = counting(() => inProcessEngine(engine));
  const p = new CompletionPipeline(c.engine, settings());
  const s = await p.complete(req(DOC, AT_TOTAL));
  assert.ok(s, 'a suggestion');
  assert.equal(s.source, 'model');
  assert.ok(s.text.trim().length > 0);
  assert.ok(!s.text.includes('\n'), 'single-line');
  assert.equal(s.text, s.text.trimEnd());
  assert.ok(s.tokens.length > 0);
  assert.ok(
    s.tokens
      .map((t) => t.text)
      .join('')
      .startsWith(s.text),
    'tokens cover the text',
  );
  assert.ok(
    s.tokens.every((t) => t.routing.length > 0),
    'tokens carry routing',
  );
  assert.ok(s.stats && s.stats.promptTokens > 0);
  assert.equal(c.params[0]?.slot, 'completion');
  assert.equal(c.params[0]?.input.kind, 'fim');
  assert.deepEqual(c.params[0]?.options.stop, ['\n']);
  await c.idle();
});

test('an identical request is a cache hit without an engine call', async () => {
  const c = counting(() => inProcessEngine(engine));
  const p = new CompletionPipeline(c.engine, settings());
  const first = await p.complete(req(DOC, AT_TOTAL));
  const second = await p.complete(req(DOC, AT_TOTAL));
  assert.equal(c.calls, 1);
  assert.equal(second?.source, 'cache');
  assert.equal(second?.text, first?.text);
  assert.deepEqual(second?.tokens, first?.tokens);
  await c.idle();
});

test('typing the start of the suggestion is served typed-through, without the model', async () => {
  const c = counting(() => inProcessEngine(engine));
  const p = new CompletionPipeline(c.engine, settings());
  const r0 = req(DOC, AT_TOTAL);
  const s = await p.complete(r0);
  assert.ok(s && s.text.length >= 3);
  let r = r0;
  for (let k = 1; k <= 2; k++) {
    r = type(r, s.text[k - 1] as string);
    const t = await p.complete(r);
    assert.equal(t?.source, 'typed-through');
    assert.equal(t?.text, s.text.slice(k));
    assert.deepEqual(t?.tokens, tokensInRange(s.tokens, k, s.text.length));
  }
  assert.equal(c.calls, 1);
  await c.idle();
});

test('consecutive keystrokes within a chunk reuse the KV prefix (≥ 80% of prompt tokens)', async () => {
  const c = counting(() => inProcessEngine(engine));
  const p = new CompletionPipeline(c.engine, settings());
  const gens: PipelineEvent[] = [];
  p.onEvent = (e) => {
    if (e.type === 'generation') gens.push(e);
  };
  let r = req(DOC, AT_TOTAL);
  const s = await p.complete(r);
  for (const ch of ['x', ' ']) {
    // a character the suggestion does not start with, so the model runs again
    const typed = s?.text.startsWith(ch) ? 'Q' : ch;
    r = type(r, typed);
    await p.complete(r);
  }
  assert.equal(c.calls, 3);
  for (const e of gens.slice(1)) {
    assert.ok(e.type === 'generation' && e.stats);
    const ratio = e.stats.reusedTokens / e.stats.promptTokens;
    assert.ok(ratio >= 0.8, `reused ${e.stats.reusedTokens}/${e.stats.promptTokens}`);
  }
  await c.idle();
});

test('abort: the request resolves null at once and the engine stops within a step', async () => {
  const controller = new AbortController();
  let abortedAt = 0;
  const c = counting(
    () => inProcessEngine(engine),
    (_t, n) => {
      if (n === 3) {
        abortedAt = performance.now();
        controller.abort();
      }
    },
  );
  const p = new CompletionPipeline(
    c.engine,
    settings({ maxTokens: 100_000, maxTimeMs: 0 }),
    () => {},
    { reuseGraceMs: 0 },
  );
  const text = 'function f(a: number) {\n\n}\n';
  const offset = text.indexOf('{') + 1; // after an opener: multi-line, maxTokens budget
  const s = await p.complete(req(text, offset, { signal: controller.signal }));
  const resolvedIn = performance.now() - abortedAt;
  assert.equal(s, null);
  assert.ok(resolvedIn < 200, `resolved ${resolvedIn.toFixed(0)} ms after abort`);
  await c.idle();
  assert.ok(c.tokens < 10, `engine stopped after ${c.tokens} tokens`);
  // an already aborted request never reaches the engine
  const again = await p.complete(req(text, offset, { signal: AbortSignal.abort() }));
  assert.equal(again, null);
  assert.equal(c.calls, 1);
});

test('abort with the default grace: the generation stops shortly after its last waiter left', async () => {
  const controller = new AbortController();
  const c = counting(
    () => inProcessEngine(engine),
    (_t, n) => {
      if (n === 2) controller.abort();
    },
  );
  const p = new CompletionPipeline(c.engine, settings({ maxTokens: 100_000, maxTimeMs: 0 }));
  const text = 'function f(a: number) {\n\n}\n';
  assert.equal(
    await p.complete(req(text, text.indexOf('{') + 1, { signal: controller.signal })),
    null,
  );
  await c.idle();
  assert.ok(c.tokens < 1000, 'stopped well before the token budget');
});

test('debounce: a newer request supersedes a waiting one, which never runs the model', async () => {
  const c = counting(() => inProcessEngine(engine));
  const p = new CompletionPipeline(c.engine, settings({ debounceMs: 40 }));
  const events: PipelineEvent[] = [];
  p.onEvent = (e) => events.push(e);
  const r1 = req(DOC, AT_TOTAL);
  const first = p.complete(r1);
  const second = p.complete(type(r1, 'Q'));
  assert.equal(await first, null);
  assert.ok(await second);
  assert.equal(c.calls, 1);
  assert.ok(events.some((e) => e.type === 'debounce' && e.requestId === 1 && e.superseded));
  await c.idle();
});

test('explicit requests skip the debounce', async () => {
  const c = counting(() => inProcessEngine(engine));
  const p = new CompletionPipeline(c.engine, settings({ debounceMs: 10_000 }));
  const events: PipelineEvent[] = [];
  p.onEvent = (e) => events.push(e);
  const s = await p.complete(req(DOC, AT_TOTAL, { explicit: true }));
  assert.ok(s);
  assert.ok(!events.some((e) => e.type === 'debounce'));
  await c.idle();
});

test('secret files and text after the cursor: no suggestion, no engine call', async () => {
  const c = counting(() => inProcessEngine(engine));
  const p = new CompletionPipeline(c.engine, settings());
  const skips: string[] = [];
  p.onEvent = (e) => {
    if (e.type === 'skip') skips.push(e.reason);
  };
  assert.equal(
    await p.complete(req('API_KEY=', 8, { uri: 'file:///w/.env', path: '/w/.env' })),
    null,
  );
  const mid = 'const a = b;\n';
  assert.equal(await p.complete(req(mid, 6)), null);
  assert.equal(c.calls, 0);
  assert.match(skips[0] ?? '', /secret/);
  assert.match(skips[1] ?? '', /text follows/);
});

test('accepted(): the next suggestion is precomputed; the request after accepting uses it', async () => {
  const c = counting(() => inProcessEngine(engine));
  const p = new CompletionPipeline(c.engine, settings());
  const r0 = req(DOC, AT_TOTAL);
  const s = await p.complete(r0);
  assert.ok(s);
  const speculative: PipelineEvent[] = [];
  p.onEvent = (e) => {
    if (e.type === 'generation' && e.speculative) speculative.push(e);
  };
  p.accepted(r0, s.text);
  const next = await p.complete(type(r0, s.text));
  assert.equal(c.calls, 2, 'one engine call: the speculative one');
  assert.equal(speculative.length, 1);
  if (next) assert.ok(next.source === 'model' || next.source === 'cache');
  await c.idle();
});

// --- scripted engine -----------------------------------------------------------------------------

/** Streams `pieces` one per `stepMs`, honouring the signal like the real engine. */
function scripted(
  pieces: string[],
  stepMs = 0,
  o: { finish?: GenerationResult['finishReason']; logprob?: number } = {},
): CompletionEngine {
  return {
    async complete(_params, opts): Promise<GenerationResult> {
      let text = '';
      let finishReason: GenerationResult['finishReason'] = o.finish ?? 'length';
      for (const [i, piece] of pieces.entries()) {
        if (stepMs > 0) await new Promise((r) => setTimeout(r, stepMs));
        if (opts.signal?.aborted) {
          finishReason = 'cancelled';
          break;
        }
        text += piece;
        opts.onToken?.({ id: i, text: piece, logprob: o.logprob ?? -1, routing: [] });
      }
      const stats = {
        promptTokens: 10,
        reusedTokens: 9,
        prefillMs: 1,
        timeToFirstTokenMs: 1,
        decodeTokens: pieces.length,
        decodeTokensPerSecond: 1,
        executionProvider: 'cpu',
        peakRssMb: 1,
      };
      return { text, finishReason, stats };
    },
  };
}

test('scripted: postprocessing trims closers the suffix already has; tokens match the text', async () => {
  const p = new CompletionPipeline(scripted(['a', ', ', 'b', ');', ' // x']), settings());
  const s = await p.complete(req('call();\n', 5));
  assert.equal(s?.text, 'a, b');
  assert.deepEqual(
    s?.tokens.map((t) => t.text),
    ['a', ', ', 'b'],
  );
});

test('scripted: multi-line stops the engine as soon as the block has ended', async () => {
  const c = counting(() => scripted(['\n', '  return', ' 1;', '\n', '}', '\n', 'next', '()', ';']));
  const p = new CompletionPipeline(c.engine, settings());
  const s = await p.complete(req('function f() {\n', 14));
  assert.equal(s?.text, '\n  return 1;\n}');
  assert.ok(c.tokens < 9, `stopped after ${c.tokens} tokens`);
});

test('scripted: on a fresh empty line in a block the model must write something first', async () => {
  const c = counting(() => scripted(['return 1;']));
  const p = new CompletionPipeline(c.engine, settings());
  await p.complete(req('function f() {\n  \n}\n', 17)); // the cursor on the empty line
  assert.equal(c.params[0]?.options.minTokens, 1);
  await p.complete(req('const s = \n', 10)); // single line: may end at once
  assert.equal(c.params[1]?.options.minTokens, undefined);
});

test('scripted: a request typed through a running generation shares it', async () => {
  const c = counting(() => scripted(['hel', 'lo', ' wor', 'ld'], 30));
  const p = new CompletionPipeline(c.engine, settings(), () => {}, { reuseGraceMs: 200 });
  const r0 = req('const s = \n', 10);
  const c0 = new AbortController();
  const first = p.complete({ ...r0, signal: c0.signal });
  await new Promise((r) => setTimeout(r, 45)); // 'hel' streamed
  c0.abort(); // the editor cancels the old request when the user types
  const second = await p.complete(type(r0, 'h'));
  assert.equal(await first, null);
  assert.equal(second?.source, 'typed-through');
  assert.equal(second?.text, 'ello world');
  assert.equal(c.calls, 1);
});

test('scripted: extra files (not secret, not the current file) lead the prompt', async () => {
  const c = counting(() => scripted(['x']));
  const p = new CompletionPipeline(c.engine, settings());
  await p.complete(
    req('const a = \n', 10, {
      extraFiles: [
        { path: '/w/b.ts', text: 'export const b = 1;\n' },
        { path: '/w/.env', text: 'TOKEN=abc\n' },
        { path: '/w/a.ts', text: 'self' },
      ],
    }),
  );
  const input = c.params[0]?.input;
  assert.ok(input?.kind === 'fim');
  assert.deepEqual(input.extra, [{ path: '/w/b.ts', text: 'export const b = 1;\n' }]);
  const off = new CompletionPipeline(c.engine, settings({ extraContext: false }));
  await off.complete(req('const z = \n', 10, { extraFiles: [{ path: '/w/b.ts', text: 'b' }] }));
  const input2 = c.params[1]?.input;
  assert.ok(input2?.kind === 'fim' && input2.extra === undefined);
});

test('scripted: the workspace-relative path goes to the engine as the file header', async () => {
  const c = counting(() => scripted(['x']));
  const p = new CompletionPipeline(c.engine, settings());
  await p.complete(req('const a = \n', 10, { displayPath: 'src/a.ts' }));
  const input = c.params[0]?.input;
  assert.ok(input?.kind === 'fim');
  assert.equal(input.path, 'src/a.ts');
});

test('the engine prompt: extra files, then <|file_sep|>path, then the FIM sections', () => {
  const tok = engine.requireTokenizer();
  const sep = tok.tokenId('<|file_sep|>');
  assert.ok(sep !== undefined, 'tiny-test has a file separator');
  const fim = engine.promptIds({ kind: 'fim', prefix: 'a', suffix: 'b' });
  const withPath = engine.promptIds({ kind: 'fim', prefix: 'a', suffix: 'b', path: 'src/x.ts' });
  const header = [sep, ...tok.encodeOrdinary('src/x.ts\n')];
  assert.deepEqual(withPath, [...header, ...fim]);
  const extra = [{ path: 'src/y.ts', text: 'y' }];
  const all = engine.promptIds({ kind: 'fim', prefix: 'a', suffix: 'b', path: 'src/x.ts', extra });
  assert.deepEqual(all, [sep, ...tok.encodeOrdinary('src/y.ts\ny'), ...header, ...fim]);
});

test('scripted: engine errors reject the request and are not cached', async () => {
  let fail = true;
  const flaky: CompletionEngine = {
    async complete(params, opts) {
      if (fail) throw new Error('engine process exited');
      return scripted(['ok']).complete(params, opts);
    },
  };
  const p = new CompletionPipeline(flaky, settings());
  await assert.rejects(p.complete(req('x = \n', 4)), /exited/);
  fail = false;
  assert.equal((await p.complete(req('x = \n', 4)))?.text, 'ok');
});

test('engineClientAdapter forwards to EngineClient.call("complete"); cancellation maps to null', async () => {
  const seen: unknown[] = [];
  const client = {
    async call(method: string, params: unknown, opts: { signal?: AbortSignal }) {
      seen.push(method, params);
      if (opts.signal?.aborted) throw new CancelledError();
      if (method === 'checkSyntax') {
        return { method: 'none', errorsBefore: 0, errorsAfter: 0, ok: true };
      }
      return scripted(['1']).complete(params as never, opts);
    },
  };
  const p = new CompletionPipeline(engineClientAdapter(client as never), settings());
  assert.equal((await p.complete(req('x = \n', 4)))?.text, '1');
  assert.equal(seen[0], 'complete');
});

// --- budgets, the gate, the boundary at the cursor (issue: completions a user keeps) ----------

/** Counts engine calls of a scripted engine; `verdict` answers the syntax check. */
function withSyntax(
  inner: CompletionEngine,
  verdict: (q: { insert: string }) => boolean,
): CompletionEngine & { calls: number; checks: string[] } {
  const e = {
    calls: 0,
    checks: [] as string[],
    complete: (
      params: Parameters<CompletionEngine['complete']>[0],
      opts: Parameters<CompletionEngine['complete']>[1],
    ) => {
      e.calls++;
      return inner.complete(params, opts);
    },
    checkSyntax: async (q: { insert: string }) => {
      e.checks.push(q.insert);
      const ok = verdict(q);
      return { method: 'parser' as const, errorsBefore: 0, errorsAfter: ok ? 0 : 1, ok };
    },
  };
  return e;
}

function reasons(p: CompletionPipeline): { none: string[]; discarded: string[] } {
  const r = { none: [] as string[], discarded: [] as string[] };
  p.onEvent = (e) => {
    if (e.type === 'none') r.none.push(e.code);
    if (e.type === 'generation' && e.discarded) r.discarded.push(e.discarded);
  };
  return r;
}

test('budgets: out of time with nothing worth showing is not cached; the spot is asked again', async () => {
  const e = withSyntax(scripted(['='], 0, { finish: 'time' }), () => true);
  const p = new CompletionPipeline(e, settings());
  const r = reasons(p);
  assert.equal(await p.complete(req('x = \n', 4)), null);
  assert.deepEqual(r.none, ['timeout']);
  assert.equal(await p.complete(req('x = \n', 4)), null);
  assert.equal(e.calls, 2, 'no "no suggestion" was cached');
});

test('budgets: out of time, the tokens so far are shown when they pass the gate', async () => {
  const e = withSyntax(scripted(['this', '.a'], 0, { finish: 'time' }), () => true);
  const p = new CompletionPipeline(e, settings());
  assert.equal((await p.complete(req('x = \n', 4)))?.text, 'this.a');
});

test('gate: a suggestion below the confidence threshold is dropped with its reason', async () => {
  const e = withSyntax(scripted(['a', 'b'], 0, { logprob: -3 }), () => true);
  const p = new CompletionPipeline(e, settings({ minConfidence: -2 }));
  const r = reasons(p);
  assert.equal(await p.complete(req('x = \n', 4)), null);
  assert.match(r.discarded[0] ?? '', /low confidence \(mean log p -3\.00 < -2\)/);
  assert.deepEqual(e.checks, [], 'no syntax check for a dropped suggestion');
  // A finished generation's verdict is cached: the same spot does not ask the model again.
  assert.equal(await p.complete(req('x = \n', 4)), null);
  assert.equal(e.calls, 1);
  assert.deepEqual(r.none, ['low-confidence', 'low-confidence']);
  const sure = new CompletionPipeline(
    withSyntax(scripted(['a'], 0, { logprob: -0.5 }), () => true),
    settings({ minConfidence: -2 }),
  );
  const s = await sure.complete(req('x = \n', 4));
  assert.equal(s?.text, 'a');
  assert.equal(s?.confidence, -0.5);
});

test('gate: a suggestion that adds a parse error is dropped; the check sees the window', async () => {
  const e = withSyntax(scripted(['foo(', ')', ')']), (q) => !q.insert.endsWith('))'));
  const p = new CompletionPipeline(e, settings());
  const r = reasons(p);
  const s = await p.complete(req('x = \n', 4));
  assert.equal(s?.text, 'foo()', 'the bracket rule cut the stray closer first');
  const bad = new CompletionPipeline(
    withSyntax(scripted(['1 +']), () => false),
    settings(),
  );
  const rb = reasons(bad);
  assert.equal(await bad.complete(req('x = \n', 4)), null);
  assert.match(rb.discarded[0] ?? '', /breaks the code \(parse errors 0 → 1\)/);
  assert.deepEqual(r.discarded, []);
});

test('boundary: after `x = ` the suggestion never starts with a space or repeats the `=`', async () => {
  const spaced = new CompletionPipeline(
    withSyntax(scripted([' this', '.a;']), () => true),
    settings(),
  );
  assert.equal((await spaced.complete(req('x = \n', 4)))?.text, 'this.a;');
  const repeated = new CompletionPipeline(
    withSyntax(scripted(['= this', '.a;']), () => true),
    settings(),
  );
  const r = reasons(repeated);
  assert.equal(await repeated.complete(req('x = \n', 4)), null);
  assert.match(r.discarded[0] ?? '', /repeats the operator/);
  const noName = new CompletionPipeline(
    withSyntax(scripted(['= options']), () => true),
    settings(),
  );
  const rn = reasons(noName);
  assert.equal(await noName.complete(req('const \n', 6)), null);
  assert.match(rn.discarded[0] ?? '', /no name after the declaration keyword/);
});

test('boundary: a block body starts at the cursor column, so the first Tab accepts', async () => {
  // The editor indented the fresh line by 2; the model wrote its body 2 deeper.
  const text = 'function f(a) {\n  \n}\n';
  const at = text.indexOf('\n  \n') + 3;
  const e = withSyntax(scripted(['  const b = a;', '\n    return b;', '\n}']), () => true);
  const p = new CompletionPipeline(e, settings());
  const s = await p.complete(req(text, at));
  assert.equal(s?.text, 'const b = a;\n  return b;');
  assert.equal(
    s?.tokens
      .map((t) => t.text)
      .join('')
      .includes('const b'),
    true,
  );
});

test('the model context sizes the window; setModel clears what the old model suggested', async () => {
  const c = counting(() => scripted(['x']));
  const p = new CompletionPipeline(c.engine, settings());
  const text = Array.from({ length: 600 }, (_, i) => `const v${i} = ${i};`).join('\n') + '\nx = ';
  await p.complete(req(text, text.length));
  const wide = c.params[0]?.input;
  p.setModel({ contextLength: 256 });
  await p.complete(req(text, text.length));
  const narrow = c.params[1]?.input;
  assert.ok(wide?.kind === 'fim' && narrow?.kind === 'fim');
  assert.ok(narrow.prefix.length <= 256 * 6 * 0.75, `prefix ${narrow.prefix.length} chars`);
  assert.ok(narrow.prefix.length < wide.prefix.length);
  assert.equal(c.calls, 2, 'the cache was cleared with the model change');
});

test('gate: a block is shown up to its first low-confidence line', async () => {
  const text = 'function f(a) {\n  \n}\n';
  const at = text.indexOf('\n  \n') + 3;
  const sure = scripted(['const b = a;', '\n  return b;'], 0, { logprob: -0.5 });
  const unsure = scripted(['\n  zork(b);'], 0, { logprob: -4 });
  const both: CompletionEngine = {
    async complete(params, opts) {
      const tokens: Parameters<NonNullable<typeof opts.onToken>>[0][] = [];
      const collect = { ...opts, onToken: (t: (typeof tokens)[number]) => tokens.push(t) };
      await sure.complete(params, collect);
      await unsure.complete(params, collect);
      for (const t of tokens) opts.onToken?.(t);
      return { ...(await sure.complete(params, {})), text: tokens.map((t) => t.text).join('') };
    },
  };
  const p = new CompletionPipeline(
    withSyntax(both, () => true),
    settings({ minConfidence: -1 }),
  );
  const s = await p.complete(req(text, at));
  assert.equal(s?.text, 'const b = a;\n  return b;');
});
