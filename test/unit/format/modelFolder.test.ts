// The model-folder contract (docs/MODEL_FORMAT.md, "The contract"): a hostile or damaged
// genai_config.json, a file outside the folder, a FIFO or a device, an unlisted file — each is
// refused with one clear error before onnxruntime or the tokenizer reads anything, and nothing
// hangs. Cases go through the public entry points (Engine.open, the built CLI), so each one is
// also a regression test of the behaviour before the contract (it failed there).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { Engine } from '../../../src/engine/engine';
import { MoeLensError } from '../../../src/format/errors';
import { createSession } from '../../../src/engine/session';
import { ensureBuilt, ROOT, runCli } from '../cliHelpers';

const TINY = join(ROOT, 'models', 'tiny-test');
const CPU = { executionProvider: 'cpu' as const, threads: 1 };
const work = mkdtempSync(join(tmpdir(), 'moe-lens-folder-'));
/** FIFOs (mkfifo), /dev/zero and symlinks: POSIX only. */
const POSIX = process.platform !== 'win32';
after(() => rmSync(work, { recursive: true, force: true }));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let copies = 0;
/**
 * A private copy of models/tiny-test at `<tmp>/moe-lens-folder-X/<label>/model`: four levels
 * down, so "../../../../etc/passwd" from it is /etc/passwd itself.
 */
function tinyCopy(label: string, edit: (dir: string, manifest: Json) => void = () => {}): string {
  const dir = join(work, `${label}-${++copies}`, 'model');
  mkdirSync(join(dir, '..'), { recursive: true });
  cpSync(TINY, dir, { recursive: true });
  const file = join(dir, 'genai_config.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Json;
  edit(dir, manifest);
  writeFileSync(file, JSON.stringify(manifest, null, 2));
  return dir;
}

const sumOf = (file: string) => ({
  bytes: statSync(file).size,
  sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
});

/** Engine.open must reject with a MoeLensError whose message matches every pattern. */
async function refused(dir: string, ...patterns: RegExp[]): Promise<string> {
  let message = '';
  await assert.rejects(Engine.open(dir, CPU), (e: unknown) => {
    assert.ok(e instanceof MoeLensError, `a MoeLensError, got ${String(e)}`);
    message = e.message;
    assert.ok(!message.includes('\n'), `one line: ${message}`);
    for (const p of patterns) assert.match(message, p);
    return true;
  });
  return message;
}

describe('paths named by genai_config.json stay inside the folder', () => {
  test('a decoder at ../../outside/model.onnx is refused (even when listed with its checksum)', async () => {
    const dir = tinyCopy('decoder-escape', (d, m) => {
      const outside = join(d, '..', '..', 'outside');
      mkdirSync(outside);
      cpSync(join(d, 'model.onnx'), join(outside, 'model.onnx'));
      cpSync(join(d, 'model.onnx.data'), join(outside, 'model.onnx.data'));
      m.model.decoder.filename = '../../outside/model.onnx';
      m.moe_lens.files['../../outside/model.onnx'] = sumOf(join(outside, 'model.onnx'));
    });
    await refused(
      dir,
      /model\.decoder\.filename "\.\.\/\.\.\/outside\/model\.onnx"/,
      /leaves the folder/,
    );
  });

  test('a files key ../../../../etc/passwd is refused, never stat-ed or hashed', async () => {
    const dir = tinyCopy('files-escape', (_d, m) => {
      m.moe_lens.files['../../../../etc/passwd'] = sumOf('/etc/passwd');
    });
    const message = await refused(dir, /moe_lens\.files key "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd"/);
    assert.doesNotMatch(message, /bytes/, 'nothing about the file is printed');
  });

  test('an absolute files key is refused', async () => {
    const dir = tinyCopy('files-absolute', (_d, m) => {
      m.moe_lens.files['/etc/hostname'] = { bytes: 1, sha256: '0'.repeat(64) };
    });
    await refused(dir, /"\/etc\/hostname" is an absolute path/);
  });

  test(
    'a symlink leaving the folder is refused (same bytes, same checksum)',
    { skip: !POSIX },
    async () => {
      const dir = tinyCopy('symlink-escape', (d) => {
        const outside = join(d, '..', '..', 'elsewhere.data');
        cpSync(join(d, 'model.onnx.data'), outside);
        unlinkSync(join(d, 'model.onnx.data'));
        symlinkSync(outside, join(d, 'model.onnx.data'));
      });
      await refused(dir, /model\.onnx\.data: resolves to .*elsewhere\.data, outside /);
    },
  );

  test('a symlink inside the folder is followed', { skip: !POSIX }, async () => {
    const dir = tinyCopy('symlink-inside', (d) => {
      mkdirSync(join(d, 'blobs'));
      cpSync(join(d, 'tokenizer.json'), join(d, 'blobs', 'tok'));
      unlinkSync(join(d, 'tokenizer.json'));
      symlinkSync(join('blobs', 'tok'), join(d, 'tokenizer.json'));
    });
    const engine = await Engine.open(dir, CPU);
    await engine.dispose();
  });
});

describe('every file onnxruntime or the tokenizer reads is listed and checksummed', () => {
  test('an empty files list is refused, not a skip of every check', async () => {
    const dir = tinyCopy('files-empty', (_d, m) => {
      m.moe_lens.files = {};
    });
    await refused(dir, /the decoder "model\.onnx" is not listed in moe_lens\.files/);
  });

  test('a tokenizer file that is present but not listed is refused', async () => {
    const dir = tinyCopy('tokenizer-unlisted', (d) => {
      writeFileSync(join(d, 'chat_template.jinja'), '{{ messages }}');
    });
    await refused(dir, /chat_template\.jinja: read by the tokenizer but not listed/);
  });

  test('an altered tokenizer.json is refused (sha256)', async () => {
    const dir = tinyCopy('tokenizer-altered', (d) => {
      const file = join(d, 'tokenizer.json');
      // Same size, still valid JSON ("model" renamed: only the checksum can tell).
      writeFileSync(file, readFileSync(file, 'utf8').replace('"model"', '"modem"'));
    });
    await refused(dir, /tokenizer\.json: sha256 mismatch/);
  });

  test('external data the graph names outside the folder: refused by us, and by onnxruntime', async () => {
    const escape = '../outside.data';
    const dir = tinyCopy('external-escape', (d, m) => {
      cpSync(join(d, 'model.onnx.data'), join(d, '..', 'outside.data'));
      const model = onnx.ModelProto.decode(readFileSync(join(d, 'model.onnx')));
      const relocate = (g: onnx.IGraphProto): void => {
        for (const t of g.initializer ?? []) {
          for (const e of t.externalData ?? []) if (e.key === 'location') e.value = escape;
        }
        for (const n of g.node ?? []) for (const a of n.attribute ?? []) if (a.g) relocate(a.g);
      };
      relocate(model.graph as onnx.IGraphProto);
      writeFileSync(join(d, 'model.onnx'), onnx.ModelProto.encode(model).finish());
      m.moe_lens.files['model.onnx'] = sumOf(join(d, 'model.onnx'));
    });
    await refused(
      dir,
      /model\.onnx: tensor ".+" names external data "\.\.\/outside\.data"/,
      /leaves the folder/,
    );
    // onnxruntime itself, given the same file directly, refuses too (a second, independent line);
    // its wording depends on whether it meets a subgraph's tensor or an initializer first.
    await assert.rejects(
      createSession(join(dir, 'model.onnx'), {
        executionProvider: 'cpu',
        threads: 1,
        log: () => {},
      }),
      (e: unknown) =>
        e instanceof Error &&
        /escapes model directory|points outside the directory/.test(e.message),
    );
  });

  test('external data inside the folder but not listed is refused', async () => {
    const dir = tinyCopy('external-unlisted', (d, m) => {
      cpSync(join(d, 'model.onnx.data'), join(d, 'weights.bin'));
      const model = onnx.ModelProto.decode(readFileSync(join(d, 'model.onnx')));
      for (const t of model.graph?.initializer ?? []) {
        for (const e of t.externalData ?? []) if (e.key === 'location') e.value = 'weights.bin';
      }
      writeFileSync(join(d, 'model.onnx'), onnx.ModelProto.encode(model).finish());
      m.moe_lens.files['model.onnx'] = sumOf(join(d, 'model.onnx'));
    });
    await refused(dir, /external data "weights\.bin", which is not listed/);
  });
});

describe('the manifest schema', () => {
  test('num_hidden_layers 1e9 is refused at once', async () => {
    const dir = tinyCopy('layers-1e9', (_d, m) => {
      m.model.decoder.num_hidden_layers = 1e9;
    });
    const t0 = performance.now();
    await refused(
      dir,
      /model\.decoder\.num_hidden_layers must be an integer in 1\.\.1024, got 1000000000/,
    );
    assert.ok(performance.now() - t0 < 10_000);
  });

  test('a layer count the graph does not have is refused', async () => {
    const dir = tinyCopy('layers-3', (_d, m) => {
      m.model.decoder.num_hidden_layers = 3;
    });
    await refused(
      dir,
      /num_hidden_layers is 3, but the graph has past_key_values inputs for 2 layers/,
    );
  });

  test('a vocabulary size the graph does not have is refused', async () => {
    const dir = tinyCopy('vocab', (_d, m) => {
      m.model.vocab_size = 100_000;
    });
    await refused(dir, /model\.vocab_size is 100000, but the graph's logits have 608/);
  });

  const wrongTypes: [string, (m: Json) => void, RegExp][] = [
    [
      'decoder a string',
      (m) => (m.model.decoder = 'x'),
      /model\.decoder must be an object, got "x"/,
    ],
    [
      'num_hidden_layers a string',
      (m) => (m.model.decoder.num_hidden_layers = '2'),
      /model\.decoder\.num_hidden_layers must be an integer in 1\.\.1024, got "2"/,
    ],
    [
      'top_k a fraction',
      (m) => (m.moe_lens.routing.top_k = 1.5),
      /moe_lens\.routing\.top_k must be an integer in 1\.\.8, got 1\.5/,
    ],
    [
      'routing a list',
      (m) => (m.moe_lens.routing = []),
      /moe_lens\.routing must be an object, got \[\]/,
    ],
    [
      'eos_token_id a number',
      (m) => (m.model.eos_token_id = 0),
      /model\.eos_token_id must be a list of at most 1024 token ids, got 0/,
    ],
    [
      'files bytes a string',
      (m) => (m.moe_lens.files['model.onnx'].bytes = '1'),
      /moe_lens\.files\["model\.onnx"\]\.bytes must be an integer/,
    ],
    [
      'moe_layers out of range',
      (m) => (m.moe_lens.routing.moe_layers = [0, 7]),
      /moe_lens\.routing\.moe_layers\[1\] must be an integer in 1\.\.1, got 7/,
    ],
  ];
  for (const [label, edit, pattern] of wrongTypes) {
    test(`wrong type: ${label} -> one line naming the file and field`, async () => {
      const dir = tinyCopy('types', (_d, m) => edit(m));
      await refused(
        dir,
        new RegExp(`^${join(dir, 'genai_config.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
        pattern,
      );
    });
  }
});

describe('through the CLI: one line, no stack, no hang', { concurrency: 2, skip: !POSIX }, () => {
  before(ensureBuilt);

  /** `info` must fail within `ms` with exactly one "moe-lens: ..." line matching the patterns. */
  async function cliRefuses(dir: string, ...patterns: RegExp[]): Promise<void> {
    const t0 = performance.now();
    const r = await runCli(['info', '--model', dir, '--ep', 'cpu', '--threads', '1'], 30_000);
    assert.notEqual(r.code, 0);
    assert.ok(performance.now() - t0 < 30_000, 'no hang');
    const lines = r.stderr.split('\n');
    assert.equal(lines.length, 2, `one line on stderr, got:\n${r.stderr}`);
    assert.match(lines[0] as string, /^moe-lens: /);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    for (const p of patterns) assert.match(lines[0] as string, p);
  }

  test('a manifest with wrong types', async () => {
    const dir = tinyCopy('cli-types', (_d, m) => {
      m.model.decoder = 'x';
    });
    await cliRefuses(dir, /genai_config\.json: model\.decoder must be an object/);
  });

  test('a FIFO as model.onnx.data', async () => {
    const dir = tinyCopy('fifo-data', (d) => {
      unlinkSync(join(d, 'model.onnx.data'));
      execFileSync('mkfifo', [join(d, 'model.onnx.data')]);
    });
    await cliRefuses(dir, /model\.onnx\.data: a FIFO, not a regular file; refused/);
  });

  test('a FIFO as tokenizer.json', async () => {
    const dir = tinyCopy('fifo-tokenizer', (d) => {
      unlinkSync(join(d, 'tokenizer.json'));
      execFileSync('mkfifo', [join(d, 'tokenizer.json')]);
    });
    await cliRefuses(dir, /tokenizer\.json: a FIFO, not a regular file; refused/);
  });

  test('/dev/zero as model.onnx.data', async () => {
    const dir = tinyCopy('zero-data', (d) => {
      unlinkSync(join(d, 'model.onnx.data'));
      symlinkSync('/dev/zero', join(d, 'model.onnx.data'));
    });
    await cliRefuses(dir, /model\.onnx\.data: resolves to \/dev\/zero, outside/);
  });

  test('/dev/zero as tokenizer.json', async () => {
    const dir = tinyCopy('zero-tokenizer', (d) => {
      unlinkSync(join(d, 'tokenizer.json'));
      symlinkSync('/dev/zero', join(d, 'tokenizer.json'));
    });
    await cliRefuses(dir, /tokenizer\.json: resolves to \/dev\/zero, outside/);
  });

  test('a directory as model.onnx', async () => {
    const dir = tinyCopy('dir-decoder', (d) => {
      unlinkSync(join(d, 'model.onnx'));
      mkdirSync(join(d, 'model.onnx'));
    });
    await cliRefuses(dir, /model\.onnx: a directory, not a regular file; refused/);
  });
});

test('the shipped models satisfy the contract and load', async () => {
  for (const name of ['tiny-test', 'moe-lens-code']) {
    const engine = await Engine.open(join(ROOT, 'models', name), CPU);
    assert.ok(engine.tokenizer, `${name} has its tokenizer`);
    await engine.dispose();
  }
});
