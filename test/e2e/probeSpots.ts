// Probes the content cases' spots without a browser:
//   node --import tsx test/e2e/probeSpots.ts [--model DIR] [--all] [--verbose]
// Replays each spot of fixtures.ts (SPOTS and LONG_SPOT; with --all also CANDIDATES) through the
// real completion pipeline (post-processing, quality gate; debounce 0 as in the e2e profile) and
// the in-process engine, twice: as a slow typist (every keystroke's request awaited, so earlier
// suggestions can be typed through) and as a fast one (only the last keystroke's request). The
// editor's Enter indentation and auto-closed brackets are imitated. In code-server the timing
// lies in between, so a spot is ROBUST when both show a suggestion. Use it to pick new spots when
// the model or the gate changes, then confirm them with `npm run test:e2e` (MOE_LENS_E2E_SPOTS=all
// runs the candidates in the real editor too).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { inProcessEngine } from '../../src/completion/inProcessEngine';
import {
  CompletionPipeline,
  DEFAULT_COMPLETION_SETTINGS,
  type PipelineEvent,
} from '../../src/completion/pipeline';
import { Engine } from '../../src/engine/engine';
import {
  CANDIDATES,
  CONTENT_FILES,
  LONG_SPOT,
  SPOTS,
  lineOf,
  longModule,
  type Spot,
} from './fixtures';
import { E2E_MIN_CONFIDENCE, ROOT } from './harness';

const OPEN: Record<string, string> = { '(': ')', '[': ']', '{': '}', "'": "'", '"': '"' };

/** The editor after typing `typed` at the cursor of `text` (auto-close, overtype, indent). */
export function typeInto(
  text: string,
  offset: number,
  typed: string,
  onKey: (text: string, offset: number) => void = () => {},
): { text: string; offset: number } {
  let before = text.slice(0, offset);
  let after = text.slice(offset);
  for (const c of typed) {
    if (c === '\n') {
      const line = before.slice(before.lastIndexOf('\n') + 1);
      const indent = /^\s*/.exec(line)?.[0] ?? '';
      if (line.trimEnd().endsWith('{') && after.startsWith('}')) {
        // Enter between auto-closed braces: the closer moves to its own line.
        before += `\n${indent}  `;
        after = `\n${indent}${after}`;
      } else {
        before += `\n${indent}${line.trimEnd().endsWith('{') ? '  ' : ''}`;
      }
    } else if (after.startsWith(c) && ')]}\'"'.includes(c)) {
      before += c;
      after = after.slice(1);
    } else if (OPEN[c] && /^(\s|$|[;,)\]}])/.test(after)) {
      before += c;
      after = (OPEN[c] ?? '') + after;
    } else {
      before += c;
    }
    onKey(before + after, before.length);
  }
  return { text: before + after, offset: before.length };
}

/** The spot's file and the cursor at the end of its `after` line (where the case presses Enter). */
export function spotStart(
  spot: Spot,
  files: Record<string, string>,
): { text: string; offset: number } {
  const text = files[spot.file];
  if (text === undefined) throw new Error(`${spot.name}: no file ${spot.file}`);
  const afterLines = spot.after.split('\n');
  const line = lineOf(text, afterLines[0] ?? '') + afterLines.length - 1;
  const lines = text.split('\n');
  const offset = lines.slice(0, line).join('\n').length;
  return { text, offset };
}

export type Key = { text: string; offset: number };

/**
 * The suggestion after the last key, or why none, with the pipeline fed `keys` one by one and
 * each request awaited (a slow typist); `fresh`: only the last key (a fast typist whose earlier
 * requests were all cancelled). The real editor lies in between: a robust spot shows a
 * suggestion in both.
 */
export async function lastKey(
  engine: Engine,
  spot: Spot,
  keys: Key[],
  fresh: boolean,
  verbose: boolean,
): Promise<string> {
  // The threshold the e2e harness pins (harness.ts), so the spots found here show there.
  const settings = {
    ...DEFAULT_COMPLETION_SETTINGS,
    debounceMs: 0,
    minConfidence: E2E_MIN_CONFIDENCE,
  };
  const pipeline = new CompletionPipeline(inProcessEngine(engine), () => settings);
  pipeline.setModel({ contextLength: engine.info().contextLength });
  let why = '';
  pipeline.onEvent = (e: PipelineEvent) => {
    if (e.type === 'none') why = e.reason;
    if (e.type === 'skip') why = `skip: ${e.reason}`;
  };
  let result = '';
  for (const [i, k] of keys.entries()) {
    if (fresh && i < keys.length - 1) continue;
    why = '';
    const t0 = performance.now();
    const s = await pipeline.complete({
      uri: `file:///w/${spot.file}`,
      path: `/w/${spot.file}`,
      displayPath: spot.file,
      languageId: 'typescript',
      text: k.text,
      offset: k.offset,
    });
    const ms = (performance.now() - t0).toFixed(0);
    result = s
      ? `${JSON.stringify(s.text)} (conf ${s.confidence.toFixed(2)}, ${s.source})`
      : `none: ${why}`;
    if (verbose) {
      const line = k.text.slice(k.text.lastIndexOf('\n', k.offset - 1) + 1, k.offset);
      console.log(`    ${JSON.stringify(line)} → ${result} ${ms} ms`);
    }
  }
  pipeline.dispose();
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      all: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const modelDir = resolve(values.model ?? resolve(ROOT, 'models', 'moe-lens-code'));
  const engine = await Engine.open(modelDir, { executionProvider: 'cpu' });
  const files = { ...CONTENT_FILES, 'src/long.ts': longModule() };
  const spots = values.all ? [...SPOTS, LONG_SPOT, ...CANDIDATES] : [...SPOTS, LONG_SPOT];
  let robust = 0;
  for (const spot of spots) {
    const start = spotStart(spot, files);
    const keys: Key[] = [];
    typeInto(start.text, start.offset, '\n' + spot.typed, (text, offset) =>
      keys.push({ text, offset }),
    );
    const slow = await lastKey(engine, spot, keys, false, values.verbose ?? false);
    const fast = await lastKey(engine, spot, keys, true, false);
    const ok = !slow.startsWith('none') && !fast.startsWith('none');
    if (ok) robust++;
    console.log(`${ok ? 'ROBUST' : 'silent'} ${spot.name}\n    slow: ${slow}\n    fast: ${fast}`);
  }
  console.log(`${robust} of ${spots.length} spots show a suggestion both ways`);
  await engine.dispose();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
