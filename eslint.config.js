// Lint rules: the recommended sets of ESLint and typescript-eslint, type-aware, over every
// TypeScript file (library, workers, tests, benchmarks, examples). Formatting is Prettier's job.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/consumer/ is a user's project, plain JavaScript and a TypeScript file that package.test.ts
  // checks against the installed package's own types; test/packages/ holds users' workflow packages.
  {
    ignores: [
      'dist/',
      'coverage/',
      'node_modules/',
      'eslint.config.js',
      '.scratch/',
      'test/consumer/',
      'test/packages/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // An AbortSignal's reason is whatever the caller aborted with; it is passed on as it is.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
