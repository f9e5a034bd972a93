// Chat prompts: tokenizer_config.json's chat_template rendered with @huggingface/jinja, encoded
// with special tokens; base models (no template) refuse chat input with a clear error.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chatTemplateOf, renderChat } from '../../../src/engine/chatTemplate';
import { Engine } from '../../../src/engine/engine';
import { MoeLensError } from '../../../src/format/errors';
import { loadTokenizer } from '../../../src/engine/tokenizer';

const MODELS = join(__dirname, '..', '..', '..', 'models');

// The ChatML template of Qwen2.5/Qwen3 instruct models, reduced to its message loop.
const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + " +
  "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The template as the engine gets it: through the tokenizer that loaded the folder. */
const loadChatTemplate = async (dir: string) => chatTemplateOf(await loadTokenizer(dir));

test('renderChat: ChatML with the generation prompt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moe-lens-chat-'));
  copyFileSync(
    join(__dirname, '..', '..', 'fixtures', 'tokenizer', 'tokenizer.json'),
    join(dir, 'tokenizer.json'),
  );
  try {
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ chat_template: CHATML, eos_token: { content: '<|im_end|>' } }),
    );
    const t = await loadChatTemplate(dir);
    assert.ok(t);
    assert.equal(t.eosToken, '<|im_end|>');
    assert.equal(
      renderChat(t, [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Explain x++' },
      ]),
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nExplain x++<|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
    // Named templates: the default one wins.
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({
        chat_template: [
          { name: 'tool_use', template: 'TOOLS' },
          { name: 'default', template: '{{ messages[0].content }}!' },
        ],
      }),
    );
    assert.equal(
      renderChat((await loadChatTemplate(dir))!, [{ role: 'user', content: 'hi' }]),
      'hi!',
    );
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ chat_template: '{% if %}' }),
    );
    const broken = (await loadChatTemplate(dir))!;
    assert.throws(
      () => renderChat(broken, [{ role: 'user', content: 'hi' }]),
      (e: unknown) => e instanceof MoeLensError && /chat_template/.test(e.message),
    );
    writeFileSync(join(dir, 'tokenizer_config.json'), '{ not json');
    await assert.rejects(loadChatTemplate(dir), /tokenizer_config\.json: not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('engine: chat prompts on a model with a template; a base model refuses them', async () => {
  const chat = await Engine.open(join(MODELS, 'tiny-test'), { executionProvider: 'cpu' });
  try {
    assert.equal(chat.info().chat, true);
    const ids = chat.promptIds({ kind: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    const tok = chat.requireTokenizer();
    // tiny-test's template: content + <|endoftext|> per message; the end token stays special.
    assert.deepEqual(ids, [...tok.encodeOrdinary('hi'), tok.tokenId('<|endoftext|>')]);
  } finally {
    await chat.dispose();
  }
  const base = await Engine.open(join(MODELS, 'moe-lens-code'), { executionProvider: 'cpu' });
  try {
    assert.equal(base.info().chat, false);
    assert.throws(
      () => base.promptIds({ kind: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      (e: unknown) => e instanceof MoeLensError && /no chat template/.test(e.message),
    );
  } finally {
    await base.dispose();
  }
});
