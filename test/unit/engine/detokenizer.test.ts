import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadTokenizer, type Tokenizer } from '../../../src/engine/tokenizer';
import { IncrementalDecoder } from '../../../src/engine/detokenizer';

const DIR = path.join(__dirname, '..', '..', 'fixtures', 'tokenizer');

function streamDecode(tok: Pick<Tokenizer, 'decode'>, ids: number[]): string[] {
  const d = new IncrementalDecoder(tok);
  const pieces = ids.map((id) => d.push(id));
  pieces.push(d.flush());
  return pieces;
}

/** xorshift32, for reproducible random id sequences. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const TEXTS = [
  'function foo(x: number): string {\n  return `${x}`;\n}\n',
  'héllo wörld café naïve straße',
  '中文字符测试 日本語のテキスト 한국어',
  'emoji 😀👍🏽 and 👨‍👩‍👧‍👦 family 🇯🇵',
  'line1\r\nline2\r\n\ttabbed   trailing   ',
  'before<|endoftext|>after 😀<|fim_middle|>中',
  '\uFFFD literal replacement chars \uFFFD\uFFFD',
];

test('increments concatenate to decode(all ids) for real text', async () => {
  const tok = await loadTokenizer(DIR);
  for (const text of TEXTS) {
    const ids = tok.encode(text);
    const pieces = streamDecode(tok, ids);
    assert.equal(pieces.join(''), tok.decode(ids), JSON.stringify(text));
    assert.equal(pieces.join(''), text);
    // No increment ever contains a replacement char the text does not have.
    if (!text.includes('\uFFFD')) assert.ok(!pieces.some((p) => p.includes('\uFFFD')));
  }
});

test('an emoji split across byte tokens yields "" until the token that completes it', async () => {
  const tok = await loadTokenizer(DIR);
  const ids = tok.encode('😀');
  assert.ok(ids.length > 1, 'the fixture has no merge for this emoji');
  const pieces = streamDecode(tok, ids);
  assert.deepEqual(pieces, [...ids.slice(1).map(() => ''), '😀', '']);

  const ids2 = tok.encode('a😀b');
  const pieces2 = streamDecode(tok, ids2);
  assert.equal(pieces2.join(''), 'a😀b');
  assert.ok(pieces2.includes('😀') || pieces2.some((p) => p.startsWith('😀')));
});

test('an incomplete character at the end comes out of flush as U+FFFD', async () => {
  const tok = await loadTokenizer(DIR);
  const ids = tok.encode('😀');
  const d = new IncrementalDecoder(tok);
  assert.equal(d.push(ids[0]!), '');
  assert.equal(d.flush(), tok.decode([ids[0]!]));
  assert.equal(d.flush(), '');
});

test('random id sequences (mostly invalid UTF-8) still concatenate to decode(all)', async () => {
  const tok = await loadTokenizer(DIR);
  const random = rng(42);
  // Single-byte tokens for bytes >= 0x80 make invalid and incomplete sequences likely.
  const highBytes: number[] = [];
  for (let id = 0; id < tok.vocabSize; id++) {
    const t = tok.idToToken(id) ?? '';
    if (
      [...t].length === 1 &&
      Buffer.from(tok.decode([id]), 'utf8').equals(Buffer.from('\uFFFD'))
    ) {
      highBytes.push(id);
    }
  }
  assert.ok(highBytes.length >= 100);
  for (let trial = 0; trial < 300; trial++) {
    const ids = Array.from({ length: 40 }, () =>
      random() < 0.7
        ? highBytes[Math.floor(random() * highBytes.length)]!
        : Math.floor(random() * tok.vocabSize),
    );
    assert.equal(streamDecode(tok, ids).join(''), tok.decode(ids), JSON.stringify(ids));
  }
});

test('decodes only a bounded window of recent ids', async () => {
  const tok = await loadTokenizer(DIR);
  let longest = 0;
  const counting = {
    decode(ids: readonly number[]): string {
      longest = Math.max(longest, ids.length);
      return tok.decode(ids);
    },
  };
  const text = TEXTS.join('\n').repeat(20);
  const ids = tok.encode(text);
  assert.ok(ids.length > 1000);
  assert.equal(streamDecode(counting, ids).join(''), text);
  assert.ok(longest <= 10, `decoded ${longest} ids at once`);
});

test('works with decoders that treat the first token specially (SentencePiece style)', () => {
  // "▁" is a space, except at the very start of the text, where it is dropped.
  const vocab = ['▁Hello', ',', '▁world', '▁', 'x', '▁!'];
  const tok = {
    decode: (ids: readonly number[]): string =>
      ids
        .map((i) => vocab[i] ?? '')
        .join('')
        .replace(/▁/g, ' ')
        .replace(/^ /, ''),
  };
  const ids = [0, 1, 2, 3, 4, 5, 2, 2];
  const pieces = streamDecode(tok, ids);
  assert.equal(pieces.join(''), tok.decode(ids));
  assert.deepEqual(pieces.slice(0, 3), ['Hello', ',', ' world']);
});
