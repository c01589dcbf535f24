import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** Layering (README, "Development"): action -> engine -> registry -> registry/http; oci is a leaf. */
const restrict = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.cache/**', 'build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  // Issue 12: more than four positional parameters is an options object waiting to be named,
  // and a file past about 400 lines wants splitting by concern.
  {
    files: ['src/**'],
    rules: {
      'max-params': ['error', 4],
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
    },
  },
  restrict(
    ['src/oci/**'],
    [
      {
        group: ['**/registry/**', '**/engine/**', '**/action/**', 'undici', 'undici/*', '@actions/*'],
        message: 'oci/ is a leaf',
      },
    ],
  ),
  restrict(
    ['src/registry/**'],
    [
      {
        group: ['**/engine/**', '**/action/**', '@actions/*'],
        message: 'the registry client knows nothing of the engine or the runner',
      },
    ],
  ),
  restrict(
    ['src/registry/*.ts'],
    [
      {
        group: ['**/engine/**', '**/action/**', '@actions/*', 'undici', 'undici/*'],
        message: 'only src/registry/http imports undici',
      },
    ],
  ),
  restrict(
    ['src/engine/**'],
    [
      {
        group: ['**/action/**', '@actions/*', 'undici', 'undici/*', '**/registry/http/**'],
        message: 'the engine knows registries only through interfaces',
      },
    ],
  ),
);
