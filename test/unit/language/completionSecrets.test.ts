// Secret files get no completions and are never read by the analyses: the default globs, and
// the linear-time glob matcher behind them (an NFA simulation, src/language/secrets.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  compileGlob,
  DEFAULT_SECRET_PATTERNS,
  MAX_SECRET_PATTERN_LENGTH,
  MAX_SECRET_PATTERNS,
  matchesGlob,
  secretPattern,
} from '../../../src/language/secrets';
import { mulberry32 } from '../../../src/engine/sampler';

const SECRETS_TS = join(__dirname, '..', '..', '..', 'src', 'language', 'secrets.ts');

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
    '/p/secrets.py',
    '/p/.npmrc',
  ]) {
    assert.notEqual(secretPattern(path, DEFAULT_SECRET_PATTERNS), null, path);
  }
});

test('default patterns catch the common secret files of tools (docker, kube, pg, gpg, cloud)', () => {
  const cases: [string, string][] = [
    ['/home/u/.docker/config.json', '**/.docker/config.json'],
    ['/home/u/.kube/config', '**/.kube/config'],
    ['/home/u/.pgpass', '**/.pgpass'],
    ['/srv/www/.htpasswd', '**/.htpasswd'],
    ['/home/u/keys/server.ppk', '**/*.ppk'],
    ['/home/u/.gnupg/private-keys-v1.d/AB12.key', '**/.gnupg/**'],
    ['/home/u/.gnupg/pubring.kbx', '**/.gnupg/**'],
    ['/p/service-account.json', '**/service-account*.json'],
    ['/p/deploy/service-account-prod.json', '**/service-account*.json'],
    ['/p/infra/terraform.tfstate', '**/*.tfstate'],
    ['/p/infra/terraform.tfstate.backup', '**/*.tfstate.*'],
    ['/p/.envrc', '**/.envrc'],
    ['/p/AuthKey_ABC123.p8', '**/*.p8'],
    ['/p/deploy/secrets/db.yaml', '**/secrets/**'],
    ['C:\\p\\secrets\\token.txt', '**/secrets/**'],
  ];
  for (const [path, pattern] of cases) {
    assert.ok(DEFAULT_SECRET_PATTERNS.includes(pattern), pattern);
    assert.ok(matchesGlob(path, pattern), `${pattern} matches ${path}`);
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
    '/p/.envrc.d/y.ts',
    '/p/src/docker/config.json',
    '/p/kube/config.ts',
    '/p/src/state.tf',
    '/p/src/accounts/service.json',
    '/p/src/p8.ts',
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
  assert.ok(!matchesGlob('/a/key/.txt', '**/key?.txt'));
  assert.ok(matchesGlob('/a/b/file.yml', '**/*.{yml,yaml}'));
  assert.ok(matchesGlob('/a/b/file.yaml', '*.{yml,yaml}'));
  assert.ok(matchesGlob('/a/b/x.test.ts', '**/*.{spec,test}.{ts,{js,mjs}}'));
  assert.ok(matchesGlob('/a/b/x.spec.mjs', '**/*.{spec,test}.{ts,{js,mjs}}'));
  assert.ok(!matchesGlob('/a/b/x.spec.cjs', '**/*.{spec,test}.{ts,{js,mjs}}'));
  assert.ok(matchesGlob('/a/private/deep/x', '**/private/**'));
  assert.ok(!matchesGlob('/a/privateer/x', '**/private/**'));
  assert.ok(matchesGlob('/A/B/File.YML', '**/b/*.yml'), 'case-insensitive');
});

test('glob matcher: character classes (ranges, negation), never across a slash', () => {
  assert.ok(matchesGlob('/p/key1.pem', '**/key[0-9].pem'));
  assert.ok(!matchesGlob('/p/keyx.pem', '**/key[0-9].pem'));
  assert.ok(matchesGlob('/p/keyx.pem', '**/key[!0-9].pem'));
  assert.ok(matchesGlob('/p/keyx.pem', '**/key[^0-9].pem'));
  assert.ok(!matchesGlob('/p/key/.pem', '**/key[!0-9].pem'));
  assert.ok(matchesGlob('/p/Bx.ts', '**/[abc]x.ts'));
  assert.ok(matchesGlob('/p/]x', '**/[]]x'), 'a leading ] is a member');
  assert.ok(matchesGlob('/p/[id].ts', '**/[id].ts') === false, '[id] is a class');
  assert.ok(matchesGlob('/p/i.ts', '**/[id].ts'));
  assert.ok(matchesGlob('/p/[unclosed', '**/[unclosed'), 'an unclosed [ is literal');
});

test('glob matcher: regex characters are literal, odd patterns do not throw', () => {
  assert.ok(matchesGlob('/a/file(1).txt', '**/file(1).txt'));
  assert.ok(!matchesGlob('/a/fileX1).txt', '**/file(1).txt'));
  assert.ok(matchesGlob('/a/a+b.c', '**/a+b.c'));
  assert.ok(matchesGlob('/a/a^b$c|d', '**/a^b$c|d'));
  assert.doesNotThrow(() => compileGlob('{unclosed'));
  assert.ok(matchesGlob('/x/{unclosed', '{unclosed'));
  assert.ok(matchesGlob('/x/a}b{c', 'a}b{c'), 'unbalanced braces are literal');
  assert.ok(matchesGlob('/x/a,b', 'a,b'), 'a comma outside braces is literal');
  assert.equal(secretPattern('/a/b', ['', '  ']), null);
});

test('the configured list replaces the defaults', () => {
  assert.equal(secretPattern('/p/.env', ['**/*.secret.ts']), null);
  assert.equal(secretPattern('/p/a.secret.ts', ['**/*.secret.ts']), '**/*.secret.ts');
});

// Patterns that made backtracking matchers exponential: the former glob → RegExp (197 s for the
// first) and picomatch 4 (> 20 s each for the third and the sixth). They run in a child process
// whose only limit is a hang guard (60 s for what takes milliseconds here): an exponential
// matcher blocks its thread, so in-process it would hang the suite instead of failing. The test
// asserts the answers, not the time.
test('hostile patterns on a 31-segment path give the right answer (linear time)', () => {
  const segments = Array.from({ length: 31 }, (_, i) => `seg${i}`);
  const path = `/${segments.join('/')}`;
  const cases: [string, string, boolean][] = [
    ['**/'.repeat(10) + 'x', path, false],
    ['**/'.repeat(10) + 'seg30', path, true],
    ['**/*/'.repeat(10) + 'x', path, false],
    ['**/*/'.repeat(10) + 'seg30', path, true],
    ['**/*/'.repeat(40) + 'seg30', path, false], // needs 41 segments
    [`**/${'*a'.repeat(12)}b`, `/${'a'.repeat(200)}`, false],
    [`**/${'*a'.repeat(12)}b`, `/${'a'.repeat(200)}b`, true],
    [`**/${'{a,a}'.repeat(40)}b`, `/${'a'.repeat(200)}`, false],
    [`**/${'*'.repeat(100)}.x`, `/${'a'.repeat(3000)}`, false],
  ];
  for (const [glob] of cases) assert.ok(glob.length <= MAX_SECRET_PATTERN_LENGTH, 'within the cap');
  const script = [
    `const { matchesGlob, secretPattern } = require(${JSON.stringify(SECRETS_TS)});`,
    'const cases = JSON.parse(process.argv[1]);',
    'const out = cases.map(([g, p]) => [matchesGlob(p, g), secretPattern(p, [g])]);',
    'process.stdout.write(JSON.stringify(out));',
  ].join('\n');
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', '-e', script, JSON.stringify(cases)],
    { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' },
  );
  assert.equal(child.signal, null, 'the matcher did not finish (catastrophic backtracking?)');
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(
    JSON.parse(child.stdout),
    cases.map(([glob, , expected]) => [expected, expected ? glob : null]),
  );
});

test('caps: a pattern over the length cap and patterns past the count cap are ignored', () => {
  const long = `**/${'a'.repeat(MAX_SECRET_PATTERN_LENGTH)}`;
  assert.equal(compileGlob(long), null);
  assert.equal(secretPattern(`/p/${'a'.repeat(MAX_SECRET_PATTERN_LENGTH)}`, [long]), null);
  const many = [...Array.from({ length: MAX_SECRET_PATTERNS }, (_, i) => `**/f${i}`), '**/late'];
  assert.equal(secretPattern('/p/f0', many), '**/f0');
  assert.equal(secretPattern('/p/late', many), null);
  const states = compileGlob('{'.repeat(60) + '*/'.repeat(60) + '}'.repeat(60))?.size ?? 0;
  assert.ok(states < 4 * MAX_SECRET_PATTERN_LENGTH, `NFA size ${states} stays linear`);
});

/** The former matcher (glob → backtracking RegExp): the reference for the semantics. */
function referenceRegExp(glob: string): RegExp {
  let g = glob.replace(/\\/g, '/');
  if (!g.startsWith('/') && !g.startsWith('**')) g = `**/${g}`;
  let depth = 0;
  let balanced = true;
  for (const ch of g) {
    if (ch === '{') depth++;
    else if (ch === '}' && --depth < 0) balanced = false;
  }
  balanced &&= depth === 0;
  let re = '';
  let inBraces = 0;
  for (let i = 0; i < g.length; i++) {
    const ch = g[i] as string;
    if (ch === '*') {
      if (g[i + 1] === '*') {
        const atSegmentStart = i === 0 || g[i - 1] === '/';
        if (atSegmentStart && g[i + 2] === '/') {
          re += '(?:[^/]*/)*';
          i += 2;
        } else if (atSegmentStart && i + 2 === g.length) {
          re += '.*';
          i += 1;
        } else {
          re += '[^/]*';
          i += 1;
        }
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') re += '[^/]';
    else if (ch === '{' && balanced) {
      inBraces++;
      re += '(?:';
    } else if (ch === '}' && inBraces > 0) {
      inBraces--;
      re += ')';
    } else if (ch === ',' && inBraces > 0) re += '|';
    else if (/[.+^$()|[\]\\{}]/.test(ch)) re += `\\${ch}`;
    else re += ch;
  }
  return new RegExp(`^${re}$`, 'i');
}

test('the matcher agrees with the former RegExp matcher on 20,000 random small cases', () => {
  const rand = mulberry32(12);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const patternParts = [
    'a',
    'B',
    '.',
    '/',
    '*',
    '**',
    '**/',
    '?',
    '{',
    '}',
    ',',
    '{a,b}',
    '{*,a/}',
  ];
  const pathParts = ['a', 'b', 'A', '.', '/', 'ab', '{', ','];
  let matched = 0;
  for (let n = 0; n < 2000; n++) {
    const glob = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pick(patternParts)).join(
      '',
    );
    const re = referenceRegExp(glob);
    for (let k = 0; k < 10; k++) {
      const rel = Array.from({ length: Math.floor(rand() * 7) }, () => pick(pathParts)).join('');
      const path = rel.startsWith('/') ? rel : `/${rel}`;
      const expected = re.test(path);
      if (expected) matched++;
      assert.equal(matchesGlob(path, glob), expected, `${JSON.stringify(glob)} on ${path}`);
    }
  }
  assert.ok(matched > 1000, `enough positive cases (${matched})`);
});
