// The routing panel's pure helpers (src/webview/format.ts) against hand-computed values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  csvCell,
  formatActive,
  heatScale,
  loadImbalance,
  loadWarnings,
  statsToCsv,
  tokenLoads,
  visibleToken,
  xmlSafe,
} from '../../../src/webview/format';
import type { PanelToken, RoutingStats } from '../../../src/webview/protocol';

const t = (experts0: number[], experts2: number[]): PanelToken => ({
  id: 1,
  text: 'x',
  logprob: -1,
  routing: [
    { layer: 0, experts: experts0, weights: [0.5, 0.5] },
    { layer: 2, experts: experts2, weights: [0.5, 0.5] },
  ],
});

test('tokenLoads: routed-slot shares per layer, in the given layer order', () => {
  const loads = tokenLoads([t([0, 1], [3, 2]), t([0, 2], [3, 1])], [0, 2], 4);
  assert.deepEqual(loads, [
    [0.5, 0.25, 0.25, 0],
    [0, 0.25, 0.25, 0.5],
  ]);
  assert.deepEqual(tokenLoads([], [0], 2), [[0, 0]]);
});

test('imbalance and warnings: idle < 1/(4E), overloaded > 2/E', () => {
  assert.deepEqual(loadImbalance([0.25, 0.25, 0.25, 0.25]), { cv: 0, maxViolation: 0 });
  const { cv, maxViolation } = loadImbalance([0.6, 0.2, 0.2, 0]);
  assert.ok(Math.abs(cv - Math.sqrt((0.35 ** 2 + 0.05 ** 2 * 2 + 0.25 ** 2) / 4) / 0.25) < 1e-12);
  assert.ok(Math.abs(maxViolation - 1.4) < 1e-12);
  assert.deepEqual(loadWarnings(3, [0.6, 0.2, 0.2, 0]), [
    { layer: 3, expert: 0, kind: 'overloaded', load: 0.6 },
    { layer: 3, expert: 3, kind: 'idle', load: 0 },
  ]);
});

test('heatScale: surprise over its 95th percentile, clamped; null logprob = 0', () => {
  const lps = [null, ...Array.from({ length: 19 }, (_, i) => -(i + 1))];
  const h = heatScale(lps);
  assert.equal(h[0], 0);
  assert.equal(h[19], 1); // −log p = 19, the 95th percentile of 0..19 is 19
  assert.ok(Math.abs((h[1] as number) - 1 / 19) < 1e-12);
  assert.deepEqual(heatScale([null, 0]), [0, 0]);
});

test('formatting: active parameters, visible whitespace', () => {
  assert.equal(formatActive(7_088_896, 16_526_080), '7.1 M of 16.5 M (43 %)');
  assert.equal(formatActive(3.3e9, 30.5e9), '3.3 B of 30.5 B (11 %)');
  assert.equal(visibleToken(' a\n\tb'), '·a⏎→b');
  assert.equal(visibleToken(''), '∅');
});

test('statsToCsv: one row per layer and expert, class and language columns', () => {
  const stats: RoutingStats = {
    model: 'm',
    files: 1,
    tokens: 2,
    tokensPerSecond: 10,
    experts: 2,
    topK: 1,
    layers: [
      {
        layer: 0,
        load: [0.75, 0.25],
        cv: 0.5,
        maxViolation: 0.5,
        meanEntropy: 0.1,
        topKMass: 0.9,
        repeatTop1: 1,
        repeatTop1Chance: 0.625,
        coactivation: [
          [1, 0],
          [0, 1],
        ],
        classShares: { keyword: [1, 0], 'a,b': [0.5, 0.5] },
        languageShares: { python: [0.75, 0.25] },
        vocabulary: [],
      },
    ],
  };
  assert.equal(
    statsToCsv(stats),
    'layer,expert,load,cv,maxViolation,meanEntropy,topKMass,repeatTop1,repeatTop1Chance,' +
      '"class:a,b",class:keyword,language:python\n' +
      '0,0,0.750000,0.500000,0.500000,0.100000,0.900000,1,0.625000,0.500000,1,0.750000\n' +
      '0,1,0.250000,0.500000,0.500000,0.100000,0.900000,1,0.625000,0.500000,0,0.250000\n',
  );
});

test('csvCell: quotes separators, and a text a spreadsheet would run as a formula', () => {
  assert.equal(csvCell('keyword'), 'keyword');
  assert.equal(csvCell('a,"b"'), '"a,""b"""');
  assert.equal(csvCell('a\rb'), '"a\rb"');
  for (const f of ['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1', '=HYPERLINK("x")']) {
    assert.equal(csvCell(f), `"'${f.replace(/"/g, '""')}"`, JSON.stringify(f));
  }
  // Numbers are ours: a negative one stays a number.
  assert.equal(csvCell(-0.5), '-0.500000');
  assert.equal(csvCell(-3), '-3');
});

test('xmlSafe: characters XML forbids become U+FFFD, everything else stays', () => {
  assert.equal(xmlSafe('a\u0000b\u001fc\ufffe'), 'a\ufffdb\ufffdc\ufffd');
  assert.equal(xmlSafe('\ud800x\udfff'), '\ufffdx\ufffd');
  const kept = 'tab\tLF\nCR\r <&> \u202e \u{1f600} é';
  assert.equal(xmlSafe(kept), kept);
});
