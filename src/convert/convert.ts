// convert <hf-dir> <out-dir>: a Hugging Face MoE checkpoint -> a MoE Lens model folder.
// Tensors stream one at a time from safetensors into the external data file, so memory stays
// bounded by one layer's largest tensor. Everything is written into a temporary sibling folder
// that is renamed into place only once complete: a failed or cancelled run leaves no model, a
// killed one leaves a folder the next run removes (paths.ts), and replacing a model keeps the
// files the converter did not write (replace.ts). Every file written is listed with its size
// and sha256 in the manifest (docs/MODEL_FORMAT.md, "The contract").
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { checkpointNames } from '../checkpoint/checkpointLayout';
import {
  checkFile,
  checkpointRoot,
  MiB,
  present,
  readChecked,
  readOptionalText,
} from '../format/confinedFile';
import { CancelledError, MoeLensError, throwIfAborted } from '../format/errors';
import {
  DATA_FILE,
  MANIFEST_FILE,
  MODEL_FILE,
  sha256File,
  TOKENIZER_FILES,
  type FileChecksum,
  type FimOrder,
  type Manifest,
} from '../format/manifest';
import { parseHfConfig, withTopK, type ModelSpec } from '../checkpoint/modelSpec';
import { checkFinite, openCheckpoint } from '../checkpoint/safetensors';
import { MAX_TOKENIZER_BYTES, MAX_TOKENIZER_SIDE_FILE_BYTES } from '../engine/tokenizer';
import { buildDecoderGraph } from './graph/decoder';
import type { ExpertsLayout, WeightDType } from './graph/ops';
import { buildManifest, CONVERTER_VERSION } from './buildManifest';
import { encodeModel, ExternalDataFile, GraphBuilder } from './onnxBuilder';
import { cleanStaleConversions, convertTempDir } from './paths';
import { carryOver, entriesToKeep } from './replace';
import { detectFimTokens } from '../engine/fim';
import { loadTokenizer } from '../engine/tokenizer';

/** Files copied from the checkpoint when it has them (config.json always). */
const COPIED_FILES = ['config.json', ...TOKENIZER_FILES];
const MAX_CONFIG_BYTES = 16 * MiB;

export { CONVERTER_VERSION };

export interface ConvertOptions {
  dtype: WeightDType;
  topK?: number;
  blockSize?: number;
  accuracyLevel?: number;
  lmHeadAccuracyLevel?: number;
  fimOrder?: FimOrder;
  expertsLayout?: ExpertsLayout;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/** A checkpoint's JSON file, read after the checks of confinedFile.ts. */
async function readJson(dir: string, root: string, name: string): Promise<Record<string, unknown>> {
  const path = join(dir, name);
  const text = await readOptionalText(dir, root, name, MAX_CONFIG_BYTES);
  if (text === undefined) throw new MoeLensError(`${path}: not found`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MoeLensError(`${path}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MoeLensError(`${path}: not a JSON object`);
  }
  return json as Record<string, unknown>;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function convertCheckpoint(
  hfDir: string,
  outDir: string,
  opts: ConvertOptions,
): Promise<Manifest> {
  const src = resolve(hfDir);
  const out = resolve(outDir);
  // The output folder is replaced wholesale: only ever replace a model, never the checkpoint.
  if (out === src || src.startsWith(out + sep)) {
    throw new MoeLensError(
      `${out}: the output folder must not be or contain the checkpoint ${src}`,
    );
  }
  // What killed runs left beside the output goes first (a model they were replacing is restored).
  for (const line of await cleanStaleConversions(out)) opts.onProgress?.(line);
  if (await exists(out)) {
    const entries = await readdir(out).catch(() => {
      throw new MoeLensError(`${out}: exists and is not a folder`);
    });
    if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) {
      throw new MoeLensError(
        `${out}: exists and is not a MoE Lens model (no ${MANIFEST_FILE}); refusing to replace it`,
      );
    }
    // Files the converter did not write survive the replacement; refuse early if one cannot.
    await entriesToKeep(out);
  }
  const srcRoot = await checkpointRoot(src);
  const configPath = join(src, 'config.json');
  let spec: ModelSpec = parseHfConfig(await readJson(src, srcRoot, 'config.json'), configPath);
  const sourceTopK = spec.topK;
  if (opts.topK !== undefined) spec = withTopK(spec, opts.topK);
  const graphOpts = {
    dtype: opts.dtype,
    blockSize: opts.blockSize ?? 32,
    // Level 4 (int8 activations) measured 1.4x faster int4 decode with unchanged routing
    // agreement (docs/BENCHMARKS.md); int8 weights at level 0 are pathologically slow in 1.30.
    accuracyLevel: opts.accuracyLevel ?? 4,
    lmHeadAccuracyLevel: opts.lmHeadAccuracyLevel ?? opts.accuracyLevel ?? 4,
    expertsLayout: opts.expertsLayout ?? 'if',
  };

  const checkpoint = await openCheckpoint(src);
  const lastLayer = checkpointNames(spec).layer(spec.numLayers - 1).inputNorm;
  if (!checkpoint.has(lastLayer)) {
    await checkpoint.close();
    throw new MoeLensError(
      `${configPath}: num_hidden_layers is ${spec.numLayers}, but the checkpoint has no tensor "${lastLayer}"`,
    );
  }
  const tmp = convertTempDir(out);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const ext = new ExternalDataFile(join(tmp, DATA_FILE), DATA_FILE);
    const graph = new GraphBuilder('moe_lens_decoder', ext);
    const names = checkpointNames(spec);
    const fused = names.layer(spec.moeLayers.indexOf(true)).fusedGateUp;
    if (checkpoint.has(fused)) {
      throw new MoeLensError(
        `${src}: tensor "${fused}" is transformers 5's fused expert layout, which is not supported; ` +
          're-save the model with save_pretrained(..., save_original_format=True)',
      );
    }
    const weights = {
      has: (name: string) => checkpoint.has(name),
      read: async (name: string, shape: number[]) => {
        throwIfAborted(opts.signal);
        const data = await checkpoint.read(name, shape);
        checkFinite(checkpoint.info(name), data);
        return data;
      },
    };
    try {
      await buildDecoderGraph(spec, names, weights, graphOpts, graph, (done, total) =>
        opts.onProgress?.(`layer ${done}/${total}`),
      );
    } catch (e) {
      ext.close();
      throw e;
    }
    const dataSum = ext.close();
    const modelBytes = encodeModel(
      graph,
      `MoE Lens conversion of ${basename(src)} (${opts.dtype})`,
    );
    await writeFile(join(tmp, MODEL_FILE), modelBytes);
    throwIfAborted(opts.signal);

    // Side files: checked (confined, regular, bounded) and copied from the bytes that are
    // hashed, so the listed checksum is of exactly what was written.
    const copied: string[] = [];
    const copiedSums: Record<string, FileChecksum> = {};
    for (const f of COPIED_FILES) {
      if (!(await present(join(src, f)))) continue;
      const maxBytes = f === 'tokenizer.json' ? MAX_TOKENIZER_BYTES : MAX_TOKENIZER_SIDE_FILE_BYTES;
      const bytes = await readChecked(await checkFile(src, srcRoot, f, { maxBytes }));
      await writeFile(join(tmp, f), bytes);
      copied.push(f);
      copiedSums[f] = {
        bytes: bytes.byteLength,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
    }
    const fimTokens = copied.includes('tokenizer.json')
      ? detectFimTokens(await loadTokenizer(src))
      : null;
    const manifest = buildManifest({
      spec,
      sourceTopK,
      dtype: opts.dtype,
      graph: graphOpts,
      fim: fimTokens ? { ...fimTokens, order: opts.fimOrder ?? 'psm' } : null,
      files: {
        [MODEL_FILE]: {
          bytes: modelBytes.byteLength,
          sha256: await sha256File(join(tmp, MODEL_FILE)),
        },
        [DATA_FILE]: dataSum,
        ...copiedSums,
      },
      source: basename(src),
    });
    await writeFile(join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    throwIfAborted(opts.signal);

    // Swap into place: an existing model is replaced only by a complete one, which gets the
    // files the converter did not write (hard links: the old folder stays untouched).
    const old = `${tmp}.old`;
    const hadOld = await exists(out);
    if (hadOld) await carryOver(out, tmp, await entriesToKeep(out));
    throwIfAborted(opts.signal);
    if (hadOld) await rename(out, old);
    await rename(tmp, out);
    if (hadOld) await rm(old, { recursive: true, force: true });
    return manifest;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (e instanceof CancelledError) {
      throw new CancelledError('conversion cancelled; nothing was written');
    }
    throw e;
  } finally {
    await checkpoint.close();
  }
}
