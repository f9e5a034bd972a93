// Generated mutations of a real model folder's genai_config.json: every leaf
// field replaced by values of the wrong type, out of range, or removed. Each mutated folder must
// either load (a harmless change) or fail with ONE clear MoeLensError — never a crash, a
// TypeError, a hang or a multi-line message — and nothing outside the folder is read.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MoeLensError } from '../../../src/format/errors';
import { MoeModel } from '../../../src/engine/model';
import { mulberry32 } from '../../../src/engine/sampler';

const MODEL = join(__dirname, '..', '..', '..', 'models', 'tiny-test');
const work = mkdtempSync(join(tmpdir(), 'moe-lens-fuzz-'));
after(() => rmSync(work, { recursive: true, force: true }));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Paths of every leaf (and every object/array) of `o`, as key lists. */
function paths(o: Json, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = at.length > 0 ? [at] : [];
  if (Array.isArray(o)) o.slice(0, 3).forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (o !== null && typeof o === 'object') {
    for (const [k, v] of Object.entries(o)) out.push(...paths(v, [...at, k]));
  }
  return out;
}

function mutate(o: Json, path: (string | number)[], value: Json | undefined): Json {
  const copy = structuredClone(o) as Record<string | number, Json>;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return copy as Json;
}

const VALUES: (Json | undefined)[] = [
  undefined, // removed
  null,
  -1,
  1e12,
  0.5,
  'x',
  '../../../../etc/passwd',
  [],
  {},
  true,
];

test('mutated manifests load or fail with one clear line, never anything else', async () => {
  const original = JSON.parse(readFileSync(join(MODEL, 'genai_config.json'), 'utf8')) as Json;
  const all = paths(original);
  const rand = mulberry32(12);
  // Every path with two seeded values: a few hundred folders, each checked before onnxruntime.
  const cases = all.flatMap((p) =>
    [0, 1].map(() => [p, VALUES[Math.floor(rand() * VALUES.length)]] as const),
  );
  const dir = join(work, 'm');
  cpSync(MODEL, dir, { recursive: true });
  let loaded = 0;
  const errors = new Set<string>();
  for (const [path, value] of cases) {
    writeFileSync(join(dir, 'genai_config.json'), JSON.stringify(mutate(original, path, value)));
    const what = `${path.join('.')} = ${JSON.stringify(value) ?? '(removed)'}`;
    try {
      const m = await MoeModel.load(dir, { executionProvider: 'cpu', threads: 1 });
      await m.dispose();
      loaded++;
    } catch (e) {
      assert.ok(e instanceof MoeLensError, `${what}: ${e instanceof Error ? e.stack : String(e)}`);
      assert.ok(!e.message.includes('\n'), `${what}: one line: ${e.message}`);
      assert.doesNotMatch(e.message, /undefined|\[object Object\]|NaN/, `${what}: ${e.message}`);
      errors.add(e.message.replace(/\d+/g, 'N').slice(0, 120));
    }
  }
  assert.ok(cases.length >= 100, `${cases.length} cases`);
  assert.ok(loaded < cases.length / 2, `most mutations must be refused (${loaded} loaded)`);
  assert.ok(errors.size > 10, 'the errors name different fields');
});
