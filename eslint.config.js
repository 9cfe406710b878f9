// Type-aware lint rules (typescript-eslint): what the compiler does not catch. Formatting is
// Biome's (biome.json); unused locals and parameters are tsc's (tsconfig.json).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', '.build/', 'node_modules/', '.tools/', '.data/', 'native/*/build/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // An unawaited promise in a workflow or an activity is a lost failure or a race.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      // A workflow's query handler reads a variable before the code below it assigns it once.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      eqeqeq: ['error', 'smart'],
      // Arrays, numbers and booleans print as meant in messages; objects and unknowns do not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowArray: true, allowNumber: true, allowBoolean: true, allowNullish: true }],
      // Rethrowing what was caught (or a failure stored for later) keeps its type unknown.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true, allowRethrowing: true }],
      // Activities are objects of functions built by factories and destructured by design.
      '@typescript-eslint/unbound-method': 'off',
      // Unions such as `keyof typeof NAMED_MIXES | string` document the known values.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // tsc reports unused locals and parameters (noUnusedLocals, noUnusedParameters).
      '@typescript-eslint/no-unused-vars': 'off',
      // Activities are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
      // JSON read from storage is `any` until the schema checks in src/input/validate.ts own it.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    // Issue 21: a file or function a newcomer can read in one sitting. Product code only.
    files: ['workflows/**/*.ts', 'activities/**/*.ts', 'src/**/*.ts', 'cli/**/*.ts', 'workers/**/*.ts', 'infra/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 500, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 100, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Tests narrow what helpers return with `as` rather than spelling out generic arguments.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unnecessary-type-assertion': 'off' },
  },
  {
    // The workflow sandbox: activities only as types (their code runs on workers), no Node APIs.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['../activities/*', '../activities'], allowTypeImports: true, message: 'workflows import activities type-only (proxyActivities)' },
          { group: ['node:*'], message: 'workflow code runs in the deterministic sandbox: no Node APIs' },
        ],
      }],
    },
  },
);
