// `node dist/cli.js analyze --json` on a folder of real source files (copied from this repo plus
// a binary and an unknown file): the documented shape, internally consistent statistics, and
// one-line errors for bad input.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { CLI, ensureBuilt, ROOT } from './cliHelpers';

const MODEL = join(ROOT, 'models', 'tiny-test');
let dir: string;

before(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'moe-lens-analyze-'));
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'node_modules', 'x'), { recursive: true });
  copyFileSync(join(ROOT, 'src', 'engine', 'sampler.ts'), join(dir, 'src', 'sampler.ts'));
  copyFileSync(join(ROOT, 'src', 'format', 'routing.ts'), join(dir, 'src', 'routing.ts'));
  copyFileSync(join(ROOT, 'training', 'export_hf.py'), join(dir, 'export_hf.py'));
  writeFileSync(join(dir, 'node_modules', 'x', 'index.js'), 'module.exports = 1;\n');
  writeFileSync(join(dir, 'blob.js'), Buffer.from([0, 1, 2, 3, 0, 255, 0]));
  writeFileSync(join(dir, 'notes.unknownext'), 'hello');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('analyze --json: shape and internally consistent statistics', () => {
  const out = execFileSync(
    process.execPath,
    [CLI, 'analyze', '--model', MODEL, dir, '--file-tokens', '300', '--json'],
    { encoding: 'utf8' },
  );
  const r = JSON.parse(out);
  assert.equal(r.files, 3, 'two TS files and one Python file (node_modules skipped)');
  assert.ok(r.tokens > 300 && r.tokens <= 900, `tokens ${r.tokens}`);
  assert.ok(r.tokensPerSecond > 0);
  // Paths are shown relative to the working directory.
  assert.deepEqual(
    r.skipped.map((s: { file: string; reason: string }) => [s.file.split(/[\\/]/).pop(), s.reason]),
    [['blob.js', 'binary']],
    'the binary file is listed as skipped',
  );
  const E = r.experts;
  const lnE = Math.log(E);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  assert.ok(r.layers.length > 0);
  for (const l of r.layers) {
    assert.deepEqual(Object.keys(l).sort(), [
      'classShares', 'coactivation', 'cv', 'languageShares', 'layer', 'load', 'maxViolation',
      'meanEntropy', 'repeatTop1', 'repeatTop1Chance', 'topKMass', 'vocabulary',
    ]); // prettier-ignore
    assert.equal(l.load.length, E);
    assert.ok(Math.abs(sum(l.load) - 1) < 1e-9, 'loads sum to 1');
    assert.ok(l.meanEntropy >= 0 && l.meanEntropy <= lnE + 1e-9, 'entropy within [0, ln E]');
    assert.ok(l.topKMass > 0 && l.topKMass <= 1 + 1e-9);
    assert.ok(l.repeatTop1 >= 0 && l.repeatTop1 <= 1);
    assert.ok(l.repeatTop1Chance >= 1 / E - 1e-9 && l.repeatTop1Chance <= 1 + 1e-9);
    assert.ok(l.cv >= 0 && l.maxViolation >= 0);
    for (const [cls, shares] of Object.entries(l.classShares) as [string, number[]][]) {
      assert.ok(Math.abs(sum(shares) - 1) < 1e-9, `class ${cls} shares sum to 1`);
    }
    assert.ok('keyword' in l.classShares && 'identifier' in l.classShares);
    assert.deepEqual(Object.keys(l.languageShares).sort(), ['python', 'typescript']);
    l.coactivation.forEach((row: number[], a: number) => {
      assert.equal(row[a], l.load[a] > 0 ? 1 : 0, 'diagonal');
      row.forEach((p) => assert.ok(p >= 0 && p <= 1 + 1e-12));
    });
    assert.equal(l.vocabulary.length, E);
  }
});

test('analyze: bad input fails with one line naming the problem', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'analyze', '--model', MODEL, ...args, '--json'], {
      encoding: 'utf8',
    });
  const missing = run(join(dir, 'nope'));
  assert.notEqual(missing.status, 0);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr.trim(), /nope: no such file or folder$/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  const none = run(join(dir, 'notes.unknownext'));
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /no source files/);
  const empty = spawnSync(process.execPath, [CLI, 'analyze', '--json'], { encoding: 'utf8' });
  assert.notEqual(empty.status, 0);
  assert.match(empty.stderr, /give files or folders/);
});
