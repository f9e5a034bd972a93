// Flat config: typescript-eslint recommended, zero warnings (see package.json "lint").
import tseslint from 'typescript-eslint';

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
  {
    // Architecture invariant: the engine and the converter never import vscode.
    files: [
      'src/engine/**/*.ts',
      'src/convert/**/*.ts',
      'src/completion/**/*.ts',
      'src/cli.ts',
      'src/host/**/*.ts',
      'src/analysis/**/*.ts',
      'src/webview/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'vscode', message: 'src/engine and src/convert must not import vscode.' },
          ],
        },
      ],
    },
  },
);
