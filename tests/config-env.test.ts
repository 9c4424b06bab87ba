// Configuration of SPEC section 15: every variable loadConfig reads is documented (.env.example and the
// table of docs/configuration.md), and the production-path variables refuse bad values with one line naming them.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config';
import { makeCa } from './support/certificates';

const root = path.resolve(__dirname, '..');

/** Names loadConfig reads from an environment (through a Proxy that records every lookup). */
function namesRead(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const proxy = new Proxy(env, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
  });
  try {
    loadConfig(proxy);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
  }
  return read;
}

const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://svc:pw@db.internal:5432/payments?sslmode=verify-full',
  AZURE_STORAGE_ACCOUNT_URL: 'https://prodevidence.blob.core.windows.net',
  APP_TOKEN_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
  USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
  OTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
};

/** Every name loadConfig reads, over environments that take each branch. */
function everyNameRead(): string[] {
  const names = new Set<string>();
  const environments: Record<string, string>[] = [
    {},
    PRODUCTION,
    { AZURE_STORAGE_CONNECTION_STRING: 'AccountKey=x', CORS_ORIGINS: 'https://a.example' },
    { APP_TOKEN_PUBLIC_KEY: 'x', USER_TOKEN_JWKS_URL: 'https://idp/jwks', DATABASE_SSL_CA: '/nonexistent' },
  ];
  for (const env of environments) for (const name of namesRead(env)) names.add(name);
  return [...names].sort();
}

const envExampleNames = () =>
  readFileSync(path.join(root, '.env.example'), 'utf8')
    .split('\n')
    .map((line) => /^#?\s?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);

/** Names in the first column of the table of variables in docs/configuration.md. */
function readmeTableNames(): string[] {
  const readme = readFileSync(path.join(root, 'docs', 'configuration.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Variables'));
  const table = section.slice(0, section.indexOf('\n## ', 5));
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...line.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]));
}

test('the recording Proxy sees what loadConfig reads (so the checks below can fail)', () => {
  const read = namesRead({});
  expect(read.has('PORT')).toBe(true);
  expect(read.has('DATABASE_URL')).toBe(true);
  expect(read.has('NOT_A_VARIABLE')).toBe(false);
});

test('.env.example lists every variable loadConfig reads, and nothing it does not read', () => {
  const read = everyNameRead();
  const listed = envExampleNames();
  expect(read.filter((name) => !listed.includes(name))).toEqual([]);
  expect(listed.filter((name) => !read.includes(name))).toEqual([]);
  expect(new Set(listed).size).toBe(listed.length); // each once
});

test('the table of docs/configuration.md lists every variable loadConfig reads', () => {
  const documented = readmeTableNames();
  expect(everyNameRead().filter((name) => !documented.includes(name))).toEqual([]);
});

/** The problems loadConfig reports, one line each. */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

describe('one clear line naming the variable', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-env-'));
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, makeCa('Config CA').cert);
  const notPem = path.join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');

  test.each([
    ['DATABASE_URL', 'sslmode=allow', { DATABASE_URL: 'postgres://u@h/db?sslmode=allow' }],
    ['DATABASE_URL', 'an unknown sslmode', { DATABASE_URL: 'postgres://u@h/db?sslmode=strict' }],
    [
      'DATABASE_URL',
      'sslrootcert in the URL',
      { DATABASE_URL: 'postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca' },
    ],
    ['DATABASE_URL', 'another parameter', { DATABASE_URL: 'postgres://u@h/db?connect_timeout=5' }],
    ['DATABASE_URL', 'no database', { DATABASE_URL: 'postgres://u@h:5432' }],
    [
      'DATABASE_SSL_CA',
      'a missing file',
      { DATABASE_URL: 'postgres://u@h/db?sslmode=verify-full', DATABASE_SSL_CA: path.join(dir, 'none.pem') },
    ],
    [
      'DATABASE_SSL_CA',
      'a file with no certificate',
      { DATABASE_URL: 'postgres://u@h/db?sslmode=verify-ca', DATABASE_SSL_CA: notPem },
    ],
    [
      'DATABASE_SSL_CA',
      'with sslmode=require (it would not be used)',
      { DATABASE_URL: 'postgres://u@h/db?sslmode=require', DATABASE_SSL_CA: caFile },
    ],
    ['DATABASE_SSL_CA', 'without DATABASE_URL', { DATABASE_SSL_CA: caFile }],
    ['CORS_ORIGINS', 'a wildcard', { CORS_ORIGINS: '*' }],
    ['CORS_ORIGINS', 'a path', { CORS_ORIGINS: 'https://admin.example.com/app' }],
    ['CORS_ORIGINS', 'a trailing slash', { CORS_ORIGINS: 'https://admin.example.com/' }],
    ['CORS_ORIGINS', 'no scheme', { CORS_ORIGINS: 'admin.example.com' }],
    ['CORS_ORIGINS', 'another scheme', { CORS_ORIGINS: 'ftp://admin.example.com' }],
    ['CORS_ORIGINS', 'upper case', { CORS_ORIGINS: 'https://Admin.example.com' }],
    ['CORS_ORIGINS', 'one bad among good ones', { CORS_ORIGINS: 'https://a.example,null,https://b.example' }],
    [
      'AZURE_STORAGE_ACCOUNT_URL',
      'plain http',
      { AZURE_STORAGE_ACCOUNT_URL: 'http://acct.blob.core.windows.net' },
    ],
    [
      'AZURE_STORAGE_ACCOUNT_URL',
      'a SAS token in it',
      { AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net/?sv=2020&sig=x' },
    ],
    ['AZURE_STORAGE_ACCOUNT_URL', 'not a URL', { AZURE_STORAGE_ACCOUNT_URL: 'acct' }],
    [
      'AZURE_STORAGE_ACCOUNT_URL',
      'both storage settings',
      {
        AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net',
        AZURE_STORAGE_CONNECTION_STRING: 'AccountName=a;AccountKey=a2V5',
      },
    ],
    [
      'SAS_TTL_SECONDS',
      'over 6 days with Azure AD',
      {
        AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net',
        SAS_TTL_SECONDS: String(6 * 86400 + 1),
      },
    ],
  ] as Array<[string, string, Record<string, string>]>)('%s: %s', (variable, _what, env) => {
    const lines = problems(env);
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(`${variable}: `)).toBe(true);
    expect(lines[0]).not.toContain('\n');
  });

  test('good values load', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db.example:6432/app?sslmode=verify-full',
      DATABASE_SSL_CA: caFile,
      CORS_ORIGINS: ' https://admin.example.com , http://localhost:5173,,',
      AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net',
      SAS_TTL_SECONDS: String(6 * 86400),
    });
    expect(config.databaseSslCa).toContain('BEGIN CERTIFICATE');
    expect(config.corsOrigins).toEqual(['https://admin.example.com', 'http://localhost:5173']);
    expect(config.storageAccountUrl).toBe('https://acct.blob.core.windows.net');
    expect(config.storageConnectionString).toBeUndefined();
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  test('production accepts Azure AD storage instead of a connection string, but not the development account', () => {
    expect(problems(PRODUCTION)).toEqual([]);
    expect(
      problems({ ...PRODUCTION, AZURE_STORAGE_ACCOUNT_URL: 'https://127.0.0.1:10000/devstoreaccount1' }),
    ).toEqual(['AZURE_STORAGE_ACCOUNT_URL: the development storage account is refused in production']);
    const { AZURE_STORAGE_ACCOUNT_URL: _omit, ...none } = PRODUCTION;
    expect(problems(none)).toEqual([
      'AZURE_STORAGE_CONNECTION_STRING: required in production (no local Azurite), or AZURE_STORAGE_ACCOUNT_URL for Azure AD credentials',
    ]);
  });
});
