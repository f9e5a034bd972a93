// The expert-routing panel end to end, in code-server + Chromium with the packaged extension and
// the default model: the live view shows exactly the tokens × layers × expert ids the engine
// reported for the completion the editor showed (read back from the extension's trace log), and
// the workspace analysis runs over the whole workspace, real source files of this repository
// included. Screenshots: test-results/e2e/ (docs/images/ holds copies for the README).
// Registered by suite.e2e.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LatencyLog } from './content';
import { ROOT, sleep, type CodeServerSession } from './harness';

/** Real source files of this repository: part of the workspace the analysis reads. */
const SOURCES = [
  'src/engine/sampler.ts',
  'src/engine/stopSequences.ts',
  'src/engine/kvCache.ts',
  'src/engine/fim.ts',
  'src/format/routing.ts',
  'src/language/brackets.ts',
  'src/completion/cache.ts',
  'src/completion/debounce.ts',
  'src/completion/postprocess.ts',
  'src/host/engineClient.ts',
  'training/eval.py',
  'training/export_hf.py',
];

const LIVE = `// MoE Lens routing panel test.
export function add(a: number, b: number): number {
  return a + b;
}

`;

/** The workspace files these cases need (the suite adds the completion cases'). */
export const PANEL_FILES: Record<string, string> = { 'live.ts': LIVE };
for (const s of SOURCES) PANEL_FILES[`sources/${s}`] = readFileSync(join(ROOT, s), 'utf8');

type Shown = [text: string, layers: number[][]][];

/** The last "shown routing" trace line of the extension log: [text, [[layer, ...experts]]][]. */
function lastShownRouting(log: string): Shown | null {
  const lines = log.split('\n').filter((l) => l.includes(' shown routing '));
  const last = lines.at(-1);
  if (!last) return null;
  return JSON.parse(
    last.slice(last.indexOf(' shown routing ') + ' shown routing '.length),
  ) as Shown;
}

export interface PanelContext {
  session: () => CodeServerSession;
  latency: LatencyLog;
  /** Every file of the workspace (the analysis must report all of them). */
  files: () => Record<string, string>;
}

export function registerPanelCases(c: PanelContext): void {
  test('live view: the grid shows the engine’s tokens × layers × experts', async (t) => {
    const session = c.session();
    // A clean layout: earlier cases may have left editors (and Explain the panel) open.
    await session.closeAllEditors();
    await session.openFile('live.ts');
    await session.runCommand('MoE Lens: Show Expert Routing Panel');
    const web = session.webview();
    await web.locator('[data-testid="routing-grid"]').waitFor({ timeout: 60_000 });
    // Back to the editor (the panel opened beside it) and type until a suggestion shows.
    await session.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await session.press('Control+End');
    const shown = await session
      .typeUntilGhostText(
        ['export function sub', 'tract', '\nexport const answer', ' = '],
        20_000,
        180_000,
      )
      .catch(async (e) => {
        await session.screenshot('live-failure');
        throw e;
      });
    c.latency.record('panel live', shown.latencyMs, !shown.nudged);
    t.diagnostic(
      `ghost text ${shown.latencyMs} ms after the last key: ${JSON.stringify(shown.ghost.text)}`,
    );

    let reported: Shown | null = null;
    for (let i = 0; i < 50 && !reported; i++) {
      reported = lastShownRouting(session.extensionLog() ?? '');
      if (!reported) await sleep(200);
    }
    assert.ok(reported && reported.length > 0, 'the extension logged the shown routing');
    const layers = reported[0]?.[1].length ?? 0;
    const cells = web.locator('[data-testid="grid-cell"]');
    // Wait for the panel to show this completion (liveShown) rather than a streaming one.
    const deadline = Date.now() + 30_000;
    while ((await cells.count()) !== reported.length * layers && Date.now() < deadline) {
      await sleep(200);
    }
    assert.equal(await cells.count(), reported.length * layers, 'one cell per token and layer');
    const shownInPanel = await cells.evaluateAll((els) =>
      els.map((e) => [
        Number(e.getAttribute('data-token-index')),
        Number(e.getAttribute('data-layer')),
        (e.getAttribute('data-experts') ?? '').split(',').map(Number),
      ]),
    );
    const expected = reported.flatMap(([, ls], i) =>
      ls.map(([layer, ...experts]) => [i, layer, experts]),
    );
    const key = (cell: unknown[]) => `${String(cell[0])}/${String(cell[1])}`;
    const sortCells = (cs: unknown[][]) => [...cs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    assert.deepEqual(sortCells(shownInPanel), sortCells(expected));
    const tokens = await web.locator('[data-testid="grid-token"]').evaluateAll((els) => els.length);
    assert.equal(tokens, reported.length);
    await session.screenshot('panel-live');
  });

  test('workspace analysis: statistics of the workspace files in the panel', async (t) => {
    const session = c.session();
    await session.runCommand('MoE Lens: Analyze Routing of Workspace');
    const web = session.webview();
    const summary = web.locator('[data-testid="analysis-summary"]');
    await summary.waitFor({ timeout: 300_000 });
    const text = (await summary.textContent()) ?? '';
    t.diagnostic(`analysis summary: ${text}`);
    const files = Object.keys(c.files()).length;
    assert.match(text, new RegExp(`\\b${files} files\\b`), `all ${files} files analysed`);
    await web.locator('[data-testid="load-chart"]').first().waitFor({ timeout: 30_000 });
    await session.screenshot('panel-workspace');
  });
}
