// Generation never emits a special token's text: a sentinel (`<|fim_middle|>`, `<|file_sep|>`)
// or turn marker ends the generation like EOS. tiny-test (random weights) greedily generates
// `<|fim_middle|>` for this FIM prompt, which once reached the editor as ghost text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PromptInput } from '../../../src/engine/engine';
import type {
  GeneratedToken,
  GenerateOptions,
  GenerationResult,
} from '../../../src/engine/generate';
import { useEngine } from '../engineFixture';

const engine = useEngine('tiny-test');

/** Greedy generation's streamed tokens and result. */
async function generate(
  input: PromptInput,
  opts: Partial<GenerateOptions>,
): Promise<{ tokens: GeneratedToken[]; result: GenerationResult }> {
  const stream = engine().complete(
    input,
    { maxTokens: 16, temperature: 0, topP: 1, ...opts },
    'test',
  );
  const tokens: GeneratedToken[] = [];
  let r = await stream.next();
  while (!r.done) {
    tokens.push(r.value);
    r = await stream.next();
  }
  return { tokens, result: r.value };
}

test('a special token ends generation and never appears in the text', async () => {
  const tok = engine().requireTokenizer();
  const fimMiddle = tok.tokenId('<|fim_middle|>');
  assert.ok(fimMiddle !== undefined && tok.specialIds.has(fimMiddle));
  const prompts = [
    { prefix: 'const x = 1;\nfunction f() {\n  return ', suffix: '\n}\n' },
    { prefix: 'export function add(a: number, b: number) {\n  ', suffix: '\n}\n' },
    { prefix: 'import ', suffix: '' },
  ];
  let endedOnSpecial = 0;
  for (const p of prompts) {
    // heal: false keeps the prompts cut exactly at the cursor, the case these ids were found on.
    const { tokens, result } = await generate({ kind: 'fim', heal: false, ...p }, {});
    for (const t of tokens) assert.ok(!tok.specialIds.has(t.id), `special token ${t.id} emitted`);
    assert.doesNotMatch(result.text ?? '', /<\|[a-z_]+\|>/);
    if (result.finishReason === 'eos') endedOnSpecial++;
  }
  // The first prompt's greedy continuation starts with <|fim_middle|>: an immediate stop.
  assert.ok(endedOnSpecial >= 1, 'at least one generation ended on a special token');
});

test('minTokens: end and special tokens are masked until that many tokens are out', async () => {
  const tok = engine().requireTokenizer();
  const input = {
    kind: 'fim' as const,
    prefix: 'const x = 1;\nfunction f() {\n  return ',
    suffix: '\n}\n',
    heal: false,
  };
  const run = async (minTokens: number) => {
    const { tokens, result } = await generate(input, { maxTokens: 8, minTokens });
    return { ids: tokens.map((t) => t.id), finish: result.finishReason };
  };
  const free = await run(0);
  assert.deepEqual(free, { ids: [], finish: 'eos' }, 'greedy: a special token at once');
  const forced = await run(3);
  assert.ok(forced.ids.length >= 3, `at least 3 tokens, got ${forced.ids.length}`);
  assert.ok(forced.ids.slice(0, 3).every((id) => !tok.specialIds.has(id)));
});
