// The real built routing panel script (media/panel.js, `npm run build`) in a real DOM (jsdom),
// fed hostile data: token texts and the names of files, models, token classes and languages come
// from the model and the workspace, so they are arbitrary text, and a message may have the wrong
// shape. None of it may become markup or script, throw an uncaught error or leave the panel
// broken, turn into a spreadsheet formula in the CSV export or make the SVG export unparseable.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { JSDOM, VirtualConsole, type DOMWindow } from 'jsdom';
import { panelHtml } from '../../../src/vscode/core/panelHtml';
import { visibleToken } from '../../../src/webview/format';
import type {
  Analysis,
  LayerStats,
  LiveCompletion,
  PanelModel,
  PanelToken,
  RoutingStats,
} from '../../../src/webview/protocol';
import { ROOT } from '../cliHelpers';

const PANEL_JS = join(ROOT, 'media', 'panel.js');
/** What the webview bundle is built from (src/webview imports src/analysis). */
const PANEL_SOURCES = [join(ROOT, 'src', 'webview'), join(ROOT, 'src', 'analysis')];

const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  '</script><script>window.__pwned=1</script>',
  'javascript:alert(1)',
  '"><svg onload="window.__pwned=1">',
  '\'><iframe srcdoc="<script>parent.__pwned=1</script>">',
  '<a href="javascript:window.__pwned=1">x</a>',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '\u202egnp.exe',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '',
  '{{x}}',
  '${window.__pwned=1}',
  '&lt;b&gt; &amp;',
  ' \t\n\r',
  '=HYPERLINK("http://evil.example","x")',
  '+1+1',
  '-1+1',
  '@SUM(A1)',
  'a,"b"\r\n=1+1',
  'cr\r@SUM(A1)',
  'x'.repeat(100_000),
];

interface Panel {
  window: DOMWindow;
  app: HTMLElement;
  /** What the script posted to the host, structured-cloned as VS Code does. */
  posted: { type: string; [k: string]: unknown }[];
  /** Uncaught errors (window 'error' events, jsdom's virtual console). */
  errors: string[];
  send(data: unknown): void;
}

/** The host's HTML shell with the built script run in it, as the webview runs it. */
function openPanel(): Panel {
  const errors: string[] = [];
  const virtualConsole = new VirtualConsole();
  virtualConsole.on('jsdomError', (e) => errors.push(`jsdomError: ${e.message}`));
  virtualConsole.on('error', (...a: unknown[]) => errors.push(`console.error: ${a.join(' ')}`));
  const html = panelHtml({
    cspSource: 'https://x.vscode-cdn.net',
    scriptUri: 'https://x.vscode-cdn.net/ext/media/panel.js',
    styleUri: 'https://x.vscode-cdn.net/ext/media/panel.css',
    nonce: 'n0nce',
  });
  const { window } = new JSDOM(html, { runScripts: 'outside-only', virtualConsole });
  window.addEventListener('error', (e) => errors.push(`error event: ${e.message}`));
  const posted: Panel['posted'] = [];
  let acquired = 0;
  let saved: unknown;
  Object.assign(window, {
    acquireVsCodeApi: () => {
      // VS Code allows one call per webview.
      if (acquired++ > 0) throw new Error('acquireVsCodeApi called twice');
      return {
        postMessage: (m: unknown) => posted.push(structuredClone(m) as Panel['posted'][number]),
        getState: () => saved,
        setState: (s: unknown) => (saved = s),
      };
    },
  });
  window.eval(readFileSync(PANEL_JS, 'utf8'));
  const app = window.document.getElementById('app');
  assert.ok(app);
  const send = (data: unknown) =>
    window.dispatchEvent(new window.MessageEvent('message', { data }));
  return { window, app, posted, errors, send };
}

const ALLOWED_TAGS = new Set(
  'header div button strong section p table thead tbody tr th td span h2 h3 ul li pre select option label figure figcaption svg rect line text title'.split(
    ' ',
  ),
);
const ALLOWED_ATTR =
  /^(class|role|scope|title|tabindex|width|height|x|y|x1|x2|y1|y2|style|value|aria-[a-z]+|data-[a-z0-9-]+)$/;
/** The only inline styles: CSSOM custom properties (expert hue, heat, co-activation value). */
const ALLOWED_STYLE = /^(\s*--(expert-hue|heat|v): [\w.-]+;)*\s*$/;

/**
 * Only the elements and attributes the panel builds itself: nothing parsed from data. (jsdom runs
 * no inline handlers here, so these checks, not `__pwned`, are what catch injected markup.)
 */
function assertClean(p: Panel): void {
  assert.deepEqual(p.errors, []);
  assert.equal(p.window.eval('window.__pwned ?? ({}).__pwned'), undefined);
  const doc = p.window.document;
  assert.equal(doc.scripts.length, 1, 'only the shell script');
  assert.equal(doc.scripts[0]?.getAttribute('nonce'), 'n0nce');
  assert.equal(doc.querySelectorAll('img, iframe, object, embed, a, form, base').length, 0);
  assert.equal(doc.querySelectorAll('link').length, 1, 'only the shell stylesheet');
  for (const e of Array.from(p.app.querySelectorAll('*'))) {
    assert.ok(ALLOWED_TAGS.has(e.localName), `unexpected <${e.localName}>`);
    for (const a of Array.from(e.attributes)) {
      assert.match(a.name, ALLOWED_ATTR, `<${e.localName} ${a.name}>`);
      if (a.name === 'style') assert.match(a.value, ALLOWED_STYLE);
    }
    if (e.localName === 'svg') {
      assert.ok(
        ['dist', 'bars', 'chart-svg'].some((c) => e.classList.contains(c)),
        'a chart',
      );
    }
  }
}

const model = (over: Partial<PanelModel> = {}): PanelModel => ({
  name: 'tiny-moe',
  architecture: 'mixtral',
  layers: 3,
  moeLayers: [0, 2],
  experts: 4,
  topK: 2,
  sharedExperts: 0,
  totalParams: 16e6,
  activeParamsPerToken: 7e6,
  executionProvider: 'cpu',
  ...over,
});

const token = (text: string, i: number, cls?: string): PanelToken => ({
  text,
  id: i,
  logprob: i === 0 ? null : -0.1 * i,
  routing: [
    {
      layer: 0,
      experts: [i % 4, (i + 1) % 4],
      weights: [0.7, 0.3],
      probs: [0.4, 0.3, 0.2, 0.1],
      entropy: 1.2,
    },
    { layer: 2, experts: [(i + 2) % 4, (i + 3) % 4], weights: [0.6, 0.4] },
  ],
  ...(cls === undefined ? {} : { cls }),
});

const live = (requestId: number, tokens: PanelToken[], file = 'src/a.ts'): LiveCompletion => ({
  requestId,
  status: 'generating',
  file,
  languageId: 'typescript',
  tokens,
});

function layerStats(layer: number, names: string[]): LayerStats {
  // Object.fromEntries makes own properties, `__proto__` included (as structured clone does).
  const shares = () => Object.fromEntries(names.map((n) => [n, [0.4, 0.3, 0.2, 0.1]]));
  return {
    layer,
    load: [0.4, 0.3, 0.2, 0.1],
    cv: 0.44,
    maxViolation: 0.6,
    meanEntropy: 1.1,
    topKMass: 0.9,
    repeatTop1: 0.5,
    repeatTop1Chance: 0.3,
    coactivation: [0, 1, 2, 3].map((a) => [0, 1, 2, 3].map((b) => (a === b ? 1 : 0.2))),
    classShares: shares(),
    languageShares: shares(),
    vocabulary: [
      { expert: 0, tokens: names.map((text, i) => ({ text, share: 0.5, count: i + 1 })) },
      { expert: 3, tokens: [] },
    ],
  };
}

const stats = (names: string[]): RoutingStats => ({
  model: names[0] ?? 'm',
  files: 1,
  tokens: names.length,
  tokensPerSecond: 100,
  experts: 4,
  topK: 2,
  layers: [layerStats(0, names), layerStats(2, names)],
});

/** RFC 4180, as a spreadsheet reads it: CR, LF or CRLF outside quotes ends a row. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') cell += c;
      else if (text[i + 1] === '"') cell += text[i++];
      else quoted = false;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  assert.equal(quoted, false, 'an unterminated quoted cell');
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

const newestMtime = (dir: string): number =>
  Math.max(
    ...readdirSync(dir, { encoding: 'utf8', recursive: true }).map(
      (f) => statSync(join(dir, f)).mtimeMs,
    ),
  );

before(() => {
  // scripts/test.sh builds first; a stale bundle is rebuilt the way `npm run build` builds it.
  const newest = Math.max(...PANEL_SOURCES.map(newestMtime));
  if (!existsSync(PANEL_JS) || statSync(PANEL_JS).mtimeMs < newest) {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-webview.mjs')], { cwd: ROOT });
  }
});

test('ready handshake, then hostile token texts and names in the live view are text only', () => {
  const p = openPanel();
  assert.deepEqual(p.posted, [{ type: 'ready' }]);
  assertClean(p);

  p.send({
    type: 'model',
    model: model({ name: HOSTILE[0]!, architecture: HOSTILE[3]!, executionProvider: HOSTILE[1]! }),
  });
  p.send({ type: 'liveStart', live: live(7, [], HOSTILE[4]!) });
  HOSTILE.forEach((text, i) => p.send({ type: 'liveToken', requestId: 7, token: token(text, i) }));
  assertClean(p);

  assert.equal(p.app.querySelector('.model strong')?.textContent, HOSTILE[0]);
  assert.ok(p.app.querySelector('.model')?.textContent?.includes(HOSTILE[3]!));
  assert.ok(p.app.querySelector('.model')?.textContent?.includes(HOSTILE[1]!));
  assert.ok(p.app.querySelector('.live-head')?.textContent?.includes(` ${HOSTILE[4]}`));
  const heads = Array.from(p.app.querySelectorAll('[data-testid="grid-token"]'));
  assert.equal(heads.length, HOSTILE.length);
  heads.forEach((th, i) => {
    assert.equal(th.textContent, visibleToken(HOSTILE[i]!));
    assert.equal(th.getAttribute('title'), HOSTILE[i]);
  });
  // Every token's details (a click re-renders the whole view).
  HOSTILE.forEach((text, i) => {
    (p.app.querySelector(`th[data-token-index="${i}"]`) as HTMLElement).click();
    assert.equal(p.app.querySelector('.details h3')?.textContent, `Token ${JSON.stringify(text)}`);
    assert.ok(
      p.app
        .querySelector(`td[data-token-index="${i}"]`)
        ?.getAttribute('aria-label')
        ?.startsWith(`token ${i} ${JSON.stringify(text)}, layer 0`),
    );
  });
  assertClean(p);
  assert.deepEqual(p.posted, [{ type: 'ready' }], 'nothing but the handshake');
});

test('analysis: hostile title, tokens, classes, languages and vocabulary; CSV, JSON and SVG export', () => {
  const p = openPanel();
  p.send({ type: 'model', model: model() });
  const analysis: Analysis = {
    kind: 'text',
    title: HOSTILE[0]!,
    languageId: HOSTILE[3]!,
    tokens: HOSTILE.map((text, i) => token(text, i, HOSTILE[(i + 1) % HOSTILE.length])),
    truncated: true,
    stats: stats(HOSTILE),
  };
  p.send({ type: 'analysis', analysis });
  assertClean(p);

  assert.equal(p.app.querySelector('h2')?.textContent, HOSTILE[0]);
  const spans = Array.from(p.app.querySelectorAll('.heat-token'));
  assert.deepEqual(
    spans.map((s) => s.textContent),
    HOSTILE,
  );
  spans.forEach((s, i) => {
    assert.ok(s.getAttribute('title')?.startsWith(`${HOSTILE[(i + 1) % HOSTILE.length]} · `));
  });
  // Class and language names label the share charts, once per chart.
  const labels = Array.from(p.app.querySelectorAll('svg text.axis')).map((t) => t.textContent);
  for (const name of HOSTILE) {
    assert.equal(labels.filter((l) => l === name).length, 2, JSON.stringify(name.slice(0, 40)));
  }
  const vocab = p.app.querySelector('table.vocab td.mono')?.textContent ?? '';
  HOSTILE.forEach((text, i) => assert.ok(vocab.includes(`${visibleToken(text)} 50% (${i + 1})`)));

  const click = (label: string, within: ParentNode = p.app) => {
    const b = Array.from(within.querySelectorAll('button')).find((x) => x.textContent === label);
    assert.ok(b, label);
    b.click();
    const m = p.posted.at(-1)!;
    assert.equal(m.type, 'export');
    assert.match(String(m.name), /^[\w.-]{1,60}$/, 'a file name without separators');
    return String(m.data);
  };

  // CSV: one row per (layer, expert), every class and language a column, no formula cells.
  const rows = parseCsv(click('Export CSV'));
  assert.equal(rows.length, 1 + 2 * 4);
  const head = rows[0]!;
  for (const r of rows) assert.equal(r.length, head.length);
  for (const name of HOSTILE) {
    assert.ok(head.includes(`class:${name}`), JSON.stringify(name.slice(0, 40)));
    assert.ok(head.includes(`language:${name}`));
  }
  for (const cell of rows.flat()) {
    if (!/^-?\d+(\.\d+)?(e[+-]\d+)?$/.test(cell)) assert.doesNotMatch(cell, /^[=+\-@\t\r]/);
  }

  // JSON: the statistics, the hostile keys as plain own keys.
  const json = JSON.parse(click('Export JSON')) as RoutingStats;
  assert.deepEqual(Object.keys(json.layers[0]!.classShares), HOSTILE);

  // SVG of the class-share chart: well-formed, only chart elements, the names as text.
  const figure = p.app.querySelectorAll('figure.chart')[4]!;
  assert.match(figure.querySelector('figcaption')?.textContent ?? '', /by token class/);
  const svgText = click('SVG', figure);
  const svgDoc = new p.window.DOMParser().parseFromString(svgText, 'image/svg+xml');
  assert.equal(svgDoc.documentElement.localName, 'svg', svgText.slice(0, 200));
  const texts: string[] = [];
  for (const e of Array.from(svgDoc.querySelectorAll('*'))) {
    assert.ok(['svg', 'rect', 'text', 'title'].includes(e.localName), e.localName);
    for (const a of Array.from(e.attributes)) assert.doesNotMatch(a.name, /^on|href/i);
    if (e.localName === 'text') texts.push(e.textContent ?? '');
  }
  // NUL and lone surrogates are not XML: U+FFFD in the file; an XML parser reads CR as LF.
  assert.deepEqual(
    texts,
    HOSTILE.map((s) => s.replace(/\u0000|\p{Cs}/gu, '\ufffd').replace(/\r\n?/g, '\n')),
  );
  assertClean(p);
});

test('malformed messages: ignored or rolled back, the last good view stays, nothing uncaught', () => {
  const p = openPanel();
  p.send({ type: 'model', model: model() });
  p.send({ type: 'liveStart', live: live(1, [token('good', 0), token('ok', 1)]) });
  const good = p.app.innerHTML;
  const quiet = [
    null,
    undefined,
    0,
    'state',
    [],
    {},
    { type: 5 },
    { type: null },
    { type: 'nope' },
    { type: '__proto__' },
    { type: 'constructor' },
    { type: 'liveToken', requestId: 99, token: null }, // another request: ignored
    { type: 'liveCancelled', requestId: 99, fallback: null },
    // An own `__proto__` (as JSON.parse and structured clone make it) is a plain key.
    JSON.parse(
      `{"type":"state","state":{"__proto__":{"__pwned":1},"model":${JSON.stringify(model())},` +
        `"live":${JSON.stringify(live(1, [token('good', 0), token('ok', 1)]))},` +
        `"analysis":null,"view":"live"}}`,
    ),
  ];
  for (const data of quiet) {
    p.send(data);
    assert.equal(p.app.innerHTML, good, JSON.stringify(data));
  }
  assert.deepEqual(p.posted, [{ type: 'ready' }]);

  const huge = new Array<unknown>(1_000_000).fill(7);
  const broken = [
    { type: 'state' },
    { type: 'state', state: null },
    { type: 'state', state: { live: { tokens: 5 } } },
    { type: 'model', model: { name: 1 } },
    { type: 'model', model: model({ moeLayers: null as unknown as number[] }) },
    { type: 'model', model: model({ experts: Number.NaN }) },
    { type: 'model', model: model({ experts: -1 }) },
    { type: 'liveStart', live: { requestId: 2 } },
    { type: 'liveStart', live: { ...live(2, []), tokens: huge } },
    { type: 'liveStart', live: live(2, [{ text: 5 } as unknown as PanelToken]) },
    { type: 'liveToken', requestId: 1, token: null },
    { type: 'liveToken', requestId: 1, token: { ...token('t', 2), routing: 'x' } },
    { type: 'liveShown', live: 'x' },
    { type: 'analysis', analysis: 5 },
    { type: 'analysis', analysis: { kind: 'text', title: 1 } },
    { type: 'analysis', analysis: { kind: 'workspace', title: 't', stats: { layers: huge } } },
  ];
  for (const data of broken) {
    const n = p.posted.length;
    p.send(data);
    const what = JSON.stringify(data).slice(0, 80);
    assert.equal(p.app.innerHTML, good, what);
    assert.equal(p.posted.length, n + 1, what);
    assert.equal(p.posted[n]!.type, 'error', what);
    assert.match(String(p.posted[n]!.message), /^ignored a \w+ message it cannot show: /);
  }
  assertClean(p);

  // Odd values of the right types render: out-of-range and NaN expert ids, unknown layers.
  const odd: PanelToken = {
    text: 'odd',
    id: -1,
    logprob: Number.NaN,
    routing: [
      { layer: 0, experts: [-3, Number.NaN], weights: [Number.NaN, -1] },
      { layer: 2, experts: [1e9], weights: [1] },
      { layer: 999, experts: [1], weights: [1], probs: [] },
      { layer: -1, experts: [0], weights: [1] },
    ],
  };
  const n = p.posted.length;
  p.send({ type: 'liveStart', live: live(3, [odd, token('after', 1)]) });
  p.send({ type: 'liveToken', requestId: 3, token: token('more', 2) });
  const cells = (i: number) =>
    Array.from(p.app.querySelectorAll(`td[data-token-index="${i}"]`)).map((c) => c.textContent);
  assert.deepEqual(cells(0), ['', '1000000000']);
  assert.deepEqual(cells(2), ['2', '0']);
  p.send({ type: 'view', view: '<img src=x onerror=window.__pwned=1>' });
  p.send({
    type: 'analysis',
    analysis: { kind: 'workspace', title: 'ws', stats: stats(['keyword']), skipped: huge },
  });
  assert.match(
    p.app.querySelector('[data-testid="analysis-summary"]')?.textContent ?? '',
    /, 1000000 skipped$/,
  );
  assert.equal(p.posted.length, n, 'no errors');
  assertClean(p);
});
