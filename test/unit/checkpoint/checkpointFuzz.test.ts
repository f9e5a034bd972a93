// Generated checkpoint mutations: the fixture checkpoint's safetensors file with its header
// rewritten (seeded random edits of the JSON: dtypes, shapes, offsets, names, types), its header
// length word flipped, bytes flipped anywhere or the file cut short, and config.json fields
// mutated. Converting each either succeeds (a flipped weight bit can still be a finite number)
// or fails with one line (a MoeLensError, never a stack trace or an internal error), never hangs,
// and never leaves an output or temporary folder behind.
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { convertCheckpoint } from '../../../src/convert/convert';
import { mulberry32 } from '../../../src/engine/sampler';
import { MoeLensError } from '../../../src/format/errors';
import { FIXTURES_DIR } from '../fixtureData';

const work = mkdtempSync(join(tmpdir(), 'moe-lens-ckpt-fuzz-'));
after(() => rmSync(work, { recursive: true, force: true }));
const SOURCE = join(FIXTURES_DIR, 'qwen3moe');
const ST = readFileSync(join(SOURCE, 'model.safetensors'));
const HEADER_LEN = Number(ST.readBigUInt64LE(0));
const HEADER = JSON.parse(ST.subarray(8, 8 + HEADER_LEN).toString('utf8')) as Record<
  string,
  { dtype: string; shape: number[]; data_offsets: [number, number] }
>;
const CONFIG = JSON.parse(readFileSync(join(SOURCE, 'config.json'), 'utf8')) as Record<
  string,
  unknown
>;

let n = 0;
/** A copy of the fixture with its safetensors bytes and config replaced. */
function variant(bytes: Buffer, config: Record<string, unknown> = CONFIG): string {
  const dir = join(work, `case-${++n}`);
  cpSync(SOURCE, dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

function withHeader(header: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ST.subarray(8 + HEADER_LEN)]);
}

const outcomes = { converted: 0, refused: 0 };

async function convertOnce(dir: string, what: string): Promise<void> {
  const parent = join(work, `out-${n}`);
  const out = join(parent, 'model');
  const deadline = setTimeout(() => assert.fail(`${what}: no answer in 30 s`), 30_000);
  try {
    await convertCheckpoint(dir, out, { dtype: 'fp32' });
    outcomes.converted++;
    assert.ok(existsSync(join(out, 'genai_config.json')), `${what}: a complete model`);
  } catch (e) {
    outcomes.refused++;
    assert.ok(
      e instanceof MoeLensError,
      `${what}: a MoeLensError, got ${String((e as Error)?.stack ?? e)}`,
    );
    assert.ok(!e.message.includes('\n'), `${what}: one line: ${e.message}`);
    assert.ok(!existsSync(out), `${what}: no output folder after a refusal`);
  } finally {
    clearTimeout(deadline);
  }
  const left = existsSync(parent)
    ? readdirSync(parent).filter((f) => f.includes('converting'))
    : [];
  assert.deepEqual(left, [], `${what}: no temporary folder left`);
}

const MUTATIONS: ((
  rng: () => number,
  e: { dtype: string; shape: number[]; data_offsets: [number, number] },
) => unknown)[] = [
  (r) => ['F64', 'I8', 'U8', 'BOOL', 'F8_E4M3', '', 7][Math.floor(r() * 7)],
  (_, e) => ({ ...e, shape: [...e.shape, 2] }),
  (_, e) => ({ ...e, shape: e.shape.slice(1) }),
  (_, e) => ({ ...e, shape: [-1] }),
  (_, e) => ({ ...e, shape: [2 ** 40] }),
  (_, e) => ({ ...e, data_offsets: [e.data_offsets[0], e.data_offsets[1] + 4] }),
  (_, e) => ({ ...e, data_offsets: [e.data_offsets[1], e.data_offsets[0]] }),
  (_, e) => ({ ...e, data_offsets: [0, 4] }),
  (_, e) => ({ ...e, data_offsets: [1e15, 1e15 + 4] }),
  (_, e) => ({ ...e, data_offsets: ['0', 4] }),
  () => null,
  () => 'tensor',
  (_, e) => ({ ...e, dtype: undefined }),
];

test('header mutations: each conversion succeeds or fails with one line, nothing left behind', async () => {
  const rng = mulberry32(20261207);
  const names = Object.keys(HEADER).filter((k) => k !== '__metadata__');
  for (let i = 0; i < 60; i++) {
    const name = names[Math.floor(rng() * names.length)] as string;
    const m = Math.floor(rng() * MUTATIONS.length);
    const entry = HEADER[name] as (typeof HEADER)[string];
    const value = (MUTATIONS[m] as (typeof MUTATIONS)[number])(rng, entry);
    const header = { ...HEADER, [name]: m === 0 ? { ...entry, dtype: value } : value };
    await convertOnce(variant(withHeader(header)), `header mutation ${m} of "${name}"`);
  }
  // Renamed or duplicated-looking keys, and a missing tensor.
  const first = names[0] as string;
  const { [first]: dropped, ...rest } = HEADER;
  await convertOnce(variant(withHeader(rest)), `tensor "${first}" missing`);
  await convertOnce(variant(withHeader({ ...rest, [`${first} `]: dropped })), 'renamed tensor');
  await convertOnce(variant(withHeader({ ...HEADER, __proto__: dropped })), '__proto__ key');
  await convertOnce(variant(withHeader([])), 'header is an array');
});

test('raw byte damage: header length, flipped bytes, truncation', async () => {
  const rng = mulberry32(7);
  for (const len of [0n, 1n, BigInt(ST.length), 2n ** 63n, BigInt(HEADER_LEN - 1)]) {
    const b = Buffer.from(ST);
    b.writeBigUInt64LE(len, 0);
    await convertOnce(variant(b), `header length ${len}`);
  }
  for (let i = 0; i < 30; i++) {
    const b = Buffer.from(ST);
    const at = Math.floor(rng() * b.length);
    b[at] = (b[at] as number) ^ (1 << Math.floor(rng() * 8));
    await convertOnce(variant(b), `bit flip at byte ${at}`);
  }
  for (const keep of [0, 4, 8, 8 + HEADER_LEN - 1, 8 + HEADER_LEN, ST.length - 1]) {
    await convertOnce(variant(ST.subarray(0, keep)), `cut to ${keep} bytes`);
  }
});

test('config.json mutations: wrong types, absurd sizes, unknown maths', async () => {
  const rng = mulberry32(99);
  const keys = Object.keys(CONFIG);
  const values: unknown[] = [null, -1, 0, 1.5, 1e9, 2 ** 53, 'x', true, [], {}, NaN];
  for (let i = 0; i < 60; i++) {
    const key = keys[Math.floor(rng() * keys.length)] as string;
    const value = values[Math.floor(rng() * values.length)];
    await convertOnce(
      variant(ST, { ...CONFIG, [key]: value }),
      `config ${key} = ${JSON.stringify(value)}`,
    );
  }
  assertBothOutcomes();
});

function assertBothOutcomes(): void {
  // Both outcomes must occur: a suite where everything is refused (or accepted) tests nothing.
  assert.ok(outcomes.converted > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
}
