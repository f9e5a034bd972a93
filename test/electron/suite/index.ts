// Runs inside VS Code's extension host (bundled to .tmp/electron/suite/index.js by
// test/electron/activation.electron.ts): the extension activates and registers its commands.
// No mocha: `run()` resolving is a pass, rejecting is a failure with its message.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'moe-lens.moe-lens';
/** Commands the issue requires, whatever else package.json declares. */
const REQUIRED_COMMANDS = ['moeLens.toggle', 'moeLens.triggerNow', 'moeLens.showLog'];

interface Manifest {
  activationEvents?: string[];
  contributes?: { commands?: { command: string }[] };
}

const tests: [string, () => Promise<void>][] = [
  [
    'the extension is installed from the development folder and is not activated with "*"',
    async () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext, `${EXTENSION_ID} is loaded`);
      const manifest = ext.packageJSON as Manifest;
      assert.ok(!manifest.activationEvents?.includes('*'), 'no "*" activation');
    },
  ],
  [
    'activate() succeeds and registers every command of package.json',
    async () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext);
      await ext.activate();
      assert.ok(ext.isActive, 'the extension is active');
      const declared = ((ext.packageJSON as Manifest).contributes?.commands ?? []).map(
        (c) => c.command,
      );
      const registered = new Set(await vscode.commands.getCommands(true));
      for (const command of new Set([...REQUIRED_COMMANDS, ...declared])) {
        assert.ok(declared.includes(command), `package.json declares ${command}`);
        assert.ok(registered.has(command), `${command} is registered`);
      }
    },
  ],
];

export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const [name, fn] of tests) {
    try {
      await fn();
      console.log(`  ✔ ${name}`);
    } catch (e) {
      console.log(`  ✖ ${name}\n    ${e instanceof Error ? e.message : String(e)}`);
      failures.push(name);
    }
  }
  if (failures.length > 0) throw new Error(`${failures.length} of ${tests.length} failed`);
}
