// The editor's analysis commands against the in-memory vscode mock: "Analyze Routing of
// Workspace" never reads a file matching moeLens.secretPatterns (its bytes are never fetched, its
// text never reaches the engine), and "Analyze Routing of File" / "Explain Selection" refuse a
// secret document with a message instead of sending it.
import '../vscodeMock';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { AnalyzedText } from '../../../src/analysis/analyzeText';
import * as analyze from '../../../src/vscode/commands/analyze';
import * as explain from '../../../src/vscode/commands/explain';
import { COMMANDS } from '../../../src/vscode/core/commandIds';
import { defaultSettings } from '../../../src/vscode/core/settingsSchema';
import { commands, state, textDocument, Uri, window, workspace } from '../vscodeMock';

const FILES: Record<string, string> = {
  '/ws/src/app.py': 'def main():\n    return 1\n',
  '/ws/secrets.py': 'API_KEY = "sk-live-XXXXXXXX"\n',
  '/ws/deploy/secrets/token.py': 'TOKEN = "ghp_XXXXXXXX"\n',
};

/** Everything the commands fetched from disk and sent to the engine. */
const seen = { reads: [] as string[], stats: [] as string[], engineTexts: [] as string[] };
const shown: unknown[] = [];

// The parts of the vscode API the workspace analysis uses, over FILES.
Object.assign(workspace, {
  name: 'ws',
  textDocuments: [],
  async findFiles() {
    return Object.keys(FILES).map((p) => Uri.file(p));
  },
  fs: {
    async stat(uri: Uri) {
      seen.stats.push(uri.path);
      return { size: (FILES[uri.path] ?? '').length };
    },
    async readFile(uri: Uri) {
      seen.reads.push(uri.path);
      return new TextEncoder().encode(FILES[uri.path] ?? '');
    },
  },
});

function analyzed(text: string): AnalyzedText {
  const tokens = [...text].map((ch, i) => ({
    id: ch.charCodeAt(0),
    text: ch,
    start: i,
    end: i + 1,
    logprob: i === 0 ? null : -1,
    routing: [{ layer: 0, experts: [0, 1], weights: [0.6, 0.4], entropy: 1, topKMass: 0.8 }],
  }));
  return { tokens, totalTokens: tokens.length, truncated: false, scoreMs: 1 };
}

const deps = {
  client: {
    async call(method: string, params: { text?: string; input?: { prefix?: string } }) {
      const text = params.text ?? params.input?.prefix ?? '';
      seen.engineTexts.push(text);
      if (method === 'analyze') return analyzed(text);
      throw new Error(`unexpected engine call ${method}`);
    },
  },
  engine: {
    state: { kind: 'ready', modelDir: '/models/tiny' },
    async ensureLoaded() {
      return { experts: 4, topK: 2, moeLayers: [0], chat: false };
    },
  },
  routing: {
    start() {
      return { token() {}, end() {} };
    },
    shown() {},
    analysis(a: unknown) {
      shown.push(a);
    },
  },
  settings: { current: defaultSettings() },
  log: { error() {}, info() {}, warn() {} },
} as unknown as analyze.AnalyzeDeps & explain.ExplainDeps;

beforeEach(() => {
  state.reset();
  seen.reads = [];
  seen.stats = [];
  seen.engineTexts = [];
  shown.length = 0;
  analyze.register(deps);
  explain.register(deps);
});

test("Analyze Routing of Workspace: a workspace's secrets.py is never read", async () => {
  await commands.executeCommand(COMMANDS.analyzeWorkspace);
  assert.deepEqual(state.messages, [], 'no error');
  assert.deepEqual(seen.reads, ['/ws/src/app.py'], 'only the ordinary file was read');
  assert.deepEqual(seen.stats, ['/ws/src/app.py']);
  assert.ok(!seen.engineTexts.some((t) => t.includes('sk-live') || t.includes('ghp_')));
  const result = shown[0] as { stats: { files: number }; skipped: { file: string }[] };
  assert.equal(result.stats.files, 1);
  assert.deepEqual(result.skipped.map((s) => s.file).sort(), [
    'deploy/secrets/token.py',
    'secrets.py',
  ]);
  assert.ok(!JSON.stringify(result).includes('sk-live'), 'nothing of it in the panel (or export)');
});

test('Analyze Routing of File and Explain Selection refuse a secret document', async () => {
  const doc = textDocument('/ws/secrets.py', FILES['/ws/secrets.py'] as string, 'python');
  const selection = { isEmpty: false, start: { line: 0 }, end: { line: 0 } };
  window.activeTextEditor = { document: doc, selection };
  try {
    await commands.executeCommand(COMMANDS.analyzeFile);
    await commands.executeCommand(COMMANDS.analyzeSelection);
    await commands.executeCommand(COMMANDS.explainSelection);
  } finally {
    window.activeTextEditor = undefined;
  }
  assert.deepEqual(seen.engineTexts, [], 'nothing sent to the engine');
  assert.equal(state.messages.length, 3);
  for (const m of state.messages) {
    assert.match(m.text, /secrets\.py matches moeLens\.secretPatterns \(\*\*\/\*secret\*\)/);
  }
});
