// Development defaults: an embedded PostgreSQL and a local Azurite, both keeping their data under DATA_DIR
// (as root, PostgreSQL's files live where its own user can reach them: see postgres-cluster.ts).
// A second process (the CLI, another server) finds them running and connects instead of starting its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from '../logger';
import { pgConnectionOptions } from './database-url';
import { livePostmaster, persistentDataDir, PostgresCluster } from './postgres-cluster';

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
  mkdirSync(dataDir, { recursive: true });
  const databaseDir = persistentDataDir(dataDir);
  const url = (p: number) => `postgres://postgres:postgres@127.0.0.1:${p}/${EMBEDDED_DATABASE}`;
  const running = livePostmaster(databaseDir);
  if (running && (await portOpen(running.port))) {
    log.info({ port: running.port }, 'using the embedded PostgreSQL already running for this data directory');
    return { url: url(running.port), owned: false, stop: async () => {} };
  }
  const cluster = new PostgresCluster({
    dataDir: databaseDir,
    port,
    onLog: (line) => log.trace({ postgres: line.trim() }),
  });
  if (!cluster.initialised) {
    log.info({ databaseDir }, 'initialising the embedded PostgreSQL (first start)');
    await cluster.initialise();
  }
  await cluster.start();
  try {
    const client = new Client(pgConnectionOptions(cluster.url('postgres')));
    await client.connect();
    try {
      const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [
        EMBEDDED_DATABASE,
      ]);
      if (rowCount === 0) await client.query(`create database "${EMBEDDED_DATABASE}"`);
    } finally {
      await client.end();
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  log.info({ port, databaseDir }, 'embedded PostgreSQL started');
  return { url: url(port), owned: true, stop: () => cluster.stop() };
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
