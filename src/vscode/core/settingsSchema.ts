// The settings table: every `moeLens.*` setting's type, default, bounds, scope and workspace-trust
// restriction, in one vscode-free place. package.json `contributes.configuration` declares the
// same settings (with descriptions) and `capabilities.untrustedWorkspaces.restrictedConfigurations`
// the restricted ones; test/unit/vscode/settings.test.ts checks that both agree exactly. `settings.ts` is
// the only reader.
import { DEFAULT_COMPLETION_SETTINGS as C } from '../../completion/pipeline';
import {
  DEFAULT_SECRET_PATTERNS,
  MAX_SECRET_PATTERN_LENGTH,
  MAX_SECRET_PATTERNS,
} from '../../language/secrets';

export type ExecutionProviderSetting = 'auto' | 'cpu' | 'cuda' | 'dml' | 'webgpu';

export interface MoeLensSettings {
  enable: boolean;
  /** languageId → enabled; "*" is the fallback for languages not listed. */
  languages: Record<string, boolean>;
  /** Model folder; empty = the default model shipped in the extension's models/. */
  modelPath: string;
  executionProvider: ExecutionProviderSetting;
  maxTokens: number;
  debounceMs: number;
  contextLines: number;
  temperature: number;
  secretPatterns: string[];
  extraContext: boolean;
  /** onnxruntime intra-op threads; 0 = onnxruntime's default (all cores). */
  threads: number;
  /** Unload the model after this many idle minutes; 0 = never. */
  idleUnloadMinutes: number;
  maxTimeMs: number;
  multiline: boolean;
  /** Mean token log-probability a suggestion needs to be shown (the completion gate). */
  minConfidence: number;
  /** Files the workspace routing analysis reads (the first N in path order). */
  analysisMaxFiles: number;
}

export type SettingKey = keyof MoeLensSettings;

/**
 * Where a value may come from (VS Code's `scope`). `machine`: user or remote settings only, never
 * a workspace's `.vscode/settings.json` — for what a repository must not choose (docs/SECURITY.md).
 * `machine-overridable`: a machine default a workspace may override. `window`: any level.
 */
export type SettingScope = 'application' | 'machine' | 'machine-overridable' | 'window';

/** The JSON-schema subset package.json uses for our settings, plus scope and trust. */
export type SettingSpec<T> = {
  default: T;
  scope: SettingScope;
  /** Listed in `restrictedConfigurations`: a workspace's value is ignored until it is trusted. */
  restricted?: true;
} & ([T] extends [boolean]
  ? { type: 'boolean' }
  : [T] extends [string]
    ? { type: 'string'; enum?: readonly T[] }
    : [T] extends [number]
      ? { type: 'integer' | 'number'; minimum: number; maximum: number }
      : [T] extends [string[]]
        ? { type: 'array'; items: 'string'; maxItems: number; maxItemLength: number }
        : { type: 'object'; additionalProperties: 'boolean' });

/** Any spec, loosely typed: what the checks below and the package.json test read. */
export interface LooseSettingSpec {
  type: 'boolean' | 'string' | 'integer' | 'number' | 'array' | 'object';
  default: unknown;
  scope: SettingScope;
  restricted?: true;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  items?: 'string';
  /** package.json: `maxItems`. */
  maxItems?: number;
  /** package.json: `items.maxLength`. */
  maxItemLength?: number;
  additionalProperties?: 'boolean';
}

export const SECTION = 'moeLens';

export const EXECUTION_PROVIDER_SETTINGS: readonly ExecutionProviderSetting[] = [
  'auto',
  'cpu',
  'cuda',
  'dml',
  'webgpu',
];

/** Files that never get completions (nor serve as context): the completion pipeline's list. */
export { DEFAULT_SECRET_PATTERNS };

// Scopes (docs/SECURITY.md, "Workspace settings"): what picks files, native code or the files that
// are secret is `machine` AND restricted — a repository's .vscode/settings.json cannot point
// modelPath at a model it ships (a model is parsed by native code), choose the execution
// provider (which native provider library loads) or the thread count (the machine's cores), nor
// empty or replace secretPatterns; restricted too, so that even a later change of scope keeps an
// untrusted workspace out. The rest only tunes suggestions and may differ per workspace.
export const SETTINGS: { readonly [K in SettingKey]: SettingSpec<MoeLensSettings[K]> } = {
  enable: { type: 'boolean', default: true, scope: 'window' },
  languages: {
    type: 'object',
    additionalProperties: 'boolean',
    default: { '*': true, plaintext: false, markdown: false },
    scope: 'window',
  },
  modelPath: { type: 'string', default: '', scope: 'machine', restricted: true },
  executionProvider: {
    type: 'string',
    enum: EXECUTION_PROVIDER_SETTINGS,
    default: 'auto',
    scope: 'machine',
    restricted: true,
  },
  // Completion settings: the pipeline's own defaults (src/completion/pipeline.ts).
  maxTokens: { type: 'integer', default: C.maxTokens, minimum: 1, maximum: 1024, scope: 'window' },
  debounceMs: {
    type: 'integer',
    default: C.debounceMs,
    minimum: 0,
    maximum: 2000,
    scope: 'window',
  },
  contextLines: {
    type: 'integer',
    default: C.contextLines,
    minimum: 4,
    maximum: 5000,
    scope: 'window',
  },
  temperature: { type: 'number', default: C.temperature, minimum: 0, maximum: 2, scope: 'window' },
  secretPatterns: {
    type: 'array',
    items: 'string',
    maxItems: MAX_SECRET_PATTERNS,
    maxItemLength: MAX_SECRET_PATTERN_LENGTH,
    default: [...DEFAULT_SECRET_PATTERNS],
    scope: 'machine',
    restricted: true,
  },
  extraContext: { type: 'boolean', default: C.extraContext, scope: 'window' },
  threads: {
    type: 'integer',
    default: 0,
    minimum: 0,
    maximum: 256,
    scope: 'machine',
    restricted: true,
  },
  idleUnloadMinutes: {
    type: 'integer',
    default: 0,
    minimum: 0,
    maximum: 1440,
    scope: 'machine-overridable',
  },
  maxTimeMs: {
    type: 'integer',
    default: C.maxTimeMs,
    minimum: 50,
    maximum: 60000,
    scope: 'window',
  },
  multiline: { type: 'boolean', default: C.multiline, scope: 'window' },
  minConfidence: {
    type: 'number',
    default: C.minConfidence,
    minimum: -20,
    maximum: 0,
    scope: 'window',
  },
  analysisMaxFiles: { type: 'integer', default: 200, minimum: 1, maximum: 5000, scope: 'window' },
};

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** Settings an untrusted workspace cannot set (package.json `restrictedConfigurations`). */
export const RESTRICTED_KEYS: readonly SettingKey[] = SETTING_KEYS.filter(
  (k) => SETTINGS[k].restricted === true,
);

/** Settings only user (or remote) settings may set; a workspace's value is ignored. */
export const MACHINE_KEYS: readonly SettingKey[] = SETTING_KEYS.filter((k) =>
  ['machine', 'application'].includes(SETTINGS[k].scope),
);

export function defaultSettings(): MoeLensSettings {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) out[key] = structuredClone(SETTINGS[key].default);
  return out as unknown as MoeLensSettings;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * One setting's raw value → a valid value: wrong types fall back to the default (with a problem
 * message), numbers are clamped into range (integers rounded), enums checked, lists filtered.
 */
export function normalizeSetting<K extends SettingKey>(
  key: K,
  raw: unknown,
  problems: string[] = [],
): MoeLensSettings[K] {
  const spec = SETTINGS[key] as LooseSettingSpec;
  const fallback = (why: string) => {
    problems.push(`${SECTION}.${key}: ${why}; using the default ${JSON.stringify(spec.default)}`);
    return structuredClone(spec.default) as MoeLensSettings[K];
  };
  if (raw === undefined || raw === null) return structuredClone(spec.default) as MoeLensSettings[K];
  switch (spec.type) {
    case 'boolean':
      return typeof raw === 'boolean'
        ? (raw as MoeLensSettings[K])
        : fallback(`expected a boolean, got ${JSON.stringify(raw)}`);
    case 'string': {
      if (typeof raw !== 'string') return fallback(`expected a string, got ${JSON.stringify(raw)}`);
      const allowed = spec.enum;
      if (allowed && !allowed.includes(raw)) {
        return fallback(`expected one of ${allowed.join('|')}, got ${JSON.stringify(raw)}`);
      }
      return raw as MoeLensSettings[K];
    }
    case 'integer':
    case 'number': {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) {
        return fallback(`expected a number, got ${JSON.stringify(raw)}`);
      }
      const minimum = spec.minimum ?? -Infinity;
      const maximum = spec.maximum ?? Infinity;
      const n = spec.type === 'integer' ? Math.round(raw) : raw;
      const clamped = Math.min(maximum, Math.max(minimum, n));
      if (clamped !== raw) problems.push(`${SECTION}.${key}: ${raw} adjusted to ${clamped}`);
      return clamped as MoeLensSettings[K];
    }
    case 'array': {
      if (!Array.isArray(raw)) return fallback(`expected a list, got ${JSON.stringify(raw)}`);
      let strings = raw.filter((s): s is string => typeof s === 'string' && s.length > 0);
      if (strings.length !== raw.length) problems.push(`${SECTION}.${key}: ignored non-strings`);
      const maxLength = spec.maxItemLength ?? Infinity;
      const long = strings.filter((s) => s.length > maxLength);
      if (long.length > 0) {
        problems.push(
          `${SECTION}.${key}: ignored ${long.length} longer than ${maxLength} characters`,
        );
        strings = strings.filter((s) => s.length <= maxLength);
      }
      const maxItems = spec.maxItems ?? Infinity;
      if (strings.length > maxItems) {
        problems.push(`${SECTION}.${key}: only the first ${maxItems} of ${strings.length} used`);
        strings = strings.slice(0, maxItems);
      }
      return strings as MoeLensSettings[K];
    }
    default: {
      if (!isPlainObject(raw)) return fallback(`expected an object, got ${JSON.stringify(raw)}`);
      const out: Record<string, boolean> = {};
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v === 'boolean') out[k] = v;
        else problems.push(`${SECTION}.${key}.${k}: expected a boolean; ignored`);
      }
      return out as MoeLensSettings[K];
    }
  }
}

/** Reads every setting through `get` (a WorkspaceConfiguration.get or a test map). */
export function readSettings(get: (key: SettingKey) => unknown): {
  settings: MoeLensSettings;
  problems: string[];
} {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) out[key] = normalizeSetting(key, get(key), problems);
  return { settings: out as unknown as MoeLensSettings, problems };
}

/**
 * Per-language enable: the language's own entry, else "*", else enabled. `explicit` (trigger
 * now) overrides a per-language "off", never the global switch.
 */
export function isLanguageEnabled(
  settings: Pick<MoeLensSettings, 'enable' | 'languages'>,
  languageId: string,
  explicit = false,
): boolean {
  if (!settings.enable) return false;
  if (explicit) return true;
  const own = settings.languages[languageId];
  if (own !== undefined) return own;
  return settings.languages['*'] ?? true;
}

/** Settings whose change needs the model reloaded (they are load parameters). */
export const RELOAD_KEYS: readonly SettingKey[] = ['modelPath', 'executionProvider', 'threads'];
