// Which language a file is, from its name (VS Code language ids). Light: the extension host uses
// it to label workspace files; the classification itself runs in the engine process.

const EXTENSIONS: Record<string, string> = {
  ts: 'typescript', mts: 'typescript', cts: 'typescript', tsx: 'typescriptreact',
  js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascriptreact',
  py: 'python', pyi: 'python', go: 'go', rs: 'rust', java: 'java', c: 'c', h: 'c',
  cc: 'cpp', cpp: 'cpp', cxx: 'cpp', hpp: 'cpp', hh: 'cpp', hxx: 'cpp', cs: 'csharp',
  rb: 'ruby', php: 'php', sh: 'shellscript', bash: 'shellscript', zsh: 'shellscript',
  json: 'json', md: 'markdown', yaml: 'yaml', yml: 'yaml', toml: 'toml', sql: 'sql',
  lua: 'lua', html: 'html', htm: 'html', css: 'css', scss: 'scss', less: 'less', kt: 'kotlin',
  kts: 'kotlin', swift: 'swift', scala: 'scala', dart: 'dart', r: 'r', pl: 'perl', xml: 'xml',
  vue: 'vue', svelte: 'svelte',
}; // prettier-ignore

/** VS Code language id of a file, from its extension; null if unknown. */
export function languageOfPath(path: string): string | null {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  if (/^(Makefile|GNUmakefile)$/.test(base)) return 'makefile';
  if (/^Dockerfile/.test(base)) return 'dockerfile';
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return null;
  return EXTENSIONS[base.slice(dot + 1).toLowerCase()] ?? null;
}
