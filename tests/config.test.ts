// Configuration (SPEC sections 10 and 11): defaults, one clear line per mistake naming the variable, and
// what production refuses.
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError, DEV_OTP_ENCRYPTION_KEY, loadConfig, type Config } from '../src/config';

/** The problems loadConfig reports for an environment, one line each (empty when it loads). */
function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    expect(e.message.split('\n')).toEqual(e.problems);
    return e.problems;
  }
}

const PROD_STORAGE = `DefaultEndpointsProtocol=https;AccountName=prodevidence;AccountKey=${randomBytes(64).toString('base64')};EndpointSuffix=core.windows.net`;
const AZURITE_STORAGE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;';

/** A complete production environment; each production test removes or spoils one thing. */
const production = (): NodeJS.ProcessEnv => ({
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://svc:pw@db.internal:5432/payments',
  AZURE_STORAGE_CONNECTION_STRING: PROD_STORAGE,
  APP_TOKEN_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
  USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
  OTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  TOKEN_ISSUER: 'https://idp.example.com/',
  TOKEN_AUDIENCE: 'process-requests',
});

test('an empty environment gives the documented defaults', () => {
  const config: Config = loadConfig({});
  expect(config).toMatchObject({
    env: 'development',
    production: false,
    port: 3000,
    host: '127.0.0.1',
    databaseUrl: undefined,
    storageConnectionString: undefined,
    evidenceContainer: 'evidence',
    dataDir: path.resolve('./.data'),
    appToken: { kind: 'secret', isDevelopment: true },
    userToken: { kind: 'secret', isDevelopment: true },
    tokenIssuer: undefined,
    tokenAudience: undefined,
    otpEncryptionKeyIsDevelopment: true,
    sasTtlSeconds: 300,
    logLevel: 'info',
    introspection: true,
    maxGraphQLOperationsPerOperator: 4,
    metricsPort: 9464,
    metricsHost: '127.0.0.1',
    evidenceReconcileSeconds: 30,
    evidenceSweepSeconds: 3600,
    evidenceOrphanAgeSeconds: 600,
  });
  expect(config.otpEncryptionKey).toHaveLength(32);
  // Blank values count as unset.
  expect(loadConfig({ PORT: '  ', LOG_LEVEL: '' })).toMatchObject({ port: 3000, logLevel: 'info' });
});

test('given values are used', () => {
  const key = randomBytes(32).toString('base64');
  const config = loadConfig({
    PORT: '8080',
    HOST: '0.0.0.0',
    EVIDENCE_CONTAINER: 'receipts-2026',
    DATA_DIR: '/var/lib/pr',
    SAS_TTL_SECONDS: '60',
    LOG_LEVEL: 'debug',
    OTP_ENCRYPTION_KEY: key,
    USER_TOKEN_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nMFkw\\n-----END PUBLIC KEY-----',
    METRICS_PORT: '9100',
    METRICS_HOST: '0.0.0.0',
    EVIDENCE_RECONCILE_SECONDS: '5',
    EVIDENCE_SWEEP_SECONDS: '86400',
    EVIDENCE_ORPHAN_AGE_SECONDS: '0',
    MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: '2',
  });
  expect(config).toMatchObject({
    evidenceReconcileSeconds: 5,
    evidenceSweepSeconds: 86400,
    evidenceOrphanAgeSeconds: 0,
    maxGraphQLOperationsPerOperator: 2,
    metricsPort: 9100,
    metricsHost: '0.0.0.0',
    port: 8080,
    host: '0.0.0.0',
    evidenceContainer: 'receipts-2026',
    dataDir: '/var/lib/pr',
    sasTtlSeconds: 60,
    logLevel: 'debug',
  });
  expect(config.otpEncryptionKey.toString('base64')).toBe(key);
  expect(config.userToken).toEqual({
    kind: 'pem',
    pem: '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----',
  });
});

test('METRICS_PORT=0 turns the metrics listener off; METRICS_HOST takes IPv4, IPv6 and host names', () => {
  expect(loadConfig({ METRICS_PORT: '0' }).metricsPort).toBeNull();
  // A public port chosen by the system (0) never collides with the metrics port.
  expect(loadConfig({ PORT: '0', METRICS_PORT: '0' })).toMatchObject({ port: 0, metricsPort: null });
  for (const host of ['::', '::1', '10.0.0.7', 'localhost', 'metrics.internal.example']) {
    expect(loadConfig({ METRICS_HOST: host }).metricsHost).toBe(host);
  }
});

describe('one clear line per mistake, naming the variable', () => {
  test.each([
    ['PORT', 'not a number', { PORT: 'eighty' }],
    ['PORT', 'out of range', { PORT: '70000' }],
    ['PORT', 'negative', { PORT: '-1' }],
    ['OTP_ENCRYPTION_KEY', 'not base64', { OTP_ENCRYPTION_KEY: 'not-base64!' }],
    [
      'OTP_ENCRYPTION_KEY',
      '16 bytes instead of 32',
      { OTP_ENCRYPTION_KEY: randomBytes(16).toString('base64') },
    ],
    ['LOG_LEVEL', 'not a pino level', { LOG_LEVEL: 'verbose' }],
    ['METRICS_PORT', 'not a number', { METRICS_PORT: 'ninety' }],
    ['METRICS_PORT', 'out of range', { METRICS_PORT: '65536' }],
    ['METRICS_PORT', 'negative', { METRICS_PORT: '-9464' }],
    ['METRICS_PORT', 'the public port', { PORT: '8080', METRICS_PORT: '8080' }],
    ['METRICS_PORT', 'the default public port', { METRICS_PORT: '3000' }],
    ['METRICS_HOST', 'a host with a port', { METRICS_HOST: '127.0.0.1:9464' }],
    ['METRICS_HOST', 'a URL', { METRICS_HOST: 'http://localhost' }],
    ['METRICS_HOST', 'spaces', { METRICS_HOST: 'my host' }],
    ['APP_TOKEN_SECRET', 'a short secret', { APP_TOKEN_SECRET: 'short' }],
    ['USER_TOKEN_SECRET', 'a 31-byte secret', { USER_TOKEN_SECRET: 'x'.repeat(31) }],
    ['DATABASE_URL', 'not a postgres URL', { DATABASE_URL: 'mysql://db/x' }],
    [
      'AZURE_STORAGE_CONNECTION_STRING',
      'no AccountKey',
      { AZURE_STORAGE_CONNECTION_STRING: 'BlobEndpoint=https://x.blob.core.windows.net' },
    ],
    ['EVIDENCE_CONTAINER', 'not a container name', { EVIDENCE_CONTAINER: 'Evidence_Files' }],
    ['SAS_TTL_SECONDS', 'zero', { SAS_TTL_SECONDS: '0' }],
    ['EVIDENCE_RECONCILE_SECONDS', 'zero', { EVIDENCE_RECONCILE_SECONDS: '0' }],
    ['EVIDENCE_RECONCILE_SECONDS', 'over an hour', { EVIDENCE_RECONCILE_SECONDS: '3601' }],
    ['EVIDENCE_SWEEP_SECONDS', 'a duration with a unit', { EVIDENCE_SWEEP_SECONDS: '1h' }],
    ['EVIDENCE_ORPHAN_AGE_SECONDS', 'negative', { EVIDENCE_ORPHAN_AGE_SECONDS: '-1' }],
    ['MAX_GRAPHQL_OPERATIONS_PER_OPERATOR', 'zero', { MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: '0' }],
    ['APP_TOKEN_JWKS_URL', 'not http(s)', { APP_TOKEN_JWKS_URL: 'ftp://idp/jwks' }],
    ['USER_TOKEN_PUBLIC_KEY', 'not a PEM key', { USER_TOKEN_PUBLIC_KEY: 'ssh-rsa AAAA' }],
    [
      'APP_TOKEN_SECRET',
      'a secret and a JWKS URL both set',
      { APP_TOKEN_SECRET: 'y'.repeat(40), APP_TOKEN_JWKS_URL: 'https://idp/jwks' },
    ],
  ] as Array<[string, string, NodeJS.ProcessEnv]>)('%s: %s', (variable, _what, env) => {
    const lines = problems(env);
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(`${variable}:`)).toBe(true);
    expect(lines[0]).not.toContain('\n');
  });

  test('several mistakes give one line each, all reported at once', () => {
    const lines = problems({
      PORT: 'x',
      LOG_LEVEL: 'loud',
      OTP_ENCRYPTION_KEY: 'abc',
      APP_TOKEN_SECRET: 'short',
    });
    expect(lines.map((l) => l.split(':')[0]).sort()).toEqual([
      'APP_TOKEN_SECRET',
      'LOG_LEVEL',
      'OTP_ENCRYPTION_KEY',
      'PORT',
    ]);
  });

  test('a rule over several variables is not judged while one of them is wrong (no second line)', () => {
    // METRICS_PORT falls back to its default (9464) while wrong: that is no clash with PORT.
    expect(problems({ PORT: '9464', METRICS_PORT: 'x' })).toEqual([
      'METRICS_PORT: must be an integer from 0 to 65535, got "x"',
    ]);
    expect(problems({ PORT: '9464', METRICS_PORT: '9464' })).toEqual([
      'METRICS_PORT: must differ from PORT (9464); metrics are never served on the public port',
    ]);
    // A wrong variable and a rule about others are both reported.
    expect(problems({ NODE_ENV: 'production', PORT: 'x' }).map((l) => l.split(':')[0])).toContain('PORT');
    expect(problems({ NODE_ENV: 'production', PORT: 'x' }).map((l) => l.split(':')[0])).toContain(
      'DATABASE_URL',
    );
  });

  test('the thrown error is a ConfigError whose message is those lines', () => {
    expect(() => loadConfig({ PORT: 'x' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'x' })).toThrow(/^PORT: /);
  });
});

describe('NODE_ENV=production', () => {
  test('a complete production configuration loads; introspection is off', () => {
    const config = loadConfig(production());
    expect(config).toMatchObject({
      production: true,
      databaseUrl: 'postgres://svc:pw@db.internal:5432/payments',
      storageConnectionString: PROD_STORAGE,
      appToken: { kind: 'jwks', url: 'https://idp.example.com/.well-known/jwks.json' },
      userToken: { kind: 'secret', isDevelopment: false },
      otpEncryptionKeyIsDevelopment: false,
      introspection: false,
    });
  });

  test.each([
    ['DATABASE_URL', 'missing DATABASE_URL (no embedded PostgreSQL)', { DATABASE_URL: undefined }],
    [
      'AZURE_STORAGE_CONNECTION_STRING',
      'missing storage (no local Azurite)',
      { AZURE_STORAGE_CONNECTION_STRING: undefined },
    ],
    [
      'AZURE_STORAGE_CONNECTION_STRING',
      'the devstoreaccount1 account',
      { AZURE_STORAGE_CONNECTION_STRING: AZURITE_STORAGE },
    ],
    [
      'AZURE_STORAGE_CONNECTION_STRING',
      'UseDevelopmentStorage',
      { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true;AccountKey=abc' },
    ],
    ['APP_TOKEN_SECRET', 'the development app secret (nothing set)', { APP_TOKEN_JWKS_URL: undefined }],
    [
      'APP_TOKEN_SECRET',
      'the development app secret (set explicitly)',
      { APP_TOKEN_JWKS_URL: undefined, APP_TOKEN_SECRET: 'dev-app-token-secret-change-me-0123456789' },
    ],
    ['USER_TOKEN_SECRET', 'the development user secret', { USER_TOKEN_SECRET: undefined }],
    ['OTP_ENCRYPTION_KEY', 'the development OTP key (nothing set)', { OTP_ENCRYPTION_KEY: undefined }],
    [
      'OTP_ENCRYPTION_KEY',
      'the development OTP key (set explicitly)',
      { OTP_ENCRYPTION_KEY: DEV_OTP_ENCRYPTION_KEY },
    ],
  ] as Array<[string, string, NodeJS.ProcessEnv]>)('refuses %s: %s', (variable, _what, change) => {
    const env = { ...production(), ...change };
    const lines = problems(env);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${variable}: `));
  });

  test('a bare production environment lists every refusal', () => {
    const lines = problems({ NODE_ENV: 'production' });
    expect(lines.map((l) => l.split(':')[0]).sort()).toEqual([
      'APP_TOKEN_SECRET',
      'AZURE_STORAGE_CONNECTION_STRING',
      'DATABASE_URL',
      'OTP_ENCRYPTION_KEY',
      'USER_TOKEN_SECRET',
    ]);
  });

  test('the same development values are accepted outside production', () => {
    expect(
      problems({
        NODE_ENV: 'development',
        AZURE_STORAGE_CONNECTION_STRING: AZURITE_STORAGE,
        OTP_ENCRYPTION_KEY: DEV_OTP_ENCRYPTION_KEY,
      }),
    ).toEqual([]);
  });
});

test('progress stream limits: documented defaults, given values, and a clear line for a bad one', () => {
  expect(loadConfig({})).toMatchObject({
    maxProgressStreams: 1000,
    maxProgressStreamsPerOperator: 50,
    maxSubscriptionsPerSocket: 20,
    progressStallSeconds: 30,
    operatorRecheckSeconds: 30,
  });
  expect(
    loadConfig({
      MAX_PROGRESS_STREAMS_PER_OPERATOR: '5',
      MAX_SUBSCRIPTIONS_PER_SOCKET: '3',
      PROGRESS_STALL_SECONDS: '2',
      OPERATOR_RECHECK_SECONDS: '7',
    }),
  ).toMatchObject({
    maxProgressStreamsPerOperator: 5,
    maxSubscriptionsPerSocket: 3,
    progressStallSeconds: 2,
    operatorRecheckSeconds: 7,
  });
  for (const [variable, value] of [
    ['MAX_PROGRESS_STREAMS_PER_OPERATOR', '0'],
    ['MAX_SUBSCRIPTIONS_PER_SOCKET', 'many'],
    ['PROGRESS_STALL_SECONDS', '0'],
    ['OPERATOR_RECHECK_SECONDS', '3601'],
  ]) {
    const lines = problems({ [variable]: value });
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(`${variable}: must be an integer`)).toBe(true);
  }
});
