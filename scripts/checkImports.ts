// No import cycles in src/, between files or between folders (docs/ARCHITECTURE.md, "Layers").
// Type-only imports count: a type cycle still ties two modules together. Run by scripts/test.sh;
// exits 1 and prints each cycle.
//   node --import tsx scripts/checkImports.ts [--json]
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

const ROOT = resolve(__dirname, '..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The src/ files `file` imports (relative specifiers only; packages are not ours). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out: string[] = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const base = resolve(dirname(file), ref.fileName);
    const hit = [`${base}.ts`, base, join(base, 'index.ts')].find(
      (c) => c.endsWith('.ts') && existsSync(c),
    );
    if (hit) out.push(hit);
  }
  return out;
}

/** Strongly connected components with more than one node (or a self-edge): the cycles. */
export function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** src/engine/model.ts -> engine; top-level files (extension.ts, cli.ts) -> "." */
const folderOf = (file: string): string => {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? (parts[0] as string) : '.';
};

export function importGraphs(): {
  files: Map<string, Set<string>>;
  folders: Map<string, Set<string>>;
} {
  const files = new Map<string, Set<string>>();
  const folders = new Map<string, Set<string>>();
  for (const f of sourceFiles(SRC)) {
    const from = relative(ROOT, f);
    const deps = importsOf(f).map((d) => relative(ROOT, d));
    files.set(from, new Set(deps));
    const fa = folderOf(f);
    if (!folders.has(fa)) folders.set(fa, new Set());
    for (const d of importsOf(f)) {
      const fb = folderOf(d);
      // Top-level entry points wire everything; they are nobody's dependency.
      if (fb !== fa && fa !== '.') (folders.get(fa) as Set<string>).add(fb);
    }
  }
  return { files, folders };
}

if (require.main === module) {
  const { files, folders } = importGraphs();
  const fileCycles = cycles(files);
  const folderCycles = cycles(folders);
  if (process.argv.includes('--json')) {
    const edges = Object.fromEntries([...folders].map(([k, v]) => [k, [...v].sort()]));
    console.log(JSON.stringify({ fileCycles, folderCycles, folders: edges }, null, 1));
  }
  for (const c of fileCycles) console.error(`import cycle between files: ${c.join(' <-> ')}`);
  for (const c of folderCycles) console.error(`import cycle between folders: ${c.join(' <-> ')}`);
  if (fileCycles.length + folderCycles.length > 0) process.exit(1);
  console.log(`imports: ${files.size} files in ${folders.size} folders, no cycles`);
}
