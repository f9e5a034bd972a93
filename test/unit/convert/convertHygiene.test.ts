// Convert leaves nothing behind and destroys nothing it did not write: folders of killed runs are
// removed by the next run (a model caught mid-swap is put back), never taken for a model; a
// replaced model keeps the files the converter did not create; hostile checkpoint files (FIFOs,
// absurd sizes) fail at once with one line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../../src/convert/convert';
import { Engine } from '../../../src/engine/engine';
import { MoeLensError } from '../../../src/format/errors';
import { defaultModelDir } from '../../../src/format/modelDir';
import { ensureBuilt, runCli } from '../cliHelpers';
import { FIXTURES_DIR } from '../fixtureData';

const work = mkdtempSync(join(tmpdir(), 'moe-lens-hygiene-'));
/** FIFOs (mkfifo), /dev/zero and symlinks: POSIX only. */
const POSIX = process.platform !== 'win32';
after(() => rmSync(work, { recursive: true, force: true }));

const MIXTRAL = join(FIXTURES_DIR, 'mixtral');
const CPU = { executionProvider: 'cpu' as const, threads: 1 };

/** The pid of a process that has exited (so no process has it, barring reuse). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  assert.ok(r.pid && r.pid > 0);
  return r.pid;
}

let n = 0;
function parent(label: string): string {
  const dir = join(work, `${label}-${++n}`);
  mkdirSync(dir);
  return dir;
}

/** Converts the Mixtral fixture (fp32) into `out`; returns the progress lines. */
async function convert(out: string): Promise<string[]> {
  const lines: string[] = [];
  await convertCheckpoint(MIXTRAL, out, { dtype: 'fp32', onProgress: (m) => lines.push(m) });
  return lines;
}

/** A folder that looks like a half-written model (what a SIGKILL during convert leaves). */
function halfModel(dir: string): void {
  mkdirSync(dir);
  writeFileSync(join(dir, 'genai_config.json'), '{"moe_lens": {}}');
  writeFileSync(join(dir, 'model.onnx.data'), Buffer.alloc(1024));
}

describe('folders left by killed conversions', () => {
  test('the next conversion removes them (dead pid only) and reports it', async () => {
    const p = parent('stale');
    const dead = deadPid();
    const live = process.ppid; // the test runner: alive for as long as this test runs
    halfModel(join(p, `.out.converting-${dead}`));
    halfModel(join(p, `.out.converting-${live}`));
    halfModel(join(p, `.other.converting-${dead}`));
    const lines = await convert(join(p, 'out'));
    assert.deepEqual(readdirSync(p).sort(), [
      `.other.converting-${dead}`, // another output's: not this run's business
      `.out.converting-${live}`, // a live run's: never touched
      'out',
    ]);
    assert.ok(
      lines.includes(`removed .out.converting-${dead} (left by a killed conversion, pid ${dead})`),
      `reported: ${JSON.stringify(lines)}`,
    );
  });

  test('a model caught between the two renames of a swap is put back, then replaced', async () => {
    const p = parent('midswap');
    const out = join(p, 'out');
    await convert(out);
    writeFileSync(join(out, 'MODEL_CARD.md'), '# my model\n');
    // Killed after `rename(out, .old)` and before `rename(tmp, out)`:
    const dead = deadPid();
    renameSync(out, join(p, `.out.converting-${dead}.old`));
    halfModel(join(p, `.out.converting-${dead}`));
    const lines = await convert(out);
    assert.deepEqual(readdirSync(p), ['out']);
    assert.equal(readFileSync(join(out, 'MODEL_CARD.md'), 'utf8'), '# my model\n');
    assert.ok(lines.some((l) => l.startsWith(`restored ${out} from .out.converting-${dead}.old`)));
  });

  test('the default-model lookup never takes a .converting folder for a model', () => {
    const root = parent('lookup');
    mkdirSync(join(root, 'models'));
    halfModel(join(root, 'models', `.b-model.converting-${deadPid()}`));
    halfModel(join(root, 'models', 'z-model'));
    assert.equal(defaultModelDir(root), join(root, 'models', 'z-model'));
    rmSync(join(root, 'models', 'z-model'), { recursive: true });
    assert.throws(() => defaultModelDir(root), MoeLensError);
  });
});

describe('replacing a model', () => {
  test(
    'keeps MODEL_CARD.md and every other file the converter did not write',
    { skip: !POSIX },
    async () => {
      const p = parent('replace');
      const out = join(p, 'out');
      await convert(out);
      writeFileSync(join(out, 'MODEL_CARD.md'), '# card\n');
      mkdirSync(join(out, 'notes'));
      writeFileSync(join(out, 'notes', 'eval.txt'), 'pass@1 0.3\n');
      symlinkSync('MODEL_CARD.md', join(out, 'README.md'));
      // A converter file the new checkpoint does not have goes with the old model.
      writeFileSync(join(out, 'generation_config.json'), '{}');
      await convert(out);
      assert.equal(readFileSync(join(out, 'MODEL_CARD.md'), 'utf8'), '# card\n');
      assert.equal(readFileSync(join(out, 'notes', 'eval.txt'), 'utf8'), 'pass@1 0.3\n');
      assert.ok(lstatSync(join(out, 'README.md')).isSymbolicLink());
      assert.equal(readlinkSync(join(out, 'README.md')), 'MODEL_CARD.md');
      assert.ok(!existsSync(join(out, 'generation_config.json')));
      assert.deepEqual(
        readdirSync(p).filter((f) => f !== 'out'),
        [],
        'no temporary folder left',
      );
      const engine = await Engine.open(out, CPU);
      await engine.dispose();
    },
  );

  test(
    'refuses, before any work, an old folder holding something it cannot keep',
    { skip: !POSIX },
    async () => {
      const p = parent('replace-fifo');
      const out = join(p, 'out');
      await convert(out);
      const before = readdirSync(out).sort();
      execFileSync('mkfifo', [join(out, 'pipe')]);
      await assert.rejects(
        convert(out),
        (e: unknown) =>
          e instanceof MoeLensError &&
          /pipe: not a regular file, folder or symlink/.test(e.message),
      );
      assert.deepEqual(readdirSync(out).sort(), [...before, 'pipe'].sort());
      assert.deepEqual(readdirSync(p), ['out']);
    },
  );
});

describe(
  'hostile checkpoint files through the CLI: one line, at once',
  { concurrency: 2, skip: !POSIX },
  () => {
    before(ensureBuilt);

    function checkpoint(label: string, edit: (dir: string) => void): string {
      const dir = join(parent(label), 'hf');
      cpSync(MIXTRAL, dir, { recursive: true });
      edit(dir);
      return dir;
    }

    async function convertRefused(src: string, ...patterns: RegExp[]): Promise<void> {
      const out = join(src, '..', 'out');
      const t0 = performance.now();
      const r = await runCli(['convert', src, out, '--dtype', 'fp32', '--json'], 30_000);
      assert.ok(performance.now() - t0 < 30_000, 'no hang');
      assert.notEqual(r.code, 0);
      const lines = r.stderr.split('\n');
      assert.equal(lines.length, 2, `one line on stderr, got:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /internal error/);
      for (const p of patterns) assert.match(lines[0] as string, p);
      assert.deepEqual(readdirSync(join(src, '..')), ['hf'], 'no output, no temporary folder');
    }

    test('a FIFO as the checkpoint tokenizer.json', async () => {
      const src = checkpoint('fifo-tok', (d) =>
        execFileSync('mkfifo', [join(d, 'tokenizer.json')]),
      );
      await convertRefused(src, /tokenizer\.json: a FIFO, not a regular file; refused/);
    });

    test('a FIFO as config.json', async () => {
      const src = checkpoint('fifo-config', (d) => {
        unlinkSync(join(d, 'config.json'));
        execFileSync('mkfifo', [join(d, 'config.json')]);
      });
      await convertRefused(src, /config\.json: a FIFO, not a regular file; refused/);
    });

    test('num_hidden_layers 1e9 in config.json', async () => {
      const src = checkpoint('layers-1e9', (d) => {
        const file = join(d, 'config.json');
        const cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        cfg.num_hidden_layers = 1e9;
        writeFileSync(file, JSON.stringify(cfg));
      });
      await convertRefused(
        src,
        /config\.json: field "num_hidden_layers" must be an integer in 1\.\.1024, got 1000000000/,
      );
    });

    test('num_hidden_layers above what the checkpoint holds', async () => {
      const src = checkpoint('layers-9', (d) => {
        const file = join(d, 'config.json');
        const cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        cfg.num_hidden_layers = 9;
        writeFileSync(file, JSON.stringify(cfg));
      });
      await convertRefused(
        src,
        /num_hidden_layers is 9, but the checkpoint has no tensor "model\.layers\.8\.input_layernorm\.weight"/,
      );
    });
  },
);
