// @ts-check
import { defineConfig, globalIgnores } from 'eslint/config';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // Build output, dependencies, scratch folders, recorded fixtures and the vendored ARI spec.
  globalIgnores(['dist/', 'node_modules/', '.tmp/', 'test-output/', 'test/fixtures/', 'tools/simulator/spec/**/*.json']),

  // TypeScript everywhere (src, test, tools, scripts), with the types of tsconfig.json.
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits or catches ends the process when it rejects (unhandled rejection).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // A promise returned from inside try/catch/finally escapes the catch unless it is awaited.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-deprecated': 'error',
      eqeqeq: ['error', 'smart'],
      // `async` also states the contract "returns a promise" (fastify handlers, interface methods),
      // with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      // Unused names are tsc's job (noUnusedLocals, noUnusedParameters).
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': 'off',
    },
  },

  // The product logs through its logger; the CLI writes to process.stdout/stderr.
  {
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },

  // The agent panel is plain browser JavaScript served as is, without a build: no type information.
  {
    files: ['src/panel/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'script', globals: globals.browser },
  },

  // The tool configs at the root (mocha's are CommonJS).
  {
    files: ['*.js', '*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
  },
  {
    files: ['*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },

  // Formatting belongs to prettier: turn off the stylistic rules it would fight with.
  prettier,
);
