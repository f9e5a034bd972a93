// The model families a MoE Lens model folder may hold (moe_lens.architecture): the converter
// reads their checkpoints (src/checkpoint/families/), the engine runs their graphs.
export const SUPPORTED_ARCHITECTURES = [
  'Qwen3MoeForCausalLM',
  'MixtralForCausalLM',
  'OlmoeForCausalLM',
  'Qwen2MoeForCausalLM',
] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];
