// src/completion runs in plain Node: no vscode, and no onnxruntime (it reaches the engine only
// through the CompletionEngine interface; the engine runs in its own process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(__dirname, '..', '..', '..', 'src', 'completion');

test('src/completion imports neither vscode nor onnxruntime, and engine code only as types', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 7);
  for (const f of files) {
    const src = readFileSync(join(DIR, f), 'utf8');
    const imports = [...src.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)];
    for (const [, typeOnly, from] of imports) {
      assert.notEqual(from, 'vscode', f);
      assert.ok(!from?.includes('onnxruntime'), f);
      const runtimeEngine = !typeOnly && /\.\.\/(engine|host)\//.test(from ?? '');
      // inProcessEngine.ts is the in-process adapter for tests, benchmarks and eval:editor: it
      // runs the engine's syntax check in the same process, and nothing else imports it.
      const allowed = from === '../format/errors' || f === 'inProcessEngine.ts';
      assert.ok(!runtimeEngine || allowed, `${f} imports ${from} at runtime`);
      assert.notEqual(from, './inProcessEngine', `${f}: the pipeline must not pull in the engine`);
    }
  }
});
