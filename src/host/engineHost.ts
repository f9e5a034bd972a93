// The engine host: a forked child process that owns onnxruntime (session.run blocks its thread,
// and a native crash must not take down the extension host). It serves the protocol in
// protocol.ts over Node's IPC channel; cancellation arrives between decode steps / prefill chunks.
// First: telemetry off before anything can load onnxruntime (src/engine/offline.ts).
import '../engine/telemetryOff';
import { analyzeText } from '../analysis/analyzeText';
import { checkSyntax } from '../language/syntaxCheck';
import { classesOf } from '../language/tokenClasses';
import { Engine } from '../engine/engine';
import { CancelledError, ContextOverflowError, MoeLensError } from '../format/errors';
import { NO_MODEL_LOADED } from './protocol';
import { parseHostRequest } from './validate';
import type { EngineApi, HostResponse, LoadParams, Method, WireError } from './protocol';

let engine: Engine | null = null;
/** The parameters of the model that is loaded (restored when a later load fails). */
let loaded: LoadParams | null = null;

async function open(p: LoadParams): Promise<Engine> {
  const e = await Engine.open(p.modelDir, {
    executionProvider: p.executionProvider,
    threads: p.threads,
    log: (m) => process.stderr.write(`engine: ${m}\n`),
  });
  await e.warmUp();
  return e;
}
const running = new Map<number, AbortController>();

function send(msg: HostResponse): void {
  process.send?.(msg);
}

function toWire(e: unknown): WireError {
  if (e instanceof CancelledError) return { message: e.message, kind: 'cancelled' };
  if (e instanceof ContextOverflowError) {
    return { message: e.message, kind: 'user', overflow: { tokens: e.tokens, limit: e.limit } };
  }
  if (e instanceof MoeLensError) return { message: e.message, kind: 'user' };
  return { message: e instanceof Error ? (e.stack ?? e.message) : String(e), kind: 'internal' };
}

function requireEngine(): Engine {
  if (!engine) throw new MoeLensError(NO_MODEL_LOADED);
  return engine;
}

type Handlers = {
  [M in Method]: (
    params: EngineApi[M]['params'],
    id: number,
    signal: AbortSignal,
  ) => Promise<EngineApi[M]['result']>;
};

const handlers: Handlers = {
  async load(p: LoadParams) {
    // One model in memory at a time (they can be tens of GB): the old one goes first. If the new
    // one fails, the previous load is restored, so a bad choice never leaves the editor without
    // the model that worked; the error says so.
    const previous = loaded;
    if (engine) await engine.dispose();
    engine = null;
    loaded = null;
    try {
      engine = await open(p);
    } catch (e) {
      if (!previous) throw e;
      try {
        engine = await open(previous);
        loaded = previous;
      } catch {
        throw e;
      }
      const why = e instanceof Error ? e.message : String(e);
      throw new MoeLensError(`${why} (the previous model ${previous.modelDir} is loaded again)`);
    }
    loaded = p;
    // The parser's first run is slow too; the first completion's gate must not pay for it.
    checkSyntax({ languageId: 'typescript', before: 'const x = ', insert: '1;', after: '\n' });
    return engine.info();
  },
  async complete(p, id, signal) {
    const stream = requireEngine().complete(p.input, { ...p.options, signal }, p.slot);
    let r = await stream.next();
    while (!r.done) {
      send({ type: 'token', id, token: r.value });
      r = await stream.next();
    }
    return r.value;
  },
  async score(p, _id, signal) {
    return requireEngine().score(p.ids, { fullProbs: p.fullProbs, signal }, p.slot);
  },
  async analyze(p, _id, signal) {
    const { text, maxTokens, fullProbs, slot } = p;
    const logprobs = p.logprobs ?? true;
    const a = await analyzeText(requireEngine(), text, {
      maxTokens,
      fullProbs,
      logprobs,
      signal,
      slot,
    });
    // Token classes are computed here, beside the model: the scanner (TypeScript's) stays out of
    // the extension host.
    if (p.languageId !== undefined) a.classes = classesOf(text, a.tokens, p.languageId);
    return a;
  },
  async encode(p) {
    return requireEngine().requireTokenizer().encode(p.text);
  },
  async checkSyntax(p) {
    return checkSyntax(p);
  },
  async unload() {
    if (engine) await engine.dispose();
    engine = null;
    loaded = null;
    return null;
  },
};

// Requests run one at a time (one session, one thread of control), in arrival order.
let queue: Promise<void> = Promise.resolve();
/** Ids of requests waiting in the queue (not started). */
const queued = new Set<number>();

function handle(raw: unknown): void {
  const parsed = parseHostRequest(raw);
  if (!parsed.ok) {
    // Answer what can be answered; a message without an id can only be logged.
    if (parsed.id !== undefined) {
      send({ type: 'error', id: parsed.id, error: { message: parsed.message, kind: 'user' } });
    } else {
      process.stderr.write(`engine: ${parsed.message}\n`);
    }
    return;
  }
  const msg = parsed.request;
  if (msg.type === 'cancel') {
    running.get(msg.id)?.abort();
    // A request still waiting behind others is answered at once: its caller does not wait for
    // the requests ahead of it to finish (they may be long), and it never runs.
    if (queued.delete(msg.id)) {
      send({ type: 'error', id: msg.id, error: toWire(new CancelledError()) });
    }
    return;
  }
  const controller = new AbortController();
  running.set(msg.id, controller);
  queued.add(msg.id);
  queue = queue.then(async () => {
    // Cancelled while queued: already answered.
    if (!queued.delete(msg.id)) {
      running.delete(msg.id);
      return;
    }
    try {
      if (controller.signal.aborted) throw new CancelledError();
      // parseHostRequest admitted only METHODS: never a prototype key of the table.
      const handler = handlers[msg.method] as (
        p: unknown,
        id: number,
        s: AbortSignal,
      ) => Promise<unknown>;
      const result = await handler(msg.params, msg.id, controller.signal);
      send({ type: 'result', id: msg.id, result });
    } catch (e) {
      send({ type: 'error', id: msg.id, error: toWire(e) });
    } finally {
      running.delete(msg.id);
    }
  });
}

process.on('message', (msg: unknown) => handle(msg));
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
