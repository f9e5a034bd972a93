// The real built CLI (node dist/cli.js) on every fixture: convert, info, score, complete,
// --router-probs and --top-k, each with --json, checked against transformers' own outputs
// (test/fixtures/models/*/expected.json). This is the "done when": convert --dtype fp32,
// then score --ids matches transformers to <= 2e-3 in log-prob with identical top-k expert sets
// (near-ties aside), and complete --ids --temperature 0 reproduces greedy decoding.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES_DIR, NEAR_TIE, fixtureNames, loadExpected, type Expected } from './fixtureData';
import {
  checkpointParams,
  cliJson,
  convertFixture,
  ensureBuilt,
  sha256,
  type ConvertJson,
} from './cliHelpers';

/** Log-prob tolerance of the done-when (the in-process test asserts 1e-4). */
const LOGPROB_TOL = 2e-3;
const WEIGHT_TOL = 1e-4;
/** The same model, KV-cached decoding vs teacher-forced scoring. */
const SELF_TOL = 1e-4;
const COMMON = ['--ep', 'cpu', '--threads', '1'];

interface Routing {
  layer: number;
  experts: number[];
  weights: number[];
  probs?: number[];
}
interface Token {
  id: number;
  text: string | null;
  logprob: number | null;
  routing: Routing[];
}
interface ScoreJson {
  tokens: Token[];
}
interface CompleteJson {
  text: string | null;
  finishReason: string;
  tokens: (Token & { logprob: number })[];
  stats: Record<string, unknown>;
}
interface Summary {
  layers: number;
  moeLayers: number[];
  experts: number;
  topK: number;
}

const INFO_KEYS = [
  'activeParamsPerToken',
  'architecture',
  'contextLength',
  'dtype',
  'executionProvider',
  'experts',
  'layers',
  'moeLayers',
  'sharedExperts',
  'topK',
  'totalParams',
];
const STATS_KEYS = [
  'decodeTokens',
  'decodeTokensPerSecond',
  'executionProvider',
  'peakRssMb',
  'prefillMs',
  'promptTokens',
  'reusedTokens',
  'timeToFirstTokenMs',
];

const work = mkdtempSync(join(tmpdir(), 'moe-lens-cli-'));
before(ensureBuilt);
after(() => rmSync(work, { recursive: true, force: true }));

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Structure every routing list must have: one entry per MoE layer, k distinct experts. */
function checkRouting(routing: Routing[], moeLayers: number[], k: number, E: number, at: string) {
  assert.deepEqual(
    routing.map((r) => r.layer),
    moeLayers,
    `${at}: one entry per MoE layer, in order`,
  );
  for (const r of routing) {
    assert.equal(r.experts.length, k, `${at} layer ${r.layer}: k experts`);
    assert.equal(r.weights.length, k, `${at} layer ${r.layer}: k weights`);
    assert.equal(new Set(r.experts).size, k, `${at} layer ${r.layer}: distinct experts`);
    for (const e of r.experts) assert.ok(Number.isInteger(e) && e >= 0 && e < E);
    for (let i = 1; i < k; i++) {
      assert.ok(r.weights[i - 1]! >= r.weights[i]!, `${at} layer ${r.layer}: weights descending`);
    }
  }
}

/** p_(k) - p_(k+1) of a full router distribution. */
function margin(probs: number[], k: number): number {
  const p = [...probs].sort((a, b) => b - a);
  return p[k - 1]! - (p[k] ?? 0);
}

for (const name of fixtureNames()) {
  describe(`${name}: node dist/cli.js`, () => {
    const hf = join(FIXTURES_DIR, name);
    const expected = loadExpected(name);
    const summary = (expected as Expected & { summary: Summary }).summary;
    const config = JSON.parse(readFileSync(join(hf, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const E = summary.experts;
    const k = summary.topK;
    const moeLayers = summary.moeLayers;
    const renormalised =
      expected.architecture === 'MixtralForCausalLM' || config.norm_topk_prob === true;
    const dir = join(work, name);
    const allDir = join(work, `${name}-top${E}`);
    const model = (d = dir) => ['--model', d, ...COMMON];
    const { prompt, generated } = expected.greedy;
    const greedyArgs = ['--ids', prompt.join(','), '--max-tokens', String(generated.length)];

    // Every command runs once, all at the same time, right after the two conversions; the tests
    // below only check their outputs.
    let converted: ConvertJson;
    let convertedAll: ConvertJson;
    let info: Record<string, unknown>;
    let infoAll: Record<string, unknown>;
    let scores: ScoreJson[];
    let scoreAll: ScoreJson;
    let greedy: CompleteJson;
    let greedyProbs: CompleteJson;
    let scoreGreedy: ScoreJson;
    before(async () => {
      [converted, convertedAll] = await Promise.all([
        convertFixture(name, dir),
        convertFixture(name, allDir, ['--top-k', String(E)]),
      ]);
      const scoring = Promise.all(
        expected.inputs.map((input) =>
          cliJson<ScoreJson>(['score', '--ids', input.ids.join(','), ...model()]),
        ),
      );
      [info, infoAll, scores, scoreAll, greedy, greedyProbs, scoreGreedy] = await Promise.all([
        cliJson<Record<string, unknown>>(['info', ...model()]),
        cliJson<Record<string, unknown>>(['info', ...model(allDir)]),
        scoring,
        cliJson<ScoreJson>(['score', '--ids', expected.inputs[0]!.ids.join(','), ...model(allDir)]),
        cliJson<CompleteJson>(['complete', ...greedyArgs, '--temperature', '0', ...model()]),
        cliJson<CompleteJson>(['complete', ...greedyArgs, '--router-probs', ...model()]),
        cliJson<ScoreJson>([
          'score',
          '--ids',
          [...prompt, ...generated].join(','),
          '--router-probs',
          ...model(),
        ]),
      ]);
    });

    test('convert --json: checksummed files, a complete model folder, no temp folder left', () => {
      assert.equal(converted.out, dir);
      assert.equal(converted.dtype, 'fp32');
      assert.ok(typeof converted.seconds === 'number' && converted.seconds >= 0);
      for (const [out, result] of [
        [dir, converted],
        [allDir, convertedAll],
      ] as const) {
        // Every file the converter writes but the manifest itself is listed (the contract).
        assert.deepEqual(Object.keys(result.files).sort(), [
          'config.json',
          'model.onnx',
          'model.onnx.data',
        ]);
        for (const [file, sumOf] of Object.entries(result.files)) {
          assert.equal(statSync(join(out, file)).size, sumOf.bytes, `${file} size`);
          assert.equal(sha256(join(out, file)), sumOf.sha256, `${file} sha256`);
        }
        assert.deepEqual(readdirSync(out).sort(), [
          'config.json',
          'genai_config.json',
          'model.onnx',
          'model.onnx.data',
        ]);
        const manifest = JSON.parse(readFileSync(join(out, 'genai_config.json'), 'utf8')) as {
          moe_lens: { files: unknown; routing: { top_k: number; source_top_k: number } };
        };
        assert.deepEqual(manifest.moe_lens.files, result.files);
        assert.equal(manifest.moe_lens.routing.top_k, out === dir ? k : E);
        assert.equal(manifest.moe_lens.routing.source_top_k, k);
        assert.equal(
          readFileSync(join(out, 'config.json'), 'utf8'),
          readFileSync(join(hf, 'config.json'), 'utf8'),
        );
      }
      const hidden = readdirSync(work).filter((f) => f.startsWith('.'));
      assert.deepEqual(hidden, [], 'no .<out>.converting-* folder left beside the output');
    });

    test('info --json: exactly the documented keys with the checkpoint values', () => {
      assert.deepEqual(
        Object.keys(info)
          .filter((key) => key !== 'fim' && key !== 'chat')
          .sort(),
        INFO_KEYS,
      );
      assert.equal(info.fim ?? null, null, 'no tokenizer, no FIM tokens');
      assert.equal(info.chat, false, 'no tokenizer, no chat template');
      const H = config.hidden_size as number;
      const I = (config.moe_intermediate_size ?? config.intermediate_size) as number;
      const total = checkpointParams(hf);
      const routedAway = moeLayers.length * (E - k) * 3 * H * I;
      assert.deepEqual(
        { ...info, fim: undefined, chat: undefined },
        {
          architecture: expected.architecture,
          layers: summary.layers,
          moeLayers,
          experts: E,
          topK: k,
          sharedExperts: expected.architecture === 'Qwen2MoeForCausalLM' ? 1 : 0,
          totalParams: total,
          activeParamsPerToken: total - routedAway,
          dtype: 'fp32',
          executionProvider: 'cpu',
          contextLength: config.max_position_embeddings as number,
          fim: undefined,
          chat: undefined,
        },
      );
      assert.ok((info.activeParamsPerToken as number) < total);
      // With every expert routed, every weight is active.
      assert.equal(infoAll.topK, E);
      assert.equal(infoAll.totalParams, total);
      assert.equal(infoAll.activeParamsPerToken, total);
    });

    test("score --ids: transformers' log-probs (<= 2e-3) and top-k expert sets", () => {
      let maxErr = 0;
      let compared = 0;
      expected.inputs.forEach((input, i) => {
        const { tokens } = scores[i]!;
        assert.deepEqual(
          tokens.map((t) => t.id),
          input.ids,
        );
        assert.equal(tokens[0]!.logprob, null, 'nothing conditions the first token');
        tokens.forEach((tok, t) => {
          assert.equal(tok.text, null, 'no tokenizer: token texts are null');
          assert.deepEqual(Object.keys(tok).sort(), ['id', 'logprob', 'routing', 'text']);
          if (t > 0) {
            const want = input.logprobs[t - 1]![input.ids[t]!]!;
            maxErr = Math.max(maxErr, Math.abs((tok.logprob as number) - want));
          }
          checkRouting(tok.routing, moeLayers, k, E, `input ${i} token ${t}`);
          for (const r of tok.routing) {
            assert.deepEqual(Object.keys(r), ['layer', 'experts', 'weights'], 'no probs unasked');
            const want = input.routing.find((x) => x.layer === r.layer)!;
            if (want.margins[t]! < NEAR_TIE) continue;
            assert.deepEqual(
              sorted(r.experts),
              sorted(want.topk[t]!),
              `token ${t} layer ${r.layer}`,
            );
            want.topk[t]!.forEach((e, j) => {
              const got = r.weights[r.experts.indexOf(e)]!;
              assert.ok(
                Math.abs(got - want.weights[t]![j]!) <= WEIGHT_TOL,
                `weight of expert ${e}`,
              );
            });
            if (renormalised) assert.ok(Math.abs(sum(r.weights) - 1) <= 1e-5);
            compared++;
          }
        });
      });
      console.log(
        `${name}: score --ids max |Δlogprob| ${maxErr.toExponential(2)}, ` +
          `${compared} top-k sets compared`,
      );
      assert.ok(maxErr <= LOGPROB_TOL, `max |Δlogprob| ${maxErr}`);
      assert.ok(compared > 0);
    });

    test('complete --ids --temperature 0: the greedy continuation of transformers', () => {
      for (const r of [greedy, greedyProbs]) {
        assert.deepEqual(
          r.tokens.map((t) => t.id),
          generated,
        );
        assert.equal(r.finishReason, 'length');
        assert.equal(r.text, null, 'no tokenizer: text is null');
      }
      const s = greedy.stats;
      assert.deepEqual(Object.keys(s).sort(), STATS_KEYS);
      assert.equal(s.promptTokens, prompt.length);
      assert.equal(s.reusedTokens, 0);
      assert.equal(s.decodeTokens, generated.length);
      assert.equal(s.executionProvider, 'cpu');
      for (const key of ['prefillMs', 'timeToFirstTokenMs', 'decodeTokensPerSecond']) {
        assert.ok(typeof s[key] === 'number' && (s[key] as number) >= 0, key);
      }
      assert.ok((s.decodeTokensPerSecond as number) > 0);
      assert.ok(typeof s.peakRssMb === 'number' && s.peakRssMb > 0);
      // Routing of a generated token is the routing computed when it is fed: the same as
      // teacher-forced scoring of prompt + continuation at that position.
      greedy.tokens.forEach((tok, j) => {
        assert.equal(tok.text, null);
        checkRouting(tok.routing, moeLayers, k, E, `generated token ${j}`);
        for (const r of tok.routing) assert.equal(r.probs, undefined);
        const ref = scoreGreedy.tokens[prompt.length + j]!;
        assert.ok(Math.abs(tok.logprob - ref.logprob!) <= SELF_TOL, `logprob of token ${j}`);
        tok.routing.forEach((r, li) => {
          const want = ref.routing[li]!;
          if (margin(want.probs!, k) < NEAR_TIE) return;
          assert.deepEqual(sorted(r.experts), sorted(want.experts), `token ${j} layer ${r.layer}`);
        });
      });
    });

    test('--router-probs: each routing entry carries softmax(z) over all experts', () => {
      const entries = [...scoreGreedy.tokens, ...greedyProbs.tokens].flatMap((t) => t.routing);
      assert.equal(
        entries.length,
        (prompt.length + 2 * generated.length) * moeLayers.length,
        'routing for every token and MoE layer',
      );
      for (const r of entries) {
        const p = r.probs!;
        assert.equal(p.length, E);
        assert.ok(Math.abs(sum(p) - 1) <= 1e-5, `probs sum to ${sum(p)}`);
        const top = sorted(r.experts.map((e) => p[e]!));
        const rest = p.filter((_, e) => !r.experts.includes(e));
        assert.ok(Math.max(...rest) <= top[0]!, 'the experts are the k most probable');
        const chosen = r.experts.map((e) => p[e]!);
        const scale = renormalised ? sum(chosen) : 1;
        chosen.forEach((q, j) => assert.ok(Math.abs(q / scale - r.weights[j]!) <= 1e-6));
      }
    });

    test(`convert --top-k ${E}: every expert routed, weights a full distribution`, () => {
      assert.equal(scoreAll.tokens.length, expected.inputs[0]!.ids.length);
      scoreAll.tokens.forEach((tok, t) => {
        checkRouting(tok.routing, moeLayers, E, E, `token ${t}`);
        for (const r of tok.routing) {
          assert.deepEqual(
            sorted(r.experts),
            Array.from({ length: E }, (_, e) => e),
          );
          assert.ok(Math.abs(sum(r.weights) - 1) <= 1e-5, 'all experts: weights sum to 1');
        }
      });
    });
  });
}
