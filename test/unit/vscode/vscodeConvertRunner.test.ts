// "Convert checkpoint…" runs the converter CLI in a forked child: progress lines, one-line errors,
// cancellation (SIGINT, then a kill after the grace period) and no partial model left behind.
// Fake converter scripts keep these fast; one real conversion checks the CLI's actual output.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, MoeLensError } from '../../../src/format/errors';
import { MANIFEST_FILE } from '../../../src/format/manifest';
import {
  chooseOutputDir,
  convertTempDir,
  runConvert,
  type ConvertJob,
} from '../../../src/vscode/core/convertRunner';
import { FIXTURES_DIR } from '../fixtureData';

const work = mkdtempSync(join(tmpdir(), 'moe-lens-convert-runner-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A fake converter: `body` runs with out (the output dir) and tmp (its temp folder) defined. */
function fakeCli(name: string, body: string): string {
  const file = join(work, `${name}.cjs`);
  writeFileSync(
    file,
    `const fs = require('node:fs'); const path = require('node:path');
const out = process.argv[4];
const tmp = path.join(path.dirname(out), '.' + path.basename(out) + '.converting-' + process.pid);
${body}\n`,
  );
  return file;
}

const SLOW = `fs.mkdirSync(tmp, { recursive: true });
process.stderr.write('convert: reading config\\n');
setInterval(() => {}, 1000);`;

function job(cliPath: string, extra: Partial<ConvertJob> = {}): ConvertJob {
  return { cliPath, hfDir: join(work, 'hf'), outDir: join(work, 'out'), dtype: 'int4', ...extra };
}

test('progress lines are reported; exit 0 resolves', async () => {
  const cli = fakeCli(
    'ok',
    `process.stderr.write('convert: layer 1/2\\nconvert: lay');
setTimeout(() => { process.stderr.write('er 2/2\\n'); process.exit(0); }, 20);`,
  );
  const progress: string[] = [];
  await runConvert(job(cli, { onProgress: (m) => progress.push(m) }));
  assert.deepEqual(progress, ['layer 1/2', 'layer 2/2']);
});

test("a failed conversion rejects with the converter's one-line message", async () => {
  const cli = fakeCli(
    'fail',
    `process.stderr.write('moe-lens: /hf/config.json: not found\\n'); process.exit(1);`,
  );
  await assert.rejects(runConvert(job(cli)), (e: Error) => {
    assert.ok(e instanceof MoeLensError);
    assert.equal(e.message, '/hf/config.json: not found');
    return true;
  });
});

test('cancel sends SIGINT; the converter cleans up and nothing is left', async (t) => {
  if (process.platform === 'win32') return t.skip('signals are not delivered on Windows');
  const cli = fakeCli(
    'polite',
    `${SLOW}
process.on('SIGINT', () => { fs.rmSync(tmp, { recursive: true, force: true });
  process.stderr.write('moe-lens: conversion cancelled; nothing was written\\n'); process.exit(1); });`,
  );
  const controller = new AbortController();
  const run = runConvert(
    job(cli, { signal: controller.signal, onProgress: () => controller.abort(), graceMs: 5000 }),
  );
  await assert.rejects(run, CancelledError);
  assert.deepEqual(
    readdirSync(work).filter((f) => f.includes('converting')),
    [],
  );
  assert.ok(!existsSync(join(work, 'out')));
});

test('a converter ignoring SIGINT is killed after the grace period; its temp folder removed', async () => {
  const cli = fakeCli('stubborn', `${SLOW}\nprocess.on('SIGINT', () => {});`);
  const controller = new AbortController();
  const run = runConvert(
    job(cli, { signal: controller.signal, onProgress: () => controller.abort(), graceMs: 200 }),
  );
  // It settles (a converter left running would hang the test until its timeout).
  await assert.rejects(run, CancelledError);
  assert.deepEqual(
    readdirSync(work).filter((f) => f.includes('converting')),
    [],
  );
});

test('already aborted: nothing starts', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    runConvert(job('/nonexistent.js', { signal: controller.signal })),
    CancelledError,
  );
});

test('convertTempDir matches the converter; chooseOutputDir picks or creates a subfolder', () => {
  assert.equal(convertTempDir('/a/b/model', 42), join('/a/b', '.model.converting-42'));
  assert.equal(chooseOutputDir('/o', null, '/hf/Qwen-MoE', 'int4'), '/o');
  assert.equal(chooseOutputDir('/o', [], '/hf/Qwen-MoE', 'int4'), '/o');
  assert.equal(chooseOutputDir('/o', [MANIFEST_FILE, 'model.onnx'], '/hf/Qwen-MoE', 'int8'), '/o');
  assert.equal(
    chooseOutputDir('/o', ['notes.txt'], '/hf/Qwen-MoE/', 'int8'),
    join('/o', 'Qwen-MoE-int8'),
  );
});

test('the real converter CLI: progress, a complete model folder', async () => {
  const out = join(work, 'real');
  mkdirSync(out);
  const progress: string[] = [];
  await runConvert({
    cliPath: join(__dirname, '..', '..', '..', 'src', 'cli.ts'),
    execArgv: ['--import', 'tsx'],
    hfDir: join(FIXTURES_DIR, 'qwen3moe'),
    outDir: out,
    dtype: 'fp32',
    onProgress: (m) => progress.push(m),
  });
  assert.ok(progress.length > 0, 'progress reported');
  assert.ok(existsSync(join(out, MANIFEST_FILE)));
  assert.deepEqual(
    readdirSync(work).filter((f) => f.includes('converting')),
    [],
  );
});
