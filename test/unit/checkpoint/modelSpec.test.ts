import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHfConfig, countParams, withTopK } from '../../../src/checkpoint/modelSpec';
import { MoeLensError } from '../../../src/format/errors';

const qwen3 = {
  architectures: ['Qwen3MoeForCausalLM'],
  model_type: 'qwen3_moe',
  vocab_size: 100,
  hidden_size: 32,
  intermediate_size: 64,
  moe_intermediate_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
  num_experts: 4,
  num_experts_per_tok: 2,
  norm_topk_prob: true,
  decoder_sparse_step: 1,
  mlp_only_layers: [1],
};

test('parses a Qwen3-MoE config with explicit head_dim and an mlp-only layer', () => {
  const spec = parseHfConfig(qwen3);
  assert.equal(spec.headDim, 16);
  assert.deepEqual(spec.moeLayers, [true, false]);
  assert.equal(spec.qkNorm, 'per_head');
  assert.equal(spec.normTopKProb, true);
});

test('rejects an unknown architecture with a message naming the file', () => {
  assert.throws(
    () => parseHfConfig({ ...qwen3, architectures: ['LlamaForCausalLM'] }, 'x/config.json'),
    (e: unknown) =>
      e instanceof MoeLensError &&
      /x\/config\.json: unsupported architecture "LlamaForCausalLM"/.test(e.message),
  );
});

test('active parameters count k experts, total counts all of them', () => {
  const spec = parseHfConfig(qwen3);
  const { total, activePerToken } = countParams(spec);
  const expert = 3 * 32 * 16;
  assert.equal(total - activePerToken, 2 * expert); // one MoE layer, 4 - 2 experts idle
  const all = countParams(withTopK(spec, 4));
  assert.equal(all.activePerToken, all.total);
});
