// Activation cost of the bundled extension (dist/extension.js): the time to load the bundle and
// run activate() against the in-memory vscode module of the unit tests, in fresh Node processes
// (medians). A proxy for VS Code's "Show Running Extensions" activation figure that runs
// anywhere; docs/BENCHMARKS.md records it with the bundle size.
//   npm run build -- --production && node --import tsx scripts/benchActivation.ts [--runs 9] [--json]
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const BUNDLE = join(ROOT, 'dist', 'extension.js');

/** One fresh process: load the mock, then time require(bundle) and activate(). */
const CHILD = `
require(${JSON.stringify(join(ROOT, 'test', 'unit', 'vscodeMock.ts'))});
const t0 = process.hrtime.bigint();
const ext = require(${JSON.stringify(BUNDLE)});
const t1 = process.hrtime.bigint();
const subscriptions = [];
ext.activate({ subscriptions, extensionPath: ${JSON.stringify(ROOT)}, extension: { packageJSON: { version: '0' } } });
const t2 = process.hrtime.bigint();
for (const d of subscriptions.reverse()) d.dispose();
console.log(JSON.stringify({ loadMs: Number(t1 - t0) / 1e6, activateMs: Number(t2 - t1) / 1e6 }));
process.exit(0);
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

function main(): void {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 9;
  const samples: { loadMs: number; activateMs: number }[] = [];
  for (let r = 0; r < runs; r++) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', CHILD], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    samples.push(JSON.parse(out.trim().split('\n').at(-1) as string));
  }
  const result = {
    bundleBytes: statSync(BUNDLE).size,
    runs,
    loadMs: median(samples.map((s) => s.loadMs)),
    activateMs: median(samples.map((s) => s.activateMs)),
  };
  if (process.argv.includes('--json')) console.log(JSON.stringify(result));
  else {
    console.log(
      `dist/extension.js ${(result.bundleBytes / 1024).toFixed(0)} KiB: load ${result.loadMs.toFixed(1)} ms, activate ${result.activateMs.toFixed(1)} ms (medians of ${runs})`,
    );
  }
}

main();
