/** jest: TypeScript through @swc/jest with decorator metadata; embedded PostgreSQL and Azurite from globalSetup. */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  setupFiles: ['reflect-metadata'],
  cacheDirectory: '<rootDir>/.cache/jest',
  testTimeout: 60000,
};

// Two projects: `unit` (tests/unit: plain functions, no database, no global set-up, seconds) and
// `integration` (everything else, on the embedded PostgreSQL and Azurite that globalSetup starts).
// `npm test` runs both; `npm run test:unit` only the first.
module.exports = {
  testTimeout: 60000,
  maxWorkers: 2,
  // Each test file loads the whole service into its worker's module registry, so a worker that ran half
  // the suite holds over 1 GB; tearing that down took longer than jest's 500 ms exit grace ("a worker
  // process has failed to exit gracefully", with no open handle behind it). A worker above this after a
  // file is replaced by a fresh one.
  workerIdleMemoryLimit: '300MB',
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/tests/unit'], testMatch: ['**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/tests'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/tests/unit/'],
      globalSetup: '<rootDir>/tests/support/global-setup.ts',
      globalTeardown: '<rootDir>/tests/support/global-teardown.mjs',
    },
  ],
};
