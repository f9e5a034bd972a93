// Probes the content cases' spots without a browser: `node --import tsx test/e2e/probeSpots.ts
// [--model DIR] [--all]`. Replays each spot of fixtures.ts (with --all also CANDIDATES below)
// through the real completion pipeline (post-processing, quality gate; debounce 0 as in the e2e
// profile) and the in-process engine, as a slow typist: one keystroke, then the suggestion (or
// why none). The editor's Enter indentation and auto-closed brackets are imitated. Use it to pick
// new spots when the model or the gate changes, then confirm them with `npm run test:e2e`.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { inProcessEngine } from '../../src/completion/inProcessEngine';
import {
  CompletionPipeline,
  DEFAULT_COMPLETION_SETTINGS,
  type PipelineEvent,
} from '../../src/completion/pipeline';
import { Engine } from '../../src/engine/engine';
import { CONTENT_FILES, SPOTS, lineOf, longModule, type Spot } from './fixtures';
import { ROOT } from './harness';

/** Spots tried with --all besides SPOTS (a candidate that shows a suggestion may become one). */
const CANDIDATES: Spot[] = [
  { name: 'cart: const total', file: 'src/cart.ts', after: 'const sum = subtotal(items);', typed: 'const total = ' },
  { name: 'cart: return count', file: 'src/cart.ts', after: 'count += item.quantity;\n  }', typed: 'return ' },
  { name: 'cart: isEmpty block', file: 'src/cart.ts', after: 'return applyDiscount(sum, discount);\n}', typed: '\nexport function isEmpty(items: LineItem[]): boolean {\n' },
  { name: 'cart: call subtotal(', file: 'src/cart.ts', after: 'export function cartTotal', typed: 'const value = subtotal(' },
  { name: 'cart: member item.', file: 'src/cart.ts', after: 'for (const item of items) {', typed: 'const cost = item.' },
  { name: 'users: return this.', file: 'src/users.ts', after: 'get(id: number): User | undefined {', typed: 'return this.' },
  { name: 'users: count block', file: 'src/users.ts', after: 'return result;\n  }', typed: '\ncount(): number {\n' },
  { name: 'users: const user = ', file: 'src/users.ts', after: 'remove(id: number): boolean {', typed: 'const user = ' },
  { name: 'users: has block', file: 'src/users.ts', after: 'return this.users.delete(id);\n  }', typed: '\nhas(id: number): boolean {\n' },
  { name: 'text: return text', file: 'src/text.ts', after: 'export function isBlank(text: string): boolean {\n  return text.trim().length === 0;\n}', typed: '\nexport function shout(text: string): string {\n' },
  { name: 'text: const first = ', file: 'src/text.ts', after: 'export function capitalize(text: string): string {', typed: 'const first = ' },
  { name: 'text: return words', file: 'src/text.ts', after: "return text.split(/\\s+/).filter((w) => w.length > 0);\n}", typed: '\nexport function wordCount(text: string): number {\n' },
  { name: 'users: get body', file: 'src/users.ts', after: 'return this.users.delete(id);\n  }', typed: '\nsize(): number {\n' },
  { name: 'users: set after const user', file: 'src/users.ts', after: 'const user: User = {', typed: '' },
  { name: 'users: return this.users.', file: 'src/users.ts', after: 'remove(id: number): boolean {', typed: 'return this.users.' },
  { name: 'users: if (user.', file: 'src/users.ts', after: 'for (const user of this.users.values()) {', typed: 'if (user.' },
  { name: 'users: const users = ', file: 'src/users.ts', after: 'activeUsers(): User[] {', typed: 'const users = ' },
  { name: 'cart: if (!discount) body', file: 'src/cart.ts', after: 'return applyDiscount(sum, discount);\n}', typed: '\nexport function discounted(amount: number, discount?: Discount): number {\n  if (!discount) {\n' },
  { name: 'cart: let sum = ', file: 'src/cart.ts', after: 'export function cartTotal', typed: 'let total = ' },
  { name: 'cart: return sum', file: 'src/cart.ts', after: 'sum += item.price * item.quantity;\n  }', typed: 'return ' },
  { name: 'cart: const price = item.', file: 'src/cart.ts', after: 'for (const item of items) {', typed: 'const price = item.' },
  { name: 'cart: for body', file: 'src/cart.ts', after: 'return applyDiscount(sum, discount);\n}', typed: '\nexport function totalQuantity(items: LineItem[]): number {\n  let total = 0;\n  for (const item of items) {\n' },
  { name: 'text: return text.', file: 'src/text.ts', after: 'export function isBlank(text: string): boolean {', typed: 'return text.' },
  { name: 'text: const trimmed = ', file: 'src/text.ts', after: 'export function isBlank(text: string): boolean {', typed: 'const trimmed = ' },
  { name: 'long: const total = ', file: 'src/long.ts', after: 'const sum = subtotal(items);', typed: 'const total = ' },
  { name: 'long: return count', file: 'src/long.ts', after: 'count += item.quantity;\n  }', typed: 'return ' },
];

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
export function spotStart(spot: Spot, files: Record<string, string>): { text: string; offset: number } {
  const text = files[spot.file];
  if (text === undefined) throw new Error(`${spot.name}: no file ${spot.file}`);
  const afterLines = spot.after.split('\n');
  const line = lineOf(text, afterLines[0] ?? '') + afterLines.length - 1;
  const lines = text.split('\n');
  const offset = lines.slice(0, line).join('\n').length;
  return { text, offset };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      all: { type: 'boolean', default: false },
      fresh: { type: 'boolean', default: false },
    },
  });
  const modelDir = resolve(values.model ?? resolve(ROOT, 'models', 'moe-lens-code'));
  const engine = await Engine.open(modelDir, { executionProvider: 'cpu' });
  const settings = { ...DEFAULT_COMPLETION_SETTINGS, debounceMs: 0 };
  const files = { ...CONTENT_FILES, 'src/long.ts': longModule() };
  const spots = values.all ? [...SPOTS, ...CANDIDATES] : SPOTS;
  for (const spot of spots) {
    // A fresh pipeline per spot: no cache from another spot.
    const pipeline = new CompletionPipeline(inProcessEngine(engine), () => settings);
    pipeline.setModel({ contextLength: engine.info().contextLength });
    let why = '';
    pipeline.onEvent = (e: PipelineEvent) => {
      if (e.type === 'none') why = e.reason;
      if (e.type === 'skip') why = `skip: ${e.reason}`;
    };
    const start = spotStart(spot, files);
    const keys: { text: string; offset: number }[] = [];
    typeInto(start.text, start.offset, '\n' + spot.typed, (text, offset) => keys.push({ text, offset }));
    console.log(`## ${spot.name} (${spot.file}, after ${JSON.stringify(spot.after)})`);
    // --fresh: only the last keystroke, as after fast typing (earlier requests all cancelled).
    for (const [i, k] of keys.entries()) {
      if (values.fresh && i < keys.length - 1) continue;
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
      const line = k.text.slice(k.text.lastIndexOf('\n', k.offset - 1) + 1, k.offset);
      const last = i === keys.length - 1 ? ' (last key)' : '';
      console.log(
        `  ${JSON.stringify(line)}${last} → ${s ? `${JSON.stringify(s.text)} conf ${s.confidence.toFixed(2)} ${s.source}` : `none: ${why}`} ${ms} ms`,
      );
    }
    pipeline.dispose();
  }
  await engine.dispose();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
