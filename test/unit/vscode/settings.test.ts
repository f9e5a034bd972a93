// Settings are declared once in package.json and read through one typed accessor whose table
// (src/vscode/core/settingsSchema.ts) must agree with package.json exactly, in both directions.
// Also: the normalisation of bad values, per-language rules, and the contributed command ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_COMPLETION_SETTINGS } from '../../../src/completion/pipeline';
import { COMMANDS } from '../../../src/vscode/core/commandIds';
import { completionSettings } from '../../../src/vscode/core/pipelineApi';
import {
  defaultSettings,
  isLanguageEnabled,
  MACHINE_KEYS,
  normalizeSetting,
  readSettings,
  RELOAD_KEYS,
  RESTRICTED_KEYS,
  SECTION,
  SETTING_KEYS,
  SETTINGS,
  type LooseSettingSpec,
} from '../../../src/vscode/core/settingsSchema';

interface JsonSchemaProp {
  type: string;
  default: unknown;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  items?: { type: string; maxLength?: number };
  maxItems?: number;
  additionalProperties?: { type: string };
  scope?: string;
  [other: string]: unknown;
}

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
  activationEvents: string[];
  capabilities?: {
    untrustedWorkspaces?: {
      supported: boolean | 'limited';
      description?: string;
      restrictedConfigurations?: string[];
    };
  };
  contributes: {
    commands: { command: string; title: string }[];
    configuration: { properties: Record<string, JsonSchemaProp> };
  };
};
const declared = pkg.contributes.configuration.properties;

const KNOWN_KEYWORDS = new Set([
  ...['type', 'default', 'enum', 'minimum', 'maximum', 'items', 'additionalProperties'],
  ...['scope', 'maxItems'],
  ...['description', 'markdownDescription', 'enumDescriptions', 'order'],
]);

/** The checked part of a package.json property, in the table's shape. */
function fromPackage(p: JsonSchemaProp): LooseSettingSpec {
  const out: Record<string, unknown> = { type: p.type, default: p.default, scope: p.scope };
  if (p.enum !== undefined) out.enum = p.enum;
  if (p.minimum !== undefined) out.minimum = p.minimum;
  if (p.maximum !== undefined) out.maximum = p.maximum;
  if (p.items !== undefined) out.items = p.items.type;
  if (p.items?.maxLength !== undefined) out.maxItemLength = p.items.maxLength;
  if (p.maxItems !== undefined) out.maxItems = p.maxItems;
  if (p.additionalProperties !== undefined) out.additionalProperties = p.additionalProperties.type;
  return out as unknown as LooseSettingSpec;
}

test('every setting in package.json is in the table, and every table entry is declared', () => {
  const pkgKeys = Object.keys(declared).sort();
  const tableKeys = SETTING_KEYS.map((k) => `${SECTION}.${k}`).sort();
  assert.deepEqual(pkgKeys, tableKeys);
});

for (const key of SETTING_KEYS) {
  test(`${SECTION}.${key}: type, default, enum, bounds and scope agree with package.json`, () => {
    const p = declared[`${SECTION}.${key}`];
    assert.ok(p, 'declared in package.json');
    assert.ok(
      typeof p.description === 'string' || typeof p.markdownDescription === 'string',
      'has a description',
    );
    // Keywords the table does not model would slip past the comparison: allow only known ones.
    const unknown = Object.keys(p).filter((k) => !KNOWN_KEYWORDS.has(k));
    assert.deepEqual(unknown, [], 'schema keywords the table does not check');
    const spec = { ...(SETTINGS[key] as LooseSettingSpec) };
    delete spec.restricted; // checked against restrictedConfigurations below
    if (spec.enum) spec.enum = [...spec.enum];
    assert.deepEqual(fromPackage(p), spec);
  });
}

test('workspace trust: restrictedConfigurations are exactly the restricted table entries', () => {
  const trust = pkg.capabilities?.untrustedWorkspaces;
  assert.ok(trust, 'capabilities.untrustedWorkspaces declared');
  assert.equal(trust.supported, 'limited');
  assert.ok(trust.description && trust.description.length > 0, 'limited support is described');
  assert.deepEqual(
    [...(trust.restrictedConfigurations ?? [])].sort(),
    RESTRICTED_KEYS.map((k) => `${SECTION}.${k}`).sort(),
  );
});

// The security decision itself (docs/SECURITY.md): a repository must not choose the model (native
// code parses it), the execution provider or threads (native libraries, the machine's cores), nor
// which files are secret. Those are machine-scoped (never read from a workspace) and restricted.
test('settings that pick files, native code or secret files are machine-scoped and restricted', () => {
  const guarded: string[] = [...RELOAD_KEYS, 'secretPatterns'];
  assert.deepEqual([...MACHINE_KEYS].sort(), [...guarded].sort());
  assert.deepEqual([...RESTRICTED_KEYS].sort(), [...guarded].sort());
  for (const key of SETTING_KEYS) {
    assert.ok(SETTINGS[key].scope, `${key} has a scope`);
  }
});

test('secretPatterns: patterns over the length cap and past the count cap are dropped, and said', () => {
  const problems: string[] = [];
  const long = `**/${'x'.repeat(300)}`;
  const many = Array.from({ length: 200 }, (_, i) => `**/f${i}`);
  const got = normalizeSetting('secretPatterns', [long, ...many], problems);
  assert.equal(got.length, SETTINGS.secretPatterns.maxItems);
  assert.ok(!got.includes(long));
  assert.equal(got[0], '**/f0');
  assert.equal(problems.length, 2, problems.join('; '));
});

test('defaults are valid values: normalising them changes nothing and reports nothing', () => {
  const problems: string[] = [];
  for (const key of SETTING_KEYS) {
    assert.deepEqual(normalizeSetting(key, SETTINGS[key].default, problems), SETTINGS[key].default);
  }
  assert.deepEqual(problems, []);
});

test('readSettings: missing values take the defaults, copied (not shared)', () => {
  const { settings, problems } = readSettings(() => undefined);
  assert.deepEqual(settings, defaultSettings());
  assert.deepEqual(problems, []);
  settings.secretPatterns.push('x');
  assert.ok(!SETTINGS.secretPatterns.default.includes('x'));
});

test('bad values fall back to the default with a message; numbers are rounded and clamped', () => {
  const raw: Record<string, unknown> = {
    enable: 'yes',
    executionProvider: 'tpu',
    maxTokens: 10.6,
    debounceMs: -5,
    temperature: 9,
    threads: Number.NaN,
    secretPatterns: ['**/.env', 3, ''],
    languages: { python: false, go: 'no' },
    modelPath: 42,
  };
  const { settings, problems } = readSettings((k) => raw[k]);
  assert.equal(settings.enable, true);
  assert.equal(settings.executionProvider, 'auto');
  assert.equal(settings.maxTokens, 11);
  assert.equal(settings.debounceMs, 0);
  assert.equal(settings.temperature, 2);
  assert.equal(settings.threads, 0);
  assert.deepEqual(settings.secretPatterns, ['**/.env']);
  assert.deepEqual(settings.languages, { python: false });
  assert.equal(settings.modelPath, '');
  for (const key of ['enable', 'executionProvider', 'maxTokens', 'debounceMs', 'temperature']) {
    assert.ok(
      problems.some((p) => p.startsWith(`moeLens.${key}`)),
      `a problem reported for ${key}: ${problems.join('; ')}`,
    );
  }
});

test('per-language enable: own entry, then "*", then on; the global switch wins', () => {
  const s = { enable: true, languages: { '*': true, markdown: false, plaintext: false } };
  assert.equal(isLanguageEnabled(s, 'typescript'), true);
  assert.equal(isLanguageEnabled(s, 'markdown'), false);
  assert.equal(isLanguageEnabled(s, 'markdown', true), true, 'explicit overrides a language off');
  assert.equal(isLanguageEnabled({ ...s, enable: false }, 'typescript'), false);
  assert.equal(isLanguageEnabled({ ...s, enable: false }, 'typescript', true), false);
  const allowList = { enable: true, languages: { '*': false, python: true } };
  assert.equal(isLanguageEnabled(allowList, 'python'), true);
  assert.equal(isLanguageEnabled(allowList, 'rust'), false);
  assert.equal(isLanguageEnabled({ enable: true, languages: {} }, 'rust'), true);
});

test('the pipeline settings are exactly the completion settings', () => {
  assert.deepEqual(Object.keys(completionSettings(defaultSettings())).sort(), [
    'contextLines',
    'debounceMs',
    'extraContext',
    'maxTimeMs',
    'maxTokens',
    'minConfidence',
    'multiline',
    'secretPatterns',
    'temperature',
  ]);
});

test('contributed commands are the registered ones; activation never uses "*"', () => {
  assert.deepEqual(
    pkg.contributes.commands.map((c) => c.command).sort(),
    Object.values(COMMANDS).sort(),
  );
  assert.ok(!pkg.activationEvents.includes('*'));
});

test("the completion defaults are the pipeline's own", () => {
  assert.deepEqual(completionSettings(defaultSettings()), DEFAULT_COMPLETION_SETTINGS);
});
