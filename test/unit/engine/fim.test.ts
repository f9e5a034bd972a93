import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadTokenizer, type Tokenizer } from '../../../src/engine/tokenizer';
import { buildFimIds, detectFimTokens, type FimTokens } from '../../../src/engine/fim';
import { MoeLensError } from '../../../src/format/errors';

const DIR = path.join(__dirname, '..', '..', 'fixtures', 'tokenizer');

/** A tokenizer that knows only the given special tokens (ids from 1000) and encodes chars. */
function fakeTokenizer(specials: string[], eos: string[] = []): Tokenizer {
  const ids = new Map(specials.map((t, i) => [t, 1000 + i]));
  const encode = (text: string): number[] => [...text].map((c) => c.codePointAt(0) ?? 0);
  return {
    vocabSize: 1000 + specials.length,
    encode,
    encodeOrdinary: encode,
    decode: (xs) => xs.map((x) => specials[x - 1000] ?? String.fromCodePoint(x)).join(''),
    tokenId: (t) => ids.get(t),
    idToToken: (x) => specials[x - 1000],
    eosTokenIds: eos.map((t) => ids.get(t) ?? -1),
    specialIds: new Set(ids.values()),
    chatTemplate: null,
    bosToken: null,
    eosToken: null,
  };
}

test('detects the fixture tokenizer (Qwen2.5-Coder style spellings)', async () => {
  const tok = await loadTokenizer(DIR);
  assert.deepEqual(detectFimTokens(tok), {
    prefix: '<|fim_prefix|>',
    suffix: '<|fim_suffix|>',
    middle: '<|fim_middle|>',
    fileSep: '<|file_sep|>',
    eot: '<|endoftext|>',
  });
});

test('detects StarCoder, DeepSeek and CodeLlama spellings', () => {
  assert.deepEqual(
    detectFimTokens(
      fakeTokenizer([
        '<|endoftext|>',
        '<fim_prefix>',
        '<fim_middle>',
        '<fim_suffix>',
        '<file_sep>',
      ]),
    ),
    {
      prefix: '<fim_prefix>',
      suffix: '<fim_suffix>',
      middle: '<fim_middle>',
      fileSep: '<file_sep>',
      eot: '<|endoftext|>',
    },
  );
  assert.deepEqual(
    detectFimTokens(
      fakeTokenizer([
        '<｜fim▁hole｜>',
        '<｜fim▁begin｜>',
        '<｜fim▁end｜>',
        '<｜end▁of▁sentence｜>',
      ]),
    ),
    {
      prefix: '<｜fim▁begin｜>',
      suffix: '<｜fim▁hole｜>',
      middle: '<｜fim▁end｜>',
      eot: '<｜end▁of▁sentence｜>',
    },
  );
  assert.deepEqual(detectFimTokens(fakeTokenizer(['▁<PRE>', '▁<SUF>', '▁<MID>', '▁<EOT>'])), {
    prefix: '▁<PRE>',
    suffix: '▁<SUF>',
    middle: '▁<MID>',
    eot: '▁<EOT>',
  });
  // eot falls back to the first eos token.
  assert.deepEqual(detectFimTokens(fakeTokenizer(['<PRE>', '<SUF>', '<MID>', '</s>'], ['</s>'])), {
    prefix: '<PRE>',
    suffix: '<SUF>',
    middle: '<MID>',
    eot: '</s>',
  });
});

test('no FIM tokens, or an incomplete set: null', () => {
  assert.equal(detectFimTokens(fakeTokenizer(['<|endoftext|>'])), null);
  assert.equal(detectFimTokens(fakeTokenizer(['<|fim_prefix|>', '<|fim_suffix|>'])), null);
});

test('psm and spm layouts, with sentinels by id and sections encoded separately', async () => {
  const tok = await loadTokenizer(DIR);
  const fim = detectFimTokens(tok)!;
  const [P, S, M] = [fim.prefix, fim.suffix, fim.middle].map((t) => tok.tokenId(t)!);
  const prefix = 'def add(a, b):\n    ret';
  const suffix = 'urn c\n\nprint(add(1, 2))\n';
  const pre = tok.encode(prefix);
  const suf = tok.encode(suffix);
  assert.deepEqual(buildFimIds(tok, fim, prefix, suffix, 'psm'), [P, ...pre, S, ...suf, M]);
  assert.deepEqual(buildFimIds(tok, fim, prefix, suffix, 'spm'), [S, ...suf, P, ...pre, M]);
  // The sections are not merged across the cursor: "ret" + "urn" is not encoded as "return".
  assert.notDeepEqual([...pre, ...suf], tok.encode(prefix + suffix));
  assert.equal(
    tok.decode(buildFimIds(tok, fim, prefix, suffix, 'psm')),
    `<|fim_prefix|>${prefix}<|fim_suffix|>${suffix}<|fim_middle|>`,
  );
  assert.deepEqual(buildFimIds(tok, fim, '', '', 'psm'), [P, S, M]);
});

test('spm: typing at the cursor only appends ids (the KV prefix stays valid)', async () => {
  const tok = await loadTokenizer(DIR);
  const fim = detectFimTokens(tok)!;
  const suffix = '\n    return x\n';
  const a = buildFimIds(tok, fim, 'def f(x):\n    x = ', suffix, 'spm');
  const b = buildFimIds(tok, fim, 'def f(x):\n    x = 1', suffix, 'spm');
  const common = a.findIndex((id, i) => b[i] !== id);
  // Everything up to the last few prefix tokens is shared.
  assert.ok(common >= a.length - 3, `${common} of ${a.length}`);
});

test('special-token strings in the code stay text and cannot inject sentinels', async () => {
  const tok = await loadTokenizer(DIR);
  const fim = detectFimTokens(tok)!;
  const code = "const EOT = '<|endoftext|>'; // <|fim_middle|>\n";
  const ids = buildFimIds(tok, fim, code, '<|fim_prefix|>', 'psm');
  const specialIds = ['<|endoftext|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>'].map(
    (t) => tok.tokenId(t)!,
  );
  const inside = ids.slice(1, -1).filter((id) => specialIds.includes(id));
  assert.deepEqual(inside, [tok.tokenId('<|fim_suffix|>')]);
  assert.equal(tok.decode(ids), `<|fim_prefix|>${code}<|fim_suffix|><|fim_prefix|><|fim_middle|>`);
});

test('missing FIM token: MoeLensError', async () => {
  const tok = await loadTokenizer(DIR);
  const bad: FimTokens = { prefix: '<PRE>', suffix: '<SUF>', middle: '<MID>' };
  assert.throws(() => buildFimIds(tok, bad, 'a', 'b', 'psm'), MoeLensError);
});
