// int8/int4 conversions of every fixture, measured against transformers' fp32 outputs
// (test/fixtures/models/*/expected.json) and against a reference forward on the same quantized
// weights. The fixtures have random weights (no structure for quantization to preserve), so the
// int4 errors are large; the bounds below are regression guards, not quality claims.
//
// Metrics, over both inputs of a fixture (16 + 9 positions):
//   max|Δlp|  max |log p_q - log p_fp32| over every position and vocabulary entry
//   KL        mean over positions of KL(p_fp32 || p_q), nats
//   top-1     share of positions whose argmax (next token) is unchanged
//   routing   share of (token, MoE layer) decisions, near-ties (margin < 1e-3) excluded, whose
//             top-k expert set equals transformers' (the router itself stays fp32)
//   vs ref    max |Δlp| against referenceForward run on dequantize(quantize(W)): how faithfully
//             onnxruntime runs the quantized weights (accuracy_level 4 adds int8 activations)
//
// Measured (onnxruntime-node 1.30.0, CPU, 1 thread, block 32, symmetric; al = accuracy_level):
//   fixture   variant   max|Δlp|  KL       top-1  routing  vs ref
//   mixtral   int8      0.318     0.00172  1.00   1.000    7.2e-6
//   mixtral   int8 al4  0.496     0.00351  1.00   1.000    0.389
//   mixtral   int4      5.816     0.41655  0.56   0.822    1.0e-5
//   mixtral   int4 al4  5.847     0.41396  0.56   0.822    0.384
//   olmoe     int8      0.271     0.00078  1.00   1.000    9.1e-6
//   olmoe     int8 al4  0.353     0.00165  1.00   1.000    0.224
//   olmoe     int4      4.564     0.22436  0.60   0.800    6.8e-6
//   olmoe     int4 al4  4.629     0.22741  0.56   0.813    1.018
//   qwen2moe  int8      0.148     0.00041  1.00   1.000    5.3e-6
//   qwen2moe  int8 al4  0.202     0.00086  1.00   1.000    0.174
//   qwen2moe  int4      2.872     0.10030  0.76   0.818    4.9e-6
//   qwen2moe  int4 al4  2.898     0.10151  0.72   0.818    0.153
//   qwen3moe  int8      0.164     0.00058  0.96   1.000    7.2e-6
//   qwen3moe  int8 al4  0.261     0.00143  0.92   1.000    0.194
//   qwen3moe  int4      4.027     0.24667  0.56   0.920    6.0e-6
//   qwen3moe  int4 al4  4.176     0.25024  0.56   0.920    0.249
// (routing decisions compared: mixtral 73, olmoe 75, qwen2moe 44, qwen3moe 50.)
// So at accuracy_level 0 onnxruntime runs exactly the quantized weights (vs ref <= 1e-5): the
// error is all rounding of the weights. accuracy_level 4 (int8 activations) adds up to ~1 in
// log-prob against that reference, yet its routing agreement stays within 0.013 of level 0's.
//
// Bounds asserted for every fixture (INT8, INT8_AL4, INT4, INT4_AL4 below):
//   int8 (al 0)  max|Δlp| <= 0.6,  KL <= 0.005, top-1 >= 0.9,  routing >= 0.95, vs ref <= 1e-4
//   int8 al 4    max|Δlp| <= 1.0,  KL <= 0.01,  top-1 >= 0.85, routing >= 0.95, vs ref <= 1.0
//   int4 (al 0)  max|Δlp| <= 9,    KL <= 0.8,   top-1 >= 0.4,  routing >= 0.7,  vs ref <= 1e-4
//   int4 al 4    max|Δlp| <= 9,    KL <= 0.8,   top-1 >= 0.4,  routing >= 0.7,  vs ref <= 2.0
// KV-cached decoding of the int4 model (one token at a time) equals its own full recomputation
// (max |Δlogit| measured <= 7.6e-6 at al 0 and 4; asserted <= 1e-4), with identical routing.
// QMoE (onnxruntime's kernel) vs the default If-per-expert layout on the same int4 weights (block
// 32; mixtral's expert width 48 needs block 16): measured max |Δlp| <= 7.1e-6, identical routing;
// asserted <= 1e-3 and identical top-k sets away from near-ties.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint, type ConvertOptions } from '../../../src/convert/convert';
import { dequantize, quantize, type QuantBits } from '../../../src/convert/quantize';
import { checkpointNames } from '../../../src/checkpoint/checkpointLayout';
import { MoeModel } from '../../../src/engine/model';
import type { ModelSpec } from '../../../src/checkpoint/modelSpec';
import { f16ToF32, f32ToF16 } from '../../../src/checkpoint/floats';
import { referenceForward } from '../../../src/reference/forward';
import {
  FIXTURES_DIR,
  NEAR_TIE,
  argmax,
  fixtureNames,
  loadExpected,
  loadSpec,
  loadWeights,
  logSoftmax,
  type Expected,
} from '../fixtureData';

interface Bounds {
  maxDLogprob: number;
  meanKl: number;
  top1: number;
  routing: number;
  vsRef: number;
}

interface Variant {
  label: string;
  opts: ConvertOptions;
  bounds: Bounds;
}

const INT8: Bounds = { maxDLogprob: 0.6, meanKl: 0.005, top1: 0.9, routing: 0.95, vsRef: 1e-4 };
const INT8_AL4: Bounds = { maxDLogprob: 1, meanKl: 0.01, top1: 0.85, routing: 0.95, vsRef: 1 };
const INT4: Bounds = { maxDLogprob: 9, meanKl: 0.8, top1: 0.4, routing: 0.7, vsRef: 1e-4 };
const INT4_AL4: Bounds = { ...INT4, vsRef: 2 };

const VARIANTS: Variant[] = [
  { label: 'int8', opts: { dtype: 'int8', blockSize: 32, accuracyLevel: 0 }, bounds: INT8 },
  {
    label: 'int8 al4',
    opts: { dtype: 'int8', blockSize: 32, accuracyLevel: 4 },
    bounds: INT8_AL4,
  },
  { label: 'int4', opts: { dtype: 'int4', blockSize: 32, accuracyLevel: 0 }, bounds: INT4 },
  {
    label: 'int4 al4',
    opts: { dtype: 'int4', blockSize: 32, accuracyLevel: 4 },
    bounds: INT4_AL4,
  },
];

const KV_TOL = 1e-4;
const QMOE_TOL = 1e-3;

const work = mkdtempSync(join(tmpdir(), 'moe-lens-quantized-'));
const table: string[][] = [];
after(() => {
  rmSync(work, { recursive: true, force: true });
  const head = ['fixture', 'variant', 'max|Δlp|', 'KL', 'top-1', 'routing', 'vs ref'];
  const rows = [head, ...table];
  const widths = head.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  console.log(rows.map((r) => r.map((x, c) => x.padEnd(widths[c] ?? 0)).join('  ')).join('\n'));
});

/** Log-probs of every position of every expected input, plus the ONNX routing. */
interface Run {
  logprobs: Float64Array[][];
  /** [input][token][MoE layer] expert ids. */
  experts: number[][][][];
  /** [input][token][MoE layer] p_(k) - p_(k+1) of the model's own router distribution. */
  margins: number[][][];
}

async function run(model: MoeModel, expected: Expected): Promise<Run> {
  const V = model.config.vocabSize;
  const k = model.config.topK;
  const out: Run = { logprobs: [], experts: [], margins: [] };
  for (const input of expected.inputs) {
    const { logits, routing } = await model.forward(
      model.newSlot(),
      input.ids,
      input.ids.length,
      true,
    );
    out.logprobs.push(input.ids.map((_, t) => logSoftmax(logits.subarray(t * V, (t + 1) * V))));
    out.experts.push(routing.map((layers) => layers.map((r) => r.experts)));
    out.margins.push(
      routing.map((layers) =>
        layers.map((r) => {
          const p = [...(r.probs ?? [])].sort((a, b) => b - a);
          return (p[k - 1] ?? 0) - (p[k] ?? 0);
        }),
      ),
    );
  }
  return out;
}

const sortedKey = (xs: number[] | undefined): string =>
  [...(xs ?? [])].sort((a, b) => a - b).join(',');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

function metrics(r: Run, expected: Expected, moeLayers: number[]) {
  let maxDLogprob = 0;
  let kl = 0;
  let positions = 0;
  let top1 = 0;
  let decisions = 0;
  let agree = 0;
  expected.inputs.forEach((input, i) => {
    input.logprobs.forEach((want, t) => {
      const got = r.logprobs[i]?.[t] as Float64Array;
      maxDLogprob = Math.max(maxDLogprob, maxAbsDiff(want, got));
      want.forEach((lp, v) => (kl += Math.exp(lp) * (lp - (got[v] as number))));
      positions++;
      if (argmax(want) === argmax(got)) top1++;
    });
    for (const layer of input.routing) {
      const li = moeLayers.indexOf(layer.layer);
      input.ids.forEach((_, t) => {
        if ((layer.margins[t] as number) < NEAR_TIE) return;
        decisions++;
        if (sortedKey(r.experts[i]?.[t]?.[li]) === sortedKey(layer.topk[t])) agree++;
      });
    }
  });
  return {
    maxDLogprob,
    meanKl: kl / positions,
    top1: top1 / positions,
    routing: agree / decisions,
  };
}

/**
 * The fixture's weights as the converter stores them for `opts`: every MatMulNBits weight
 * dequantize(quantize(W)), embeddings rounded to fp16, router / norms / biases / shared-expert
 * gate fp32. The head is read as its own tensor (a tied fixture gets an untied copy).
 */
function quantizedWeights(
  spec: ModelSpec,
  weights: (name: string) => Float32Array,
  opts: ConvertOptions,
): { spec: ModelSpec; weights: (name: string) => Float32Array } {
  const bits: QuantBits = opts.dtype === 'int4' ? 4 : 8;
  const blockSize = opts.blockSize ?? 32;
  const names = checkpointNames(spec);
  const H = spec.hiddenSize;
  const qDim = spec.numHeads * spec.headDim;
  const kvDim = spec.numKvHeads * spec.headDim;
  const shapes = new Map<string, [number, number]>();
  const ffn = (n: { gate: string; up: string; down: string }, inter: number) => {
    shapes.set(n.gate, [inter, H]);
    shapes.set(n.up, [inter, H]);
    shapes.set(n.down, [H, inter]);
  };
  spec.moeLayers.forEach((sparse, l) => {
    const n = names.layer(l);
    shapes.set(n.q, [qDim, H]);
    shapes.set(n.k, [kvDim, H]);
    shapes.set(n.v, [kvDim, H]);
    shapes.set(n.o, [H, qDim]);
    if (!sparse) return ffn(n.dense, spec.denseIntermediateSize);
    for (let e = 0; e < spec.numExperts; e++) ffn(n.expert(e), spec.moeIntermediateSize);
    if (spec.sharedExpert) ffn(n.shared, spec.sharedExpert.intermediateSize);
  });
  const untied: ModelSpec = { ...spec, tieWordEmbeddings: false };
  const head = checkpointNames(untied).lmHead;
  shapes.set(head, [spec.vocabSize, H]);
  const cache = new Map<string, Float32Array>();
  const read = (name: string): Float32Array => {
    let w = cache.get(name);
    if (w) return w;
    const shape = shapes.get(name);
    if (name === names.embed) {
      w = f16ToF32(f32ToF16(weights(name)));
    } else if (shape) {
      const src = weights(name === head && spec.tieWordEmbeddings ? names.embed : name);
      w = dequantize(quantize(src, shape[0], shape[1], { bits, blockSize }));
    } else {
      w = weights(name);
    }
    cache.set(name, w);
    return w;
  };
  return { spec: untied, weights: read };
}

function referenceLogprobs(
  spec: ModelSpec,
  weights: (name: string) => Float32Array,
  expected: Expected,
): Float64Array[][] {
  return expected.inputs.map((input) =>
    referenceForward(spec, weights, input.ids).logits.map((l) => logSoftmax(l)),
  );
}

function maxRunDiff(a: Float64Array[][], b: Float64Array[][]): number {
  let d = 0;
  a.forEach((rows, i) => rows.forEach((row, t) => (d = Math.max(d, maxAbsDiff(row, b[i]![t]!)))));
  return d;
}

const fmt = (x: number, digits = 3): string =>
  x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(1) : x.toFixed(digits);

for (const name of fixtureNames()) {
  describe(`${name}: int8/int4 against transformers fp32`, () => {
    const expected = loadExpected(name);
    const spec = loadSpec(name);
    let weights: (tensor: string) => Float32Array;
    const models = new Map<string, MoeModel>();
    const convert = async (label: string, opts: ConvertOptions): Promise<MoeModel> => {
      const out = join(work, `${name}-${label.replace(/\s/g, '-')}`);
      await convertCheckpoint(join(FIXTURES_DIR, name), out, opts);
      const model = await MoeModel.load(out, { executionProvider: 'cpu', threads: 1 });
      models.set(label, model);
      return model;
    };
    before(async () => {
      weights = await loadWeights(name);
    });
    after(async () => {
      for (const m of models.values()) await m.dispose();
    });

    for (const v of VARIANTS) {
      test(`${v.label}: errors within the documented bounds, faithful to its quantized weights`, async () => {
        const model = await convert(v.label, v.opts);
        assert.equal(model.manifest.moe_lens.quantization.dtype, v.opts.dtype);
        assert.equal(model.manifest.moe_lens.quantization.accuracy_level, v.opts.accuracyLevel);
        const r = await run(model, expected);
        const m = metrics(r, expected, model.config.moeLayers);
        const q = quantizedWeights(spec, weights, v.opts);
        const vsRef = maxRunDiff(r.logprobs, referenceLogprobs(q.spec, q.weights, expected));
        table.push([
          name,
          v.label,
          fmt(m.maxDLogprob),
          fmt(m.meanKl, 5),
          fmt(m.top1, 2),
          fmt(m.routing),
          fmt(vsRef),
        ]);
        const b = v.bounds;
        const what = `${name} ${v.label}: ${JSON.stringify({ ...m, vsRef })}`;
        assert.ok(m.maxDLogprob <= b.maxDLogprob, `max |Δlogprob| ${what}`);
        assert.ok(m.meanKl <= b.meanKl, `mean KL ${what}`);
        assert.ok(m.top1 >= b.top1, `top-1 agreement ${what}`);
        assert.ok(m.routing >= b.routing, `routing agreement ${what}`);
        assert.ok(vsRef <= b.vsRef, `vs reference on the quantized weights ${what}`);
      });
    }

    test('int4: KV-cached decoding equals full recomputation', async () => {
      for (const label of ['int4', 'int4 al4']) {
        const variant = VARIANTS.find((v) => v.label === label) as Variant;
        const model = models.get(label) ?? (await convert(label, variant.opts));
        const V = model.config.vocabSize;
        const ids = expected.inputs[0]!.ids;
        const full = await model.forward(model.newSlot(), ids, ids.length);
        const slot = model.newSlot();
        let err = 0;
        for (let t = 0; t < ids.length; t++) {
          const step = await model.forward(slot, [ids[t]!], 1);
          err = Math.max(err, maxAbsDiff(step.logits, full.logits.subarray(t * V, (t + 1) * V)));
          assert.deepEqual(
            step.routing[0]?.map((r) => r.experts),
            full.routing[t]?.map((r) => r.experts),
            `${label} routing of token ${t}`,
          );
        }
        console.log(`${name} ${label}: KV-cached vs full recomputation, max |Δlogit| ${fmt(err)}`);
        assert.ok(err <= KV_TOL, `${label}: token-by-token max error ${err}`);
      }
    });

    const I = spec.moeIntermediateSize;
    const H = spec.hiddenSize;
    const block = [32, 16].find((b) => H % b === 0 && I % b === 0);
    test(
      `int4 QMoE layout equals the If layout on the same weights (block ${block})`,
      { skip: block === undefined ? `hidden ${H} / expert width ${I}: no block size` : false },
      async () => {
        const opts = { dtype: 'int4', blockSize: block, accuracyLevel: 0 } as const;
        const ifModel =
          block === 32 ? (models.get('int4') as MoeModel) : await convert(`int4 bs${block}`, opts);
        const qmoe = await convert(`int4 qmoe bs${block}`, { ...opts, expertsLayout: 'qmoe' });
        assert.equal(qmoe.manifest.moe_lens.experts_layout, 'qmoe');
        const a = await run(ifModel, expected);
        const b = await run(qmoe, expected);
        const d = maxRunDiff(a.logprobs, b.logprobs);
        // Near-ties of the int4 model's own router are excluded.
        let decisions = 0;
        let same = 0;
        a.margins.forEach((tokens, i) =>
          tokens.forEach((layers, t) =>
            layers.forEach((margin, li) => {
              if (margin < NEAR_TIE) return;
              decisions++;
              if (sortedKey(a.experts[i]?.[t]?.[li]) === sortedKey(b.experts[i]?.[t]?.[li])) {
                same++;
              }
            }),
          ),
        );
        console.log(
          `${name} int4 block ${block}: QMoE vs If max |Δlogprob| ${fmt(d)}, ` +
            `routing ${same}/${decisions} identical`,
        );
        assert.ok(d <= QMOE_TOL, `QMoE vs If max |Δlogprob| ${d}`);
        assert.equal(same, decisions);
      },
    );
  });
}
