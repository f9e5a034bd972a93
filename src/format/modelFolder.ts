// The model-folder contract (docs/MODEL_FORMAT.md, "The contract"), checked before onnxruntime
// or the tokenizer sees a byte: the manifest against its schema; every file it lists confined
// to the folder, a regular file of the listed size, and hashed; the decoder, every external-data
// file its graph names (read from the ModelProto itself) and every tokenizer file present all
// listed; the graph's inputs and outputs agreeing with the manifest.
import { join, posix } from 'node:path';
import { folderRoot, present, readChecked, relativeNameProblem } from './confinedFile';
import { MoeLensError } from './errors';
import {
  checkListedFile,
  MANIFEST_FILE,
  MAX_DECODER_BYTES,
  readManifest,
  TOKENIZER_FILES,
  type Manifest,
} from './manifest';
import { OnnxParseError, readDecoderGraph, type DecoderGraphInfo } from './onnxGraph';
import { createHash } from 'node:crypto';
import { IO, IO_PATTERNS, layerIndex } from './graphIO';

export interface CheckedModelFolder {
  manifest: Manifest;
  /** `<dir>/<decoder.filename>`: what onnxruntime is given. */
  decoderPath: string;
  graph: DecoderGraphInfo;
}

export interface CheckFolderOptions {
  /** Hash every listed file (default true); places, kinds, sizes and listings are always checked. */
  verify?: boolean;
}

const RELIST_HINT =
  'reconvert the model (or, for a folder you trust, list it: node --import tsx scripts/listModelFiles.ts <dir>)';

export async function checkModelFolder(
  dir: string,
  opts: CheckFolderOptions = {},
): Promise<CheckedModelFolder> {
  const hash = opts.verify !== false;
  const manifest = await readManifest(dir);
  const manifestPath = join(dir, MANIFEST_FILE);
  const root = await folderRoot(dir);
  const files = manifest.moe_lens.files;
  const decoderName = manifest.model.decoder.filename;
  const listed = (name: string): boolean => Object.hasOwn(files, name);

  if (!listed(decoderName)) {
    throw new MoeLensError(
      `${manifestPath}: the decoder "${decoderName}" is not listed in moe_lens.files, so it cannot be checked; ${RELIST_HINT}`,
    );
  }
  for (const name of TOKENIZER_FILES) {
    if (!listed(name) && (await present(join(dir, name)))) {
      throw new MoeLensError(
        `${join(dir, name)}: read by the tokenizer but not listed in ${MANIFEST_FILE} moe_lens.files (not checksummed); ${RELIST_HINT}`,
      );
    }
  }

  // The decoder: checked like every listed file, then read once for its hash and its graph.
  const decoderSum = files[decoderName] as Manifest['moe_lens']['files'][string];
  if (decoderSum.bytes > MAX_DECODER_BYTES) {
    throw new MoeLensError(
      `${manifestPath}: moe_lens.files["${decoderName}"].bytes ${decoderSum.bytes} is above the ${MAX_DECODER_BYTES}-byte limit of an .onnx file`,
    );
  }
  const decoder = await checkListedFile(dir, root, decoderName, decoderSum, false);
  const bytes = await readChecked(decoder);
  if (hash && createHash('sha256').update(bytes).digest('hex') !== decoderSum.sha256) {
    throw new MoeLensError(`${decoder.path}: sha256 mismatch (corrupt; reconvert the model)`);
  }
  let graph: DecoderGraphInfo;
  try {
    graph = readDecoderGraph(bytes);
  } catch (e) {
    if (!(e instanceof OnnxParseError) && !(e instanceof RangeError)) throw e;
    throw new MoeLensError(`${decoder.path}: not a valid ONNX model (${e.message})`);
  }

  // External data: onnxruntime resolves a location against the .onnx file's folder.
  const decoderFolder = posix.dirname(decoderName);
  const external = new Set<string>();
  for (const ref of graph.external) {
    const problem = relativeNameProblem(ref.location);
    if (problem !== null) {
      throw new MoeLensError(
        `${decoder.path}: tensor "${ref.tensor}" names external data ${JSON.stringify(ref.location.slice(0, 200))}, which ${problem}; only files inside the model folder can be named`,
      );
    }
    const name = decoderFolder === '.' ? ref.location : posix.join(decoderFolder, ref.location);
    if (!listed(name)) {
      throw new MoeLensError(
        `${decoder.path}: tensor "${ref.tensor}" reads external data "${name}", which is not listed in ${MANIFEST_FILE} moe_lens.files; ${RELIST_HINT}`,
      );
    }
    external.add(name);
  }

  checkGraphAgainstManifest(manifestPath, decoder.path, manifest, graph);
  let graphBytes = decoder.bytes;
  for (const name of external) graphBytes += (files[name] as { bytes: number }).bytes;
  const m = manifest.model;
  const embedding = m.vocab_size * m.decoder.hidden_size * 2;
  if (embedding > graphBytes) {
    throw new MoeLensError(
      `${manifestPath}: model.vocab_size ${m.vocab_size} x model.decoder.hidden_size ${m.decoder.hidden_size} needs an embedding of at least ${embedding} bytes, but the graph's files hold ${graphBytes}`,
    );
  }

  // Every other listed file (external data, tokenizer files, config.json).
  for (const [name, sum] of Object.entries(files)) {
    if (name !== decoderName) await checkListedFile(dir, root, name, sum, hash);
  }
  return { manifest, decoderPath: join(dir, decoderName), graph };
}

/** The graph's inputs and outputs are the ones `MoeModel.forward` feeds and reads. */
function checkGraphAgainstManifest(
  manifestPath: string,
  decoderPath: string,
  manifest: Manifest,
  graph: DecoderGraphInfo,
): void {
  const m = manifest.model;
  const L = m.decoder.num_hidden_layers;
  const r = manifest.moe_lens.routing;
  const mismatch = (what: string): never => {
    throw new MoeLensError(`${manifestPath}: ${what} (${decoderPath} disagrees); ${RELIST_HINT}`);
  };
  const need = (names: Map<string, unknown>, name: string, kind: string): void => {
    if (!names.has(name)) {
      throw new MoeLensError(`${decoderPath}: no graph ${kind} "${name}"; not a MoE Lens decoder`);
    }
  };
  for (const name of [IO.inputIds, IO.attentionMask, manifest.moe_lens.logits_to_keep_input]) {
    need(graph.inputs, name, 'input');
  }
  need(graph.outputs, IO.logits, 'output');
  const pastLayers = [...graph.inputs.keys()].filter(
    (n) =>
      layerIndex(IO_PATTERNS.pastKey, n) !== null || layerIndex(IO_PATTERNS.pastValue, n) !== null,
  ).length;
  if (pastLayers !== 2 * L) {
    mismatch(
      `model.decoder.num_hidden_layers is ${L}, but the graph has past_key_values inputs for ${pastLayers / 2} layers`,
    );
  }
  for (let l = 0; l < L; l++) {
    need(graph.inputs, IO.pastKey(l), 'input');
    need(graph.inputs, IO.pastValue(l), 'input');
    need(graph.outputs, IO.presentKey(l), 'output');
    need(graph.outputs, IO.presentValue(l), 'output');
  }
  for (const l of r.moe_layers) {
    need(graph.outputs, r.router_output_names.replace('%d', String(l)), 'output');
  }
  const fixed = (dims: (number | string | null)[] | null | undefined, i: number) => {
    const d = dims?.[i];
    return typeof d === 'number' ? d : null;
  };
  const vocab = fixed(graph.outputs.get(IO.logits), 2);
  if (vocab !== null && vocab !== m.vocab_size) {
    mismatch(`model.vocab_size is ${m.vocab_size}, but the graph's logits have ${vocab}`);
  }
  const past = graph.inputs.get(IO.pastKey(0));
  const kvHeads = fixed(past, 1);
  if (kvHeads !== null && kvHeads !== m.decoder.num_key_value_heads) {
    mismatch(
      `model.decoder.num_key_value_heads is ${m.decoder.num_key_value_heads}, but the graph's KV has ${kvHeads} heads`,
    );
  }
  const headSize = fixed(past, 3);
  if (headSize !== null && headSize !== m.decoder.head_size) {
    mismatch(`model.decoder.head_size is ${m.decoder.head_size}, but the graph's is ${headSize}`);
  }
  for (const l of r.moe_layers) {
    const e = fixed(graph.outputs.get(r.router_output_names.replace('%d', String(l))), 1);
    if (e !== null && e !== r.num_experts) {
      mismatch(
        `moe_lens.routing.num_experts is ${r.num_experts}, but layer ${l}'s router has ${e}`,
      );
    }
  }
}
