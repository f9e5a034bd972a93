// The vscode layer's split (eslint.config.mjs, docs/ARCHITECTURE.md "Layers"): src/vscode/core
// holds what runs without the vscode module (unit-tested in plain Node) and ESLint keeps it so;
// every other file of src/vscode uses vscode (so nothing vscode-free hides outside core). Explain's
// logic lives in src/explain, below the vscode layer.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = join(__dirname, '..', '..', '..');
const eslint = new ESLint({ cwd: ROOT });

/** The import-rule messages ESLint gives `code` as if it were the file `path`. */
async function importErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
    .map((m) => m.message);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const importsVscode = (file: string) =>
  /(?:from|import)\s+['"]vscode['"]|require\(['"]vscode['"]\)/.test(readFileSync(file, 'utf8'));

test('src/vscode/core must not import vscode, nor the vscode-bound files beside it', async () => {
  const vscode = await importErrors(
    'src/vscode/core/x.ts',
    "import * as vscode from 'vscode';\nvoid vscode;\n",
  );
  assert.equal(vscode.length, 1, JSON.stringify(vscode));
  assert.match(vscode[0] as string, /src\/vscode\/core is vscode-free/);
  const sibling = await importErrors(
    'src/vscode/core/x.ts',
    "import { Settings } from '../settings';\nvoid Settings;\n",
  );
  assert.equal(sibling.length, 1, JSON.stringify(sibling));
  assert.match(sibling[0] as string, /must not import the files of src\/vscode that use vscode/);
  // The folder layer rules still hold inside core.
  const engine = await importErrors(
    'src/vscode/core/x.ts',
    "import { Engine } from '../../engine/engine';\nvoid Engine;\n",
  );
  assert.equal(engine.length, 1);
  assert.match(engine[0] as string, /src\/vscode must not import src\/engine/);
});

test('what core may import passes; the rest of src/vscode may import vscode', async () => {
  const ok: [string, string][] = [
    ['src/vscode/core/x.ts', "import { x } from '../../format/errors';\nx();\n"],
    ['src/vscode/core/x.ts', "import { x } from './lifecycle';\nx();\n"],
    [
      'src/vscode/core/x.ts',
      "import type { Settings } from '../settings';\nexport type S = Settings;\n",
    ],
    ['src/vscode/x.ts', "import * as vscode from 'vscode';\nvoid vscode;\n"],
    ['src/vscode/commands/x.ts', "import * as vscode from 'vscode';\nvoid vscode;\n"],
    ['src/vscode/x.ts', "import { x } from './core/lifecycle';\nx();\n"],
  ];
  for (const [file, code] of ok) assert.deepEqual(await importErrors(file, code), [], code);
});

test('every file of src/vscode outside core uses vscode; no file in core does', () => {
  const all = filesUnder(join(ROOT, 'src', 'vscode')).map((f) => relative(ROOT, f));
  const core = all.filter((f) => f.startsWith('src/vscode/core/'));
  assert.ok(core.length >= 10, `${core.length} core files`);
  for (const f of all) {
    const inCore = core.includes(f);
    assert.equal(
      importsVscode(join(ROOT, f)),
      !inCore,
      inCore ? `${f} imports vscode` : `${f} is vscode-free: it belongs in src/vscode/core`,
    );
  }
});

test('src/explain: no vscode, no vscode layer, the engine and host as types only', async () => {
  const wrong: [string, RegExp][] = [
    ["import * as vscode from 'vscode';\nvoid vscode;\n", /src\/explain must not import vscode/],
    [
      "import { x } from '../vscode/core/panelState';\nx();\n",
      /src\/explain must not import src\/vscode/,
    ],
    ["import { Engine } from '../engine/engine';\nvoid Engine;\n", /must not import src\/engine/],
    ["import { x } from '../host/engineClient';\nx();\n", /must not import src\/host/],
    ["import { x } from '../language/tokenClasses';\nx();\n", /TypeScript compiler must not load/],
  ];
  for (const [code, message] of wrong) {
    const errors = await importErrors('src/explain/x.ts', code);
    assert.equal(errors.length, 1, `${code.trim()} -> ${JSON.stringify(errors)}`);
    assert.match(errors[0] as string, message);
  }
  const ok = [
    "import { proseGate } from '../completion/gate';\nproseGate('');\n",
    "import type { EngineApi } from '../host/protocol';\nexport type A = EngineApi;\n",
    "import type { GeneratedToken } from '../engine/generate';\nexport type T = GeneratedToken;\n",
    "import { x } from '../format/errors';\nx();\n",
  ];
  for (const code of ok) assert.deepEqual(await importErrors('src/explain/x.ts', code), [], code);
  const vscodeUsesExplain = "import { x } from '../../explain/docComment';\nx();\n";
  assert.deepEqual(await importErrors('src/vscode/commands/x.ts', vscodeUsesExplain), []);
});
