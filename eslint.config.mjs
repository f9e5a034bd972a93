// Flat config: typescript-eslint recommended, zero warnings (see package.json "lint"), and the
// layer rules of docs/ARCHITECTURE.md ("Layers"): which folder of src/ may import which. The
// folder graph is acyclic by construction; scripts/checkImports.ts also checks file-level cycles.
import tseslint from 'typescript-eslint';

/**
 * What each folder of src/ may import at run time (besides itself and packages). `types` lists
 * folders it may import only with `import type` (erased from the bundle).
 */
const LAYERS = {
  format: { uses: [] }, // the model-folder contract: manifest, graph I/O names, typed errors
  language: { uses: [] }, // source-text knowledge: lines, brackets, syntax, token classes, secrets
  checkpoint: { uses: ['format'] }, // Hugging Face configs, families, safetensors reading
  reference: { uses: ['format', 'checkpoint'] }, // the plain-TypeScript forward pass
  engine: { uses: ['format'] }, // onnxruntime, tokenizer, decode loop
  convert: { uses: ['format', 'checkpoint', 'engine/tokenizer', 'engine/fim'], types: ['engine'] },
  analysis: { uses: ['format', 'language'], types: ['engine'] },
  completion: { uses: ['format', 'language'], types: ['engine', 'host'] },
  host: { uses: ['format', 'engine', 'analysis', 'language'] },
  webview: { uses: ['analysis'] }, // runs in the browser: plain data and maths only
  explain: { uses: ['format', 'language', 'completion'], types: ['host', 'engine'] }, // Explain's logic
  vscode: {
    uses: [
      'format',
      'analysis',
      'completion',
      'host',
      'webview',
      'convert/paths',
      'language',
      'explain',
    ],
    types: ['engine', 'convert'],
  },
};
const FOLDERS = Object.keys(LAYERS);

/** Modules that load the TypeScript compiler (megabytes): only the engine process and the CLI. */
const HEAVY = ['tokenClasses', 'syntaxCheck'];
/** Folders that run in the extension host, where activation must stay light. */
const EXTENSION_HOST = ['vscode', 'completion', 'analysis', 'webview', 'explain'];

function layerRules(
  folder,
  files = [`src/${folder}/**/*.ts`],
  { heavyAllowed = false, vscodeFree = folder !== 'vscode' } = {},
) {
  const { uses, types = [] } = LAYERS[folder];
  const usable = (f) => uses.includes(f);
  const patterns = [];
  for (const other of FOLDERS) {
    if (other === folder || usable(other)) continue;
    const files = uses.filter((u) => u.startsWith(`${other}/`)).map((u) => u.split('/')[1]);
    const allowed = files.length ? `(?!(${files.join('|')})$)` : '';
    patterns.push({
      regex: `^(\\.\\./)+${other}\\/${allowed}`,
      allowTypeImports: types.includes(other),
      message: `src/${folder} must not import src/${other} (layers: docs/ARCHITECTURE.md).`,
    });
  }
  if (EXTENSION_HOST.includes(folder) && !heavyAllowed) {
    patterns.push({
      regex: `^(\\.\\./)+language\\/(${HEAVY.join('|')})$`,
      allowTypeImports: true,
      message: `src/${folder} runs in the extension host: the TypeScript compiler must not load there (classes and syntax checks run in the engine process).`,
    });
  }
  const paths = vscodeFree
    ? [
        {
          name: 'vscode',
          message:
            folder === 'vscode'
              ? 'src/vscode/core is vscode-free (unit-tested in plain Node): it must not import vscode.'
              : `src/${folder} must not import vscode (only src/vscode does).`,
        },
      ]
    : [];
  if (folder === 'vscode' && vscodeFree) {
    // Nor the files of src/vscode around it, which do (type-only imports are erased).
    patterns.push({
      regex: '^\\.\\./(?!\\.\\./)',
      allowTypeImports: true,
      message:
        'src/vscode/core is vscode-free: it must not import the files of src/vscode that use vscode.',
    });
  }
  return {
    files,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'media/**', 'training/**', 'test/fixtures/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      curly: ['error', 'multi-line'],
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  ...FOLDERS.map((f) => layerRules(f)),
  // The in-process engine adapter (tests, benchmarks, eval:editor; never imported by the
  // extension) runs the syntax check in its own process.
  layerRules('completion', ['src/completion/inProcessEngine.ts'], { heavyAllowed: true }),
  // src/vscode/core: the vscode layer's logic without the vscode module (plain-Node unit tests).
  layerRules('vscode', ['src/vscode/core/**/*.ts'], { vscodeFree: true }),
  {
    files: ['src/cli.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: 'vscode', message: 'the CLI must not import vscode.' }] },
      ],
    },
  },
);
