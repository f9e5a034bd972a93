// A loaded MoE Lens model: manifest + verified files + one onnxruntime session, and `forward`,
// one step of the decoder over a chunk of tokens against a KV slot (llama2.c's forward()).
import * as ort from 'onnxruntime-node';
import { ContextOverflowError, MoeLensError } from '../format/errors';
import { IO } from '../format/graphIO';
import type { Manifest } from '../format/manifest';
import { checkModelFolder } from '../format/modelFolder';
import { routeTokens, type LayerRouting } from '../format/routing';
import { createSession, type ExecutionProvider } from './session';
import { KvSlot, type KvLayout } from './kvCache';

export interface ModelConfig {
  dir: string;
  architecture: string;
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  moeLayers: number[];
  numExperts: number;
  topK: number;
  normalizeTopK: boolean;
  eosTokenIds: number[];
  kvLayout: KvLayout;
}

export interface LoadOptions {
  executionProvider?: ExecutionProvider;
  threads?: number;
  /** Hash the listed files against the manifest (default true; places, kinds and sizes are
   *  always checked). */
  verify?: boolean;
  log?: (message: string) => void;
}

export interface ForwardResult {
  /** Logits of the last `keep` positions, [keep, V] row-major. */
  logits: Float32Array;
  /** Routing of every fed token, [S][moeLayers]. */
  routing: LayerRouting[][];
}

export class MoeModel {
  private constructor(
    readonly config: ModelConfig,
    readonly manifest: Manifest,
    readonly session: ort.InferenceSession,
    readonly executionProvider: Exclude<ExecutionProvider, 'auto'>,
  ) {}

  static async load(dir: string, opts: LoadOptions = {}): Promise<MoeModel> {
    // The whole folder contract (docs/MODEL_FORMAT.md) before onnxruntime sees a byte.
    const { manifest, decoderPath } = await checkModelFolder(dir, { verify: opts.verify });
    const m = manifest.model;
    const r = manifest.moe_lens.routing;
    const config: ModelConfig = {
      dir,
      architecture: manifest.moe_lens.architecture,
      numLayers: m.decoder.num_hidden_layers,
      numKvHeads: m.decoder.num_key_value_heads,
      headDim: m.decoder.head_size,
      vocabSize: m.vocab_size,
      contextLength: m.context_length,
      moeLayers: r.moe_layers,
      numExperts: r.num_experts,
      topK: r.top_k,
      normalizeTopK: r.normalize_top_k,
      eosTokenIds: m.eos_token_id,
      kvLayout: manifest.moe_lens.kv_cache ?? 'concat',
    };
    const { session, executionProvider } = await createSession(decoderPath, {
      executionProvider: opts.executionProvider ?? 'auto',
      threads: opts.threads ?? 0,
      log: opts.log ?? (() => {}),
    });
    return new MoeModel(config, manifest, session, executionProvider);
  }

  newSlot(): KvSlot {
    const c = this.config;
    return new KvSlot(c.numLayers, c.numKvHeads, c.headDim, c.kvLayout, c.contextLength);
  }

  /**
   * Feeds `ids` after the slot's cached tokens; appends their KV and routing to the slot.
   * keep = how many trailing positions need logits (1 while generating, S when scoring).
   */
  async forward(
    slot: KvSlot,
    ids: number[],
    keep: number,
    fullProbs = false,
  ): Promise<ForwardResult> {
    const c = this.config;
    const S = ids.length;
    const total = slot.length + S;
    if (total > c.contextLength) {
      throw new ContextOverflowError(total, c.contextLength);
    }
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
        throw new MoeLensError(`token id ${id} is outside the vocabulary (0..${c.vocabSize - 1})`);
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      [IO.inputIds]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, S]),
      [IO.attentionMask]: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      [IO.logitsToKeep]: new ort.Tensor('int64', BigInt64Array.of(BigInt(keep)), [1]),
    };
    slot.reserve(total);
    for (let l = 0; l < c.numLayers; l++) {
      feeds[IO.pastKey(l)] = slot.keys[l] as ort.Tensor;
      feeds[IO.pastValue(l)] = slot.values[l] as ort.Tensor;
    }
    // Shared layout: bind each present output to its past buffer; GQA appends in place.
    const bound = slot.presentBindings();
    let out: ort.InferenceSession.ReturnType;
    if (bound) {
      const fetches: Record<string, ort.Tensor | null> = { [IO.logits]: null };
      for (const layer of c.moeLayers) fetches[IO.routerLogits(layer)] = null;
      for (let l = 0; l < c.numLayers; l++) {
        fetches[IO.presentKey(l)] = bound[0]?.[l] as ort.Tensor;
        fetches[IO.presentValue(l)] = bound[1]?.[l] as ort.Tensor;
      }
      out = await this.session.run(feeds, fetches as ort.InferenceSession.FetchesType);
    } else {
      out = await this.session.run(feeds);
    }
    const keys: ort.Tensor[] = [];
    const values: ort.Tensor[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      keys.push(out[IO.presentKey(l)] as ort.Tensor);
      values.push(out[IO.presentValue(l)] as ort.Tensor);
    }
    // Routing of token t is the routing computed when t is fed: read it from this run.
    const routing: LayerRouting[][] = Array.from({ length: S }, () => []);
    for (const layer of c.moeLayers) {
      const z = (out[IO.routerLogits(layer)] as ort.Tensor).data as Float32Array; // [S, E]
      for (let t = 0; t < S; t++) {
        const r = routeTokens(
          z.subarray(t * c.numExperts, (t + 1) * c.numExperts),
          c.topK,
          c.normalizeTopK,
        );
        const entry: LayerRouting = { layer, experts: r.experts, weights: r.weights };
        if (fullProbs) entry.probs = Array.from(r.probs);
        (routing[t] as LayerRouting[]).push(entry);
      }
    }
    slot.append(ids, routing, keys, values);
    return { logits: (out[IO.logits] as ort.Tensor).data as Float32Array, routing };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
