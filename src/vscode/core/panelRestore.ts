// The routing panel's saved state after a window reload. The webview keeps what it shows with
// setState (src/webview/panel.ts); VS Code hands it back to the panel serializer when it
// restores the panel, and the host seeds its store with it (panelState.ts `restore`). That state
// came from the webview: it is data, checked here against the protocol's types (own properties,
// known values, finite numbers, size caps) like every webview message, or dropped whole.
// vscode-free: unit-tested in plain Node.
import type { LayerStats, RoutingStats } from '../../analysis/routingStats';
import type {
  Analysis,
  LiveCompletion,
  PanelRouting,
  PanelState,
  PanelToken,
} from '../../webview/protocol';

/** What a restored panel brings back: its last shown completion, analysis and view. */
export interface SavedPanelState {
  /** The last shown completion (a generation a reload cut short is not restored). */
  live: LiveCompletion | null;
  analysis: Analysis | null;
  view: PanelState['view'];
}

/** Caps: far above what the panel produces, low enough that a hostile state stays cheap. */
const MAX_TOKENS = 100_000;
const MAX_LIST = 4096;
const MAX_TEXT = 1_000_000;

/** Thrown (and caught in parseSavedPanelState) at the first value that does not fit. */
class Invalid extends Error {}

function fail(what: string): never {
  throw new Invalid(what);
}

function obj(v: unknown, what: string): object {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : fail(what);
}

/** `o[key]` if `o` has it as its own property (never a prototype key such as `toString`). */
function own(o: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined;
}

function str(v: unknown, what: string, max = MAX_TEXT): string {
  return typeof v === 'string' && v.length <= max ? v : fail(what);
}

function num(v: unknown, what: string): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fail(what);
}

function int(v: unknown, what: string): number {
  return Number.isSafeInteger(v) ? (v as number) : fail(what);
}

function bool(v: unknown, what: string): boolean {
  return typeof v === 'boolean' ? v : fail(what);
}

function list<T>(v: unknown, what: string, item: (x: unknown) => T, max = MAX_LIST): T[] {
  if (!Array.isArray(v) || v.length > max) fail(what);
  return v.map(item);
}

const nums = (v: unknown, what: string) => list(v, what, (x) => num(x, what));
const ints = (v: unknown, what: string) => list(v, what, (x) => int(x, what));

function optional<T>(o: object, key: string, parse: (v: unknown) => T): T | undefined {
  const v = own(o, key);
  return v === undefined ? undefined : parse(v);
}

function record(v: unknown, what: string): Record<string, number[]> {
  const o = obj(v, what);
  const keys = Object.keys(o);
  if (keys.length > MAX_LIST) fail(what);
  const out: Record<string, number[]> = {};
  for (const k of keys) out[k] = nums(own(o, k), what);
  return out;
}

function routing(v: unknown): PanelRouting {
  const o = obj(v, 'routing');
  const out: PanelRouting = {
    layer: int(own(o, 'layer'), 'routing layer'),
    experts: ints(own(o, 'experts'), 'routing experts'),
    weights: nums(own(o, 'weights'), 'routing weights'),
  };
  const probs = optional(o, 'probs', (x) => nums(x, 'routing probs'));
  if (probs) out.probs = probs;
  const entropy = optional(o, 'entropy', (x) => num(x, 'routing entropy'));
  if (entropy !== undefined) out.entropy = entropy;
  return out;
}

function token(v: unknown): PanelToken {
  const o = obj(v, 'token');
  const logprob = own(o, 'logprob');
  const out: PanelToken = {
    text: str(own(o, 'text'), 'token text', 4096),
    id: int(own(o, 'id'), 'token id'),
    logprob: logprob === null ? null : num(logprob, 'token logprob'),
    routing: list(own(o, 'routing'), 'token routing', routing),
  };
  const cls = optional(o, 'cls', (x) => str(x, 'token class', 64));
  if (cls !== undefined) out.cls = cls;
  return out;
}

const tokens = (v: unknown) => list(v, 'tokens', token, MAX_TOKENS);

function live(v: unknown): LiveCompletion | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, 'live');
  const status = own(o, 'status');
  if (status === 'generating') return null; // its generation ended with the window
  if (status !== 'shown') fail('live status');
  const out: LiveCompletion = {
    requestId: int(own(o, 'requestId'), 'live requestId'),
    status,
    file: str(own(o, 'file'), 'live file', 4096),
    languageId: str(own(o, 'languageId'), 'live languageId', 256),
    tokens: tokens(own(o, 'tokens')),
  };
  const shownText = optional(o, 'shownText', (x) => str(x, 'live shownText'));
  if (shownText !== undefined) out.shownText = shownText;
  const latencyMs = optional(o, 'latencyMs', (x) => num(x, 'live latencyMs'));
  if (latencyMs !== undefined) out.latencyMs = latencyMs;
  return out;
}

function vocabulary(v: unknown): LayerStats['vocabulary'][number] {
  const o = obj(v, 'vocabulary');
  return {
    expert: int(own(o, 'expert'), 'vocabulary expert'),
    tokens: list(own(o, 'tokens'), 'vocabulary tokens', (x) => {
      const t = obj(x, 'vocabulary token');
      return {
        text: str(own(t, 'text'), 'vocabulary text', 4096),
        share: num(own(t, 'share'), 'vocabulary share'),
        count: num(own(t, 'count'), 'vocabulary count'),
      };
    }),
  };
}

function layerStats(v: unknown): LayerStats {
  const o = obj(v, 'layer stats');
  const n = (key: string) => num(own(o, key), `layer ${key}`);
  return {
    layer: int(own(o, 'layer'), 'layer'),
    load: nums(own(o, 'load'), 'layer load'),
    cv: n('cv'),
    maxViolation: n('maxViolation'),
    meanEntropy: n('meanEntropy'),
    topKMass: n('topKMass'),
    repeatTop1: n('repeatTop1'),
    repeatTop1Chance: n('repeatTop1Chance'),
    coactivation: list(own(o, 'coactivation'), 'coactivation', (r) => nums(r, 'coactivation')),
    classShares: record(own(o, 'classShares'), 'classShares'),
    languageShares: record(own(o, 'languageShares'), 'languageShares'),
    vocabulary: list(own(o, 'vocabulary'), 'vocabulary', vocabulary),
  };
}

function stats(v: unknown): RoutingStats {
  const o = obj(v, 'stats');
  return {
    model: str(own(o, 'model'), 'stats model', 4096),
    files: num(own(o, 'files'), 'stats files'),
    tokens: num(own(o, 'tokens'), 'stats tokens'),
    tokensPerSecond: num(own(o, 'tokensPerSecond'), 'stats tokensPerSecond'),
    experts: int(own(o, 'experts'), 'stats experts'),
    topK: int(own(o, 'topK'), 'stats topK'),
    layers: list(own(o, 'layers'), 'stats layers', layerStats),
  };
}

function analysis(v: unknown): Analysis | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, 'analysis');
  const title = str(own(o, 'title'), 'analysis title', 4096);
  switch (own(o, 'kind')) {
    case 'text':
      return {
        kind: 'text',
        title,
        languageId: str(own(o, 'languageId'), 'analysis languageId', 256),
        tokens: tokens(own(o, 'tokens')),
        truncated: bool(own(o, 'truncated'), 'analysis truncated'),
        stats: stats(own(o, 'stats')),
      };
    case 'workspace':
      return {
        kind: 'workspace',
        title,
        stats: stats(own(o, 'stats')),
        skipped: list(
          own(o, 'skipped'),
          'skipped',
          (x) => {
            const s = obj(x, 'skipped file');
            return {
              file: str(own(s, 'file'), 'skipped file', 4096),
              reason: str(own(s, 'reason'), 'skipped reason', 4096),
            };
          },
          100_000,
        ),
      };
    default:
      return fail('analysis kind');
  }
}

/**
 * The state a restored panel saved, or null (and why) when it is missing or does not fit the
 * protocol. The webview's own view settings (selected token, layer) are its business.
 */
export function parseSavedPanelState(
  raw: unknown,
): { ok: true; state: SavedPanelState } | { ok: false; reason: string } {
  if (raw === undefined || raw === null) return { ok: false, reason: 'nothing saved' };
  try {
    const o = obj(raw, 'state');
    const view = own(o, 'view');
    return {
      ok: true,
      state: {
        live: live(own(o, 'live')),
        analysis: analysis(own(o, 'analysis')),
        view:
          view === 'analysis'
            ? 'analysis'
            : view === 'live' || view === undefined
              ? 'live'
              : fail('view'),
      },
    };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, reason: `not a panel state (${e.message})` };
    throw e;
  }
}
