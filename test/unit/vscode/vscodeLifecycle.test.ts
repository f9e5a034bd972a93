// Disposable helpers, the small emitter, and model folder resolution.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MoeLensError } from '../../../src/format/errors';
import { MANIFEST_FILE } from '../../../src/format/manifest';
import { Disposable, disposeAll, Emitter, toDisposable } from '../../../src/vscode/core/lifecycle';
import { findDefaultModelDir, resolveModelDir } from '../../../src/vscode/core/modelDir';

const work = mkdtempSync(join(tmpdir(), 'moe-lens-lifecycle-'));
after(() => rmSync(work, { recursive: true, force: true }));

class Owner extends Disposable {
  add(fn: () => void) {
    return this._register(toDisposable(fn));
  }
}

test('Disposable: disposes what it registered once, in reverse order; late registrations at once', () => {
  const log: string[] = [];
  const o = new Owner();
  o.add(() => log.push('a'));
  o.add(() => log.push('b'));
  o.dispose();
  o.dispose();
  assert.deepEqual(log, ['b', 'a']);
  o.add(() => log.push('late'));
  assert.deepEqual(log, ['b', 'a', 'late']);
});

test('disposeAll disposes everything even if one throws, then rethrows', () => {
  const log: string[] = [];
  const items = [
    toDisposable(() => log.push('1')),
    toDisposable(() => {
      throw new Error('boom');
    }),
    toDisposable(() => log.push('3')),
  ];
  assert.throws(() => disposeAll(items), /boom/);
  assert.deepEqual(log, ['3', '1']);
  assert.equal(items.length, 0);
});

test('Emitter: listeners get events until their disposable is disposed', () => {
  const e = new Emitter<number>();
  const got: number[] = [];
  const sub = e.event((n) => got.push(n));
  e.fire(1);
  sub.dispose();
  e.fire(2);
  assert.deepEqual(got, [1]);
});

test('the default model is the first folder under models/ with a manifest', () => {
  const ext = join(work, 'ext');
  assert.throws(() => findDefaultModelDir(ext), MoeLensError);
  for (const name of ['b-model', 'a-empty', 'c-model']) {
    mkdirSync(join(ext, 'models', name), { recursive: true });
  }
  writeFileSync(join(ext, 'models', 'b-model', MANIFEST_FILE), '{}');
  writeFileSync(join(ext, 'models', 'c-model', MANIFEST_FILE), '{}');
  assert.equal(findDefaultModelDir(ext), join(ext, 'models', 'b-model'));
  assert.equal(
    resolveModelDir('  ', { extensionRoot: ext, home: '/h' }),
    join(ext, 'models', 'b-model'),
  );
});

test('modelPath: ~, ${workspaceFolder} and relative paths', () => {
  const ctx = { extensionRoot: '/ext', home: '/home/u', workspaceFolder: '/ws' };
  assert.equal(resolveModelDir('~/models/m', ctx), resolve('/home/u/models/m'));
  assert.equal(resolveModelDir('${workspaceFolder}/m', ctx), resolve('/ws/m'));
  assert.equal(resolveModelDir('models/m', ctx), resolve('/ws/models/m'));
  assert.equal(resolveModelDir('/abs/m/', ctx), resolve('/abs/m'));
  assert.throws(
    () => resolveModelDir('models/m', { extensionRoot: '/ext', home: '/h' }),
    /relative/,
  );
  assert.throws(
    () => resolveModelDir('${workspaceFolder}/m', { extensionRoot: '/ext', home: '/h' }),
    /no folder is open/,
  );
});
