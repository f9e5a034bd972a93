// The inline provider adapter against a fake pipeline and engine (vscode is the in-memory mock):
// gating by enable/language/scheme/secret files, the request it builds, the item's range, token
// → AbortSignal, the accept command, the shown-suggestion event, and error reporting.
import '../vscodeMock';
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompletionRequest, Suggestion } from '../../../src/completion/pipeline';
import { EngineCrashedError } from '../../../src/host/engineClient';
import {
  ACCEPTED_COMMAND,
  InlineProvider,
  type ProviderEngine,
  type ShownSuggestion,
} from '../../../src/vscode/inlineProvider';
import { defaultSettings, type MoeLensSettings } from '../../../src/vscode/core/settingsSchema';
import {
  CancellationTokenSource,
  InlineCompletionItem,
  InlineCompletionTriggerKind,
  positionAt,
  state,
  textDocument,
  Uri,
  window,
} from '../vscodeMock';

const TEXT = 'function add(a: number, b: number) {\n  return \n}\n';
const OFFSET = TEXT.indexOf('return ') + 'return '.length;

function suggestion(text: string, requestId = 7): Suggestion {
  return {
    text,
    source: 'model',
    latencyMs: 12,
    debounceMs: 0,
    tokens: [],
    confidence: 0,
    requestId,
  };
}

let previous: InlineProvider | undefined;

function setup(overrides: Partial<MoeLensSettings> = {}) {
  previous?.dispose(); // one provider (and its accept command) at a time
  const settings = { current: { ...defaultSettings(), ...overrides } };
  const requests: CompletionRequest[] = [];
  const accepted: [CompletionRequest, string][] = [];
  const engine = {
    loads: 0,
    explicit: [] as boolean[],
    errors: [] as unknown[],
    fail: null as Error | null,
    async ensureLoaded(o: { explicit?: boolean } = {}) {
      this.loads++;
      this.explicit.push(o.explicit ?? false);
      if (this.fail) throw this.fail;
      return {} as never;
    },
    touch() {},
    reportError(e: unknown) {
      this.errors.push(e);
    },
  };
  const pipeline = {
    next: suggestion('a + b;') as Suggestion | null,
    hold: null as Promise<void> | null,
    async complete(req: CompletionRequest) {
      requests.push(req);
      if (this.hold) await this.hold;
      return this.next;
    },
    accepted(req: CompletionRequest, text: string) {
      accepted.push([req, text]);
    },
  };
  const provider = new InlineProvider(pipeline, engine as ProviderEngine, settings, {
    debug: () => {},
  });
  previous = provider;
  const shown: ShownSuggestion[] = [];
  provider.onDidShowSuggestion((s) => shown.push(s));
  const provide = (
    doc = textDocument('/ws/src/math.ts', TEXT),
    offset = OFFSET,
    opts: { trigger?: number; token?: CancellationTokenSource; selected?: boolean } = {},
  ) =>
    provider.provideInlineCompletionItems(
      doc as never,
      positionAt(doc.getText(), offset) as never,
      {
        triggerKind: opts.trigger ?? InlineCompletionTriggerKind.Automatic,
        selectedCompletionInfo: opts.selected ? ({} as never) : undefined,
      } as never,
      (opts.token ?? new CancellationTokenSource()).token as never,
    );
  return { settings, requests, accepted, engine, pipeline, provider, shown, provide };
}

beforeEach(() => {
  state.reset();
  window.visibleTextEditors = [];
});

test('a suggestion becomes one item inserted at the cursor; the request describes the document', async () => {
  const { provide, requests, engine } = setup();
  const items = (await provide()) as unknown as InlineCompletionItem[];
  assert.equal(items.length, 1);
  const item = items[0] as InlineCompletionItem;
  assert.equal(item.insertText, 'a + b;');
  assert.deepEqual(item.range?.start, positionAt(TEXT, OFFSET));
  assert.deepEqual(
    item.range?.end,
    positionAt(TEXT, OFFSET),
    'an empty range: insert, not replace',
  );
  assert.equal(item.command?.command, ACCEPTED_COMMAND);
  assert.equal(engine.loads, 1);
  const req = requests[0] as CompletionRequest;
  assert.equal(req.uri, 'file:///ws/src/math.ts');
  assert.equal(req.path, '/ws/src/math.ts');
  assert.equal(req.languageId, 'typescript');
  assert.equal(req.text, TEXT);
  assert.equal(req.offset, OFFSET);
  assert.equal(req.explicit, false);
  assert.ok(req.signal instanceof AbortSignal);
});

test('accepting runs the item command: the pipeline gets the request (without signal) and text', async () => {
  const { provide, accepted } = setup();
  const [item] = (await provide()) as unknown as InlineCompletionItem[];
  await state.commands.get(ACCEPTED_COMMAND)?.(...(item?.command?.arguments ?? []));
  assert.equal(accepted.length, 1);
  const [req, text] = accepted[0] as [CompletionRequest, string];
  assert.equal(text, 'a + b;');
  assert.equal(req.offset, OFFSET);
  assert.equal(req.signal, undefined);
  await state.commands.get(ACCEPTED_COMMAND)?.(...(item?.command?.arguments ?? []));
  assert.equal(accepted.length, 1, 'accepted once');
});

test('the shown suggestion is emitted with its document', async () => {
  const { provide, shown } = setup();
  await provide();
  assert.equal(shown.length, 1);
  assert.equal(shown[0]?.uri, 'file:///ws/src/math.ts');
  assert.equal(shown[0]?.text, 'a + b;');
});

test('disabled, language off, unsupported scheme, suggest widget open, secret file: no request', async () => {
  const cases: [Partial<MoeLensSettings>, ReturnType<typeof textDocument>, boolean?][] = [
    [{ enable: false }, textDocument('/ws/a.ts', TEXT)],
    [{}, textDocument('/ws/README.md', TEXT, 'markdown')],
    [{ languages: { '*': false } }, textDocument('/ws/a.ts', TEXT)],
    [{}, { ...textDocument('/x', TEXT), uri: Uri.from({ scheme: 'output', path: 'x' }) }],
    [{}, textDocument('/ws/a.ts', TEXT), true],
    [{}, textDocument('/ws/.env', 'KEY=', 'dotenv')],
    [{}, textDocument('/ws/certs/server.pem', TEXT, 'plaintext')],
  ];
  for (const [settings, doc, selected] of cases) {
    const { provide, requests, engine } = setup(settings);
    assert.equal(await provide(doc, 2, { selected }), undefined);
    assert.equal(requests.length, 0, `no request for ${doc.uri.toString()}`);
    assert.equal(engine.loads, 0, 'and no model load');
  }
});

test('explicit (Invoke or Trigger Now) completes in a language that is off and says so', async () => {
  const md = textDocument('/ws/README.md', '# Title\n', 'markdown');
  const a = setup();
  await a.provide(md, 2, { trigger: InlineCompletionTriggerKind.Invoke });
  assert.equal(a.requests[0]?.explicit, true);
  assert.deepEqual(a.engine.explicit, [true]);
  const b = setup();
  b.provider.markExplicit();
  await b.provide(md, 2);
  assert.equal(b.requests[0]?.explicit, true);
  await b.provide(md, 2);
  assert.equal(b.requests.length, 1, 'the flag is used up by the suggestion');
});

test('cancellation aborts the request signal and returns nothing', async () => {
  const { provide, pipeline, requests } = setup();
  let release = () => {};
  pipeline.hold = new Promise((r) => (release = r));
  const cts = new CancellationTokenSource();
  const result = provide(undefined, undefined, { token: cts });
  await new Promise((r) => setImmediate(r));
  cts.cancel();
  assert.equal(requests[0]?.signal?.aborted, true);
  release();
  assert.equal(await result, undefined);
});

test('engine and pipeline errors are reported, never thrown into the editor', async () => {
  const a = setup();
  a.engine.fail = new Error('model missing');
  assert.equal(await a.provide(), undefined);
  assert.equal(a.engine.errors.length, 1);
  const b = setup();
  b.pipeline.complete = async () => {
    throw new EngineCrashedError('engine process exited (SIGKILL)');
  };
  assert.equal(await b.provide(), undefined);
  assert.ok(b.engine.errors[0] instanceof EngineCrashedError);
});

test('null or empty suggestions give no item', async () => {
  const { provide, pipeline } = setup();
  pipeline.next = null;
  assert.equal(await provide(), undefined);
  pipeline.next = suggestion('');
  assert.equal(await provide(), undefined);
});

test('extra context: other visible editors, relative paths, never the current or a secret file', async () => {
  const { provide, requests } = setup({ extraContext: true });
  const editor = (path: string, text: string) => ({
    document: textDocument(path, text),
    visibleRanges: [{ start: { line: 0 } }],
  });
  window.visibleTextEditors = [
    editor('/ws/src/math.ts', TEXT),
    editor('/ws/src/util.ts', 'export const one = 1;\n'),
    editor('/ws/.env', 'TOKEN=secret\n'),
  ];
  await provide();
  assert.deepEqual(requests[0]?.extraFiles, [
    { path: 'src/util.ts', text: 'export const one = 1;\n' },
  ]);
  const off = setup({ extraContext: false });
  await off.provide();
  assert.equal(off.requests[0]?.extraFiles, undefined);
});
