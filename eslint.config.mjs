import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.cache/**', 'tests/generated/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['jest.config.js'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } } },
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // Functions that read top to bottom: none in src longer than a screenful or two (docs/architecture.md).
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }],
    },
  },
  // The layers of docs/architecture.md, enforced: doors → services → (runtime → sql → domain, shapes) → entities,
  // one way; the three doors never import each other (what they share lives in http/ and graphql/, and the
  // schema is composed above them in src/schema.ts). A module that imports a layer above it fails the lint.
  ...[
    [
      'src/entities/**',
      'domain|shapes|sql|runtime|services|infra|storage|auth|http|graphql|rest|resolvers|subscriptions|metrics|cli|app|main|db|schema',
    ],
    [
      'src/{domain,shapes}/**',
      'sql|runtime|services|auth|http|graphql|rest|resolvers|subscriptions|metrics|cli|app|main|schema',
    ],
    [
      'src/sql/**',
      'runtime|services|auth|http|graphql|rest|resolvers|subscriptions|metrics|cli|app|main|schema',
    ],
    ['src/runtime/**', 'services|auth|http|graphql|rest|resolvers|subscriptions|metrics|cli|app|main|schema'],
    ['src/services/**', 'auth|http|graphql|rest|resolvers|subscriptions|metrics|cli|app|main|schema'],
    [
      'src/{infra,storage}/**',
      'domain|shapes|sql|runtime|services|auth|http|graphql|rest|resolvers|subscriptions|metrics|cli|app|main|schema',
    ],
    ['src/auth/**', 'http|graphql|rest|resolvers|subscriptions|metrics|cli|app|main|schema'],
    ['src/{http,graphql}/**', 'rest|resolvers|subscriptions|metrics|cli|app|main|schema'],
    ['src/rest/**', 'resolvers|subscriptions|graphql|cli|app|main|schema'],
    ['src/resolvers/**', 'rest|subscriptions|cli|app|main|schema'],
    ['src/subscriptions/**', 'rest|resolvers|cli|app|main|schema'],
  ].map(([files, forbidden]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${forbidden})(/|\\.|$)`,
              message:
                'Dependencies point one way, and the doors never import each other (docs/architecture.md).',
            },
          ],
        },
      ],
    },
  })),
);
