// DATABASE_URL's sslmode on every connection the service opens (SPEC section 15), against real PostgreSQL
// servers started here: one with TLS on (a certificate from a CA made in the test, naming only
// "localhost"), one without TLS. What each connection really got is read from pg_stat_ssl.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { createApp, type App } from '../src/app';
import { runCli } from '../src/cli/run';
import { loadConfig } from '../src/config';
import { migrate, openDatabase } from '../src/db';
import { DatabaseConnectionError, pgConnectionOptions } from '../src/infra/database-url';
import { PostgresCluster, temporaryDataDir } from '../src/infra/postgres-cluster';
import { createLogger } from '../src/logger';
import { issueServerCertificate, makeCa } from './support/certificates';
import { freePort } from '../src/infra/free-port';

const log = createLogger('silent');
const work = path.resolve('.cache', `tls-${process.pid}-${randomBytes(3).toString('hex')}`);
const ca = makeCa('Test database CA');
const otherCa = makeCa('Some other CA');
const caFile = path.join(work, 'ca.pem');
const otherCaFile = path.join(work, 'other-ca.pem');

let tls: PostgresCluster;
let plain: PostgresCluster;

/** URL of the test database on a cluster, with a host and an sslmode. */
function url(cluster: PostgresCluster, sslmode?: string, host = '127.0.0.1'): string {
  const u = cluster.url('app', host);
  return sslmode ? `${u}?sslmode=${sslmode}` : u;
}

async function startCluster(
  flags: string[] = [],
  files: Record<string, string> = {},
): Promise<PostgresCluster> {
  const cluster = new PostgresCluster({
    dataDir: temporaryDataDir(work),
    port: await freePort(),
    temporary: true,
  });
  await cluster.initialise();
  for (const [name, contents] of Object.entries(files)) cluster.writeFile(name, contents);
  await cluster.start(flags);
  const admin = new Client(pgConnectionOptions(cluster.url('postgres')));
  await admin.connect();
  await admin.query('create database app');
  await admin.end();
  return cluster;
}

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  writeFileSync(caFile, ca.cert);
  writeFileSync(otherCaFile, otherCa.cert);
  const server = issueServerCertificate(ca, { dns: ['localhost'] });
  [tls, plain] = await Promise.all([
    startCluster(['-c', 'ssl=on', '-c', 'ssl_cert_file=server.crt', '-c', 'ssl_key_file=server.key'], {
      'server.crt': server.cert,
      'server.key': server.key,
    }),
    startCluster(),
  ]);
  const orm = await openDatabase({ url: url(tls) }, log);
  await migrate(orm);
  await orm.close(true);
});

afterAll(async () => {
  await Promise.all([tls?.stop(), plain?.stop()]);
});

/** Builds the whole service on a DATABASE_URL (and DATABASE_SSL_CA) as a server process would. */
async function appOn(databaseUrl: string, caPath?: string): Promise<App> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    ...(caPath ? { DATABASE_SSL_CA: caPath } : {}),
    AZURE_STORAGE_CONNECTION_STRING: process.env.AZURE_STORAGE_CONNECTION_STRING,
    EVIDENCE_CONTAINER: `tls-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'silent',
  });
  return createApp(config, { logger: log });
}

/** pg_stat_ssl.ssl of the pool's connection and of the progress LISTEN connection. */
async function encryption(app: App): Promise<{ pool: boolean; listener: boolean }> {
  const conn = app.orm.em.getConnection();
  const [pool] = await conn.execute<{ ssl: boolean }[]>(
    'select ssl from pg_stat_ssl where pid = pg_backend_pid()',
  );
  const [listener] = await conn.execute<{ ssl: boolean }[]>('select ssl from pg_stat_ssl where pid = ?', [
    app.progress.listenerPid,
  ]);
  expect(listener).toBeDefined();
  return { pool: pool.ssl, listener: listener.ssl };
}

test.each([
  ['require', undefined, '127.0.0.1', true],
  ['prefer', undefined, '127.0.0.1', true],
  ['verify-ca', caFile, '127.0.0.1', true],
  ['verify-full', caFile, 'localhost', true],
  ['disable', undefined, '127.0.0.1', false],
  [undefined, undefined, '127.0.0.1', false],
])(
  'sslmode=%s: the pool and the LISTEN connection are encrypted as asked',
  async (mode, caPath, host, encrypted) => {
    const app = await appOn(url(tls, mode, host), caPath);
    try {
      expect(await encryption(app)).toEqual({ pool: encrypted, listener: encrypted });
      // The app really works over it: readiness goes through the pool.
      const address = await app.listen(0, '127.0.0.1');
      const res = await fetch(`http://127.0.0.1:${address.port}/readyz`);
      expect(res.status).toBe(200);
    } finally {
      await app.close();
    }
  },
);

test.each([
  [
    'verify-full',
    otherCaFile,
    'localhost',
    /certificate .* was refused \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
  ],
  ['verify-full', caFile, '127.0.0.1', /certificate .* was refused \(ERR_TLS_CERT_ALTNAME_INVALID/],
  ['verify-full', undefined, 'localhost', /certificate .* was refused/],
  ['verify-ca', otherCaFile, '127.0.0.1', /certificate .* was refused/],
])('sslmode=%s with CA %s and host %s is refused with one line', async (mode, caPath, host, message) => {
  const error = await appOn(url(tls, mode, host), caPath).then(
    (app) => app.close().then(() => undefined),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatabaseConnectionError);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).not.toContain('\n');
  expect((error as Error).message).not.toContain(':postgres@'); // no password in the line
});

test('sslmode=require against a server without TLS stops start-up with one line, never plain text', async () => {
  const error = await appOn(url(plain, 'require')).then(
    (app) => app.close().then(() => undefined),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatabaseConnectionError);
  expect((error as Error).message).toBe(
    `DATABASE_URL: the server at 127.0.0.1:${plain.port}/app (sslmode=require) does not accept TLS connections; the service does not fall back to plain text (use sslmode=disable only if plain text is acceptable)`,
  );
  // The same server is fine when plain text is what was asked for.
  const app = await appOn(url(plain, 'disable'));
  expect(await encryption(app)).toEqual({ pool: false, listener: false });
  await app.close();
});

test('the CLI and its migrations honour sslmode and DATABASE_SSL_CA too', async () => {
  const env = { NODE_ENV: 'test', LOG_LEVEL: 'silent' };
  const ok = await runCli(['migrate'], {
    ...env,
    DATABASE_URL: url(tls, 'verify-full', 'localhost'),
    DATABASE_SSL_CA: caFile,
  });
  expect(ok).toEqual({ code: 0, stdout: '{"applied":[]}\n', stderr: '' });

  const wrongCa = await runCli(['migrate'], {
    ...env,
    DATABASE_URL: url(tls, 'verify-full', 'localhost'),
    DATABASE_SSL_CA: otherCaFile,
  });
  expect(wrongCa.code).toBe(1);
  expect(wrongCa.stderr).toMatch(
    /^error: DATABASE_URL: the server's certificate at localhost:\d+\/app \(sslmode=verify-full\) was refused .*\n$/,
  );

  const noTls = await runCli(['partner:create', '--name', 'X', '--currency', 'USD'], {
    ...env,
    DATABASE_URL: url(plain, 'require'),
  });
  expect(noTls.code).toBe(1);
  expect(noTls.stderr.trim().split('\n')).toHaveLength(1);
  expect(noTls.stderr).toContain('does not accept TLS connections');
});
