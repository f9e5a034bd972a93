// Running the real built CLI (dist/cli.js) from tests: one child process per command, with its
// exit code, stdout and stderr. dist/ is rebuilt first when it is missing or older than src/
// (scripts/test.sh builds before the tests, so there it is always fresh).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { FIXTURES_DIR } from './fixtureData';

export const ROOT = resolve(__dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds dist/ with `npm run build` when dist/cli.js is missing or older than any file in src/.
 * Test files run in parallel processes: a lock folder keeps them from building at once.
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(ROOT, 'dist', '.build-lock');
  const fresh = () =>
    existsSync(CLI) && !existsSync(lock) && statSync(CLI).mtimeMs >= newestMtime(join(ROOT, 'src'));
  const deadline = Date.now() + 120_000;
  while (!fresh()) {
    mkdirSync(join(ROOT, 'dist'), { recursive: true });
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is building; a lock older than two minutes is left over from a crash.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 120_000) {
        rmSync(lock, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error(`${lock}: still held after two minutes`);
      await sleep(200);
      continue;
    }
    try {
      execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'ignore' });
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Runs `node dist/cli.js ...args`; never throws for a non-zero exit. */
export function runCli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          fail(new Error(`cli.js ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        done({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs a command that must succeed with `--json` and returns the parsed document. */
export async function cliJson<T>(args: string[]): Promise<T> {
  const r = await runCli([...args, '--json']);
  assert.equal(r.code, 0, `cli.js ${args.join(' ')} failed:\n${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `--json prints one document, got:\n${r.stdout}`);
  return JSON.parse(lines[0] as string) as T;
}

/** `convert <fixture> <out> --dtype fp32 ...extra`; returns the JSON result. */
export function convertFixture<T = ConvertJson>(
  name: string,
  out: string,
  extra: string[] = [],
): Promise<T> {
  return cliJson<T>(['convert', join(FIXTURES_DIR, name), out, '--dtype', 'fp32', ...extra]);
}

export interface ConvertJson {
  out: string;
  dtype: string;
  seconds: number;
  files: Record<string, { bytes: number; sha256: string }>;
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The sum of the element counts of every tensor in a safetensors file, read from its header. */
export function safetensorsHeader(
  file: string,
): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  delete header.__metadata__;
  return header as ReturnType<typeof safetensorsHeader>;
}

/** Element count of every tensor of a fixture checkpoint (all its .safetensors files). */
export function checkpointParams(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.safetensors'))) {
    for (const t of Object.values(safetensorsHeader(join(dir, f)))) {
      total += t.shape.reduce((a, b) => a * b, 1);
    }
  }
  return total;
}

/**
 * Rewrites a safetensors file tensor by tensor: `edit` may replace a tensor's dtype, shape and
 * raw bytes (offsets are recomputed), e.g. to store one weight as I8.
 */
export function rewriteSafetensors(
  src: string,
  dst: string,
  edit: (
    name: string,
    t: { dtype: string; shape: number[]; data: Buffer },
  ) => { dtype: string; shape: number[]; data: Buffer },
): void {
  const bytes = readFileSync(src);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = safetensorsHeader(src);
  const out: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const parts: Buffer[] = [];
  let pos = 0;
  for (const [name, t] of Object.entries(header)) {
    const data = bytes.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
    const e = edit(name, { dtype: t.dtype, shape: t.shape, data });
    out[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [pos, pos + e.data.length] };
    parts.push(e.data);
    pos += e.data.length;
  }
  let json = JSON.stringify(out);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(dst, Buffer.concat([prefix, Buffer.from(json), ...parts]));
}
