// Extra context from other editors: stable windows, order, caps, secret files never sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickExtraFiles, secretMatcher, windowFrom } from '../../../src/vscode/core/extraContext';
import { DEFAULT_SECRET_PATTERNS } from '../../../src/vscode/core/settingsSchema';

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}`).join('\n');
const never = () => false;

test('windowFrom cuts at line ends within the budget, keeps at least part of one line', () => {
  assert.equal(windowFrom('a\nbb\nccc', 1, 100), 'bb\nccc');
  assert.equal(windowFrom('a\nbb\nccc', 0, 5), 'a\nbb\n');
  assert.equal(windowFrom('abcdefgh\nx', 0, 3), 'abc');
  assert.equal(windowFrom('a', 5, 10), '');
});

test('the window start moves in whole chunks of lines: scrolling a little keeps the text', () => {
  const f = (visibleStartLine: number) =>
    pickExtraFiles([{ path: 'b.ts', text: lines(200), visibleStartLine }], 'a.ts', never, {
      maxFiles: 3,
      maxCharsPerFile: 200,
      anchorLines: 32,
    });
  assert.deepEqual(f(33), f(60));
  assert.notDeepEqual(f(60), f(64));
  assert.ok((f(40)[0]?.text ?? '').startsWith('line 32\n'));
});

test('files sorted by path, current file and duplicates skipped, capped, secrets never sent', () => {
  const picked = pickExtraFiles(
    [
      { path: 'z.ts', text: 'z', visibleStartLine: 0 },
      { path: 'a.ts', text: 'current', visibleStartLine: 0 },
      { path: '.env', text: 'TOKEN=1', visibleStartLine: 0 },
      { path: 'c.ts', text: 'c', visibleStartLine: 0 },
      { path: 'c.ts', text: 'c again', visibleStartLine: 0 },
      { path: 'empty.ts', text: '  \n', visibleStartLine: 0 },
      { path: 'b.ts', text: 'b', visibleStartLine: 0 },
    ],
    'a.ts',
    secretMatcher(DEFAULT_SECRET_PATTERNS),
    { maxFiles: 2, maxCharsPerFile: 100, anchorLines: 32 },
  );
  assert.deepEqual(picked, [
    { path: 'b.ts', text: 'b' },
    { path: 'c.ts', text: 'c' },
  ]);
});

test('the default secret patterns catch keys, certificates and env files, not source', () => {
  const isSecret = secretMatcher(DEFAULT_SECRET_PATTERNS);
  for (const p of [
    '.env',
    'web/.env.production',
    'tls/server.pem',
    'C:\\keys\\app.key',
    '.ssh/id_ed25519',
    'id_rsa.pub',
    '.npmrc',
    'aws/credentials',
    'config/secrets.yaml',
  ]) {
    assert.ok(isSecret(p), p);
  }
  for (const p of ['src/env.ts', 'keyboard.ts', 'src/certificates.md', 'README.md', 'monkey.py']) {
    assert.ok(!isSecret(p), p);
  }
});
