// Engine-host requests are validated at the boundary (src/host/validate.ts): the pure parser on
// hostile shapes, then the real forked host fed raw IPC messages — it answers each bad request
// with one typed error, never runs a prototype method, and keeps serving.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HostResponse } from '../../../src/host/protocol';
import {
  DEFAULT_TIMEOUT_MS,
  EngineClient,
  EngineCrashedError,
} from '../../../src/host/engineClient';
import { METHODS, parseHostRequest } from '../../../src/host/validate';
import { mulberry32 } from '../../../src/engine/sampler';

const complete = (over: Record<string, unknown> = {}) => ({
  type: 'call',
  id: 7,
  method: 'complete',
  params: {
    input: { kind: 'fim', prefix: 'a', suffix: 'b' },
    options: { maxTokens: 8, temperature: 0, topP: 1 },
    slot: 'completion',
    ...over,
  },
});

test('valid requests parse; every field is checked as an own property with bounds', () => {
  assert.ok(parseHostRequest(complete()).ok);
  assert.ok(parseHostRequest({ type: 'cancel', id: 3 }).ok);
  const bad: [unknown, RegExp][] = [
    [null, /not an object/],
    [[], /not an object/],
    [{ type: 'call', method: 'encode', params: { text: 'x' } }, /id/],
    [{ type: 'call', id: -1, method: 'encode', params: { text: 'x' } }, /id/],
    [{ type: 'call', id: 1, method: 'constructor', params: {} }, /method/],
    [{ type: 'call', id: 1, method: '__proto__', params: {} }, /method/],
    [{ type: 'call', id: 1, method: 'toString', params: {} }, /method/],
    [{ type: 'call', id: 1, method: 'encode', params: null }, /params/],
    [{ type: 'call', id: 1, method: 'encode', params: Object.create({ text: 'x' }) }, /text/],
    [{ type: 'call', id: 1, method: 'encode', params: { text: 5 } }, /params.text/],
    [
      {
        type: 'call',
        id: 1,
        method: 'load',
        params: { modelDir: '/m', executionProvider: 'toString', threads: 1 },
      },
      /executionProvider/,
    ],
    [
      {
        type: 'call',
        id: 1,
        method: 'load',
        params: { modelDir: '/m', executionProvider: 'cpu', threads: 100000 },
      },
      /threads/,
    ],
    [complete({ slot: 42 }), /params.slot/],
    [complete({ input: { kind: 'ids', ids: [1, -2] } }), /params.input.ids/],
    [complete({ input: { kind: 'evil' } }), /params.input.kind/],
    [complete({ options: { maxTokens: 1e9, temperature: 0, topP: 1 } }), /maxTokens/],
    [complete({ options: { maxTokens: 8, temperature: NaN, topP: 1 } }), /temperature/],
    [complete({ options: { maxTokens: 8, temperature: 0, topP: 1, stop: [{}] } }), /stop/],
    [complete({ input: { kind: 'chat', messages: [{ role: 'root', content: 'x' }] } }), /role/],
    [{ type: 'ping', id: 1 }, /type/],
  ];
  for (const [m, why] of bad) {
    const r = parseHostRequest(m);
    assert.ok(!r.ok, JSON.stringify(m));
    assert.match(r.message, why, JSON.stringify(m));
  }
});

test('the real engine host answers hostile raw messages with typed errors and keeps serving', async () => {
  const child = fork(join(__dirname, '..', '..', '..', 'src', 'host', 'engineHost.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  const replies = new Map<number, HostResponse>();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = new Promise<void>((resolve) =>
    child.on('message', (m: HostResponse) => {
      if (m.type === 'ready') resolve();
      else replies.set(m.id, m);
    }),
  );
  try {
    await ready;
    const hostile: unknown[] = [
      null,
      'hello',
      { type: 'call', id: 1, method: 'constructor', params: {} },
      { type: 'call', id: 2, method: '__proto__', params: {} },
      { type: 'call', id: 3, method: 'encode', params: { text: ['x'] } },
      { type: 'call', id: 4, method: 'load', params: { modelDir: 1 } },
      { type: 'cancel', id: 'x' },
    ];
    for (const m of hostile) child.send(m as never);
    // A valid request after them is served (checkSyntax needs no model).
    child.send({
      type: 'call',
      id: 9,
      method: 'checkSyntax',
      params: { languageId: 'typescript', before: 'const x = ', insert: '1;', after: '\n' },
    });
    while (!replies.has(9)) await new Promise((r) => setTimeout(r, 20));
    for (const id of [1, 2, 3, 4]) {
      const r = replies.get(id);
      assert.ok(r?.type === 'error', `id ${id}: ${JSON.stringify(r)}`);
      assert.equal(r.error.kind, 'user');
      assert.match(r.error.message, /^invalid request: /);
      assert.doesNotMatch(r.error.message, /\n\s+at /, 'no stack trace');
    }
    const ok = replies.get(9);
    assert.ok(ok?.type === 'result', JSON.stringify(ok));
    assert.equal(child.exitCode, null, 'the host is alive');
    assert.match(stderr, /invalid request: not an object/);
  } finally {
    child.kill();
  }
});

test('every engine call has a timeout: a host that never answers is killed and the call fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moe-lens-hang-'));
  const host = join(dir, 'host.js');
  // Says ready, then ignores every request (a hung native call looks like this from outside).
  writeFileSync(host, "process.send({ type: 'ready' }); process.on('message', () => {});\n");
  const client = new EngineClient({ hostPath: host, timeouts: { encode: 200 } });
  try {
    await assert.rejects(client.call('encode', { text: 'x' }), EngineCrashedError);
  } finally {
    client.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const m of METHODS) assert.ok(DEFAULT_TIMEOUT_MS[m] > 0, `${m} has a default timeout`);
});

test('protocol fuzz: 20,000 generated messages never throw, and whatever parses is well-typed', () => {
  const rand = mulberry32(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const atoms: unknown[] = [
    null,
    undefined,
    0,
    -1,
    1.5,
    1e300,
    NaN,
    '',
    'x',
    'constructor',
    '__proto__',
    true,
    [],
    {},
  ];
  const value = (depth: number): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.5) return pick(atoms);
    if (r < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    const keys = [
      'kind',
      'prefix',
      'suffix',
      'ids',
      'maxTokens',
      'temperature',
      'topP',
      'slot',
      'text',
      'input',
      'options',
      'messages',
      'role',
      'content',
      '__proto__',
      'toString',
    ];
    for (let i = Math.floor(rand() * 5); i > 0; i--) o[pick(keys)] = value(depth + 1);
    return o;
  };
  let parsed = 0;
  for (let i = 0; i < 20_000; i++) {
    const m = {
      type: pick(['call', 'cancel', 'x', undefined]),
      id: pick([1, -1, 2.5, 'id', undefined]),
      method: pick([...METHODS, 'constructor', 'hasOwnProperty', undefined]),
      params: rand() < 0.3 ? complete().params : value(0),
    };
    const r = parseHostRequest(m);
    if (r.ok) {
      parsed++;
      assert.ok(r.request.type === 'cancel' || METHODS.includes(r.request.method));
    } else {
      assert.match(r.message, /^invalid request: /);
    }
  }
  assert.ok(parsed > 0, 'some generated messages are valid');
});
