// A KV slot: the tokens a purpose (completion, analysis, ...) has fed, their routing, and the
// per-layer key/value tensors, so the next request that shares a token prefix prefills only the
// new suffix. Slots are independent: an analysis never evicts the completion prefix.
import * as ort from 'onnxruntime-node';
import type { LayerRouting } from './model';

export class KvSlot {
  /** Tokens whose keys/values are cached, in order. */
  ids: number[] = [];
  /** Routing of each cached token (computed when it was fed). */
  routing: LayerRouting[][] = [];
  /** Per layer, [1, kvHeads, length, headDim]. */
  keys: ort.Tensor[] = [];
  values: ort.Tensor[] = [];

  constructor(
    readonly numLayers: number,
    readonly kvHeads: number,
    readonly headDim: number,
  ) {
    this.reset();
  }

  get length(): number {
    return this.ids.length;
  }

  reset(): void {
    const empty = () =>
      new ort.Tensor('float32', new Float32Array(0), [1, this.kvHeads, 0, this.headDim]);
    this.ids = [];
    this.routing = [];
    this.keys = Array.from({ length: this.numLayers }, empty);
    this.values = Array.from({ length: this.numLayers }, empty);
  }

  append(ids: number[], routing: LayerRouting[][], keys: ort.Tensor[], values: ort.Tensor[]): void {
    this.ids.push(...ids);
    this.routing.push(...routing);
    this.keys = keys;
    this.values = values;
  }

  /** Length of the longest common prefix of the cached tokens and `ids`. */
  commonPrefix(ids: number[]): number {
    const n = Math.min(ids.length, this.ids.length);
    let i = 0;
    while (i < n && ids[i] === this.ids[i]) i++;
    return i;
  }

  /** Drops cached tokens from position n on (keeps KV of the first n tokens). */
  truncate(n: number): void {
    if (n >= this.length) return;
    if (n === 0) return this.reset();
    const L = this.length;
    const D = this.headDim;
    const cut = (t: ort.Tensor): ort.Tensor => {
      const src = t.data as Float32Array; // [1, kvh, L, D]
      const dst = new Float32Array(this.kvHeads * n * D);
      for (let h = 0; h < this.kvHeads; h++) {
        dst.set(src.subarray(h * L * D, h * L * D + n * D), h * n * D);
      }
      return new ort.Tensor('float32', dst, [1, this.kvHeads, n, D]);
    };
    this.keys = this.keys.map(cut);
    this.values = this.values.map(cut);
    this.ids.length = n;
    this.routing.length = n;
  }
}
