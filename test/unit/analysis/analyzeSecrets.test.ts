// The routing analyses never read secret files (docs/SECURITY.md): the folder walk of
// `cli analyze` and the editor's "Analyze Routing of Workspace" both go through analyzeFiles,
// which skips a file matching the secret patterns before its read() — so a workspace's
// secrets.py reaches neither the engine, nor the vocabulary table, nor the export.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  analyzeFiles,
  listSourceFiles,
  secretPatternOf,
  type AnalyzeTextFn,
  type SourceFile,
} from '../../../src/analysis/analyzeFiles';
import { DEFAULT_SECRET_PATTERNS } from '../../../src/language/secrets';

const MODEL = { name: 'fake', experts: 4, topK: 2, moeLayers: [0] };
let ws: string;

before(() => {
  ws = mkdtempSync(join(tmpdir(), 'moe-lens-secrets-ws-'));
  mkdirSync(join(ws, 'src'));
  mkdirSync(join(ws, 'deploy', 'secrets'), { recursive: true });
  writeFileSync(join(ws, 'src', 'app.py'), 'def main():\n    return 1\n');
  writeFileSync(join(ws, 'secrets.py'), 'API_KEY = "sk-live-XXXXXXXX"\n');
  writeFileSync(join(ws, 'src', 'db_secret.ts'), 'export const password = "hunter2";\n');
  writeFileSync(join(ws, 'deploy', 'secrets', 'token.py'), 'TOKEN = "ghp_XXXXXXXX"\n');
  writeFileSync(join(ws, 'deploy', 'run.sh'), 'echo run\n');
});
after(() => rmSync(ws, { recursive: true, force: true }));

/** A fake engine: one token per character, recording every text it was given. */
function recordingEngine(): { analyze: AnalyzeTextFn; texts: string[] } {
  const texts: string[] = [];
  const analyze: AnalyzeTextFn = async (text) => {
    texts.push(text);
    const tokens = [...text].map((ch, i) => ({
      id: ch.charCodeAt(0),
      text: ch,
      start: i,
      end: i + 1,
      logprob: i === 0 ? null : -1,
      routing: [{ layer: 0, experts: [0, 1], weights: [0.6, 0.4], entropy: 1, topKMass: 0.8 }],
    }));
    return { tokens, totalTokens: tokens.length, truncated: false, scoreMs: 1 };
  };
  return { analyze, texts };
}

test('the folder walk never lists secret files (default patterns), and says why', async () => {
  const { files, skipped } = await listSourceFiles([ws], 100, ws);
  assert.deepEqual(files.map((f) => f.path).sort(), [
    join('deploy', 'run.sh'),
    join('src', 'app.py'),
  ]);
  const secret = skipped.filter((s) => s.reason.startsWith('secret file'));
  assert.deepEqual(
    secret.map((s) => s.file).sort(),
    [join('deploy', 'secrets', 'token.py'), 'secrets.py', join('src', 'db_secret.ts')].sort(),
  );
  // A secret file named on the command line is skipped too.
  const named = await listSourceFiles([join(ws, 'secrets.py')], 100, ws);
  assert.deepEqual(named.files, []);
  assert.match(named.skipped[0]?.reason ?? '', /^secret file \(matches \*\*\/\*secret\*\)/);
});

test("a workspace's secrets.py is never read: analyzeFiles skips it before read()", async () => {
  // As "Analyze Routing of Workspace" builds them: workspace-relative path, full path, a reader.
  const reads: string[] = [];
  const file = (rel: string, language: string, text: string): SourceFile => ({
    path: rel,
    fullPath: join(ws, rel),
    language,
    read: async () => {
      reads.push(rel);
      return text;
    },
  });
  const files = [
    file('src/app.py', 'python', 'def main():\n    return 1\n'),
    file('secrets.py', 'python', 'API_KEY = "sk-live-XXXXXXXX"\n'),
    file('deploy/secrets/token.py', 'python', 'TOKEN = "ghp_XXXXXXXX"\n'),
  ];
  const { analyze, texts } = recordingEngine();
  const result = await analyzeFiles(files, MODEL, analyze, {
    maxTokens: 1024,
    secretPatterns: [...DEFAULT_SECRET_PATTERNS],
  });
  assert.deepEqual(reads, ['src/app.py'], 'only the ordinary file was read');
  assert.equal(texts.length, 1);
  assert.ok(!texts.some((t) => t.includes('sk-live') || t.includes('ghp_')));
  assert.equal(result.stats.files, 1);
  assert.deepEqual(
    result.skipped.map((s) => [s.file, s.reason]),
    [
      ['secrets.py', 'secret file (matches **/*secret*)'],
      ['deploy/secrets/token.py', 'secret file (matches **/secrets/**)'],
    ],
  );
  // Nothing of the secret reaches the statistics (the vocabulary table, the export).
  assert.ok(!JSON.stringify(result.stats).includes('sk-live'));
});

test("the user's own list is used: a custom pattern (by full path) and an empty list", async () => {
  const reads: string[] = [];
  const files: SourceFile[] = [
    {
      path: 'notes.py',
      fullPath: join(ws, 'private', 'notes.py'),
      language: 'python',
      read: async () => {
        reads.push('notes.py');
        return 'x = 1\n';
      },
    },
  ];
  const custom = [`${join(ws, 'private').replace(/\\/g, '/')}/**`];
  assert.equal(secretPatternOf(files[0] as SourceFile, custom), custom[0]);
  const { analyze } = recordingEngine();
  await analyzeFiles(files, MODEL, analyze, { maxTokens: 64, secretPatterns: custom });
  assert.deepEqual(reads, [], 'the anchored pattern matched the full path');
  // Without a list, the defaults apply; an explicitly empty list (user settings only) reads all.
  assert.equal(secretPatternOf({ path: 'secrets.py' }), '**/*secret*');
  await analyzeFiles(files, MODEL, analyze, { maxTokens: 64, secretPatterns: [] });
  assert.deepEqual(reads, ['notes.py']);
});
