// The routing panel (runs in the webview; bundled to media/panel.js). DOM built with
// createElement/textContent only (token texts are arbitrary code), styles through classes and
// the CSSOM (the CSP forbids inline style attributes), state persisted with setState and
// resent by the host after every `ready`.
import {
  entropyOf,
  formatActive,
  heatScale,
  layerByIndex,
  loadImbalance,
  loadWarnings,
  statsToCsv,
  tokenLoads,
  visibleToken,
  xmlSafe,
} from './format';
import type {
  Analysis,
  HostMessage,
  LiveCompletion,
  PanelModel,
  PanelState,
  PanelToken,
  RoutingStats,
  WebviewMessage,
} from './protocol';

interface VsCodeApi {
  postMessage(m: WebviewMessage): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const SVG = 'http://www.w3.org/2000/svg';

interface UiState extends PanelState {
  selectedToken: number;
  analysisLayer: number;
}

let state: UiState = {
  model: null,
  live: null,
  analysis: null,
  view: 'live',
  selectedToken: 0,
  analysisLayer: -1,
  ...((vscode.getState() as Partial<UiState> | undefined) ?? {}),
};

const app = document.getElementById('app') as HTMLElement;

// ---- small DOM helpers -------------------------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** Expert colour: a class for the first 12, a generated hue (CSSOM) beyond. */
function colourExpert(node: HTMLElement | SVGElement, expert: number): void {
  node.classList.add('expert');
  if (expert < 12) node.classList.add(`x${expert}`);
  else node.style.setProperty('--expert-hue', String((expert * 137.508) % 360));
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

function save(): void {
  vscode.setState(state);
}

function post(m: WebviewMessage): void {
  vscode.postMessage(m);
}

// ---- rendering ---------------------------------------------------------------------------------

function render(): void {
  app.replaceChildren(header(), state.view === 'live' ? liveView() : analysisView());
  save();
}

function header(): HTMLElement {
  const tab = (view: PanelState['view'], label: string) => {
    const b = el('button', {
      role: 'tab',
      'aria-selected': String(state.view === view),
      class: state.view === view ? 'tab active' : 'tab',
    });
    b.textContent = label;
    b.addEventListener('click', () => {
      state.view = view;
      post({ type: 'view', view });
      render();
    });
    return b;
  };
  const tabs = el(
    'div',
    { role: 'tablist', class: 'tabs' },
    tab('live', 'Live'),
    tab('analysis', 'Analysis'),
  );
  return el('header', {}, tabs, modelSummary(state.model));
}

function modelSummary(m: PanelModel | null): HTMLElement {
  if (!m) return el('div', { class: 'model muted' }, 'No model loaded yet.');
  return el(
    'div',
    { class: 'model' },
    el('strong', {}, m.name),
    ` · ${m.architecture} · ${m.moeLayers.length} MoE layers × ${m.experts} experts, top-${m.topK}` +
      (m.sharedExperts ? ` + ${m.sharedExperts} shared` : '') +
      ` · active ${formatActive(m.activeParamsPerToken, m.totalParams)} per token · ${m.executionProvider}`,
  );
}

// ---- live view ---------------------------------------------------------------------------------

function liveView(): HTMLElement {
  const root = el('section', { class: 'live', 'data-testid': 'live-view' });
  const live = state.live;
  const m = state.model;
  if (!live || !m) {
    root.append(
      el(
        'p',
        { class: 'muted' },
        'Type in an editor: the routing of each suggestion appears here.',
      ),
      grid([], m?.moeLayers ?? []),
    );
    return root;
  }
  const status = live.status === 'generating' ? 'generating…' : 'shown';
  root.append(
    el(
      'div',
      { class: 'live-head' },
      el('span', { class: `status ${live.status}` }, status),
      ` ${live.file || 'completion'}`,
      live.latencyMs !== undefined ? ` · ${Math.round(live.latencyMs)} ms` : '',
      ` · ${live.tokens.length} tokens`,
    ),
    grid(live.tokens, m.moeLayers),
    tokenDetails(live.tokens[state.selectedToken], m),
    loadPanel(live.tokens, m),
  );
  return root;
}

function cellLabel(t: PanelToken, i: number, layer: number): string {
  const r = t.routing.find((x) => x.layer === layer);
  const experts = (r?.experts ?? []).map((e, k) => `${e} (${(r?.weights[k] ?? 0).toFixed(2)})`);
  return `token ${i} ${JSON.stringify(t.text)}, layer ${layer}, experts ${experts.join(', ')}`;
}

function grid(tokens: PanelToken[], layers: number[]): HTMLElement {
  const table = el('table', {
    class: 'grid',
    role: 'grid',
    'data-testid': 'routing-grid',
    'aria-label': 'Tokens by MoE layer, coloured by first-choice expert',
  });
  const head = el('tr', {}, el('th', { scope: 'col', class: 'corner' }, 'layer'));
  tokens.forEach((t, i) => {
    const th = el('th', {
      scope: 'col',
      class: i === state.selectedToken ? 'tok selected' : 'tok',
      'data-testid': 'grid-token',
      'data-token-index': String(i),
      title: t.text,
    });
    th.textContent = visibleToken(t.text);
    th.addEventListener('click', () => select(i));
    head.append(th);
  });
  table.append(el('thead', {}, head));
  const body = el('tbody');
  layers.forEach((layer, row) => {
    const tr = el('tr', {}, el('th', { scope: 'row' }, String(layer)));
    tokens.forEach((t, i) => tr.append(gridCell(t, i, layer, row)));
    body.append(tr);
  });
  table.append(body);
  table.addEventListener('keydown', (ev) => gridKey(ev, tokens.length, layers.length));
  return table;
}

function gridCell(t: PanelToken, i: number, layer: number, row: number): HTMLElement {
  const r = t.routing.find((x) => x.layer === layer);
  const top1 = r?.experts[0] ?? -1;
  const td = el('td', {
    'data-testid': 'grid-cell',
    'data-token-index': String(i),
    'data-layer': String(layer),
    'data-row': String(row),
    'data-experts': (r?.experts ?? []).join(','),
    'data-top1': String(top1),
    role: 'gridcell',
    tabindex: i === state.selectedToken && row === 0 ? '0' : '-1',
    'aria-label': cellLabel(t, i, layer),
    class: i === state.selectedToken ? 'selected' : '',
  });
  td.textContent = top1 >= 0 ? String(top1) : '';
  if (top1 >= 0) colourExpert(td, top1);
  td.addEventListener('click', () => select(i));
  return td;
}

function gridKey(ev: KeyboardEvent, nTokens: number, nLayers: number): void {
  const cell = (ev.target as HTMLElement).closest('td');
  if (!cell) return;
  let i = Number(cell.dataset.tokenIndex);
  let row = Number(cell.dataset.row);
  if (ev.key === 'ArrowRight') i = Math.min(nTokens - 1, i + 1);
  else if (ev.key === 'ArrowLeft') i = Math.max(0, i - 1);
  else if (ev.key === 'ArrowDown') row = Math.min(nLayers - 1, row + 1);
  else if (ev.key === 'ArrowUp') row = Math.max(0, row - 1);
  else if (ev.key === 'Enter' || ev.key === ' ') {
    select(i, row);
    ev.preventDefault();
    return;
  } else return;
  ev.preventDefault();
  const next = app.querySelector<HTMLElement>(`td[data-token-index="${i}"][data-row="${row}"]`);
  if (next) {
    cell.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }
}

function select(i: number, row = 0): void {
  state.selectedToken = i;
  render();
  app.querySelector<HTMLElement>(`td[data-token-index="${i}"][data-row="${row}"]`)?.focus();
}

function tokenDetails(t: PanelToken | undefined, m: PanelModel): HTMLElement {
  const box = el('section', { class: 'details', 'aria-live': 'polite' });
  if (!t) return box;
  const surprise = t.logprob === null ? '—' : `${(-t.logprob).toFixed(2)} nats`;
  box.append(
    el('h3', {}, `Token ${JSON.stringify(t.text)}`),
    el(
      'p',
      { class: 'muted' },
      `id ${t.id} · surprise ${surprise} · active parameters ${formatActive(m.activeParamsPerToken, m.totalParams)}`,
    ),
  );
  const lnE = Math.log(m.experts);
  for (const r of t.routing) {
    const h = r.entropy ?? (r.probs ? entropyOf(r.probs) : undefined);
    const row = el(
      'div',
      { class: 'layer-detail' },
      el('span', { class: 'layer-name' }, `layer ${r.layer}`),
      ...r.experts.map((e, k) => {
        const chip = el('span', { class: 'chip' }, `${e} · ${(r.weights[k] ?? 0).toFixed(2)}`);
        colourExpert(chip, e);
        return chip;
      }),
      el(
        'span',
        { class: 'muted' },
        h === undefined
          ? ''
          : ` entropy ${h.toFixed(2)} nats (${pct(lnE > 0 ? h / lnE : 0)} of ln E)`,
      ),
    );
    if (r.probs) row.append(distribution(r.probs, r.experts));
    box.append(row);
  }
  return box;
}

function distribution(probs: number[], chosen: number[]): SVGSVGElement {
  const w = 8;
  const hgt = 28;
  const s = svg('svg', {
    width: probs.length * w,
    height: hgt,
    class: 'dist',
    role: 'img',
    'aria-label': `router distribution: ${probs.map((p, e) => `${e}: ${p.toFixed(2)}`).join(', ')}`,
  });
  probs.forEach((p, e) => {
    const bh = Math.max(1, p * hgt);
    const r = svg('rect', { x: e * w, y: hgt - bh, width: w - 1, height: bh });
    r.classList.add(chosen.includes(e) ? 'chosen' : 'other');
    s.append(r);
  });
  return s;
}

function loadPanel(tokens: PanelToken[], m: PanelModel): HTMLElement {
  const loads = tokenLoads(tokens, m.moeLayers, m.experts);
  const box = el('section', { class: 'loads', 'data-testid': 'load-chart' });
  box.append(
    el('h3', {}, `Expert load over these ${tokens.length} tokens (fair share 1/${m.experts})`),
  );
  const warnings: string[] = [];
  m.moeLayers.forEach((layer, i) => {
    const load = loads[i] ?? [];
    const { cv, maxViolation } = loadImbalance(load);
    box.append(
      el(
        'div',
        { class: 'load-row' },
        el('span', { class: 'layer-name' }, `layer ${layer}`),
        loadBars(load),
        ` CV ${cv.toFixed(2)} · max violation ${maxViolation.toFixed(2)}`,
      ),
    );
    for (const w of loadWarnings(layer, load)) {
      warnings.push(`layer ${w.layer}: expert ${w.expert} ${w.kind} (${pct(w.load)})`);
    }
  });
  if (warnings.length > 0 && tokens.length >= 8) {
    box.append(el('ul', { class: 'warnings' }, ...warnings.map((w) => el('li', {}, w))));
  }
  return box;
}

function loadBars(load: number[], width = 16, height = 40): SVGSVGElement {
  const s = svg('svg', { width: load.length * width, height, class: 'bars', role: 'img' });
  s.setAttribute('aria-label', load.map((l, e) => `expert ${e}: ${pct(l)}`).join(', '));
  const max = Math.max(2 / Math.max(1, load.length), ...load);
  load.forEach((l, e) => {
    const bh = (l / max) * height;
    const r = svg('rect', {
      x: e * width + 1,
      y: height - bh,
      width: width - 2,
      height: Math.max(0, bh),
    });
    colourExpert(r, e);
    s.append(r);
  });
  const fairY = height - (1 / Math.max(1, load.length) / max) * height;
  const line = svg('line', { x1: 0, x2: load.length * width, y1: fairY, y2: fairY, class: 'fair' });
  s.append(line);
  return s;
}

// ---- analysis view -----------------------------------------------------------------------------

function analysisView(): HTMLElement {
  const root = el('section', { class: 'analysis', 'data-testid': 'analysis-view' });
  const a = state.analysis;
  if (!a) {
    root.append(
      el(
        'p',
        { class: 'muted' },
        'Run “MoE Lens: Analyze Routing of Selection / Current File / Workspace”.',
      ),
    );
    return root;
  }
  const s = a.stats;
  if (state.analysisLayer < 0 || !layerByIndex(s, state.analysisLayer)) {
    state.analysisLayer = s.layers[0]?.layer ?? 0;
  }
  root.append(
    el('h2', {}, a.title),
    el(
      'p',
      { class: 'summary', 'data-testid': 'analysis-summary' },
      `${s.files} files, ${s.tokens} tokens, ${Math.round(s.tokensPerSecond)} tokens/s` +
        (a.kind === 'text' && a.truncated ? ' (truncated)' : '') +
        (a.kind === 'workspace' && a.skipped.length ? `, ${a.skipped.length} skipped` : ''),
    ),
    exportBar(a),
  );
  if (a.kind === 'text') root.append(heatMap(a.tokens, state.model));
  root.append(statsCharts(s));
  return root;
}

function exportBar(a: Analysis): HTMLElement {
  const name = a.title.replace(/[^\w.-]+/g, '-').slice(0, 60) || 'routing';
  const button = (label: string, run: () => void) => {
    const b = el('button', { class: 'secondary' }, label);
    b.addEventListener('click', run);
    return b;
  };
  return el(
    'div',
    { class: 'export' },
    button('Export JSON', () =>
      post({ type: 'export', format: 'json', name, data: JSON.stringify(a.stats, null, 2) }),
    ),
    button('Export CSV', () =>
      post({ type: 'export', format: 'csv', name, data: statsToCsv(a.stats) }),
    ),
  );
}

function heatMap(tokens: PanelToken[], m: PanelModel | null): HTMLElement {
  const heat = heatScale(tokens.map((t) => t.logprob));
  const pre = el('pre', { class: 'heat', 'aria-label': 'Code coloured by surprise (−log p)' });
  tokens.forEach((t, i) => {
    const span = el('span', { tabindex: '0', class: 'heat-token' });
    span.textContent = t.text;
    span.style.setProperty('--heat', (heat[i] ?? 0).toFixed(3));
    const top1 = t.routing.map((r) => `L${r.layer}:${r.experts[0] ?? '-'}`).join(' ');
    const lp = t.logprob === null ? '—' : (-t.logprob).toFixed(2);
    span.title = `${t.cls ?? ''} · surprise ${lp} nats · top-1 ${top1}`;
    span.setAttribute('aria-label', `${JSON.stringify(t.text)}: ${span.title}`);
    pre.append(span);
  });
  const legend = el(
    'p',
    { class: 'muted' },
    'Background: surprise −log p (95th percentile = full).',
  );
  if (m) legend.append(` Hover a token for its class and first-choice experts.`);
  return el('div', {}, legend, pre);
}

function statsCharts(s: RoutingStats): HTMLElement {
  const box = el('div', { class: 'charts' });
  const layerPicker = el('select', { 'aria-label': 'Layer for the per-layer charts' });
  for (const l of s.layers) {
    const o = el('option', { value: String(l.layer) }, `layer ${l.layer}`);
    if (l.layer === state.analysisLayer) o.selected = true;
    layerPicker.append(o);
  }
  layerPicker.addEventListener('change', () => {
    state.analysisLayer = Number(layerPicker.value);
    render();
  });
  const L = layerByIndex(s, state.analysisLayer);
  box.append(
    chart('load', 'Expert load per layer (line: fair share 1/E)', loadChart(s), 'load-chart'),
    chart('entropy', 'Routing entropy per layer (bar) vs ln E (line)', entropyChart(s)),
    chart(
      'repetition',
      'Consecutive tokens with the same first-choice expert vs chance',
      repetitionChart(s),
    ),
    el('div', { class: 'picker' }, el('label', {}, 'Per-layer charts: '), layerPicker),
  );
  if (L) {
    box.append(
      chart(
        'coactivation',
        `Co-activation P(b | a), layer ${L.layer}`,
        matrixChart(L.coactivation),
      ),
      chart(
        'classShares',
        `Expert shares by token class, layer ${L.layer}`,
        sharesChart(L.classShares, s.experts),
      ),
      chart(
        'languageShares',
        `Expert shares by language, layer ${L.layer}`,
        sharesChart(L.languageShares, s.experts),
      ),
      vocabularyTable(L.vocabulary),
    );
  }
  return box;
}

function chart(name: string, title: string, body: SVGSVGElement, testid?: string): HTMLElement {
  const fig = el('figure', { class: 'chart', ...(testid ? { 'data-testid': testid } : {}) });
  const svgButton = el('button', { class: 'secondary' }, 'SVG');
  svgButton.addEventListener('click', () =>
    post({ type: 'export', format: 'svg', name, data: serialise(body, title) }),
  );
  const pngButton = el('button', { class: 'secondary' }, 'PNG');
  pngButton.addEventListener('click', () => void exportPng(body, name, title));
  body.setAttribute('role', 'img');
  body.setAttribute('aria-label', title);
  fig.append(el('figcaption', {}, title, ' ', svgButton, pngButton), body);
  return fig;
}

/** A standalone SVG: CSS variables and classes resolved to concrete colours. */
function serialise(node: SVGSVGElement, title: string): string {
  const copy = node.cloneNode(true) as SVGSVGElement;
  const src = node.querySelectorAll('*');
  const dst = copy.querySelectorAll('*');
  src.forEach((s, i) => {
    const cs = getComputedStyle(s);
    const d = dst[i] as SVGElement;
    for (const p of ['fill', 'stroke', 'stroke-width', 'opacity', 'font-size', 'font-family']) {
      d.setAttribute(p, cs.getPropertyValue(p));
    }
  });
  // Class and language names (text nodes) are workspace text: keep the file well-formed XML.
  const texts = document.createTreeWalker(copy, NodeFilter.SHOW_TEXT);
  for (let n = texts.nextNode(); n; n = texts.nextNode()) n.nodeValue = xmlSafe(n.nodeValue ?? '');
  // In the XMLNS namespace: a plain `xmlns` attribute is written twice by a spec serialiser.
  copy.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns', SVG);
  const t = document.createElementNS(SVG, 'title');
  t.textContent = title;
  copy.prepend(t);
  const bg = getComputedStyle(document.body).getPropertyValue('background-color');
  const rect = svg('rect', { width: '100%', height: '100%', fill: bg });
  copy.insertBefore(rect, t.nextSibling);
  return new XMLSerializer().serializeToString(copy);
}

async function exportPng(node: SVGSVGElement, name: string, title: string): Promise<void> {
  try {
    const text = serialise(node, title);
    const img = new Image();
    img.src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(text)))}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Number(node.getAttribute('width')) * 2;
    canvas.height = Number(node.getAttribute('height')) * 2;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas');
    ctx.scale(2, 2);
    ctx.drawImage(img, 0, 0);
    post({ type: 'export', format: 'png', name, data: canvas.toDataURL('image/png') });
  } catch (e) {
    post({ type: 'error', message: `PNG export: ${e instanceof Error ? e.message : String(e)}` });
  }
}

function loadChart(s: RoutingStats): SVGSVGElement {
  const bw = 10;
  const gw = s.experts * bw + 24;
  const h = 120;
  const g = svg('svg', { width: s.layers.length * gw + 30, height: h + 20, class: 'chart-svg' });
  const max = Math.max(2 / Math.max(1, s.experts), ...s.layers.flatMap((l) => l.load));
  s.layers.forEach((l, i) => {
    const x0 = 30 + i * gw;
    l.load.forEach((v, e) => {
      const bh = (v / max) * h;
      const r = svg('rect', { x: x0 + e * bw, y: h - bh, width: bw - 1, height: bh });
      colourExpert(r, e);
      const tip = svg('title');
      tip.textContent = `layer ${l.layer}, expert ${e}: ${pct(v)}`;
      r.append(tip);
      g.append(r);
    });
    const fy = h - (1 / s.experts / max) * h;
    g.append(svg('line', { x1: x0, x2: x0 + s.experts * bw, y1: fy, y2: fy, class: 'fair' }));
    const t = svg('text', { x: x0, y: h + 14, class: 'axis' });
    t.textContent = `L${l.layer} cv ${l.cv.toFixed(2)}`;
    g.append(t);
  });
  return g;
}

function entropyChart(s: RoutingStats): SVGSVGElement {
  const lnE = Math.log(Math.max(2, s.experts));
  const w = 72;
  const h = 100;
  const g = svg('svg', { width: s.layers.length * w + 30, height: h + 20, class: 'chart-svg' });
  s.layers.forEach((l, i) => {
    const bh = (l.meanEntropy / lnE) * h;
    g.append(svg('rect', { x: 30 + i * w, y: h - bh, width: w - 8, height: bh, class: 'bar' }));
    const t = svg('text', { x: 30 + i * w, y: h + 14, class: 'axis' });
    t.textContent = `L${l.layer} ${l.meanEntropy.toFixed(2)}`;
    g.append(t);
  });
  g.append(svg('line', { x1: 30, x2: 30 + s.layers.length * w, y1: 0, y2: 0, class: 'fair' }));
  return g;
}

function repetitionChart(s: RoutingStats): SVGSVGElement {
  const w = 72;
  const h = 100;
  const g = svg('svg', { width: s.layers.length * w + 30, height: h + 20, class: 'chart-svg' });
  s.layers.forEach((l, i) => {
    const x = 30 + i * w;
    const bh = l.repeatTop1 * h;
    g.append(svg('rect', { x, y: h - bh, width: w - 8, height: bh, class: 'bar' }));
    const cy = h - l.repeatTop1Chance * h;
    g.append(svg('line', { x1: x - 2, x2: x + w - 6, y1: cy, y2: cy, class: 'fair' }));
    const t = svg('text', { x, y: h + 14, class: 'axis' });
    t.textContent = `L${l.layer} ${pct(l.repeatTop1)}`;
    g.append(t);
  });
  return g;
}

function matrixChart(m: number[][]): SVGSVGElement {
  const c = 18;
  const n = m.length;
  const g = svg('svg', { width: n * c + 24, height: n * c + 24, class: 'chart-svg' });
  m.forEach((row, a) =>
    row.forEach((v, b) => {
      const r = svg('rect', {
        x: 24 + b * c,
        y: 24 + a * c,
        width: c - 1,
        height: c - 1,
        class: 'cell',
      });
      r.style.setProperty('--v', v.toFixed(3));
      const tip = svg('title');
      tip.textContent = `P(${b} | ${a}) = ${v.toFixed(2)}`;
      r.append(tip);
      g.append(r);
    }),
  );
  for (let i = 0; i < n; i++) {
    const tx = svg('text', { x: 24 + i * c + 4, y: 16, class: 'axis' });
    tx.textContent = String(i);
    const ty = svg('text', { x: 4, y: 24 + i * c + 13, class: 'axis' });
    ty.textContent = String(i);
    g.append(tx, ty);
  }
  return g;
}

function sharesChart(shares: Record<string, number[]>, experts: number): SVGSVGElement {
  const keys = Object.keys(shares);
  const w = 300;
  const rh = 16;
  const g = svg('svg', { width: w + 110, height: keys.length * (rh + 4) + 4, class: 'chart-svg' });
  keys.forEach((k, i) => {
    const y = 2 + i * (rh + 4);
    const t = svg('text', { x: 0, y: y + 12, class: 'axis' });
    t.textContent = k;
    g.append(t);
    let x = 100;
    (shares[k] ?? new Array<number>(experts).fill(0)).forEach((v, e) => {
      const r = svg('rect', { x, y, width: v * w, height: rh });
      colourExpert(r, e);
      const tip = svg('title');
      tip.textContent = `${k}: expert ${e} ${pct(v)}`;
      r.append(tip);
      g.append(r);
      x += v * w;
    });
  });
  return g;
}

function vocabularyTable(v: RoutingStats['layers'][number]['vocabulary']): HTMLElement {
  const table = el('table', { class: 'vocab', 'aria-label': 'Tokens each expert owns most' });
  table.append(
    el(
      'tr',
      {},
      el('th', {}, 'expert'),
      el('th', {}, 'tokens it owns most (share of occurrences, count)'),
    ),
  );
  for (const row of v) {
    const chip = el('span', { class: 'chip' }, String(row.expert));
    colourExpert(chip, row.expert);
    const list = row.tokens
      .map((t) => `${visibleToken(t.text)} ${(t.share * 100).toFixed(0)}% (${t.count})`)
      .join('  ');
    table.append(el('tr', {}, el('td', {}, chip), el('td', { class: 'mono' }, list || '—')));
  }
  return el('figure', { class: 'chart' }, el('figcaption', {}, 'Vocabulary specialisation'), table);
}

// ---- messages ----------------------------------------------------------------------------------

function liveOf(live: LiveCompletion | null): void {
  state.live = live;
  if (state.selectedToken >= (live?.tokens.length ?? 0)) state.selectedToken = 0;
}

/** Applies one host message to `state` (in place; the listener below rolls back a failed one). */
function apply(m: HostMessage): void {
  switch (m.type) {
    case 'state':
      state = { ...state, ...m.state };
      liveOf(m.state.live);
      break;
    case 'model':
      state.model = m.model;
      break;
    case 'liveStart':
      liveOf(m.live);
      state.selectedToken = 0;
      break;
    case 'liveToken':
      if (state.live?.requestId === m.requestId) state.live.tokens.push(m.token);
      break;
    case 'liveShown':
      liveOf(m.live);
      break;
    case 'liveCancelled':
      if (state.live?.requestId === m.requestId) liveOf(m.fallback);
      break;
    case 'analysis':
      state.analysis = m.analysis;
      state.view = 'analysis';
      state.analysisLayer = -1;
      break;
    case 'view':
      state.view = m.view;
      break;
  }
}

// Message data is not trusted to have its type's shape: one the panel cannot show (it throws
// while applied or rendered) is dropped, the last good view stays and the host logs why.
window.addEventListener('message', (ev: MessageEvent<unknown>) => {
  const m = ev.data;
  const type = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  if (typeof type !== 'string') return;
  const before = {
    ...state,
    live: state.live && { ...state.live, tokens: [...state.live.tokens] },
  };
  try {
    apply(m as HostMessage);
    render();
  } catch (e) {
    state = before;
    render();
    const why = e instanceof Error ? e.message : String(e);
    post({
      type: 'error',
      message: `ignored a ${type.slice(0, 40)} message it cannot show: ${why}`,
    });
  }
});

render();
post({ type: 'ready' });
