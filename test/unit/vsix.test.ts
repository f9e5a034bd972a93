// Packaging: every platform VSIX (scripts/package.mjs) holds exactly what the installed extension
// runs: the bundles, the default model, and only its own platform's onnxruntime-node binaries.
// The VSIXs are built here from the current dist/ into a temporary folder (a few seconds each),
// and the linux-x64 one is unpacked and run: the packaged CLI loads the packaged model with the
// packaged onnxruntime.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT, ensureBuilt } from './cliHelpers';

interface Target {
  platform: string;
  arch: string;
  native: string[];
}
interface ZipEntry {
  name: string;
  size: number;
  compressedSize: number;
}
/** What scripts/package.mjs exports. */
interface PackageScript {
  TARGETS: Record<string, Target>;
  DEFAULT_TARGETS: string[];
  listVsix(file: string): ZipEntry[];
  extractVsix(file: string, dest: string): void;
  checkVsixFiles(target: string, names: string[]): string[];
  vsixPath(target: string, outDir?: string): string;
}

const SCRIPT = join(ROOT, 'scripts', 'package.mjs');
const BIN = 'extension/dist/node_modules/onnxruntime-node/bin/napi-v6/';
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

describe('platform VSIXs', { timeout: 600_000 }, () => {
  let pkg: PackageScript;
  let out: string;

  before(async () => {
    pkg = (await import(pathToFileURL(SCRIPT).href)) as PackageScript;
    await ensureBuilt();
    out = mkdtempSync(join(tmpdir(), 'moe-lens-vsix-'));
    execFileSync(
      process.execPath,
      [SCRIPT, '--skip-build', '--out-dir', out, '--target', pkg.DEFAULT_TARGETS.join(',')],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 540_000 },
    );
  });

  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('linux-x64, win32-x64 and darwin-arm64 are built', () => {
    assert.deepEqual(pkg.DEFAULT_TARGETS, ['linux-x64', 'win32-x64', 'darwin-arm64']);
  });

  for (const target of ['linux-x64', 'win32-x64', 'darwin-arm64']) {
    test(`${target}: bundles, default model, only ${target}'s onnxruntime binaries`, (t) => {
      const file = pkg.vsixPath(target, out);
      const entries = pkg.listVsix(file);
      const names = entries.map((e) => e.name);
      const unpacked = entries.reduce((s, e) => s + e.size, 0);
      t.diagnostic(
        `${target}: ${mb(statSync(file).size)} (${mb(unpacked)} unpacked, ${names.length} files)`,
      );

      for (const f of [
        'extension/package.json',
        'extension/readme.md',
        'extension/dist/extension.js',
        'extension/dist/engineHost.js',
        'extension/dist/cli.js',
        'extension/dist/node_modules/onnxruntime-node/package.json',
        'extension/dist/node_modules/onnxruntime-node/dist/index.js',
        'extension/dist/node_modules/onnxruntime-common/dist/cjs/index.js',
      ]) {
        assert.ok(names.includes(f), `${target}: has ${f}`);
      }
      // Nothing heavy at activation: the TypeScript compiler and onnxruntime stay out of the
      // extension host's bundle (token classes and syntax checks run in the engine process).
      const ext = entries.find((e) => e.name === 'extension/dist/extension.js');
      assert.ok(
        ext && ext.size <= 400 * 1024,
        `${target}: dist/extension.js is ${ext?.size} bytes`,
      );
      const models = names.filter((n) => /^extension\/models\/[^/]+\/genai_config\.json$/.test(n));
      assert.ok(models.length >= 1, `${target}: ships the default model`);
      for (const m of models) {
        const dir = m.slice(0, -'genai_config.json'.length);
        assert.ok(names.includes(`${dir}model.onnx`), `${target}: has ${dir}model.onnx`);
        assert.ok(names.includes(`${dir}tokenizer.json`), `${target}: has ${dir}tokenizer.json`);
      }

      const spec = pkg.TARGETS[target] as Target;
      const bins = names.filter((n) => n.startsWith(BIN));
      assert.deepEqual(
        bins.sort(),
        spec.native.map((f) => `${BIN}${spec.platform}/${spec.arch}/${f}`).sort(),
        `${target}: exactly its own platform's onnxruntime files`,
      );
      assert.ok(
        !names.some((n) => /providers_(cuda|tensorrt|shared)/.test(n)),
        `${target}: no CUDA/TensorRT provider libraries`,
      );

      const dev = names.filter(
        (n) =>
          /^extension\/(src|test|training|scripts|docs|\.tmp|\.ci|node_modules|test-results|dist-vsix)\//.test(
            n,
          ) || /\.(ts|mts|map)$/.test(n),
      );
      assert.deepEqual(dev, [], `${target}: no sources, tests, training data, maps or .tmp`);
      assert.deepEqual(pkg.checkVsixFiles(target, names), [], `${target}: package.mjs's check`);
    });
  }

  test("package.mjs's check rejects other platforms, CUDA libraries and development files", () => {
    const good = pkg.listVsix(pkg.vsixPath('win32-x64', out)).map((e) => e.name);
    const problems = pkg.checkVsixFiles('win32-x64', [
      ...good.filter((n) => !n.endsWith('/DirectML.dll')),
      `${BIN}linux/x64/libonnxruntime.so.1`,
      `${BIN}win32/x64/onnxruntime_providers_cuda.dll`,
      'extension/src/extension.ts',
      'extension/dist/extension.js.map',
      'extension/.tmp/t.ts',
    ]);
    const expected = [
      'DirectML.dll',
      'linux/x64/libonnxruntime.so.1',
      'providers_cuda',
      'src/extension.ts',
      'extension.js.map',
      '.tmp/t.ts',
    ];
    for (const e of expected) {
      assert.ok(
        problems.some((p) => p.includes(e)),
        `a problem about ${e}: ${problems.join('; ')}`,
      );
    }
    assert.equal(problems.length, expected.length, problems.join('\n'));
  });

  test(
    'linux-x64 VSIX unpacked: its CLI loads the default model with its onnxruntime',
    { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'not on linux-x64' : false },
    (t) => {
      const dir = join(out, 'unpacked');
      pkg.extractVsix(pkg.vsixPath('linux-x64', out), dir);
      const cli = join(dir, 'extension', 'dist', 'cli.js');
      const info = JSON.parse(
        execFileSync(process.execPath, [cli, 'info', '--json'], {
          // Outside the repository, so nothing can resolve from the root node_modules/.
          cwd: dir,
          encoding: 'utf8',
          timeout: 120_000,
          env: { ...process.env, NODE_PATH: '' },
        }),
      ) as { executionProvider: string; totalParams: number };
      t.diagnostic(`packaged model: ${JSON.stringify(info)}`);
      assert.equal(info.executionProvider, 'cpu');
      assert.ok(info.totalParams > 0);
      const resolved = execFileSync(
        process.execPath,
        ['-p', "require.resolve('onnxruntime-node/package.json')"],
        { cwd: join(dir, 'extension', 'dist'), encoding: 'utf8' },
      ).trim();
      assert.equal(
        resolved,
        join(dir, 'extension', 'dist', 'node_modules', 'onnxruntime-node', 'package.json'),
        'onnxruntime-node resolves inside the VSIX',
      );
    },
  );
});
