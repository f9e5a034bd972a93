// The layer rules (eslint.config.mjs, docs/ARCHITECTURE.md "Layers") reject a wrong import, and
// src/ has no import cycle between files or folders (scripts/checkImports.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { cycles, importGraphs } from '../../scripts/checkImports';

const ROOT = join(__dirname, '..', '..');
const eslint = new ESLint({ cwd: ROOT });

/** The layer-rule messages ESLint gives `code` as if it were the file `path` of src/. */
async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
    .map((m) => m.message);
}

test('a wrong import between layers is an ESLint error naming both folders', async () => {
  const cases: [file: string, code: string, folder: string, target: string][] = [
    ['src/engine/x.ts', "import { x } from '../vscode/settings';\nx();\n", 'engine', 'vscode'],
    [
      'src/engine/x.ts',
      "import { x } from '../checkpoint/modelSpec';\nx();\n",
      'engine',
      'checkpoint',
    ],
    ['src/format/x.ts', "import { x } from '../engine/engine';\nx();\n", 'format', 'engine'],
    [
      'src/convert/graph/x.ts',
      "import { x } from '../../engine/model';\nx();\n",
      'convert',
      'engine',
    ],
    [
      'src/vscode/x.ts',
      "import { Engine } from '../engine/engine';\nEngine.open('');\n",
      'vscode',
      'engine',
    ],
    ['src/webview/x.ts', "import { x } from '../host/protocol';\nx();\n", 'webview', 'host'],
    [
      'src/language/x.ts',
      "import { x } from '../completion/pipeline';\nx();\n",
      'language',
      'completion',
    ],
  ];
  for (const [file, code, folder, target] of cases) {
    const errors = await layerErrors(file, code);
    assert.equal(errors.length, 1, `${file}: ${code.trim()} -> ${JSON.stringify(errors)}`);
    assert.match(errors[0] as string, new RegExp(`src/${folder} must not import src/${target}`));
  }
  const heavy = await layerErrors(
    'src/vscode/x.ts',
    "import { classesOf } from '../language/tokenClasses';\nclassesOf('', [], 'ts');\n",
  );
  assert.equal(heavy.length, 1);
  assert.match(heavy[0] as string, /TypeScript compiler must not load there/);
  const vscodeInEngine = await layerErrors(
    'src/engine/x.ts',
    "import * as vscode from 'vscode';\nvoid vscode;\n",
  );
  assert.equal(vscodeInEngine.length, 1);
});

test('the imports the layers allow pass', async () => {
  const cases: [file: string, code: string][] = [
    ['src/engine/x.ts', "import { x } from '../format/errors';\nx();\n"],
    ['src/convert/x.ts', "import { x } from '../engine/tokenizer';\nx();\n"],
    [
      'src/vscode/x.ts',
      "import type { Engine } from '../engine/engine';\nexport type E = Engine;\n",
    ],
    [
      'src/completion/x.ts',
      "import type { EngineApi } from '../host/protocol';\nexport type A = EngineApi;\n",
    ],
    ['src/webview/x.ts', "import { entropy } from '../analysis/routingStats';\nentropy([]);\n"],
  ];
  for (const [file, code] of cases) assert.deepEqual(await layerErrors(file, code), [], file);
});

test('no import cycle between files or folders of src/', () => {
  const { files, folders } = importGraphs();
  assert.ok(files.size > 50, `${files.size} files read`);
  assert.deepEqual(cycles(files), [], 'file-level cycles');
  // The checker sees a cycle when there is one.
  const looped = new Map(files);
  looped.set('src/format/errors.ts', new Set(['src/engine/model.ts']));
  assert.ok(cycles(looped).length > 0);
  // Folder edges form a DAG: a topological order exists.
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    assert.notEqual(state.get(f), 'visiting', `folder cycle: ${[...path, f].join(' -> ')}`);
    state.set(f, 'visiting');
    for (const d of folders.get(f) ?? []) visit(d, [...path, f]);
    state.set(f, 'done');
    order.push(f);
  };
  for (const f of folders.keys()) visit(f, []);
  assert.equal(order.length, folders.size);
});
