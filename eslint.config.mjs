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
  // The layers of ARCHITECTURE.md, enforced: doors → services → entities, one way. A service, an entity or
  // an infrastructure module that imports a door (or the app that assembles them) fails the lint.
  ...[
    ['src/entities/**', 'services|infra|storage|auth|rest|resolvers|subscriptions|metrics|cli|app|main|db'],
    ['src/services/**', 'auth|rest|resolvers|subscriptions|metrics|cli|app|main'],
    ['src/{infra,storage}/**', 'services|auth|rest|resolvers|subscriptions|metrics|cli|app|main'],
    ['src/auth/**', 'rest|resolvers|subscriptions|metrics|cli|app|main'],
  ].map(([files, forbidden]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${forbidden})(/|$)`,
              message: 'Dependencies point one way: doors → services → entities (ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  })),
);
