// Status bar text and tooltip: states (disabled, loading, error, idle, ready), parameter counts,
// latency formatting for model runs and cache hits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelInfo } from '../../../src/engine/engine';
import {
  formatCount,
  formatLatency,
  formatMs,
  fitNote,
  lastFromSuggestion,
  nextActivity,
  statusView,
  type Activity,
} from '../../../src/vscode/core/statusFormat';

const INFO: ModelInfo = {
  architecture: 'Qwen3MoeForCausalLM',
  layers: 24,
  moeLayers: Array.from({ length: 24 }, (_, i) => i),
  experts: 64,
  topK: 4,
  sharedExperts: 0,
  totalParams: 2_410_000_000,
  activeParamsPerToken: 310_000_000,
  dtype: 'int4',
  executionProvider: 'cpu',
  fim: { order: 'psm' },
  contextLength: 512,
  chat: false,
};

test('formatCount and formatMs', () => {
  assert.equal(formatCount(950), '950');
  assert.equal(formatCount(1234), '1.2k');
  assert.equal(formatCount(12_345), '12.3k');
  assert.equal(formatCount(310_000_000), '310M');
  assert.equal(formatCount(2_410_000_000), '2.4B');
  assert.equal(formatMs(83.6), '84 ms');
  assert.equal(formatMs(12_500), '12.5 s');
});

test('latency of a model run: prefill, first token, total, tokens/s', () => {
  const last = lastFromSuggestion({
    source: 'model',
    latencyMs: 120,
    tokens: [1, 2, 3],
    stats: { prefillMs: 40, timeToFirstTokenMs: 55, decodeTokensPerSecond: 31.25 },
  });
  assert.equal(
    formatLatency(last),
    'prefill 40 ms · first token 55 ms · total 120 ms · 31.3 tok/s',
  );
});

test('latency of cache and type-through hits has no model stats', () => {
  const cache = lastFromSuggestion({ source: 'cache', latencyMs: 1.2, tokens: [1] });
  assert.equal(formatLatency(cache), 'cache hit · 1 ms');
  const typed = lastFromSuggestion({
    source: 'typed-through',
    latencyMs: 0.4,
    tokens: [],
    stats: { prefillMs: 1, timeToFirstTokenMs: 1, decodeTokensPerSecond: 1 },
  });
  assert.equal(formatLatency(typed), 'typed through · 0 ms');
});

test('ready: model name, provider, active vs total parameters, experts, last latency', () => {
  const v = statusView({
    enabled: true,
    engine: { kind: 'ready', modelDir: '/m/coder-moe-int4', info: INFO, loadMs: 900 },
    last: {
      source: 'model',
      latencyMs: 84,
      prefillMs: 30,
      firstTokenMs: 40,
      tokensPerSecond: 20,
      tokens: 5,
    },
  });
  assert.equal(v.kind, 'ready');
  assert.equal(v.text, '$(sparkle) coder-moe-int4 84 ms');
  assert.match(v.tooltip, /Execution provider: cpu/);
  assert.match(v.tooltip, /310M active \/ 2\.4B total per token \(13%\)/);
  assert.match(v.tooltip, /top-4 of 64 in 24 of 24 layers/);
  assert.match(v.tooltip, /prefill 30 ms · first token 40 ms · total 84 ms · 20\.0 tok\/s/);
});

test('disabled wins over every engine state; loading, error and idle have their own icons', () => {
  const ready = { kind: 'ready' as const, modelDir: '/m/x', info: INFO, loadMs: 1 };
  assert.equal(statusView({ enabled: false, engine: ready }).kind, 'disabled');
  assert.match(statusView({ enabled: false, engine: ready }).text, /^\$\(circle-slash\)/);
  const loading = statusView({ enabled: true, engine: { kind: 'loading', modelDir: '/m/x' } });
  assert.equal(loading.kind, 'loading');
  assert.match(loading.text, /^\$\(loading~spin\)/);
  const error = statusView({ enabled: true, engine: { kind: 'error', message: '/m: not found' } });
  assert.equal(error.kind, 'error');
  assert.match(error.tooltip, /Error: \/m: not found/);
  const idle = statusView({ enabled: true, engine: { kind: 'unloaded' } });
  assert.equal(idle.kind, 'idle');
  assert.match(idle.tooltip, /loads on first use/);
  const unloaded = statusView({
    enabled: true,
    engine: { kind: 'unloaded', reason: 'idle for 5 min' },
  });
  assert.match(unloaded.tooltip, /Model unloaded \(idle for 5 min\)/);
});

test('a language turned off is mentioned', () => {
  const v = statusView({
    enabled: true,
    languageEnabled: false,
    languageId: 'markdown',
    engine: { kind: 'unloaded' },
  });
  assert.match(v.tooltip, /Off for `markdown`/);
});

test('the status says why: thinking, no confident suggestion, error, a cut file; latency only when shown', () => {
  const ready = { kind: 'ready' as const, modelDir: '/m/moe-lens-code', info: INFO, loadMs: 5 };
  const last = { source: 'model' as const, latencyMs: 140, tokens: 3 };
  let a: Activity = { kind: 'idle' };
  a = nextActivity(a, { type: 'debounce', requestId: 1, delayMs: 75, superseded: false });
  assert.equal(a.kind, 'thinking');
  assert.match(
    statusView({ enabled: true, engine: ready, last, activity: a }).text,
    /loading~spin/,
  );
  a = nextActivity(a, {
    type: 'none',
    requestId: 1,
    code: 'low-confidence',
    reason: 'low confidence (mean log p -2.10 < -1.5)',
  });
  const none = statusView({ enabled: true, engine: ready, last, activity: a });
  assert.equal(none.text, '$(sparkle) moe-lens-code · no confident suggestion');
  assert.doesNotMatch(none.text, /140 ms/, 'no stale latency when nothing was shown');
  assert.match(none.tooltip, /No suggestion: low confidence/);
  // Speculative tokens and skips do not change what the user sees.
  const same = nextActivity(a, {
    type: 'token',
    requestId: 2,
    speculative: true,
    token: { id: 1, text: 'x', logprob: 0, routing: [] },
  });
  assert.equal(same, a);
  a = nextActivity(a, { type: 'error', requestId: 3, message: 'engine process exited' });
  assert.match(statusView({ enabled: true, engine: ready, activity: a }).text, /warning.*error/);
  a = nextActivity(a, {
    type: 'suggestion',
    requestId: 4,
    suggestion: {
      text: 'x',
      source: 'model',
      latencyMs: 90,
      debounceMs: 75,
      tokens: [],
      confidence: 0,
      requestId: 4,
    },
  });
  const note = fitNote({
    budget: 446,
    promptTokens: 440,
    prefixLinesDropped: 2980,
    prefixLinesKept: 24,
    suffixLinesDropped: 0,
    extraFilesCut: 0,
  });
  assert.equal(note, 'file too long for this model: using the last 24 lines');
  const shown = statusView({ enabled: true, engine: ready, last, activity: a, fitNote: note });
  assert.equal(shown.text, '$(sparkle) moe-lens-code 140 ms');
  assert.match(shown.tooltip, /file too long for this model: using the last 24 lines/);
});
