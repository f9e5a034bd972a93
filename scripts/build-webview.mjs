// Bundles the routing panel's webview script (src/webview/panel.ts) to media/panel.js: an IIFE
// for the browser, no source map (the webview loads only files under media/).
import * as esbuild from 'esbuild';

export async function buildWebview(production) {
  await esbuild.build({
    entryPoints: ['src/webview/panel.ts'],
    outfile: 'media/panel.js',
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: production,
    sourcemap: false,
    logLevel: 'warning',
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildWebview(process.argv.includes('--production'));
}
