// A KV slot: the tokens a purpose (completion, analysis, ...) has fed, their routing, and the
// per-layer key/value tensors, so the next request that shares a token prefix prefills only the
// new suffix. Slots are independent: an analysis never evicts the completion prefix.
//
// Two layouts, chosen by the graph (manifest moe_lens.kv_cache):
//   shared  GroupQueryAttention writes new keys/values in place into one buffer per layer,
//           [1, kvHeads, capacity, headDim], fed as `past` and bound as `present`: no copy per
//           step, and rewinding to a prefix is free (only the length changes).
//   concat  present = past ++ new (a fresh tensor each step); rewinding copies the prefix.
import * as ort from 'onnxruntime-node';
import type { LayerRouting } from '../format/routing';

export type KvLayout = 'shared' | 'concat';

const INITIAL_CAPACITY = 256;

export class KvSlot {
  /** Tokens whose keys/values are cached, in order. */
  ids: number[] = [];
  /** Routing of each cached token (computed when it was fed). */
  routing: LayerRouting[][] = [];
  /** Per layer: concat [1, kvHeads, length, headDim]; shared [1, kvHeads, capacity, headDim]. */
  keys: ort.Tensor[] = [];
  values: ort.Tensor[] = [];
  private capacity = 0;

  constructor(
    readonly numLayers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly layout: KvLayout = 'concat',
    /** Largest number of positions the slot may hold (the model's context length). */
    readonly maxLength = Infinity,
  ) {
    this.reset();
  }

  get length(): number {
    return this.ids.length;
  }

  reset(): void {
    this.ids = [];
    this.routing = [];
    if (this.layout === 'shared' && this.capacity > 0) return; // keep the buffers, drop the length
    const alloc = () => this.tensor(new Float32Array(0), 0);
    this.keys = Array.from({ length: this.numLayers }, alloc);
    this.values = Array.from({ length: this.numLayers }, alloc);
  }

  private tensor(data: Float32Array, positions: number): ort.Tensor {
    return new ort.Tensor('float32', data, [1, this.kvHeads, positions, this.headDim]);
  }

  /** Copies the first n positions of each head of t into a tensor of `positions` positions. */
  private resize(t: ort.Tensor, n: number, positions: number): ort.Tensor {
    const src = t.data as Float32Array;
    const from = t.dims[2] as number;
    const D = this.headDim;
    const dst = new Float32Array(this.kvHeads * positions * D);
    for (let h = 0; h < this.kvHeads; h++) {
      dst.set(src.subarray(h * from * D, h * from * D + n * D), h * positions * D);
    }
    return this.tensor(dst, positions);
  }

  /** shared: makes room for `total` positions (capacity doubles; copies only when it grows). */
  reserve(total: number): void {
    if (this.layout !== 'shared' || total <= this.capacity) return;
    let cap = Math.max(INITIAL_CAPACITY, this.capacity);
    while (cap < total) cap *= 2;
    cap = Math.max(total, Math.min(cap, this.maxLength));
    const grow = (t: ort.Tensor) => this.resize(t, this.length, cap);
    this.keys = this.keys.map(grow);
    this.values = this.values.map(grow);
    this.capacity = cap;
  }

  /** Tensors to bind as `present` outputs: the same buffers in the shared layout, else none. */
  presentBindings(): ort.Tensor[][] | null {
    return this.layout === 'shared' ? [this.keys, this.values] : null;
  }

  append(ids: number[], routing: LayerRouting[][], keys: ort.Tensor[], values: ort.Tensor[]): void {
    this.ids.push(...ids);
    this.routing.push(...routing);
    if (this.layout === 'concat') {
      this.keys = keys;
      this.values = values;
    }
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
    if (this.layout === 'concat') {
      if (n === 0) return this.reset();
      this.keys = this.keys.map((t) => this.resize(t, n, n));
      this.values = this.values.map((t) => this.resize(t, n, n));
    }
    this.ids.length = n;
    this.routing.length = n;
  }
}
