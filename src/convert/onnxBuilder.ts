// A small ONNX graph builder over onnx-proto's generated protobuf classes. Large initializers go
// to an external data file as they are added (so a checkpoint bigger than RAM converts); small
// ones, and every shape constant, stay inside the .onnx file (onnxruntime cannot read shape
// constants from external data).
import { createHash, type Hash } from 'node:crypto';
import { openSync, writeSync, closeSync } from 'node:fs';
import { onnx } from 'onnx-proto';

export type DType = 'float32' | 'float16' | 'uint8' | 'int32' | 'int64' | 'bool';

const ELEM_TYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  uint8: onnx.TensorProto.DataType.UINT8,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

export type TensorData = Float32Array | Uint16Array | Uint8Array | Int32Array | BigInt64Array;

/** Initializers this large or larger go to the external data file. */
export const EXTERNAL_THRESHOLD = 1024;
const ALIGN = 64;
/**
 * Tensors of at least MMAP_THRESHOLD bytes start at a multiple of MMAP_ALIGN: onnxruntime then
 * memory-maps them on CPU instead of copying them onto its heap (it maps only offsets that are
 * multiples of the allocation granularity: 4 KiB on Linux and macOS, 64 KiB on Windows). A 48-layer
 * Qwen3-Coder-30B-A3B int4 folder (19.6 GB) was killed for memory at 20.4 GB of heap without it.
 */
export const MMAP_ALIGN = 64 * 1024;
const MMAP_THRESHOLD = 1024 * 1024;

/** Appends raw tensor bytes to `<model>.onnx.data`, hashing as it goes. */
export class ExternalDataFile {
  private readonly fd: number;
  private offset = 0;
  private readonly hash: Hash = createHash('sha256');
  private closed = false;

  /** `path` is where bytes go; `location` is the name recorded in the model (relative). */
  constructor(
    path: string,
    readonly location: string,
  ) {
    this.fd = openSync(path, 'w');
  }

  append(bytes: Uint8Array): { offset: number; length: number } {
    const align = bytes.byteLength >= MMAP_THRESHOLD ? MMAP_ALIGN : ALIGN;
    const pad = (align - (this.offset % align)) % align;
    if (pad > 0) this.write(new Uint8Array(pad));
    const offset = this.offset;
    this.write(bytes);
    return { offset, length: bytes.byteLength };
  }

  private write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.byteLength) {
      done += writeSync(this.fd, bytes, done, bytes.byteLength - done);
    }
    this.hash.update(bytes);
    this.offset += bytes.byteLength;
  }

  /** Closes the file; returns its size and sha256. */
  close(): { bytes: number; sha256: string } {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
    return { bytes: this.offset, sha256: this.hash.digest('hex') };
  }
}

export type Attr =
  | number // int
  | { f: number }
  | number[] // ints
  | { fs: number[] }
  | string
  | { t: onnx.ITensorProto }
  | { g: GraphBuilder };

function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Shared between a graph and its subgraphs: unique value names and the external file. */
interface BuildContext {
  ext: ExternalDataFile | null;
  counter: Map<string, number>;
}

export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly ctx: BuildContext;

  constructor(
    readonly name: string,
    ext: ExternalDataFile | null,
    ctx?: BuildContext,
  ) {
    this.ctx = ctx ?? { ext, counter: new Map() };
  }

  /** A child graph (If branches) sharing names and the external data file. */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this.ctx.ext, this.ctx);
  }

  /** A fresh value name with the given stem. */
  fresh(stem: string): string {
    const n = this.ctx.counter.get(stem) ?? 0;
    this.ctx.counter.set(stem, n + 1);
    return n === 0 ? stem : `${stem}_${n}`;
  }

  input(name: string, dtype: DType, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Declares a graph output; dims may be omitted for subgraph outputs. */
  output(name: string, dtype: DType, dims?: (number | string)[]): void {
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  /** Adds a node; returns its output names (fresh names derived from `name`). */
  node(
    op: string,
    inputs: string[],
    opts: {
      name: string;
      outputs?: number | string[];
      attrs?: Record<string, Attr>;
      domain?: string;
    },
  ): string[] {
    const outs =
      typeof opts.outputs === 'object'
        ? opts.outputs
        : Array.from({ length: opts.outputs ?? 1 }, (_, i) =>
            this.fresh(i === 0 ? `${opts.name}/out` : `${opts.name}/out${i}`),
          );
    const attribute = Object.entries(opts.attrs ?? {}).map(([k, v]) => attr(k, v));
    this.nodes.push({
      opType: op,
      name: this.fresh(opts.name),
      input: inputs,
      output: outs,
      attribute,
      domain: opts.domain ?? '',
    });
    return outs;
  }

  /** Single-output node shorthand. */
  op(
    op: string,
    inputs: string[],
    name: string,
    attrs?: Record<string, Attr>,
    domain?: string,
  ): string {
    return this.node(op, inputs, { name, attrs, domain, outputs: 1 })[0] as string;
  }

  /** Adds an initializer; big ones are appended to the external data file now. */
  initializer(name: string, dtype: DType, dims: number[], data: TensorData): string {
    const t = onnx.TensorProto.create({ name, dataType: ELEM_TYPE[dtype], dims });
    const bytes = bytesOf(data);
    const ext = this.ctx.ext;
    if (ext && bytes.byteLength >= EXTERNAL_THRESHOLD) {
      const { offset, length } = ext.append(bytes);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        { key: 'location', value: ext.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ];
    } else {
      t.rawData = Uint8Array.from(bytes);
    }
    this.initializers.push(t);
    return name;
  }

  /** Small constants kept inline (shape vectors, axes, scalars). */
  constInt64(name: string, values: number[], scalar = false): string {
    return this.initializer(
      this.fresh(name),
      'int64',
      scalar ? [] : [values.length],
      BigInt64Array.from(values.map((v) => BigInt(v))),
    );
  }

  constFloat(name: string, values: number[], dims?: number[]): string {
    return this.initializer(
      this.fresh(name),
      'float32',
      dims ?? [values.length],
      Float32Array.from(values),
    );
  }

  toProto(): onnx.IGraphProto {
    return {
      name: this.name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    };
  }
}

function valueInfo(name: string, dtype: DType, dims?: (number | string)[]): onnx.IValueInfoProto {
  const shape = dims
    ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }
    : undefined;
  return { name, type: { tensorType: { elemType: ELEM_TYPE[dtype], shape } } };
}

function attr(name: string, v: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('fs' in v) return { name, type: T.FLOATS, floats: v.fs };
  if ('t' in v) return { name, type: T.TENSOR, t: v.t };
  return { name, type: T.GRAPH, g: v.g.toProto() };
}

/** Serialises a model: ONNX opset 17 plus the com.microsoft contrib domain. */
export function encodeModel(graph: GraphBuilder, docString: string): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'moe-lens',
    docString,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: graph.toProto(),
  });
  return onnx.ModelProto.encode(model).finish();
}
