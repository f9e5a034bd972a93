// Routing statistics over many tokens (docs/ROUTING_ANALYSIS.md; formulas from the Mixtral and
// OLMoE routing analyses). Shared by `cli analyze` and the editor's analyze commands: both feed
// files' analysed tokens in, one file at a time, and read one RoutingStats out.
//
// Per MoE layer, with S_t the k experts chosen for token t and p_t the router distribution:
//   load[e]          = #{t : e ∈ S_t} / (k·T)                     (sums to 1; fair share 1/E)
//   cv               = std(load) / mean(load)                     (population std)
//   maxViolation     = (max(load) − mean(load)) / mean(load)
//   meanEntropy      = mean_t H(p_t)                              (nats, in [0, ln E])
//   topKMass         = mean_t Σ_{e∈S_t} p_t[e]
//   repeatTop1       = share of consecutive pairs (same file) with top1_t = top1_{t−1}
//   repeatTop1Chance = Σ_e q_e², q = top-1 shares                 (independent draws)
//   coactivation[a][b] = #{t : a,b ∈ S_t} / #{t : a ∈ S_t}        (diagonal 1; 0 row if unused)
//   classShares[c][e]  = routed slots of class-c tokens that went to e (rows sum to 1)
//   languageShares[l][e] likewise per language
//   vocabulary: per expert, the token ids seen ≥ minCount times with the highest share
//               #{occurrences routed to e} / #{occurrences}, ties by count.
/** Per-layer statistics (the same shape as `analyze --json`'s `layers`). */
export interface LayerStats {
  layer: number;
  /** Share of the layer's routed slots that went to each expert (sums to 1). */
  load: number[];
  cv: number;
  maxViolation: number;
  meanEntropy: number;
  topKMass: number;
  repeatTop1: number;
  repeatTop1Chance: number;
  /** coactivation[a][b] = P(b selected | a selected), same token; diagonal 1 (0 if a unused). */
  coactivation: number[][];
  classShares: Record<string, number[]>;
  languageShares: Record<string, number[]>;
  vocabulary: { expert: number; tokens: { text: string; share: number; count: number }[] }[];
}

export interface RoutingStats {
  model: string;
  files: number;
  tokens: number;
  tokensPerSecond: number;
  experts: number;
  topK: number;
  layers: LayerStats[];
}

/** What the statistics need of one token. */
export interface StatsToken {
  id: number;
  text: string;
  cls: string;
  routing: { layer: number; experts: number[]; entropy?: number; topKMass?: number }[];
}

export interface StatsOptions {
  model: string;
  experts: number;
  topK: number;
  moeLayers: number[];
  /** Occurrences a token id needs before it can appear in `vocabulary` (default 5). */
  vocabMinCount?: number;
  /** Tokens listed per expert in `vocabulary` (default 10). */
  vocabTop?: number;
}

interface LayerAcc {
  tokens: number;
  slots: Float64Array; // [E] routed slots per expert
  top1: Float64Array; // [E] tokens whose first choice is e
  co: Float64Array; // [E*E] tokens with both a and b chosen
  entropySum: number;
  entropyTokens: number;
  massSum: number;
  massTokens: number;
  repeat: number;
  pairs: number;
  classes: Map<string, Float64Array>;
  languages: Map<string, Float64Array>;
  /** id → [E] occurrences routed to e, plus the id's occurrence count at index E. */
  vocab: Map<number, Float64Array>;
}

export class RoutingStatsAccumulator {
  private readonly layers = new Map<number, LayerAcc>();
  private readonly texts = new Map<number, string>();
  private files = 0;
  private tokens = 0;
  private readonly E: number;

  constructor(private readonly opts: StatsOptions) {
    this.E = opts.experts;
    for (const l of opts.moeLayers) this.layers.set(l, this.newLayer());
  }

  private newLayer(): LayerAcc {
    const E = this.E;
    return {
      tokens: 0,
      slots: new Float64Array(E),
      top1: new Float64Array(E),
      co: new Float64Array(E * E),
      entropySum: 0,
      entropyTokens: 0,
      massSum: 0,
      massTokens: 0,
      repeat: 0,
      pairs: 0,
      classes: new Map(),
      languages: new Map(),
      vocab: new Map(),
    };
  }

  /** Adds one file's (or text's) tokens, in order. */
  addFile(language: string, tokens: StatsToken[]): void {
    this.files++;
    this.tokens += tokens.length;
    const E = this.E;
    const prevTop1 = new Map<number, number>();
    for (const t of tokens) {
      if (!this.texts.has(t.id)) this.texts.set(t.id, t.text);
      for (const r of t.routing) {
        const acc = this.layers.get(r.layer);
        if (!acc) continue;
        const sel = r.experts.filter((e) => Number.isInteger(e) && e >= 0 && e < E);
        const first = sel[0];
        if (first === undefined) continue;
        acc.tokens++;
        acc.top1[first]! += 1;
        const prev = prevTop1.get(r.layer);
        if (prev !== undefined) {
          acc.pairs++;
          if (prev === first) acc.repeat++;
        }
        prevTop1.set(r.layer, first);
        const cls = bucket(acc.classes, t.cls, E);
        const lang = bucket(acc.languages, language, E);
        let v = acc.vocab.get(t.id);
        if (!v) acc.vocab.set(t.id, (v = new Float64Array(E + 1)));
        v[E]! += 1;
        for (const a of sel) {
          acc.slots[a]! += 1;
          cls[a]! += 1;
          lang[a]! += 1;
          v[a]! += 1;
          for (const b of sel) acc.co[a * E + b]! += 1;
        }
        if (r.entropy !== undefined) {
          acc.entropySum += r.entropy;
          acc.entropyTokens++;
        }
        if (r.topKMass !== undefined) {
          acc.massSum += r.topKMass;
          acc.massTokens++;
        }
      }
    }
  }

  result(elapsedSeconds: number): RoutingStats {
    const layers: LayerStats[] = [];
    for (const [layer, acc] of this.layers) layers.push(this.layerStats(layer, acc));
    return {
      model: this.opts.model,
      files: this.files,
      tokens: this.tokens,
      tokensPerSecond: elapsedSeconds > 0 ? this.tokens / elapsedSeconds : 0,
      experts: this.E,
      topK: this.opts.topK,
      layers,
    };
  }

  private layerStats(layer: number, acc: LayerAcc): LayerStats {
    const E = this.E;
    const load = normalise(acc.slots);
    const { cv, maxViolation } = imbalance(load);
    const q = normalise(acc.top1);
    const coactivation: number[][] = [];
    for (let a = 0; a < E; a++) {
      const na = acc.co[a * E + a] ?? 0;
      const row: number[] = [];
      for (let b = 0; b < E; b++) row.push(na > 0 ? (acc.co[a * E + b] ?? 0) / na : 0);
      coactivation.push(row);
    }
    return {
      layer,
      load,
      cv,
      maxViolation,
      meanEntropy: acc.entropyTokens > 0 ? acc.entropySum / acc.entropyTokens : 0,
      topKMass: acc.massTokens > 0 ? acc.massSum / acc.massTokens : 0,
      repeatTop1: acc.pairs > 0 ? acc.repeat / acc.pairs : 0,
      repeatTop1Chance: q.reduce((s, x) => s + x * x, 0),
      coactivation,
      classShares: shares(acc.classes),
      languageShares: shares(acc.languages),
      vocabulary: this.vocabulary(acc),
    };
  }

  private vocabulary(acc: LayerAcc): LayerStats['vocabulary'] {
    const E = this.E;
    const min = this.opts.vocabMinCount ?? 5;
    const top = this.opts.vocabTop ?? 10;
    const out: LayerStats['vocabulary'] = [];
    for (let e = 0; e < E; e++) {
      const rows: { text: string; share: number; count: number }[] = [];
      for (const [id, v] of acc.vocab) {
        const n = v[E] ?? 0;
        const hits = v[e] ?? 0;
        if (n < min || hits === 0) continue;
        rows.push({ text: this.texts.get(id) ?? '', share: hits / n, count: n });
      }
      rows.sort((x, y) => y.share - x.share || y.count - x.count);
      out.push({ expert: e, tokens: rows.slice(0, top) });
    }
    return out;
  }
}

function bucket(map: Map<string, Float64Array>, key: string, E: number): Float64Array {
  let b = map.get(key);
  if (!b) map.set(key, (b = new Float64Array(E)));
  return b;
}

/** H(p) = −Σ p ln p (0 ln 0 = 0), in nats. */
export function entropy(probs: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] as number;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.max(0, h);
}

/** x / Σx (all zeros stay zeros). */
export function normalise(x: ArrayLike<number>): number[] {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] as number;
  return Array.from(x, (v) => (s > 0 ? (v as number) / s : 0));
}

/** CV (population std / mean) and max violation ((max − mean) / mean) of a load vector. */
export function imbalance(load: number[]): { cv: number; maxViolation: number } {
  const n = load.length;
  if (n === 0) return { cv: 0, maxViolation: 0 };
  const mean = load.reduce((s, x) => s + x, 0) / n;
  if (mean === 0) return { cv: 0, maxViolation: 0 };
  const variance = load.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
  return { cv: Math.sqrt(variance) / mean, maxViolation: (Math.max(...load) - mean) / mean };
}

function shares(map: Map<string, Float64Array>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of [...map].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out[k] = normalise(v);
  return out;
}
