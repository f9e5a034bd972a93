// Bad input through the real built CLI: every case must fail with exit code != 0, nothing on
// stdout, and exactly one line on stderr, "moe-lens: ...", naming the file / tensor / option and
// the problem. A failed conversion never leaves a temporary folder and never destroys the model
// already at the output path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES_DIR } from './fixtureData';
import {
  cliJson,
  convertFixture,
  ensureBuilt,
  rewriteSafetensors,
  runCli,
  sha256,
} from './cliHelpers';

const work = mkdtempSync(join(tmpdir(), 'moe-lens-bad-'));
before(ensureBuilt);
after(() => rmSync(work, { recursive: true, force: true }));

const CPU = ['--ep', 'cpu', '--threads', '1'];

/** Runs the CLI, checks the one-line failure contract, and returns the message line. */
async function expectError(args: string[], ...mentions: (string | RegExp)[]): Promise<string> {
  const r = await runCli(args);
  const at = `cli.js ${args.join(' ')}`;
  assert.notEqual(r.code, 0, `${at}: exit code`);
  assert.equal(r.stdout, '', `${at}: nothing on stdout`);
  const lines = r.stderr.split('\n');
  assert.ok(
    lines.length === 2 && lines[1] === '',
    `${at}: exactly one line on stderr, got:\n${r.stderr}`,
  );
  const line = lines[0] as string;
  assert.match(line, /^moe-lens: /);
  assert.doesNotMatch(line, /internal error/);
  for (const m of mentions) {
    if (typeof m === 'string') assert.ok(line.includes(m), `${at}: "${line}" mentions "${m}"`);
    else assert.match(line, m, at);
  }
  return line;
}

/** No `.<out>.converting-*` (or `.old`) folder left in `parent`. */
function assertNoTempFolders(parent: string): void {
  assert.deepEqual(
    readdirSync(parent).filter((f) => f.includes('.converting-')),
    [],
    `temporary folders left in ${parent}`,
  );
}

let outCount = 0;
/**
 * A conversion that must fail; it must leave neither the output nor a temporary folder. Runs with
 * --json: without it, `convert: layer i/n` progress lines precede the error on stderr.
 */
async function expectConvertError(
  src: string,
  extra: string[],
  ...mentions: (string | RegExp)[]
): Promise<string> {
  const parent = join(work, `convert-${++outCount}`);
  mkdirSync(parent);
  const out = join(parent, 'out');
  const line = await expectError(['convert', src, out, ...extra, '--json'], ...mentions);
  assert.ok(!existsSync(out), 'no output folder after a failed conversion');
  assertNoTempFolders(parent);
  return line;
}

/** A private copy of a fixture checkpoint, edited by `edit`. */
function fixtureCopy(name: string, label: string, edit: (dir: string) => void = () => {}) {
  const dir = join(work, `hf-${label}`);
  cpSync(join(FIXTURES_DIR, name), dir, { recursive: true });
  rmSync(join(dir, 'expected.json'));
  edit(dir);
  return dir;
}

function editConfig(dir: string, edit: (cfg: Record<string, unknown>) => void): void {
  const file = join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(cfg);
  writeFileSync(file, JSON.stringify(cfg, null, 2));
}

const FP32 = ['--dtype', 'fp32'];
const MIXTRAL = join(FIXTURES_DIR, 'mixtral');

// Cases are independent (own folders), so two run at once.
describe('convert: bad checkpoints and options', { concurrency: 2 }, () => {
  test('missing checkpoint folder', async () => {
    const missing = join(work, 'no-such-checkpoint');
    await expectConvertError(missing, FP32, missing, 'not found');
  });

  test('missing config.json', async () => {
    const dir = fixtureCopy('mixtral', 'no-config', (d) => rmSync(join(d, 'config.json')));
    await expectConvertError(dir, FP32, join(dir, 'config.json'), 'not found');
  });

  test('unknown architecture', async () => {
    const dir = fixtureCopy('mixtral', 'llama', (d) =>
      editConfig(d, (c) => (c.architectures = ['LlamaForCausalLM'])),
    );
    await expectConvertError(
      dir,
      FP32,
      join(dir, 'config.json'),
      'unsupported architecture',
      'LlamaForCausalLM',
    );
  });

  test('unsupported RoPE scaling', async () => {
    const dir = fixtureCopy('mixtral', 'yarn', (d) =>
      editConfig(d, (c) => (c.rope_parameters = { rope_type: 'yarn', factor: 4, rope_theta: 1e6 })),
    );
    await expectConvertError(dir, FP32, join(dir, 'config.json'), '"yarn"', 'not supported');
  });

  test('missing safetensors', async () => {
    const dir = fixtureCopy('mixtral', 'no-weights', (d) => rmSync(join(d, 'model.safetensors')));
    await expectConvertError(dir, FP32, dir, 'model.safetensors', 'model.safetensors.index.json');
  });

  test('truncated safetensors', async () => {
    const dir = fixtureCopy('mixtral', 'truncated', (d) =>
      truncateSync(join(d, 'model.safetensors'), 200_000),
    );
    await expectConvertError(
      dir,
      FP32,
      join(dir, 'model.safetensors'),
      /tensor "model\.layers\.\d+\.[^"]+"/,
      'truncated',
      '200000 bytes',
    );
  });

  test('header/shape mismatch names the tensor and both shapes', async () => {
    const dir = fixtureCopy('mixtral', 'hidden128', (d) =>
      editConfig(d, (c) => (c.hidden_size = 128)),
    );
    await expectConvertError(
      dir,
      FP32,
      join(dir, 'model.safetensors'),
      'tensor "model.embed_tokens.weight"',
      'has shape [320, 64], expected [320, 128]',
    );
  });

  test('missing shard of a sharded checkpoint', async () => {
    const shard = 'model-00002-of-00003.safetensors';
    const dir = fixtureCopy('qwen2moe', 'missing-shard', (d) => rmSync(join(d, shard)));
    await expectConvertError(
      dir,
      FP32,
      join(dir, 'model.safetensors.index.json'),
      `"${shard}"`,
      'missing',
    );
  });

  test('unsupported tensor dtype (I8)', async () => {
    const tensor = 'model.layers.1.block_sparse_moe.experts.0.w1.weight';
    const dir = fixtureCopy('mixtral', 'int8-tensor', (d) => {
      const file = join(d, 'model.safetensors');
      rewriteSafetensors(file, file, (name, t) =>
        name === tensor
          ? { dtype: 'I8', shape: t.shape, data: Buffer.alloc(t.data.length / 2, 1) }
          : t,
      );
    });
    const line = await expectConvertError(
      dir,
      FP32,
      join(dir, 'model.safetensors'),
      `tensor "${tensor}"`,
      'dtype I8',
    );
    // Without --json: progress lines for the layers done, then the same error as the last line.
    const out = join(work, 'int8-tensor-out');
    const r = await runCli(['convert', dir, out, ...FP32]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.pop(), line);
    for (const l of lines) assert.match(l, /^convert: layer \d+\/\d+$/);
    assert.ok(!existsSync(out));
    assert.deepEqual(
      readdirSync(work).filter((f) => f.startsWith('.int8-tensor-out')),
      [],
    );
  });

  test('--dtype int3', async () => {
    await expectConvertError(MIXTRAL, ['--dtype', 'int3'], '--dtype', 'int3');
  });

  test('--top-k above the expert count', async () => {
    await expectConvertError(MIXTRAL, [...FP32, '--top-k', '9'], '--top-k', '9', '1..4');
  });

  test('qmoe experts with a block size that does not divide the expert width', async () => {
    await expectConvertError(
      MIXTRAL,
      ['--dtype', 'int4', '--experts', 'qmoe', '--block-size', '32'],
      'qmoe',
      '48',
    );
  });

  test('--accuracy-level outside 0..4', async () => {
    await expectConvertError(
      MIXTRAL,
      ['--dtype', 'int4', '--accuracy-level', '7'],
      '--accuracy-level',
      '7',
    );
  });

  test('a failed conversion keeps the model already at the output path', async () => {
    const parent = join(work, 'keep');
    mkdirSync(parent);
    const out = join(parent, 'model');
    await convertFixture('mixtral', out);
    const before = readdirSync(out).map((f) => [f, sha256(join(out, f))]);
    const bad = fixtureCopy('mixtral', 'keep-bad', (d) =>
      editConfig(d, (c) => (c.hidden_size = 128)),
    );
    // Fails while writing the new graph (the temporary folder exists by then).
    await expectError(['convert', bad, out, ...FP32], 'model.embed_tokens.weight');
    // Fails while opening the checkpoint (before any temporary folder).
    await expectError(['convert', join(work, 'nothing-here'), out, ...FP32], 'not found');
    assertNoTempFolders(parent);
    assert.deepEqual(
      readdirSync(out).map((f) => [f, sha256(join(out, f))]),
      before,
    );
    const info = await cliJson<{ architecture: string }>(['info', '--model', out, ...CPU]);
    assert.equal(info.architecture, 'MixtralForCausalLM');
  });

  test('never replaces a folder that is not a MoE Lens model', async () => {
    const out = join(work, 'precious');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'not a model');
    await expectError(['convert', MIXTRAL, out, ...FP32], out);
    assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'not a model');
  });

  test('never converts a checkpoint into its own folder', async () => {
    const dir = fixtureCopy('mixtral', 'in-place');
    await expectError(['convert', dir, dir, ...FP32], dir);
    assert.ok(existsSync(join(dir, 'model.safetensors')), 'the checkpoint is still there');
  });
});

describe('loading a model and running commands', { concurrency: 2 }, () => {
  let good: string;
  const modelCopy = (label: string, edit: (dir: string) => void): string => {
    const dir = join(work, `model-${label}`);
    cpSync(good, dir, { recursive: true });
    edit(dir);
    return dir;
  };
  before(async () => {
    good = join(work, 'good');
    await convertFixture('mixtral', good);
  });

  test('truncated model.onnx.data', async () => {
    const dir = modelCopy('truncated', (d) => truncateSync(join(d, 'model.onnx.data'), 100_000));
    await expectError(
      ['info', '--model', dir, ...CPU],
      join(dir, 'model.onnx.data'),
      '100000 bytes',
      'truncated',
    );
  });

  test('one altered byte (same size): sha256 mismatch', async () => {
    const dir = modelCopy('altered', (d) => {
      const file = join(d, 'model.onnx.data');
      const bytes = readFileSync(file);
      bytes[5000] = (bytes[5000] as number) ^ 1;
      writeFileSync(file, bytes);
    });
    await expectError(
      ['score', '--ids', '1,2', '--model', dir, ...CPU],
      join(dir, 'model.onnx.data'),
      'sha256 mismatch',
    );
  });

  test('missing genai_config.json names the folder', async () => {
    const dir = modelCopy('no-manifest', (d) => rmSync(join(d, 'genai_config.json')));
    await expectError(['info', '--model', dir, ...CPU], `${dir} is not a converted`);
  });

  test('a folder that does not exist', async () => {
    const dir = join(work, 'no-model-here');
    await expectError(['complete', '--ids', '1', '--model', dir, ...CPU], dir);
  });

  test('--prompt on a model without a tokenizer names tokenizer.json and suggests --ids', async () => {
    await expectError(
      ['complete', '--prompt', 'hello', '--model', good, ...CPU],
      join(good, 'tokenizer.json'),
      '--ids',
    );
  });

  test('score --file on a model without a tokenizer', async () => {
    const file = join(work, 'text.txt');
    writeFileSync(file, 'hello');
    await expectError(
      ['score', '--file', file, '--model', good, ...CPU],
      join(good, 'tokenizer.json'),
    );
  });

  test('ids out of the vocabulary', async () => {
    for (const cmd of ['complete', 'score']) {
      await expectError([cmd, '--ids', '1,99999', '--model', good, ...CPU], '99999', 'vocabulary');
    }
  });

  test('--ids that are not integers', async () => {
    for (const cmd of ['complete', 'score']) {
      await expectError([cmd, '--ids', 'a,b', '--model', good, ...CPU], '--ids', '"a,b"');
    }
  });

  test('unknown option', async () => {
    await expectError(['info', '--model', good, '--bogus'], '--bogus');
  });

  test('--ep bogus', async () => {
    await expectError(['info', '--model', good, '--ep', 'bogus'], '--ep', 'bogus');
  });

  test('unknown command', async () => {
    await expectError(['bogus'], 'unknown command', 'bogus');
  });

  test('a negative option value is one line too', async () => {
    await expectError(
      ['complete', '--ids', '1', '--temperature', '-1', '--model', good, ...CPU],
      '--temperature',
    );
  });

  test('with the default --ep auto, errors after loading are still one line', async () => {
    await expectError(['complete', '--prompt', 'hello', '--model', good], 'tokenizer.json');
    await expectError(['score', '--ids', 'a,b', '--model', good], '--ids');
  });
});

test('--threads is bounded (100,000 hung creating the thread pool)', async () => {
  await expectError(
    ['info', '--threads', '100000', '--json'],
    '--threads must be an integer in 0..256',
  );
});

test('score --file refuses a FIFO, a binary file and an oversized file with one line', async () => {
  const fifo = join(work, 'score.fifo');
  execFileSync('mkfifo', [fifo]);
  await expectError(['score', '--file', fifo, ...CPU, '--json'], fifo, /not a regular file/);
  const bin = join(work, 'score.bin');
  writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
  await expectError(['score', '--file', bin, ...CPU, '--json'], bin, /binary/);
  const big = join(work, 'score-big.ts');
  writeFileSync(big, 'x'.repeat(2 * 1024 * 1024 + 1));
  await expectError(['score', '--file', big, ...CPU, '--json'], big, /limit/);
});

test('score --file refuses a secret file (the secret list of completions and analyses)', async () => {
  const key = join(work, 'id_rsa');
  writeFileSync(key, '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n');
  await expectError(['score', '--file', key, ...CPU, '--json'], key, /secret file/);
  const env = join(work, '.env');
  writeFileSync(env, 'API_TOKEN=abc\n');
  await expectError(['score', '--file', env, ...CPU, '--json'], env, /secret file/);
});
