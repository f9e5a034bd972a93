// Bundles the three runtimes (and the routing panel's webview script, media/panel.js): the extension host entry, the engine host process (a forked
// child that owns onnxruntime) and the CLI. Type-checking is separate (`npm run typecheck`).
import * as esbuild from 'esbuild';
import { buildWebview } from './scripts/build-webview.mjs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  // onnxruntime-node is native: it ships next to the bundle, never inside it.
  external: ['vscode', 'onnxruntime-node'],
  logLevel: 'warning',
};

const entries = [
  { entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['src/host/engineHost.ts'], outfile: 'dist/engineHost.js' },
  { entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];

const contexts = await Promise.all(entries.map((e) => esbuild.context({ ...common, ...e })));
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await buildWebview(production);
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
