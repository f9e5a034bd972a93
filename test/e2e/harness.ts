// End-to-end harness: a real VS Code (code-server 4.100.3) in a real browser (Debian's Chromium,
// driven by playwright-core), with the extension installed from its linux-x64 VSIX.
// Recipe: docs/TESTING.md ("End to end").
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';

export const ROOT = resolve(__dirname, '..', '..');
/** Screenshots and logs of the last run (gitignored; CI keeps them as artifacts). */
export const RESULTS = join(ROOT, 'test-results', 'e2e');
export const CHROMIUM = process.env.MOE_LENS_CHROMIUM ?? '/usr/bin/chromium';

/** Chromium as root in a container: ENVIRONMENT.md's flags. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The test profile: inline suggestions on, everything that competes with them off. */
/** The confidence threshold of the e2e spots (probeSpots.ts picks spots at it). */
export const E2E_MIN_CONFIDENCE = -1.5;

export const USER_SETTINGS: Record<string, unknown> = {
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
  'editor.suggestOnTriggerCharacters': false,
  'editor.parameterHints.enabled': false,
  'editor.inlineSuggest.enabled': true,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'files.autoSave': 'off',
  'moeLens.debounceMs': 0,
  'moeLens.executionProvider': 'cpu',
  // The content spots were chosen at this threshold (probeSpots.ts): a recalibrated default must
  // not silence them; the default's own quality is eval:editor's to measure.
  'moeLens.minConfidence': E2E_MIN_CONFIDENCE,
  // The default model (models/ in the VSIX) unless MOE_LENS_E2E_MODEL pins a folder.
  ...(process.env.MOE_LENS_E2E_MODEL
    ? { 'moeLens.modelPath': resolve(process.env.MOE_LENS_E2E_MODEL) }
    : {}),
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const log = (message: string) => console.log(`[e2e] ${message}`);

/** Empties test-results/e2e/<name>/ (or test-results/e2e/) so it holds only this run's files. */
export function resetResults(name = ''): string {
  const dir = join(RESULTS, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs scripts/e2e/setup.sh (idempotent) and returns the code-server binary it printed. */
export function setupCodeServer(): string {
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'e2e', 'setup.sh')], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const bin = out.trim().split('\n').pop() ?? '';
  if (!existsSync(bin)) throw new Error(`scripts/e2e/setup.sh printed no code-server path: ${out}`);
  return bin;
}

/**
 * The linux-x64 VSIX under test: built now by scripts/package.mjs (production bundles), unless
 * MOE_LENS_E2E_VSIX names another one (a probe extension while debugging the harness).
 */
export function buildVsix(): string {
  const override = process.env.MOE_LENS_E2E_VSIX;
  if (override) return resolve(override);
  // `npm run test:e2e` packages once for all test files (MOE_LENS_E2E_PREBUILT=1).
  if (!process.env.MOE_LENS_E2E_PREBUILT) {
    execFileSync(
      process.execPath,
      [join(ROOT, 'scripts', 'package.mjs'), '--target', 'linux-x64'],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const vsix = join(ROOT, 'dist-vsix', `moe-lens-linux-x64-${version}.vsix`);
  if (!existsSync(vsix)) throw new Error(`scripts/package.mjs did not write ${vsix}`);
  return vsix;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? done(addr.port) : fail(new Error('no port')),
      );
    });
  });
}

async function waitForHttp(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`code-server exited before ${url} answered`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(500);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (${last})`);
}

/** Pids of processes whose command line contains every one of `needles` (Linux /proc). */
export function findProcesses(...needles: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // exited meanwhile
    }
    if (needles.every((n) => cmdline.includes(n))) pids.push(Number(entry));
  }
  return pids;
}

export interface GhostText {
  /** The ghost text's lines as rendered (non-breaking spaces turned back into spaces). */
  lines: string[];
  /** `lines` joined with "\n". */
  text: string;
}

/** Ghost text as waitForGhostText found it. */
export interface ShownGhost {
  ghost: GhostText;
  /** From the start of the wait. */
  ms: number;
  /** From the last key typed (`lastKeyAt`) to the ghost text on screen: what the user waits. */
  latencyMs: number;
  /** Shown only after a manual trigger (Alt+\\): the latency then means nothing. */
  nudged: boolean;
}

/** A line and column as the status bar shows them (1-based). */
export interface Cursor {
  line: number;
  column: number;
  /** Characters selected ("(N selected)"), 0 without a selection. */
  selected: number;
}

/** A notification toast: its message, its buttons, whether it is an error. */
export interface Toast {
  message: string;
  buttons: string[];
  error: boolean;
}

/** One code-server with its own profile, extensions folder and workspace, and one browser page. */
export class CodeServerSession {
  readonly dir: string;
  readonly workspace: string;
  readonly userData: string;
  readonly extensions: string;
  private server: ChildProcess | null = null;
  private browser: Browser | null = null;
  private _page: Page | null = null;
  port = 0;

  constructor(
    private readonly codeServer: string,
    files: Record<string, string>,
    /** Screenshots and logs of this session (from resetResults). */
    readonly results: string = RESULTS,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'moe-lens-e2e-'));
    this.workspace = join(this.dir, 'workspace');
    this.userData = join(this.dir, 'user-data');
    this.extensions = join(this.dir, 'extensions');
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(this.workspace, name, '..'), { recursive: true });
      writeFileSync(join(this.workspace, name), text);
    }
    mkdirSync(join(this.userData, 'User'), { recursive: true });
    writeFileSync(
      join(this.userData, 'User', 'settings.json'),
      JSON.stringify(USER_SETTINGS, null, 2),
    );
    mkdirSync(this.extensions, { recursive: true });
    mkdirSync(results, { recursive: true });
  }

  get page(): Page {
    if (!this._page) throw new Error('the browser is not open');
    return this._page;
  }

  private env(): NodeJS.ProcessEnv {
    // code-server writes ~/.config/code-server/config.yaml; keep it in the session folder.
    return { ...process.env, XDG_CONFIG_HOME: join(this.dir, 'config') };
  }

  installExtension(vsix: string): void {
    log(`installing ${vsix}`);
    execFileSync(
      this.codeServer,
      [
        '--user-data-dir',
        this.userData,
        '--extensions-dir',
        this.extensions,
        '--install-extension',
        vsix,
      ],
      { env: this.env(), stdio: ['ignore', 'inherit', 'inherit'], timeout: 180_000 },
    );
  }

  /** The installed extension's folder (publisher.name-version-target). */
  extensionDir(prefix: string): string {
    const found = readdirSync(this.extensions).find((d) => d.startsWith(prefix));
    if (!found) throw new Error(`no ${prefix}* in ${this.extensions}`);
    return join(this.extensions, found);
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const logFile = createWriteStream(join(this.results, 'code-server.log'));
    const server = spawn(
      this.codeServer,
      [
        '--auth',
        'none',
        '--bind-addr',
        `127.0.0.1:${this.port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        // Trace level: the extension's log then records every completion request and why it
        // showed nothing (kept in test-results/e2e/logs).
        '--log',
        'trace',
        '--user-data-dir',
        this.userData,
        '--extensions-dir',
        this.extensions,
        this.workspace,
      ],
      // Own process group: stop() ends code-server with its extension host and engine.
      { env: this.env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.server = server;
    server.stdout?.pipe(logFile);
    server.stderr?.pipe(logFile);
    log(`code-server on port ${this.port}, workspace ${this.workspace}`);
    await waitForHttp(
      `http://127.0.0.1:${this.port}/healthz`,
      120_000,
      () => server.exitCode === null && server.signalCode === null,
    );

    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    });
    const context = await this.browser.newContext({ viewport: { width: 1280, height: 800 } });
    this._page = await context.newPage();
    const t0 = Date.now();
    await this.page.goto(
      `http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.workspace)}`,
    );
    await this.page.waitForSelector('.monaco-workbench', { timeout: 180_000 });
    log(`workbench loaded in ${Date.now() - t0} ms`);
  }

  /** Opens a workspace file with Ctrl+P and puts the cursor in its editor. */
  async openFile(name: string): Promise<void> {
    const page = this.page;
    // The first Ctrl+P can arrive before the workbench registered its keybindings: retry.
    for (let attempt = 0; ; attempt++) {
      await page.keyboard.press('Control+P');
      try {
        await page.waitForSelector('.quick-input-widget input', {
          state: 'visible',
          timeout: 10_000,
        });
        break;
      } catch (e) {
        if (attempt >= 5) throw e;
        await page.locator('.monaco-workbench').click({ position: { x: 640, y: 400 } });
      }
    }
    await page.keyboard.type(name, { delay: 20 });
    // Wait until quick open lists the file (the file search runs in the server); rows and tabs
    // are labelled with the file's base name.
    const base = basename(name);
    await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${base}"]`, {
      timeout: 60_000,
    });
    await page.keyboard.press('Enter');
    const tab = page.locator(`.tabs-container .tab[data-resource-name="${base}"]`);
    await tab.waitFor({ timeout: 60_000 });
    const lines = page.locator('.editor-instance .monaco-editor .view-lines');
    await lines.first().waitFor({ timeout: 60_000 });
    await lines.first().click();
  }

  /** When the last key went down (Date.now()): the start of the latency the user feels. */
  lastKeyAt = 0;

  /** Types like a user: one key at a time, `delayMs` apart. */
  async type(text: string, delayMs = 40): Promise<void> {
    for (const [i, c] of [...text].entries()) {
      if (i > 0) await sleep(delayMs);
      this.lastKeyAt = Date.now();
      await this.page.keyboard.type(c);
    }
  }

  async press(key: string): Promise<void> {
    this.lastKeyAt = Date.now();
    await this.page.keyboard.press(key);
  }

  /** The visible ghost text, or null when there is none. */
  async ghostText(): Promise<GhostText | null> {
    const focused = this.page.locator('.editor-instance .monaco-editor.focused');
    const root = (await focused.count()) > 0 ? focused.first() : this.page.locator('body');
    const inline = await root
      .locator('.ghost-text-decoration, .ghost-text-decoration-preview')
      .allTextContents();
    // Further lines of a multi-line suggestion render as view lines in a view zone.
    const more = await root.locator('.suggest-preview-text .view-line').allTextContents();
    const lines = inline.length === 0 && more.length === 0 ? null : [inline.join(''), ...more];
    if (!lines) return null;
    const clean = lines.map((l) => l.replaceAll('\u00a0', ' '));
    return { lines: clean, text: clean.join('\n') };
  }

  /**
   * Waits for ghost text. If none shows within `nudgeAfterMs`, triggers inline suggestions once
   * by hand (Alt+\, VS Code's "Trigger Inline Suggestion") and reports that it had to.
   */
  async waitForGhostText(timeoutMs: number, nudgeAfterMs = timeoutMs): Promise<ShownGhost> {
    const t0 = Date.now();
    const keyAt = this.lastKeyAt || t0;
    let nudged = false;
    const selector = '.ghost-text-decoration, .ghost-text-decoration-preview';
    while (Date.now() - t0 < timeoutMs) {
      const remaining = timeoutMs - (Date.now() - t0);
      const wait = nudged ? remaining : Math.min(remaining, nudgeAfterMs - (Date.now() - t0));
      try {
        await this.page.waitForSelector(selector, { state: 'visible', timeout: Math.max(wait, 1) });
        const seenAt = Date.now();
        const ghost = await this.ghostText();
        if (ghost && ghost.text.trim() !== '') {
          return { ghost, ms: seenAt - t0, latencyMs: seenAt - keyAt, nudged };
        }
        await sleep(100);
      } catch {
        if (nudged || nudgeAfterMs >= timeoutMs) break;
        nudged = true;
        log('no ghost text yet: triggering inline suggestions by hand (Alt+\\)');
        await this.press('Alt+\\');
      }
    }
    throw new Error(`no ghost text within ${timeoutMs} ms`);
  }

  /**
   * Types like a user who waits for a suggestion: each chunk in turn, then up to `waitMs` for
   * ghost text; a real model may stay silent after some chunks (a bracket it would close, a
   * word it cannot guess yet). Returns the ghost text and everything typed up to it.
   */
  async typeUntilGhostText(
    chunks: string[],
    waitMs: number,
    firstWaitMs = waitMs,
  ): Promise<ShownGhost & { typed: string }> {
    let typed = '';
    for (const [i, chunk] of chunks.entries()) {
      await this.type(chunk);
      typed += chunk;
      try {
        return { ...(await this.waitForGhostText(i === 0 ? firstWaitMs : waitMs)), typed };
      } catch (e) {
        if (i === chunks.length - 1) throw e;
        log(`no ghost text after ${JSON.stringify(typed)}: typing on`);
      }
    }
    throw new Error('typeUntilGhostText: no chunks');
  }

  /** Runs a command from the command palette by its full title ("MoE Lens: …"). */
  async runCommand(title: string): Promise<void> {
    const page = this.page;
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    await row.waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
  }

  /** The cursor of the active editor, from the status bar ("Ln 12, Col 5 (20 selected)"). */
  async cursor(): Promise<Cursor> {
    const item = this.page.locator('[id="status.editor.selection"]');
    await item.waitFor({ state: 'visible', timeout: 10_000 });
    // The status bar updates after the editor: read until two reads agree.
    let prev = '';
    for (let i = 0; i < 20; i++) {
      const text = ((await item.textContent()) ?? '').trim();
      if (text === prev && /Ln \d+, Col \d+/.test(text)) break;
      prev = text;
      await sleep(50);
    }
    const m = /Ln (\d+), Col (\d+)(?: \((\d+) selected\))?/.exec(prev);
    if (!m) throw new Error(`no cursor position in the status bar: ${JSON.stringify(prev)}`);
    return { line: Number(m[1]), column: Number(m[2]), selected: Number(m[3] ?? 0) };
  }

  /** Moves the cursor with Go to Line/Column (Ctrl+G) and checks where it landed. */
  async goTo(line: number, column = 1): Promise<void> {
    const page = this.page;
    let at: Cursor | null = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      await page.keyboard.press('Control+G');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(`:${line}:${column}`);
      await sleep(150);
      await page.keyboard.press('Enter');
      await input.waitFor({ state: 'hidden', timeout: 10_000 });
      at = await this.cursor();
      if (at.line === line && at.column === column) return;
    }
    throw new Error(`Go to ${line}:${column} put the cursor at ${at?.line}:${at?.column}`);
  }

  /**
   * Selects whole lines `from`..`to` (1-based): the cursor to the start of `from`, then
   * Shift+Down until the start of the line after `to`.
   */
  async selectLines(from: number, to: number): Promise<Cursor> {
    await this.goTo(from, 1);
    for (let l = from; l <= to; l++) await this.page.keyboard.press('Shift+ArrowDown');
    return this.cursor();
  }

  /**
   * A status bar item of an extension by its id (`moeLens.status`): its text and its accessible
   * label (the tooltip without Markdown, where the extension sets accessibilityInformation).
   */
  async statusBarItem(id: string): Promise<{ text: string; label: string }> {
    const item = this.page.locator(`.statusbar-item[id$=".${id}"]`).first();
    await item.waitFor({ state: 'attached', timeout: 10_000 });
    const text = ((await item.textContent()) ?? '').trim();
    const labels = await item
      .locator('[aria-label]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    const own = (await item.getAttribute('aria-label')) ?? '';
    const unique = [...new Set([own, ...labels].filter((l) => l !== ''))];
    return { text, label: unique.join('\n') };
  }

  /**
   * Waits until MoE Lens's status bar item reports a loaded model (its tooltip lists the
   * execution provider); the model loads on the first completion request.
   */
  /**
   * Waits until the extension has activated (its status bar item is there): the inline provider
   * registers with it, and VS Code does not ask a provider registered after the keystroke.
   */
  async waitForActivation(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const item = await this.statusBarItem('moeLens.status').catch(() => null);
      if (item) return;
      await sleep(250);
    }
    throw new Error(`the extension did not activate within ${timeoutMs} ms (no status bar item)`);
  }

  async waitForModelReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = { text: '', label: '' };
    while (Date.now() < deadline) {
      last = await this.statusBarItem('moeLens.status').catch(() => last);
      if (/Execution provider/.test(last.label)) return;
      await sleep(250);
    }
    throw new Error(
      `the model did not load within ${timeoutMs} ms (status: ${JSON.stringify(last)})`,
    );
  }

  /** The notification toasts on screen now. */
  async toasts(): Promise<Toast[]> {
    return this.page.locator('.notifications-toasts .notification-list-item').evaluateAll((els) =>
      els.map((e) => ({
        message: e.querySelector('.notification-list-item-message')?.textContent ?? '',
        buttons: [...e.querySelectorAll('.notification-list-item-buttons-container .monaco-button')]
          .map((b) => b.textContent ?? '')
          .filter((b) => b !== ''),
        error: e.querySelector('.codicon-error') !== null,
      })),
    );
  }

  /**
   * Waits for a toast that `match`es (message or a button). Fails at once on a toast that
   * `fail` matches (an error), with its text. Returns the toast.
   */
  async waitForToast(
    match: (t: Toast) => boolean,
    timeoutMs: number,
    fail: (t: Toast) => boolean = (t) => t.error,
  ): Promise<Toast> {
    const deadline = Date.now() + timeoutMs;
    const seen = new Set<string>();
    while (Date.now() < deadline) {
      for (const t of await this.toasts()) {
        seen.add(t.message);
        if (fail(t)) throw new Error(`error notification: ${JSON.stringify(t)}`);
        if (match(t)) return t;
      }
      await sleep(200);
    }
    throw new Error(
      `no matching notification within ${timeoutMs} ms (seen: ${JSON.stringify([...seen])})`,
    );
  }

  /** Saves every editor and closes them all (panels and webviews too): a clean layout. */
  async closeAllEditors(): Promise<void> {
    await this.runCommand('File: Save All Files');
    await sleep(300);
    await this.runCommand('View: Close All Editors');
    await this.page
      .locator('.editor-instance .monaco-editor')
      .first()
      .waitFor({ state: 'detached', timeout: 10_000 })
      .catch(() => undefined);
  }

  /** The document inside the (first) webview: VS Code nests it in two iframes. */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').first().frameLocator('#active-frame');
  }

  /** The extension's log file (trace level), or null before the extension host wrote it. */
  extensionLog(): string | null {
    const logs = join(this.userData, 'logs');
    if (!existsSync(logs)) return null;
    for (const session of readdirSync(logs).sort().reverse()) {
      const dir = join(logs, session);
      for (const host of readdirSync(dir).filter((d) => d.startsWith('exthost'))) {
        const file = join(dir, host, 'moe-lens.moe-lens', 'MoE Lens.log');
        if (existsSync(file)) return readFileSync(file, 'utf8');
      }
    }
    return null;
  }

  /** Saves the active editor (Ctrl+S) and returns the file's text once it is on disk. */
  async saveAndRead(name: string, previous: string): Promise<string> {
    await this.press('Control+S');
    const file = join(this.workspace, name);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const text = readFileSync(file, 'utf8');
      if (text !== previous) return text;
      await sleep(200);
    }
    return readFileSync(file, 'utf8');
  }

  /**
   * Puts `text` back into a workspace file that is open in the active editor: written to disk,
   * then File: Revert File (the editor shows the disk's text, nothing left to save).
   */
  async restoreFile(name: string, text: string): Promise<void> {
    writeFileSync(join(this.workspace, name), text);
    // Checked by where Ctrl+End lands: the end of `text`.
    const lines = text.split('\n');
    const end = { line: lines.length, column: (lines.at(-1) ?? '').length + 1 };
    let at: Cursor | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.runCommand('File: Revert File');
      await sleep(300);
      await this.press('Control+End');
      at = await this.cursor();
      if (at.line === end.line && at.column === end.column) return;
    }
    throw new Error(
      `${name} was not restored: its end is at ${at?.line}:${at?.column}, not ${end.line}:${end.column}`,
    );
  }

  readFile(name: string): string {
    return readFileSync(join(this.workspace, name), 'utf8');
  }

  async screenshot(name: string): Promise<string> {
    const file = join(this.results, `${name}.png`);
    await this.page.screenshot({ path: file });
    log(`screenshot ${file}`);
    return file;
  }

  /** Closes the browser and code-server; keeps the logs in test-results/e2e/logs. */
  async stop(): Promise<void> {
    await this.browser?.close().catch(() => undefined);
    this.browser = null;
    const server = this.server;
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await Promise.race([exited, sleep(10_000)]);
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.server = null;
    const logs = join(this.userData, 'logs');
    if (existsSync(logs)) {
      rmSync(join(this.results, 'logs'), { recursive: true, force: true });
      cpSync(logs, join(this.results, 'logs'), { recursive: true });
    }
    if (!process.env.MOE_LENS_E2E_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The suite's session: fresh results folder test-results/e2e/[<name>/], code-server set up, the
 * VSIX built (or the prebuilt one) and installed, code-server and the browser started.
 */
export async function startSession(
  files: Record<string, string>,
  name = '',
): Promise<CodeServerSession> {
  const results = resetResults(name);
  const codeServer = setupCodeServer();
  const vsix = buildVsix();
  const session = new CodeServerSession(codeServer, files, results);
  session.installExtension(vsix);
  await session.start();
  return session;
}
