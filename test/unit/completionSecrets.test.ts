// Secret files get no completions: the default globs, and the small glob matcher behind them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SECRET_PATTERNS,
  globToRegExp,
  matchesGlob,
  secretPattern,
} from '../../src/completion/secrets';

test('default patterns catch env files, keys, certificates and credentials', () => {
  for (const path of [
    '/home/u/app/.env',
    '/home/u/app/.env.local',
    '.env',
    'C:\\Users\\u\\app\\.env.production',
    '/srv/tls/server.pem',
    '/srv/tls/server.KEY',
    '/home/u/.ssh/id_rsa',
    '/home/u/.ssh/id_rsa.pub',
    '/home/u/.ssh/config',
    '/home/u/.aws/credentials',
    '/p/credentials.json',
    '/p/store.p12',
    '/p/cert.pfx',
    '/p/config/db_secret.yaml',
    '/p/Secrets.ts',
    '/p/.npmrc',
  ]) {
    assert.notEqual(secretPattern(path, DEFAULT_SECRET_PATTERNS), null, path);
  }
});

test('default patterns leave ordinary source files alone', () => {
  for (const path of [
    '/p/src/env.ts',
    '/p/src/environment.ts',
    '/p/src/keyboard.ts',
    '/p/README.md',
    'C:\\p\\src\\main.py',
    '/p/.envrc.d/x.ts/../y.ts'.replace('/..', ''),
  ]) {
    assert.equal(secretPattern(path, DEFAULT_SECRET_PATTERNS), null, path);
  }
});

test('glob matcher: ** spans segments (or none), * and ? stay within one', () => {
  assert.ok(matchesGlob('/a/b/c/x.ts', '**/*.ts'));
  assert.ok(matchesGlob('x.ts', '**/*.ts'));
  assert.ok(matchesGlob('/a/src/gen/x.js', 'src/**/*.js'));
  assert.ok(matchesGlob('/a/src/x.js', 'src/**/*.js'));
  assert.ok(!matchesGlob('/a/src/x.ts', 'src/**/*.js'));
  assert.ok(matchesGlob('/a/b.txt', '/a/*.txt'));
  assert.ok(!matchesGlob('/a/c/b.txt', '/a/*.txt'));
  assert.ok(matchesGlob('/a/key1.txt', '**/key?.txt'));
  assert.ok(!matchesGlob('/a/key12.txt', '**/key?.txt'));
  assert.ok(matchesGlob('/a/b/file.yml', '**/*.{yml,yaml}'));
  assert.ok(matchesGlob('/a/b/file.yaml', '*.{yml,yaml}'));
  assert.ok(matchesGlob('/a/private/deep/x', '**/private/**'));
  assert.ok(!matchesGlob('/a/privateer/x', '**/private/**'));
});

test('glob matcher: regex characters are literal, odd patterns do not throw', () => {
  assert.ok(matchesGlob('/a/file(1).txt', '**/file(1).txt'));
  assert.ok(!matchesGlob('/a/fileX1).txt', '**/file(1).txt'));
  assert.ok(matchesGlob('/a/a+b.c', '**/a+b.c'));
  assert.doesNotThrow(() => globToRegExp('{unclosed'));
  assert.ok(matchesGlob('/x/{unclosed', '{unclosed'));
  assert.equal(secretPattern('/a/b', ['', '  ']), null);
});

test('the configured list replaces the defaults', () => {
  assert.equal(secretPattern('/p/.env', ['**/*.secret.ts']), null);
  assert.equal(secretPattern('/p/a.secret.ts', ['**/*.secret.ts']), '**/*.secret.ts');
});
