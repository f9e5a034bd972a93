// Shared access to the transformers-generated fixtures under test/fixtures/models (see its
// README.md): the expected.json schema and a loader for a fixture's ModelSpec and weights.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseHfConfig, type ModelSpec } from '../../src/checkpoint/modelSpec';
import { openCheckpoint } from '../../src/checkpoint/safetensors';

export const FIXTURES_DIR = path.join(__dirname, '..', 'fixtures', 'models');

/** Near-ties below this margin are excluded from exact routing comparisons. */
export const NEAR_TIE = 1e-3;

export interface ExpectedRouting {
  layer: number;
  topk: number[][];
  weights: number[][];
  routerLogits: number[][];
  margins: number[];
}

export interface ExpectedInput {
  ids: number[];
  logprobs: number[][];
  logitMargins: number[];
  routing: ExpectedRouting[];
}

export interface Expected {
  versions: Record<string, string>;
  architecture: string;
  inputs: ExpectedInput[];
  greedy: { prompt: number[]; generated: number[]; margins: number[] };
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(FIXTURES_DIR, d.name, 'expected.json')))
    .map((d) => d.name)
    .sort();
}

export function loadExpected(name: string): Expected {
  return JSON.parse(
    readFileSync(path.join(FIXTURES_DIR, name, 'expected.json'), 'utf8'),
  ) as Expected;
}

export function loadSpec(name: string): ModelSpec {
  const file = path.join(FIXTURES_DIR, name, 'config.json');
  return parseHfConfig(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, file);
}

/** Reads every tensor of a fixture checkpoint (they are tiny) into a synchronous accessor. */
export async function loadWeights(name: string): Promise<(tensor: string) => Float32Array> {
  const ckpt = await openCheckpoint(path.join(FIXTURES_DIR, name));
  const all = new Map<string, Float32Array>();
  try {
    for (const tensor of ckpt.tensors.keys()) all.set(tensor, await ckpt.read(tensor));
  } finally {
    await ckpt.close();
  }
  return (tensor) => {
    const w = all.get(tensor);
    if (!w) throw new Error(`${name}: no tensor "${tensor}"`);
    return w;
  };
}

/** log_softmax in double. */
export function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - lse);
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if ((x[i] as number) > (x[best] as number)) best = i;
  return best;
}
