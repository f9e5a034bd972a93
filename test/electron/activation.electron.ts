// The @vscode/test-electron tier: downloads VS Code (the minimum engines.vscode and stable),
// starts it with the extension in development mode and runs test/electron/suite inside it.
// Without network access (the download fails), every case skips with a clear message.
// Run: `npm run test:electron` (on Linux without a display, under `xvfb-run -a`). docs/TESTING.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { download, runTests } from '@vscode/test-electron';
import { buildSync } from 'esbuild';

const ROOT = resolve(__dirname, '..', '..');
const CACHE = join(ROOT, '.tmp', 'vscode-test');
const SUITE = join(ROOT, '.tmp', 'electron', 'suite', 'index.js');
export const SKIP_MESSAGE =
  'VS Code cannot be downloaded here (no network): skipping @vscode/test-electron suite';

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { vscode: string };
};
/** `^1.100.0` → `1.100.0`: the oldest VS Code the extension claims to support. */
const minimum = manifest.engines.vscode.replace(/^[\^~>=\s]+/, '');
const versions = process.env.MOE_LENS_VSCODE_VERSIONS?.split(',') ?? [minimum, 'stable'];

let built = false;
/** dist/ (development bundles) and the suite, bundled for the extension host. */
function build(): void {
  if (built) return;
  execFileSync(process.execPath, [join(ROOT, 'esbuild.mjs')], { cwd: ROOT, stdio: 'inherit' });
  buildSync({
    entryPoints: [join(ROOT, 'test', 'electron', 'suite', 'index.ts')],
    outfile: SUITE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    logLevel: 'warning',
  });
  built = true;
}

for (const version of versions) {
  test(`VS Code ${version}: the extension activates and registers its commands`, async (t) => {
    let executable: string;
    try {
      executable = await download({ version, cachePath: CACHE, timeout: 30_000 });
    } catch (e) {
      const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
      console.log(`${SKIP_MESSAGE} (${reason})`);
      t.skip(`${SKIP_MESSAGE} (${reason})`);
      return;
    }
    if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
      throw new Error(
        'VS Code needs a display on Linux: run under `xvfb-run -a npm run test:electron`',
      );
    }
    build();
    const profile = mkdtempSync(join(tmpdir(), 'moe-lens-electron-'));
    try {
      const code = await runTests({
        vscodeExecutablePath: executable,
        extensionDevelopmentPath: ROOT,
        extensionTestsPath: SUITE,
        launchArgs: [
          '--disable-extensions',
          '--disable-workspace-trust',
          '--user-data-dir',
          join(profile, 'user-data'),
          '--extensions-dir',
          join(profile, 'extensions'),
        ],
      });
      if (code !== 0) throw new Error(`the suite inside VS Code ${version} exited with ${code}`);
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
}
