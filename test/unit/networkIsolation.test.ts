// Nothing leaves the machine (docs/SECURITY.md): the real CLI (`complete`) and the real engine
// host (EngineClient forking dist/engineHost.js: load + complete, then held past onnxruntime's
// telemetry upload delay) run under `strace -f -e trace=network`; any connect/send to an address
// other than a Unix socket or loopback fails the test, and so does any DNS query (port 53, even to
// a local resolver). Each runs with a fresh HOME that must end up without onnxruntime's telemetry
// store (.cache/Microsoft). scripts/test.sh installs strace when it can; without it these tests
// skip with a message, except in CI (CI=true), where they must run.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { CLI, ensureBuilt, ROOT } from './cliHelpers';
import { offMachine, straceUsable, tracedAddresses } from './networkTrace';

const MODEL = join(ROOT, 'models', 'tiny-test');
const HOST = join(ROOT, 'dist', 'engineHost.js');
/** onnxruntime 1.30 resolved its collector ~9.5 s after the engine host started: hold past it. */
const HOLD_MS = 15_000;

const work = mkdtempSync(join(tmpdir(), 'moe-lens-net-'));
const strace = straceUsable();

before(() => ensureBuilt());
after(() => rmSync(work, { recursive: true, force: true }));

/** Skips (with the reason) where strace cannot run; in CI that is a failure instead. */
function needStrace(t: TestContext): boolean {
  if (strace.ok) return true;
  const why = `strace unavailable (${strace.why}); network isolation NOT checked`;
  if (process.env.CI === 'true') {
    assert.fail(`${why}: CI must run it (scripts/test.sh installs it)`);
  }
  t.skip(why);
  return false;
}

/** A fresh HOME, and an environment without our own telemetry switch (the code must set it). */
function isolatedEnv(name: string): { home: string; env: NodeJS.ProcessEnv } {
  const home = mkdtempSync(join(work, `${name}-home-`));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  env.XDG_CACHE_HOME = join(home, '.cache');
  delete env.ORT_DISABLE_TELEMETRY;
  return { home, env };
}

function traced(
  args: string[],
  env: NodeJS.ProcessEnv,
  log: string,
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile(
      'strace',
      ['-f', '-qq', '-e', 'trace=network', '-o', log, process.execPath, ...args],
      { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          fail(new Error(`strace ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        done({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

function assertStayedLocal(log: string, home: string): void {
  const addresses = tracedAddresses(readFileSync(log, 'utf8'));
  const leaks = addresses.map(offMachine).filter((why): why is string => why !== null);
  assert.deepEqual(leaks, [], 'network traffic off the machine (or DNS)');
  const store = join(home, '.cache', 'Microsoft');
  assert.ok(
    !existsSync(store),
    `onnxruntime telemetry store created: ${store} (${existsSync(store) ? readdirSync(store).join(', ') : ''})`,
  );
}

test('strace log reading: loopback and Unix sockets pass; outside addresses and DNS do not', () => {
  const log = [
    '11433 connect(19, {sa_family=AF_UNIX, sun_path="/tmp/tsx-0/11430.pipe"}, 110) = -1 ENOENT',
    '11522 connect(24, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT',
    '11523 connect(25, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16 <unfinished ...>',
    '11522 sendto(24, "tG\\1\\0\\0\\1\\0\\0\\0\\0\\0\\0\\6mobile"..., 50, MSG_NOSIGNAL, NULL, 0) = 50',
    '7 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
    '7 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0',
    '7 connect(4, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2603:1030::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH',
    '7 connect(4, {sa_family=AF_INET6, sin6_port=htons(9000), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
    '7 sendto(5, [{nlmsg_len=20, nlmsg_type=RTM_GETADDR}], 20, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 20',
    '7 sendmsg(6, {msg_name={sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("20.42.65.92")}, msg_namelen=16}, 0) = 10',
    '7 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 24',
  ].join('\n');
  assert.deepEqual(tracedAddresses(log).map(offMachine), [
    null,
    null,
    'DNS: connect to 10.255.255.53 port 53',
    null,
    'DNS: connect to 127.0.0.53 port 53',
    'connect to AF_INET6 2603:1030::1:443',
    null,
    null,
    'sendmsg to AF_INET 20.42.65.92:443',
  ]);
});

test('the CLI (complete) opens no socket off the machine and leaves no telemetry store', async (t) => {
  if (!needStrace(t)) return;
  const { home, env } = isolatedEnv('cli');
  const log = join(work, 'cli.strace');
  const r = await traced(
    [
      CLI,
      'complete',
      '--model',
      MODEL,
      '--prefix',
      'def add(a, b):\n    ',
      '--suffix',
      '\n',
    ].concat(['--max-tokens', '4', '--ep', 'cpu', '--json']),
    env,
    log,
    120_000,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).finishReason, 'length', 'the model ran');
  assertStayedLocal(log, home);
});

test(
  'the engine host (EngineClient: load, complete, idle past the telemetry delay) stays local',
  { timeout: 180_000 },
  async (t) => {
    if (!needStrace(t)) return;
    const { home, env } = isolatedEnv('host');
    const log = join(work, 'host.strace');
    const r = await traced(
      ['--import', 'tsx', join(__dirname, 'hostNetworkProbe.ts'), HOST, MODEL, String(HOLD_MS)],
      env,
      log,
      150_000,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).decodeTokens > 0, 'the model ran');
    assertStayedLocal(log, home);
  },
);

test('the extension host bundle never loads onnxruntime-node (only the engine host and CLI do)', () => {
  const js = readFileSync(join(ROOT, 'dist', 'extension.js'), 'utf8');
  assert.equal(js.search(/require\(\s*["']onnxruntime-node["']\s*\)/), -1);
  assert.equal(js.search(/require\(\s*["']typescript["']\s*\)|createScanner\(/), -1);
});

test('the bundles turn telemetry off before they load onnxruntime-node', async () => {
  for (const bundle of [CLI, HOST]) {
    const js = readFileSync(bundle, 'utf8');
    const off = js.search(/Object\.assign\(\s*process\.env\s*,/);
    const ort = js.search(/require\(\s*["']onnxruntime-node["']\s*\)/);
    assert.ok(ort > 0, `${bundle} requires onnxruntime-node`);
    assert.ok(off > 0 && off < ort, `${bundle}: telemetry is turned off before onnxruntime loads`);
  }
});
