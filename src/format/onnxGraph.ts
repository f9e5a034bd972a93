// What onnxruntime will read besides the .onnx file itself, and the decoder's inputs and
// outputs, read from the ModelProto's wire format before onnxruntime sees it. A minimal protobuf
// walker (no dependency, nothing decoded but names, external-data entries and I/O shapes; tensor
// bytes are skipped): every TensorProto anywhere (initializers, sparse initializers, Constant and
// other tensor attributes, If/Loop/Scan subgraphs, functions, training graphs) is visited, so an
// external-data location cannot hide from the check in modelFolder.ts.
// Field numbers: onnx/onnx.proto (IR version 10).

export interface ExternalRef {
  /** The tensor's name ('' when unnamed). */
  tensor: string;
  /** Its `location` entry, as written (relative to the .onnx file's folder). */
  location: string;
}

export interface DecoderGraphInfo {
  /** Top-level graph inputs: name -> dims (number = fixed, string = symbolic, null = unknown). */
  inputs: Map<string, (number | string | null)[] | null>;
  outputs: Map<string, (number | string | null)[] | null>;
  external: ExternalRef[];
}

/** Thrown for a malformed file; modelFolder.ts names the file. */
export class OnnxParseError extends Error {}

const MAX_DEPTH = 64;

interface Field {
  no: number;
  wire: number;
  /** varint value (wire 0) */
  value: number;
  /** payload bounds (wire 2) */
  start: number;
  end: number;
}

class Walker {
  constructor(readonly buf: Uint8Array) {}

  private varint(pos: { at: number }, end: number): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos.at >= end) throw new OnnxParseError('truncated varint');
      const b = this.buf[pos.at++] as number;
      if (mul < 2 ** 53) result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new OnnxParseError('varint longer than 10 bytes');
  }

  /** The fields of the message in [start, end). */
  *fields(start: number, end: number): Generator<Field> {
    const pos = { at: start };
    while (pos.at < end) {
      const key = this.varint(pos, end);
      const no = Math.floor(key / 8);
      const wire = key % 8;
      if (no === 0) throw new OnnxParseError('field number 0');
      if (wire === 0) {
        const value = this.varint(pos, end);
        yield { no, wire, value, start: pos.at, end: pos.at };
      } else if (wire === 1 || wire === 5) {
        pos.at += wire === 1 ? 8 : 4;
        if (pos.at > end) throw new OnnxParseError('truncated fixed-width field');
      } else if (wire === 2) {
        const len = this.varint(pos, end);
        const s = pos.at;
        if (len > end - s) throw new OnnxParseError('length-delimited field past its message');
        pos.at = s + len;
        yield { no, wire, value: len, start: s, end: s + len };
      } else {
        throw new OnnxParseError(`unsupported wire type ${wire}`);
      }
    }
  }

  string(f: Field): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + f.start, f.end - f.start).toString(
      'utf8',
    );
  }
}

/**
 * Parses a serialized ONNX ModelProto. Throws OnnxParseError when it is not one (bad wire
 * format, nesting deeper than 64 graphs).
 */
export function readDecoderGraph(bytes: Uint8Array): DecoderGraphInfo {
  const w = new Walker(bytes);
  const info: DecoderGraphInfo = { inputs: new Map(), outputs: new Map(), external: [] };
  let graphs = 0;

  const len = (f: Field, what: string): void => {
    if (f.wire !== 2) throw new OnnxParseError(`${what} is not length-delimited`);
  };

  const tensor = (start: number, end: number): void => {
    let name = '';
    let location: string | null = null;
    let external = false;
    let entries = 0;
    for (const f of w.fields(start, end)) {
      if (f.no === 8 && f.wire === 2) name = w.string(f);
      else if (f.no === 14 && f.wire === 0) external = f.value === 1;
      else if (f.no === 13) {
        len(f, 'TensorProto.external_data');
        entries++;
        let key = '';
        let value = '';
        for (const e of w.fields(f.start, f.end)) {
          if (e.no === 1 && e.wire === 2) key = w.string(e);
          else if (e.no === 2 && e.wire === 2) value = w.string(e);
        }
        if (key === 'location') location = value;
      }
    }
    if (location !== null) info.external.push({ tensor: name, location });
    else if (external || entries > 0) {
      throw new OnnxParseError(`tensor "${name}" has external data without a location`);
    }
  };

  const sparse = (start: number, end: number): void => {
    for (const f of w.fields(start, end)) {
      if (f.no === 1 || f.no === 2) {
        len(f, 'SparseTensorProto');
        tensor(f.start, f.end);
      }
    }
  };

  const dims = (start: number, end: number): (number | string | null)[] | null => {
    // ValueInfoProto.type (2) -> TypeProto.tensor_type (1) -> shape (2) -> dim (1)
    for (const t of w.fields(start, end)) {
      if (t.no !== 2 || t.wire !== 2) continue;
      for (const tt of w.fields(t.start, t.end)) {
        if (tt.no !== 1 || tt.wire !== 2) continue;
        for (const sh of w.fields(tt.start, tt.end)) {
          if (sh.no !== 2 || sh.wire !== 2) continue;
          const out: (number | string | null)[] = [];
          for (const d of w.fields(sh.start, sh.end)) {
            if (d.no !== 1 || d.wire !== 2) continue;
            let dim: number | string | null = null;
            for (const x of w.fields(d.start, d.end)) {
              if (x.no === 1 && x.wire === 0) dim = x.value;
              else if (x.no === 2 && x.wire === 2) dim = w.string(x);
            }
            out.push(dim);
          }
          return out;
        }
      }
    }
    return null;
  };

  const valueInfo = (f: Field, into: Map<string, (number | string | null)[] | null>): void => {
    len(f, 'ValueInfoProto');
    let name = '';
    for (const x of w.fields(f.start, f.end)) if (x.no === 1 && x.wire === 2) name = w.string(x);
    into.set(name, dims(f.start, f.end));
  };

  const node = (start: number, end: number, depth: number): void => {
    for (const f of w.fields(start, end)) {
      if (f.no !== 5) continue;
      len(f, 'NodeProto.attribute');
      attribute(f.start, f.end, depth);
    }
  };

  const attribute = (start: number, end: number, depth: number): void => {
    for (const f of w.fields(start, end)) {
      if (f.no === 5 || f.no === 10) {
        len(f, 'AttributeProto tensor');
        tensor(f.start, f.end);
      } else if (f.no === 6 || f.no === 11) {
        len(f, 'AttributeProto graph');
        graph(f.start, f.end, depth + 1, false);
      } else if (f.no === 22 || f.no === 23) {
        len(f, 'AttributeProto sparse tensor');
        sparse(f.start, f.end);
      }
    }
  };

  const graph = (start: number, end: number, depth: number, top: boolean): void => {
    if (depth > MAX_DEPTH) throw new OnnxParseError(`graphs nested deeper than ${MAX_DEPTH}`);
    graphs++;
    for (const f of w.fields(start, end)) {
      if (f.no === 1) {
        len(f, 'GraphProto.node');
        node(f.start, f.end, depth);
      } else if (f.no === 5) {
        len(f, 'GraphProto.initializer');
        tensor(f.start, f.end);
      } else if (f.no === 15) {
        len(f, 'GraphProto.sparse_initializer');
        sparse(f.start, f.end);
      } else if (top && f.no === 11) valueInfo(f, info.inputs);
      else if (top && f.no === 12) valueInfo(f, info.outputs);
    }
  };

  let sawGraph = false;
  for (const f of w.fields(0, bytes.length)) {
    if (f.no === 7) {
      len(f, 'ModelProto.graph');
      if (sawGraph) throw new OnnxParseError('more than one main graph');
      sawGraph = true;
      graph(f.start, f.end, 0, true);
    } else if (f.no === 25) {
      // FunctionProto.node (7)
      len(f, 'ModelProto.functions');
      for (const n of w.fields(f.start, f.end)) {
        if (n.no === 7) {
          len(n, 'FunctionProto.node');
          node(n.start, n.end, 1);
        }
      }
    } else if (f.no === 20) {
      // TrainingInfoProto.initialization (1), .algorithm (2)
      len(f, 'ModelProto.training_info');
      for (const g of w.fields(f.start, f.end)) {
        if (g.no === 1 || g.no === 2) {
          len(g, 'TrainingInfoProto graph');
          graph(g.start, g.end, 1, false);
        }
      }
    }
  }
  if (!sawGraph || graphs === 0) throw new OnnxParseError('no graph (not an ONNX model)');
  return info;
}
