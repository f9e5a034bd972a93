// The single spelling of the decoder graph's input and output names (onnxruntime-genai's, plus
// one router-logits output per MoE layer): the converter emits them, the manifest records and
// checks them, the engine feeds and fetches them (docs/MODEL_FORMAT.md).

/** A per-layer name pattern as the manifest writes it: `%d` stands for the layer index. */
export type LayerPattern = `${string}%d${string}`;

export const IO_PATTERNS = {
  pastKey: 'past_key_values.%d.key',
  pastValue: 'past_key_values.%d.value',
  presentKey: 'present.%d.key',
  presentValue: 'present.%d.value',
  routerLogits: 'router_logits.%d',
} as const satisfies Record<string, LayerPattern>;

const layer = (pattern: LayerPattern) => (l: number) => pattern.replace('%d', String(l));

/** The layer index a per-layer name stands for (`past_key_values.3.key` -> 3), or null. */
export function layerIndex(pattern: LayerPattern, name: string): number | null {
  const [head, tail] = pattern.split('%d') as [string, string];
  if (!name.startsWith(head) || !name.endsWith(tail)) return null;
  const digits = name.slice(head.length, name.length - tail.length);
  return /^\d+$/.test(digits) ? Number(digits) : null;
}

export const IO = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  logitsToKeep: 'num_logits_to_keep',
  logits: 'logits',
  pastKey: layer(IO_PATTERNS.pastKey),
  pastValue: layer(IO_PATTERNS.pastValue),
  presentKey: layer(IO_PATTERNS.presentKey),
  presentValue: layer(IO_PATTERNS.presentValue),
  routerLogits: layer(IO_PATTERNS.routerLogits),
} as const;

/** genai_config.json's model.decoder.inputs: onnxruntime-genai reads the names from here. */
export const DECODER_INPUTS = {
  input_ids: IO.inputIds,
  attention_mask: IO.attentionMask,
  past_key_names: IO_PATTERNS.pastKey,
  past_value_names: IO_PATTERNS.pastValue,
} as const;

/** genai_config.json's model.decoder.outputs. */
export const DECODER_OUTPUTS = {
  logits: IO.logits,
  present_key_names: IO_PATTERNS.presentKey,
  present_value_names: IO_PATTERNS.presentValue,
} as const;
