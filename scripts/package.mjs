// Builds one VSIX per platform: `npm run package [-- --target linux-x64[,…]] [--skip-build]`.
//
// Each VSIX carries the production bundles (dist/*.js), the default model (models/) and only its
// platform's onnxruntime-node runtime: the JS loader plus bin/napi-v6/<platform>/<arch>/, never the
// CUDA/TensorRT provider libraries (docs/TESTING.md).
//
// Why a staging folder: `vsce package --no-dependencies` never collects anything under the root
// node_modules/ (it globs with `ignore: ['node_modules/**']`), whatever .vscodeignore says. So
// every target is staged in .tmp/vsix/<target>/ with onnxruntime-node (and onnxruntime-common,
// which it requires) copied to dist/node_modules/, where Node's resolution from dist/extension.js
// and dist/engineHost.js finds it first. vsce then packages the stage with the allow-list
// .vscodeignore; this script checks every VSIX's file list (listVsix, also used by
// test/unit/vsix.test.ts).
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { inflateRawSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

/** onnxruntime-node native files per target: what `bin/napi-v6/<platform>/<arch>/` must ship. */
export const TARGETS = {
  'linux-x64': {
    platform: 'linux',
    arch: 'x64',
    native: ['onnxruntime_binding.node', 'libonnxruntime.so.1'],
  },
  'win32-x64': {
    platform: 'win32',
    arch: 'x64',
    // DirectML.dll: the dml execution provider; dxcompiler.dll: WebGPU (Dawn on D3D12; since
    // onnxruntime 1.31 without a separate dxil.dll).
    native: ['onnxruntime_binding.node', 'onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll'],
  },
  'darwin-arm64': {
    platform: 'darwin',
    arch: 'arm64',
    // The binding links @rpath/libonnxruntime.1.dylib; libonnxruntime.1.31.1.dylib is an
    // identical 44.6 MB copy.
    native: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'],
  },
  // Not built by default (no --target): the package has them, nobody has tested them.
  'linux-arm64': {
    platform: 'linux',
    arch: 'arm64',
    native: ['onnxruntime_binding.node', 'libonnxruntime.so.1'],
  },
  'win32-arm64': {
    platform: 'win32',
    arch: 'arm64',
    native: ['onnxruntime_binding.node', 'onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll'],
  },
};
export const DEFAULT_TARGETS = ['linux-x64', 'win32-x64', 'darwin-arm64'];
export const OUT_DIR = join(root, 'dist-vsix');

/** Where the VSIX of `target` is written. */
export function vsixPath(target, outDir = OUT_DIR) {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return join(outDir, `moe-lens-${target}-${version}.vsix`);
}

// ---------------------------------------------------------------------------------------------
// Zip reading (a VSIX is a zip): the central directory, and inflating single entries.

/**
 * The entries of a zip file, from its central directory.
 * @param {string} file
 * @returns {{ name: string, size: number, compressedSize: number, method: number, offset: number }[]}
 */
export function listVsix(file) {
  const buf = readFileSync(file);
  // End of central directory record: signature 0x06054b50, at most 64 KiB of comment after it.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: corrupt central directory`);
    const method = buf.readUInt16LE(p + 10);
    const compressedSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const offset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.push({ name, size, compressedSize, method, offset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/**
 * Extracts every entry of a zip file into `dest` (stored and deflated entries only: what vsce
 * writes).
 * @param {string} file
 * @param {string} dest
 */
export function extractVsix(file, dest) {
  const buf = readFileSync(file);
  for (const e of listVsix(file)) {
    if (e.name.endsWith('/')) continue;
    if (e.name.split('/').includes('..')) throw new Error(`${file}: unsafe entry ${e.name}`);
    const h = e.offset;
    if (buf.readUInt32LE(h) !== 0x04034b50) throw new Error(`${file}: bad local header`);
    const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
    const raw = buf.subarray(start, start + e.compressedSize);
    let data;
    if (e.method === 0) data = raw;
    else if (e.method === 8) data = inflateRawSync(raw);
    else throw new Error(`${file}: ${e.name}: unsupported compression method ${e.method}`);
    const out = join(dest, e.name);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, data);
  }
}

// ---------------------------------------------------------------------------------------------
// What a VSIX must and must not contain.

const ORT = 'extension/dist/node_modules/onnxruntime-node';
const ORT_COMMON = 'extension/dist/node_modules/onnxruntime-common';

/**
 * Problems with a VSIX's file list for `target` (empty when it is right).
 * @param {string} target
 * @param {string[]} names zip entry names
 * @returns {string[]}
 */
export function checkVsixFiles(target, names) {
  const t = TARGETS[target];
  if (!t) return [`unknown target ${target}`];
  const problems = [];
  const has = new Set(names);
  const binDir = `${ORT}/bin/napi-v6/${t.platform}/${t.arch}/`;
  const required = [
    'extension.vsixmanifest',
    'extension/package.json',
    'extension/readme.md',
    'extension/dist/extension.js',
    'extension/dist/engineHost.js',
    'extension/dist/cli.js',
    'extension/media/panel.js',
    'extension/media/panel.css',
    `${ORT}/package.json`,
    `${ORT}/dist/index.js`,
    `${ORT}/dist/binding.js`,
    `${ORT}/dist/backend.js`,
    `${ORT_COMMON}/package.json`,
    `${ORT_COMMON}/dist/cjs/index.js`,
    ...t.native.map((f) => binDir + f),
  ];
  for (const f of required) if (!has.has(f)) problems.push(`missing ${f}`);
  // The default model: at least one models/<name>/ with a manifest, a graph and a tokenizer.
  const models = new Set(
    names
      .filter((n) => /^extension\/models\/[^/]+\/genai_config\.json$/.test(n))
      .map((n) => n.split('/')[2]),
  );
  if (models.size === 0) {
    problems.push('missing the default model (extension/models/*/genai_config.json)');
  }
  for (const m of models) {
    for (const f of ['model.onnx', 'tokenizer.json']) {
      if (!has.has(`extension/models/${m}/${f}`)) {
        problems.push(`missing extension/models/${m}/${f}`);
      }
    }
  }
  for (const n of names) {
    const rel = n.replace(/^extension\//, '');
    const bad =
      (rel.startsWith('models/tiny-test/') ? "the tests' random stand-in model" : null) ??
      (n.startsWith(`${ORT}/bin/`) && !n.startsWith(binDir)
        ? "another platform's onnxruntime binary"
        : null) ??
      (/libonnxruntime_providers_|onnxruntime_providers_(cuda|tensorrt|shared)/i.test(n)
        ? 'CUDA/TensorRT provider library'
        : null) ??
      (/^(src|test|training|scripts|docs|\.tmp|\.ci|\.git|\.vscode|node_modules|dist-vsix|test-results)\//.test(
        rel,
      )
        ? 'development folder'
        : null) ??
      (/\.(ts|mts|map|vsix)$/.test(n) && !n.endsWith('.d.ts')
        ? 'source, map or vsix file'
        : null) ??
      (/\.d\.ts$/.test(n) ? 'type declarations' : null) ??
      (/(^|\/)(\.env|\.npmrc|package-lock\.json|tsconfig\.json|esbuild\.mjs)$/.test(rel)
        ? 'development file'
        : null);
    if (bad) problems.push(`unexpected ${bad}: ${n}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Staging and packaging.

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    throw new Error(`${[cmd, ...args].join(' ')} failed (${r.signal ?? `exit ${r.status}`})`);
  }
}

function copy(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

/** Copies the *.js files (and package.json files) of one folder, not recursing. */
function copyJs(fromDir, toDir) {
  for (const f of readdirSync(fromDir)) {
    if (f.endsWith('.js') || f === 'package.json') copy(join(fromDir, f), join(toDir, f));
  }
}

/** Lays out the files of one target's extension folder in `stage`. */
function stageTarget(target, stage) {
  const t = TARGETS[target];
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });

  // Manifest without scripts: they are development-only, and vsce would run a
  // `vscode:prepublish` in the stage, where there is nothing to build.
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  delete manifest.scripts;
  writeFileSync(join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  for (const f of ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'CHANGELOG.md']) {
    if (existsSync(join(root, f))) copy(join(root, f), join(stage, f));
  }
  // vsce rejects relative image links without a repository URL: the packaged README keeps the
  // text and drops the screenshots (docs/images/ is not packaged).
  const readme = readFileSync(join(root, 'README.md'), 'utf8').replace(
    /^\s*!\[[^\]]*\]\((?!https?:)[^)]*\)\s*\n/gm,
    '',
  );
  writeFileSync(join(stage, 'README.md'), readme);
  copy(join(root, '.vscodeignore'), join(stage, '.vscodeignore'));
  copyJs(join(root, 'dist'), join(stage, 'dist'));
  // models/tiny-test is the tests' random stand-in: users get only the real default model.
  cpSync(join(root, 'models'), join(stage, 'models'), {
    recursive: true,
    filter: (src) => !/[\\/]models[\\/]tiny-test([\\/]|$)/.test(src),
  });
  cpSync(join(root, 'media'), join(stage, 'media'), { recursive: true });

  // onnxruntime-node: loader + this platform's binaries; onnxruntime-common: its CommonJS build.
  const ort = dirname(require.resolve('onnxruntime-node/package.json'));
  // onnxruntime-common's "exports" hides its package.json: resolve its CommonJS entry
  // (dist/cjs/index.js) and go up.
  const common = resolve(
    dirname(createRequire(join(ort, 'package.json')).resolve('onnxruntime-common')),
    '..',
    '..',
  );
  const nm = join(stage, 'dist', 'node_modules');
  copy(join(ort, 'package.json'), join(nm, 'onnxruntime-node', 'package.json'));
  copyJs(join(ort, 'dist'), join(nm, 'onnxruntime-node', 'dist'));
  const bin = join('bin', 'napi-v6', t.platform, t.arch);
  for (const f of t.native) {
    const from = join(ort, bin, f);
    if (!existsSync(from)) throw new Error(`${target}: onnxruntime-node has no ${join(bin, f)}`);
    copy(from, join(nm, 'onnxruntime-node', bin, f));
  }
  copy(join(common, 'package.json'), join(nm, 'onnxruntime-common', 'package.json'));
  copyJs(join(common, 'dist', 'cjs'), join(nm, 'onnxruntime-common', 'dist', 'cjs'));
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

/**
 * Stages and packages one target from the bundles already in dist/; returns the VSIX path and
 * sizes. The stage is .tmp/vsix/<target>/, or <outDir>/stage/<target>/ for another outDir.
 * @param {string} target
 * @param {{ outDir?: string }} [opts]
 */
export function packageTarget(target, opts = {}) {
  if (!TARGETS[target]) {
    throw new Error(`unknown target ${target} (known: ${Object.keys(TARGETS).join(', ')})`);
  }
  const outDir = resolve(opts.outDir ?? OUT_DIR);
  const stage =
    outDir === OUT_DIR ? join(root, '.tmp', 'vsix', target) : join(outDir, 'stage', target);
  stageTarget(target, stage);
  const out = vsixPath(target, outDir);
  mkdirSync(dirname(out), { recursive: true });
  rmSync(out, { force: true });
  const args = [
    require.resolve('@vscode/vsce/vsce'),
    'package',
    '--target',
    target,
    '--no-dependencies',
    '--out',
    out,
    // Not published yet: no repository URL. These flags keep vsce from prompting on stdin.
    '--allow-missing-repository',
  ];
  if (!['LICENSE', 'LICENSE.md', 'LICENSE.txt'].some((f) => existsSync(join(root, f)))) {
    console.warn('package: no LICENSE file at the repository root; packaging without one');
    args.push('--skip-license');
  }
  run(process.execPath, args, stage);
  const entries = listVsix(out);
  const problems = checkVsixFiles(
    target,
    entries.map((e) => e.name),
  );
  if (problems.length > 0) {
    // The stage stays for inspection.
    throw new Error(`${out}:\n  ${problems.join('\n  ')}`);
  }
  rmSync(stage, { recursive: true, force: true });
  return {
    target,
    file: out,
    size: statSync(out).size,
    unpacked: entries.reduce((s, e) => s + e.size, 0),
    files: entries.length,
  };
}

/** Production bundles into dist/ (the same esbuild.mjs as development, minified, no maps). */
export function buildProduction() {
  run(process.execPath, [join(root, 'esbuild.mjs'), '--production'], root);
}

function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      'skip-build': { type: 'boolean', default: false },
      'out-dir': { type: 'string' },
    },
  });
  const targets = (values.target ?? DEFAULT_TARGETS).flatMap((t) => t.split(','));
  if (!values['skip-build']) buildProduction();
  const results = targets.map((t) => packageTarget(t, { outDir: values['out-dir'] }));
  console.log('');
  for (const r of results) {
    console.log(
      `${r.target.padEnd(13)} ${mb(r.size).padStart(9)}  (${mb(r.unpacked)} unpacked, ${r.files} files)  ${r.file}`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main();
  } catch (err) {
    console.error(`package: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
