// Messages from the routing panel's webview are data: parseWebviewMessage accepts exactly the
// typed shapes (own properties, known values, size caps) and nothing from the prototype chain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_EXPORT_CHARS, parseWebviewMessage } from '../../../src/webview/protocol';

test('the typed messages pass, with exactly their fields', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'ready', extra: 1 }), { type: 'ready' });
  assert.deepEqual(parseWebviewMessage({ type: 'view', view: 'analysis' }), {
    type: 'view',
    view: 'analysis',
  });
  assert.deepEqual(
    parseWebviewMessage({ type: 'export', format: 'csv', name: 'load', data: 'a,b' }),
    {
      type: 'export',
      format: 'csv',
      name: 'load',
      data: 'a,b',
    },
  );
  assert.deepEqual(parseWebviewMessage({ type: 'error', message: 'x'.repeat(5000) }), {
    type: 'error',
    message: 'x'.repeat(2000),
  });
});

test('hostile messages are refused: prototype keys, wrong types, unknown values, huge data', () => {
  const hostile: unknown[] = [
    null,
    undefined,
    42,
    'ready',
    [],
    [{ type: 'ready' }],
    {},
    { type: 'constructor' },
    { type: '__proto__' },
    { type: 'toString' },
    Object.create({ type: 'ready' }), // type only on the prototype
    JSON.parse('{"__proto__": {"type": "ready"}}'),
    { type: 'view', view: 'toString' },
    { type: 'view', view: ['live'] },
    { type: 'export', format: 'toString', name: 'x', data: '' },
    { type: 'export', format: 'constructor', name: 'x', data: '' },
    { type: 'export', format: 'json', name: 5, data: '' },
    { type: 'export', format: 'json', name: 'x', data: { length: 1 } },
    { type: 'export', format: 'json', name: 'x'.repeat(201), data: '' },
    { type: 'export', format: 'json', name: 'x', data: 'x'.repeat(MAX_EXPORT_CHARS + 1) },
    Object.assign(Object.create({ format: 'json', name: 'x', data: '' }), { type: 'export' }),
    { type: 'error', message: null },
  ];
  for (const m of hostile) {
    assert.equal(parseWebviewMessage(m), null, JSON.stringify(m) ?? String(m));
  }
});
