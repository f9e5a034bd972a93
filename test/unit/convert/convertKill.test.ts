// SIGKILL during `convert` (the real built CLI) never leaves a half-written model where a model is
// looked for, and never loses what a user added to a model folder. Two ways to kill it:
// - at every step: a preload (written below, loaded with `node --require`) counts the CLI's
//   changes to the disk under the output's parent folder (mkdir, writeFile, link, rename, rm, an
//   open for writing, ...) and SIGKILLs the process right after the N-th, for every N; the disk
//   can only be in one of those states when a kill lands, so this covers every window, the
//   instant between the two renames of a model swap included;
// - from outside, at moments of a long conversion (a generated 96-layer checkpoint): when stderr
//   prints its first `convert:` progress line, at later ones, and a few random milliseconds after
//   the last, run after run without a clean-up in between.
// After each kill the output folder is absent, or a complete model (`info` loads it): the
// previous one untouched, or the new one when the kill came after the swap; only this run's
// `.<name>.converting-<pid>` folders may remain; the user's files are in the model folder (or,
// killed mid-swap, in the replaced model the next run puts back); the default-model lookup never
// returns a dot-folder. The next conversion then removes what the dead run left (and says so) and
// succeeds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { defaultModelDir } from '../../../src/format/modelDir';
import { CLI, ensureBuilt, ROOT, runCli } from '../cliHelpers';
import { FIXTURES_DIR } from '../fixtureData';

const POSIX = process.platform !== 'win32';
const work = mkdtempSync(join(tmpdir(), 'moe-lens-kill-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(ensureBuilt);

/** The old model of a replacement, and the checkpoint that replaces it (info tells them apart). */
const OLD = { checkpoint: join(FIXTURES_DIR, 'qwen3moe'), architecture: 'Qwen3MoeForCausalLM' };
const NEW = { checkpoint: join(FIXTURES_DIR, 'mixtral'), architecture: 'MixtralForCausalLM' };
/** What a user adds to a model folder; a conversion into it must keep all of it. */
const USER_FILES: Record<string, string> = {
  'MODEL_CARD.md': '# my model\n\nfine-tuned on our code\n',
  'notes.txt': 'pass@1 0.31 (v2 prompts)\n',
  'eval/results.json': '{"humaneval": 0.12}\n',
};

// The preload: after the N-th change to the disk under KILL_ROOT, SIGKILL this process (N = 0:
// only list them on stderr). fs/promises and fs are patched in place: the bundle calls through
// the module objects (`(0, import_promises.rename)(...)`), so it sees the wrappers.
const HOOK = join(work, 'kill-after.cjs');
writeFileSync(
  HOOK,
  `'use strict';
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const path = require('node:path');
const root = process.env.MOE_LENS_KILL_ROOT;
const at = Number(process.env.MOE_LENS_KILL_AFTER || 0);
let n = 0;
function changed(op, args) {
  const paths = args.filter((a) => typeof a === 'string');
  if (!paths.some((p) => path.resolve(p).startsWith(root + path.sep))) return;
  n++;
  if (at === 0) {
    const rel = paths.map((p) => path.relative(root, path.resolve(p))).join(' ');
    process.stderr.write('kill-hook: ' + n + ' ' + op + ' ' + rel + '\\n');
  } else if (n === at) {
    process.kill(process.pid, 'SIGKILL');
  }
}
const { O_WRONLY, O_RDWR } = fs.constants;
const writes = (flags) =>
  typeof flags === 'number' ? (flags & (O_WRONLY | O_RDWR)) !== 0 : /[wa+]/.test(flags ?? 'r');
const twoPaths = new Set(['rename', 'link', 'symlink', 'copyFile', 'cp']);
for (const op of ['mkdir', 'rm', 'rmdir', 'unlink', 'rename', 'writeFile', 'appendFile',
  'link', 'symlink', 'copyFile', 'cp', 'truncate']) {
  const orig = fsp[op];
  fsp[op] = async function (...args) {
    const r = await orig.apply(this, args);
    changed(op, args.slice(0, twoPaths.has(op) ? 2 : 1));
    return r;
  };
}
const open = fsp.open;
fsp.open = async function (file, flags, ...rest) {
  const r = await open.call(this, file, flags, ...rest);
  if (writes(flags)) changed('open', [file]);
  return r;
};
const openSync = fs.openSync;
fs.openSync = function (file, flags, ...rest) {
  const fd = openSync.call(this, file, flags, ...rest);
  if (writes(flags)) changed('openSync', [file]);
  return fd;
};
`,
);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  pid: number;
  stderr: string;
}

interface KillAt {
  /** SIGKILL right after the N-th change to the disk under the output's parent (the preload). */
  afterChange?: number;
  /** SIGKILL from outside when stderr prints its n-th `convert: layer` line... */
  onLayerLine?: number;
  /** ...this many ms after it (after the start when onLayerLine is not given). */
  delayMs?: number;
}

/** `node dist/cli.js convert <checkpoint> <out> --dtype fp32`, killed as `kill` says. */
function convert(checkpoint: string, out: string, kill: KillAt = {}): Promise<Run> {
  const hooked = kill.afterChange !== undefined;
  const child = spawn(
    process.execPath,
    [...(hooked ? ['--require', HOOK] : []), CLI, 'convert', checkpoint, out, '--dtype', 'fp32'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: hooked
        ? {
            ...process.env,
            MOE_LENS_KILL_ROOT: join(out, '..'),
            MOE_LENS_KILL_AFTER: String(kill.afterChange),
          }
        : process.env,
    },
  );
  const pid = child.pid;
  assert.ok(pid !== undefined, 'the CLI started');
  let stderr = '';
  let layerLines = 0;
  const killLater = (ms: number) => setTimeout(() => child.kill('SIGKILL'), ms);
  if (!hooked && kill.onLayerLine === undefined && kill.delayMs !== undefined) {
    killLater(kill.delayMs);
  }
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
    if (kill.onLayerLine === undefined) return;
    const before = layerLines;
    layerLines += (d.match(/^convert: layer /gm) ?? []).length;
    if (before < kill.onLayerLine && layerLines >= kill.onLayerLine) {
      if (kill.delayMs) killLater(kill.delayMs);
      else child.kill('SIGKILL');
    }
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((done) => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      done({ code, signal, pid, stderr });
    });
  });
}

/** Every file under dir (relative path -> sha256): a model folder's exact content. */
function fingerprint(dir: string, under = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(join(dir, under), { withFileTypes: true })) {
    const rel = under ? `${under}/${e.name}` : e.name;
    if (e.isDirectory()) {
      for (const [k, v] of fingerprint(dir, rel)) out.set(k, v);
    } else {
      out.set(
        rel,
        createHash('sha256')
          .update(readFileSync(join(dir, rel)))
          .digest('hex'),
      );
    }
  }
  return out;
}

function addUserFiles(model: string): void {
  for (const [rel, text] of Object.entries(USER_FILES)) {
    mkdirSync(join(model, rel, '..'), { recursive: true });
    writeFileSync(join(model, rel), text);
  }
}

function assertUserFiles(dir: string, what: string): void {
  for (const [rel, text] of Object.entries(USER_FILES)) {
    assert.equal(readFileSync(join(dir, rel), 'utf8'), text, `${what}: ${rel} kept`);
  }
}

/** `info --model dir --json`: the folder loads as a model (checksums verified). */
async function architectureOf(dir: string): Promise<string> {
  const r = await runCli(['info', '--model', dir, '--json']);
  assert.equal(r.code, 0, `${dir} loads as a model:\n${r.stderr}`);
  return (JSON.parse(r.stdout) as { architecture: string }).architecture;
}

/** defaultModelDir(root), or null when it finds no model. */
function lookup(root: string): string | null {
  try {
    return defaultModelDir(root);
  } catch (e) {
    if (e instanceof Error && e.name === 'MoeLensError') return null;
    throw e;
  }
}

/** A temporary folder of a conversion to `name` by one of `pids`, or null for anything else. */
function tempOf(
  name: string,
  entry: string,
  pids: Set<number>,
): { pid: number; old: boolean } | null {
  const prefix = `.${name}.converting-`;
  const m = entry.startsWith(prefix) ? /^(\d+)(\.old)?$/.exec(entry.slice(prefix.length)) : null;
  if (!m) return null;
  const pid = Number(m[1]);
  return pids.has(pid) ? { pid, old: m[2] !== undefined } : null;
}

interface Observed {
  /** A temporary folder remained. */
  temp: boolean;
  /** A temporary folder held a manifest (what a careless lookup would take for a model). */
  tempManifest: boolean;
  /** The output was missing while the replaced model waited in `.old` (killed mid-swap). */
  midSwap: boolean;
  /** The output was the new model (killed after the swap). */
  swapped: boolean;
}

/**
 * The state after a kill of a conversion to `<root>/models/<name>` by one of `pids` (all dead).
 * `expected`: the exact content of the model being replaced (null: there was none). Returns the
 * content of the model now in place (or waiting in `.old`), and what was seen.
 */
async function checkAfterKill(
  root: string,
  name: string,
  pids: Set<number>,
  expected: Map<string, string> | null,
): Promise<{ model: Map<string, string> | null; seen: Observed }> {
  const parent = join(root, 'models');
  const out = join(parent, name);
  const seen: Observed = { temp: false, tempManifest: false, midSwap: false, swapped: false };
  const olds: string[] = [];
  for (const entry of readdirSync(parent)) {
    if (entry === name) continue;
    const t = tempOf(name, entry, pids);
    assert.ok(t, `only the output and the dead runs' temporary folders, found ${entry}`);
    seen.temp = true;
    if (existsSync(join(parent, entry, 'genai_config.json'))) seen.tempManifest = true;
    if (t.old) olds.push(join(parent, entry));
  }
  const found = lookup(root);
  assert.ok(
    found === null || found === out,
    `the default-model lookup returned ${found}, not a dot-folder`,
  );
  let model: Map<string, string> | null = null;
  if (existsSync(out)) {
    assert.equal(found, out, 'the model in place is the default model');
    model = fingerprint(out);
    // The replaced model, untouched to the byte (it loaded before), or the new one, complete.
    if (!expected || !isDeepStrictEqual(model, expected)) {
      const arch = await architectureOf(out);
      assert.equal(
        arch,
        NEW.architecture,
        'the model in place is the new one, or the old untouched',
      );
      seen.swapped = true;
    }
    if (expected) assertUserFiles(out, 'the model in place');
  } else {
    assert.equal(found, null, 'no model, no default model');
    if (expected) {
      // Killed between `rename(out, .old)` and `rename(tmp, out)`: the old model waits, whole.
      assert.equal(olds.length, 1, `the replaced model waits in .old: ${readdirSync(parent)}`);
      model = fingerprint(olds[0] as string);
      assert.deepEqual(model, expected, 'the replaced model is whole in .old');
      seen.midSwap = true;
    }
  }
  return { model, seen };
}

/** The next conversion cleans up after the dead runs and succeeds. */
async function recover(
  root: string,
  name: string,
  checkpoint: string,
  leftovers: boolean,
  pids: Set<number>,
): Promise<void> {
  const out = join(root, 'models', name);
  const r = await convert(checkpoint, out);
  assert.equal(r.code, 0, `the next conversion succeeds:\n${r.stderr}`);
  assert.deepEqual(readdirSync(join(root, 'models')), [name], 'nothing left beside the model');
  if (leftovers) {
    const reported = [...pids].some((pid) =>
      new RegExp(`(removed|restored) .*converting-${pid}`).test(r.stderr),
    );
    assert.ok(reported, `it said what it removed:\n${r.stderr}`);
  }
}

/** The CLI's changes to the disk under the output's parent, in order (the preload, N = 0). */
async function changesOf(checkpoint: string, out: string): Promise<string[]> {
  const r = await convert(checkpoint, out, { afterChange: 0 });
  assert.equal(r.code, 0, r.stderr);
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('kill-hook: '))
    .map((l) => l.slice('kill-hook: '.length));
}

let roots = 0;
function newRoot(): string {
  const root = join(work, `root-${++roots}`);
  mkdirSync(join(root, 'models'), { recursive: true });
  return root;
}

describe('SIGKILL right after each change convert makes to the disk', { skip: !POSIX }, () => {
  test('a new model: absent or complete, never half-written, never a dot-folder as default', async (t) => {
    const root = newRoot();
    const name = 'code-model';
    const out = join(root, 'models', name);
    const steps = await changesOf(NEW.checkpoint, out);
    t.diagnostic(`${steps.length} changes: ${steps.join('; ')}`);
    assert.ok(steps.length >= 5, 'the preload sees the conversion write');
    assert.ok(
      steps.some((s) => new RegExp(`^\\d+ rename \\S+ ${name}$`).test(s)),
      'the model is renamed into place',
    );
    rmSync(out, { recursive: true });
    const seen = { temp: 0, tempManifest: 0, swapped: 0 };
    for (let n = 1; n <= steps.length; n++) {
      const r = await convert(NEW.checkpoint, out, { afterChange: n });
      assert.equal(r.signal, 'SIGKILL', `killed after change ${n} (${steps[n - 1]})`);
      const pids = new Set([r.pid]);
      const after = await checkAfterKill(root, name, pids, null);
      if (after.seen.temp) seen.temp++;
      if (after.seen.tempManifest) seen.tempManifest++;
      if (after.seen.swapped) seen.swapped++;
      await recover(root, name, NEW.checkpoint, after.seen.temp, pids);
      rmSync(out, { recursive: true });
    }
    t.diagnostic(`states after the kills: ${JSON.stringify(seen)}`);
    // The kills landed where it matters: mid-way, with a manifest in the temporary folder, after.
    assert.ok(seen.temp > 0 && seen.tempManifest > 0 && seen.swapped > 0, JSON.stringify(seen));
  });

  test('replacing a model with user files: the old one untouched (or put back), nothing lost', async (t) => {
    const root = newRoot();
    const name = 'code-model';
    const out = join(root, 'models', name);
    const first = await convert(OLD.checkpoint, out);
    assert.equal(first.code, 0, first.stderr);
    addUserFiles(out);
    assert.equal(await architectureOf(out), OLD.architecture);
    const steps = await changesOf(NEW.checkpoint, out);
    const reset = await convert(OLD.checkpoint, out);
    assert.equal(reset.code, 0, reset.stderr);
    t.diagnostic(`${steps.length} changes: ${steps.join('; ')}`);
    assert.ok(
      steps.some((s) => /^\d+ (link|copyFile) /.test(s)),
      'user files are carried over',
    );
    const seen = { temp: 0, midSwap: 0, swapped: 0 };
    for (let n = 1; n <= steps.length; n++) {
      // The old model (converted again by the last run), with the user's files.
      assertUserFiles(out, 'before the kill');
      const expected = fingerprint(out);
      const r = await convert(NEW.checkpoint, out, { afterChange: n });
      assert.equal(r.signal, 'SIGKILL', `killed after change ${n} (${steps[n - 1]})`);
      const pids = new Set([r.pid]);
      const after = await checkAfterKill(root, name, pids, expected);
      if (after.seen.temp) seen.temp++;
      if (after.seen.midSwap) seen.midSwap++;
      if (after.seen.swapped) seen.swapped++;
      // The next run (back to the old model, for the next kill) cleans up and keeps them too.
      await recover(root, name, OLD.checkpoint, after.seen.temp, pids);
      assertUserFiles(out, 'after the next conversion');
    }
    t.diagnostic(`states after the kills: ${JSON.stringify(seen)}`);
    assert.ok(seen.temp > 0 && seen.midSwap > 0 && seen.swapped > 0, JSON.stringify(seen));
    assert.equal(await architectureOf(out), OLD.architecture);
  });
});

/**
 * A checkpoint of `layers` layers from a fixture's (its layers repeated), so a conversion runs
 * long enough to be killed from outside mid-way.
 */
function deepCheckpoint(src: string, dst: string, layers: number): void {
  mkdirSync(dst, { recursive: true });
  const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as {
    num_hidden_layers: number;
  };
  const have = config.num_hidden_layers;
  writeFileSync(join(dst, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: layers }));
  const bytes = readFileSync(join(src, 'model.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  delete header.__metadata__;
  const out: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const parts: Buffer[] = [];
  let pos = 0;
  const add = (name: string, t: { dtype: string; shape: number[]; data_offsets: number[] }) => {
    const data = bytes.subarray(8 + n + (t.data_offsets[0] ?? 0), 8 + n + (t.data_offsets[1] ?? 0));
    out[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + data.length] };
    parts.push(data);
    pos += data.length;
  };
  for (const [name, t] of Object.entries(header)) {
    const m = /^model\.layers\.(\d+)\.(.*)$/.exec(name);
    if (!m) add(name, t);
    else for (let l = Number(m[1]); l < layers; l += have) add(`model.layers.${l}.${m[2]}`, t);
  }
  let json = JSON.stringify(out);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(
    join(dst, 'model.safetensors'),
    Buffer.concat([prefix, Buffer.from(json), ...parts]),
  );
}

describe('SIGKILL from outside during a long conversion', { skip: !POSIX }, () => {
  test('killed again and again while replacing a model with user files; the next run recovers', async (t) => {
    const LAYERS = 48;
    const deep = join(work, 'deep');
    deepCheckpoint(NEW.checkpoint, deep, LAYERS);
    const root = newRoot();
    const name = 'code-model';
    const out = join(root, 'models', name);
    const first = await convert(OLD.checkpoint, out);
    assert.equal(first.code, 0, first.stderr);
    addUserFiles(out);
    assert.equal(await architectureOf(out), OLD.architecture);
    let expected: Map<string, string> | null = fingerprint(out);

    const seed = Date.now() % 100_000;
    let s = seed;
    const rand = () => (s = (s * 48271) % 2147483647) / 2147483647;
    t.diagnostic(`seed ${seed}`);
    const kills: KillAt[] = [
      { onLayerLine: 1 }, // as soon as it reports progress
      { onLayerLine: 1 + Math.floor(rand() * LAYERS) },
      { onLayerLine: 1 + Math.floor(rand() * LAYERS) },
      { onLayerLine: LAYERS }, // the last layer: writing model.onnx, the manifest, the swap
      { onLayerLine: LAYERS, delayMs: 1 + Math.floor(rand() * 120) },
      { onLayerLine: LAYERS, delayMs: 1 + Math.floor(rand() * 120) },
      { delayMs: 100 + Math.floor(rand() * 400) },
      { delayMs: 100 + Math.floor(rand() * 400) },
    ];
    const pids = new Set<number>();
    const landed: string[] = [];
    for (const kill of kills) {
      const r = await convert(deep, out, kill);
      pids.add(r.pid);
      const after = await checkAfterKill(root, name, pids, expected);
      if (after.seen.swapped) expected = after.model;
      const layers = (r.stderr.match(/^convert: layer /gm) ?? []).length;
      landed.push(
        `${JSON.stringify(kill)} -> ${r.signal ?? `exit ${r.code}`} after ${layers} layers` +
          `${after.seen.temp ? ', temp left' : ''}${after.seen.midSwap ? ', mid-swap' : ''}` +
          `${after.seen.swapped ? ', swapped' : ''}`,
      );
    }
    t.diagnostic(landed.join('\n'));
    const killed = landed.filter((l) => l.includes('SIGKILL') && l.includes('temp left'));
    assert.ok(killed.length >= 2, 'kills landed mid-way through the conversion');
    const leftovers = readdirSync(join(root, 'models')).length > 1;
    await recover(root, name, NEW.checkpoint, leftovers, pids);
    assertUserFiles(out, 'after the next conversion');
    assert.equal(await architectureOf(out), NEW.architecture);
  });
});
