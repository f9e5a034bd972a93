// Engine-host requests are checked at the boundary before any handler sees them: a message is
// data from another process (a bug, a fuzzer, a compromised extension host), so its type, id,
// method and every parameter are checked as own properties of plain objects, with bounds. A
// method name such as `constructor` or `__proto__` never reaches the handler table, and a bad
// request gets one typed error naming the field, never a stack trace.
import { EXECUTION_PROVIDERS } from '../engine/session';
import type { EngineApi, HostRequest, Method } from './protocol';

export const METHODS: readonly Method[] = [
  'load',
  'complete',
  'score',
  'analyze',
  'encode',
  'checkSyntax',
  'unload',
];

/** Longest text a request may carry (prompts are fitted to the model's context anyway). */
export const MAX_TEXT = 16 * 1024 * 1024;
/** Most token ids a request may carry. */
export const MAX_IDS = 1_000_000;

type Obj = Record<string, unknown>;

class Invalid extends Error {}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Obj, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

/** Field readers: each throws Invalid naming the field. */
function field(o: Obj, key: string, path: string) {
  const v = own(o, key);
  const at = `${path}.${key}`;
  const fail = (want: string): never => {
    throw new Invalid(`${at}: expected ${want}`);
  };
  return {
    string(max = MAX_TEXT): string {
      return typeof v === 'string' && v.length <= max ? v : fail(`a string of ≤ ${max} chars`);
    },
    int(min: number, max: number): number {
      return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
        ? (v as number)
        : fail(`an integer in [${min}, ${max}]`);
    },
    num(min: number, max: number): number {
      return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max
        ? v
        : fail(`a number in [${min}, ${max}]`);
    },
    bool(): boolean {
      return typeof v === 'boolean' ? v : fail('a boolean');
    },
    oneOf<T extends string>(values: readonly T[]): T {
      return values.find((x) => x === v) ?? fail(`one of ${values.join('|')}`);
    },
    obj(): Obj {
      return isObj(v) ? v : fail('an object');
    },
    ids(): number[] {
      if (!Array.isArray(v) || v.length > MAX_IDS) return fail(`an array of ≤ ${MAX_IDS} ids`);
      for (const id of v) if (!Number.isSafeInteger(id) || id < 0) fail('non-negative integer ids');
      return v as number[];
    },
    strings(maxItems: number, maxLen: number): string[] {
      if (!Array.isArray(v) || v.length > maxItems) return fail(`≤ ${maxItems} strings`);
      for (const s of v) {
        if (typeof s !== 'string' || s.length > maxLen) fail(`≤ ${maxLen}-char strings`);
      }
      return v as string[];
    },
    present: v !== undefined,
  };
}

function checkInput(input: Obj, path: string): void {
  const kind = field(input, 'kind', path).oneOf(['text', 'fim', 'ids', 'chat'] as const);
  const f = (k: string) => field(input, k, path);
  if (kind === 'text') {
    f('prompt').string();
  } else if (kind === 'ids') {
    f('ids').ids();
  } else if (kind === 'chat') {
    const messages = own(input, 'messages');
    if (!Array.isArray(messages) || messages.length > 1000) {
      throw new Invalid(`${path}.messages: expected ≤ 1000 messages`);
    }
    messages.forEach((m: unknown, i) => {
      if (!isObj(m)) throw new Invalid(`${path}.messages[${i}]: expected an object`);
      field(m, 'role', `${path}.messages[${i}]`).oneOf(['system', 'user', 'assistant'] as const);
      field(m, 'content', `${path}.messages[${i}]`).string();
    });
  } else {
    f('prefix').string();
    f('suffix').string();
    if (f('path').present) f('path').string(4096);
    if (f('heal').present) f('heal').bool();
    if (f('shares').present) {
      const shares = f('shares').obj();
      for (const k of ['suffix', 'extra']) {
        if (field(shares, k, `${path}.shares`).present) {
          field(shares, k, `${path}.shares`).num(0, 1);
        }
      }
    }
    if (f('extra').present) {
      const extra = own(input, 'extra');
      if (!Array.isArray(extra) || extra.length > 16) {
        throw new Invalid(`${path}.extra: expected ≤ 16 files`);
      }
      extra.forEach((x: unknown, i) => {
        if (!isObj(x)) throw new Invalid(`${path}.extra[${i}]: expected an object`);
        field(x, 'path', `${path}.extra[${i}]`).string(4096);
        field(x, 'text', `${path}.extra[${i}]`).string();
      });
    }
  }
  if (kind === 'text' && field(input, 'heal', path).present) field(input, 'heal', path).bool();
}

function checkOptions(o: Obj, path: string): void {
  const f = (k: string) => field(o, k, path);
  f('maxTokens').int(1, 100_000);
  f('temperature').num(0, 100);
  f('topP').num(0, 1);
  if (f('seed').present) f('seed').int(0, Number.MAX_SAFE_INTEGER);
  if (f('stop').present) f('stop').strings(16, 256);
  if (f('maxTimeMs').present) f('maxTimeMs').num(0, 3_600_000);
  if (f('fullProbs').present) f('fullProbs').bool();
  if (f('prefillChunk').present) f('prefillChunk').int(1, 65_536);
  if (f('minTokens').present) f('minTokens').int(0, 100_000);
  if (f('heal').present) f('heal').string(256);
}

const PARAMS: { [M in Method]: (p: Obj) => void } = {
  load(p) {
    field(p, 'modelDir', 'params').string(4096);
    field(p, 'executionProvider', 'params').oneOf(EXECUTION_PROVIDERS);
    field(p, 'threads', 'params').int(0, 256);
  },
  complete(p) {
    checkInput(field(p, 'input', 'params').obj(), 'params.input');
    checkOptions(field(p, 'options', 'params').obj(), 'params.options');
    field(p, 'slot', 'params').string(64);
  },
  score(p) {
    field(p, 'ids', 'params').ids();
    field(p, 'fullProbs', 'params').bool();
    field(p, 'slot', 'params').string(64);
  },
  analyze(p) {
    field(p, 'text', 'params').string();
    field(p, 'maxTokens', 'params').int(1, MAX_IDS);
    field(p, 'fullProbs', 'params').bool();
    if (field(p, 'logprobs', 'params').present) field(p, 'logprobs', 'params').bool();
    if (field(p, 'languageId', 'params').present) field(p, 'languageId', 'params').string(64);
    field(p, 'slot', 'params').string(64);
  },
  encode(p) {
    field(p, 'text', 'params').string();
  },
  checkSyntax(p) {
    field(p, 'languageId', 'params').string(64);
    for (const k of ['before', 'insert', 'after']) field(p, k, 'params').string();
  },
  unload() {},
};

export type Parsed =
  | { ok: true; request: HostRequest }
  /** `id` when the message had a usable one (the error can be answered). */
  | { ok: false; id: number | undefined; message: string };

/** A raw IPC message → a typed request, or why not. */
export function parseHostRequest(m: unknown): Parsed {
  if (!isObj(m)) return { ok: false, id: undefined, message: 'invalid request: not an object' };
  const rawId = own(m, 'id');
  const id = Number.isSafeInteger(rawId) && (rawId as number) >= 0 ? (rawId as number) : undefined;
  const fail = (message: string): Parsed => ({
    ok: false,
    id,
    message: `invalid request: ${message}`,
  });
  if (id === undefined) return fail('id: expected a non-negative integer');
  const type = own(m, 'type');
  if (type === 'cancel') return { ok: true, request: { type, id } };
  if (type !== 'call') return fail('type: expected call|cancel');
  const method = METHODS.find((x) => x === own(m, 'method'));
  if (!method) return fail(`method: expected one of ${METHODS.join('|')}`);
  const params = own(m, 'params');
  if (!isObj(params)) return fail('params: expected an object');
  try {
    PARAMS[method](params);
  } catch (e) {
    if (e instanceof Invalid) return fail(e.message);
    throw e;
  }
  return { ok: true, request: { type, id, method, params: params as EngineApi[Method]['params'] } };
}
