// Development defaults: an embedded PostgreSQL and a local Azurite, both keeping their data under DATA_DIR
// (as root, PostgreSQL's files live where its own user can reach them: see postgres-cluster.ts).
// A second process (the CLI, another server) finds them running and connects instead of starting its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from '../logger';
import { pgConnectionOptions } from './database-url';
import { freePort } from './free-port';
import { livePostmaster, persistentDataDir, PostgresCluster } from './postgres-cluster';
import { StartupError } from './startup-error';

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

/** True when nothing holds 127.0.0.1:port (checked by taking it for a moment). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * The port to start a server on: `0` picks a free one; a given port that something else holds stops
 * start-up with one line naming the variable (never a silent reuse of someone else's server).
 */
async function portToUse(port: number, variable: string, what: string): Promise<number> {
  if (port === 0) return freePort();
  if (await portFree(port)) return port;
  throw new StartupError(
    `${variable}: 127.0.0.1:${port} is already in use by another program, so the ${what} cannot start there; ` +
      `set ${variable} to a free port, or 0 for any free port`,
  );
}

/**
 * The embedded servers are development dependencies: a production install (npm prune --omit=dev) has
 * neither, and says which setting to give instead.
 */
function notInstalled(error: unknown, variable: string, what: string): Error {
  const message = (error as Error).message ?? '';
  if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' && !/not installed/.test(message))
    return error as Error;
  return new StartupError(
    `${variable}: required here, as the ${what} is not installed (it is a development dependency); set ${variable}`,
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Starts (or finds running) the embedded PostgreSQL of dataDir; returns a URL to its application database.
 * Its server runs in a process group of its own, so a Ctrl-C meant for this process does not stop it
 * under the service's feet: the service stops it, after closing its own connections.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
  requestedPort = EMBEDDED_POSTGRES_PORT,
): Promise<Running> {
  mkdirSync(dataDir, { recursive: true });
  const databaseDir = persistentDataDir(dataDir);
  const url = (p: number) => `postgres://postgres:postgres@127.0.0.1:${p}/${EMBEDDED_DATABASE}`;
  const running = livePostmaster(databaseDir);
  if (running && (await portOpen(running.port))) {
    log.info({ port: running.port }, 'using the embedded PostgreSQL already running for this data directory');
    return { url: url(running.port), owned: false, stop: async () => {} };
  }
  const port = await portToUse(requestedPort, 'EMBEDDED_POSTGRES_PORT', 'embedded PostgreSQL');
  let cluster: PostgresCluster;
  try {
    cluster = new PostgresCluster({
      dataDir: databaseDir,
      port,
      detached: true,
      onLog: (line) => log.trace({ postgres: line.trim() }),
    });
  } catch (error) {
    throw notInstalled(error, 'DATABASE_URL', 'embedded PostgreSQL');
  }
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

/** What this DATA_DIR's Azurite wrote down when it started: a second process finds it there. */
interface AzuriteRecord {
  pid: number;
  port: number;
}

function readRecord(file: string): AzuriteRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as AzuriteRecord;
    return Number.isInteger(record.pid) && Number.isInteger(record.port) ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts (or finds running) the local Azurite of dataDir, keeping its files under it. The one found
 * running is the one this DATA_DIR's record names (its process alive, its port open); any other program
 * on the port is never used. Like PostgreSQL it runs in its own process group.
 */
export async function startAzurite(
  dataDir: string,
  log: Logger,
  requestedPort = AZURITE_PORT,
): Promise<Running> {
  const location = path.join(dataDir, 'azurite');
  mkdirSync(location, { recursive: true });
  const recordFile = path.join(location, 'running.json');
  const record = readRecord(recordFile);
  if (record && processAlive(record.pid) && (await portOpen(record.port))) {
    log.info({ port: record.port }, 'using the Azurite already running for this data directory');
    return { url: azuriteConnectionString(record.port), owned: false, stop: async () => {} };
  }
  const port = await portToUse(requestedPort, 'AZURITE_PORT', 'local Azurite');
  let bin: string;
  try {
    bin = require.resolve('azurite/dist/src/blob/main.js');
  } catch (error) {
    throw notInstalled(error, 'AZURE_STORAGE_CONNECTION_STRING', 'local Azurite');
  }
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
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let stopping = false;
  // What it says while being stopped is the stop itself, not a problem.
  child.stderr?.on('data', (d: Buffer) =>
    stopping ? log.debug({ azurite: d.toString().trim() }) : log.warn({ azurite: d.toString().trim() }),
  );
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
  writeFileSync(recordFile, JSON.stringify({ pid: child.pid ?? 0, port } satisfies AzuriteRecord));
  log.info({ port, location }, 'Azurite started');
  return {
    url: azuriteConnectionString(port),
    owned: true,
    stop: () =>
      new Promise<void>((resolve) => {
        rmSync(recordFile, { force: true });
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        stopping = true;
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
