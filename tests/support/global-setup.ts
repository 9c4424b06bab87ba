// Starts what the tests need when the environment does not provide it: an embedded PostgreSQL
// (unless DATABASE_URL is set) and an in-memory Azurite (unless AZURE_STORAGE_CONNECTION_STRING is set).
// Each test file then makes its own database and container on them.
// TypeScript (jest transforms it), so the cluster is started by the same code as the development one.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import 'reflect-metadata';
import { Client } from 'pg';
import { PostgresCluster, temporaryDataDir } from '../../src/infra/postgres-cluster';
import { freePort } from '../../src/infra/free-port';
import { pgConnectionOptions } from '../../src/infra/database-url';
import { migrate, openDatabase } from '../../src/db';
import { createLogger } from '../../src/logger';

const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface TestRun {
  root: string;
  /** The migrated database every test file's database is cloned from; dropped at teardown. */
  template?: { adminUrl: string; name: string };
  pg?: PostgresCluster;
  azurite?: ChildProcess;
}

export default async function globalSetup(): Promise<void> {
  const root = path.resolve('.cache', `test-run-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const run: TestRun = { root };
  (globalThis as { __TEST_RUN__?: TestRun }).__TEST_RUN__ = run;
  process.env.TMPDIR = root;

  if (!process.env.DATABASE_URL) {
    const pg = new PostgresCluster({
      dataDir: temporaryDataDir(root),
      port: await freePort(),
      temporary: true,
    });
    await pg.initialise();
    await pg.start([
      '-c',
      'max_connections=300',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ]);
    run.pg = pg;
    process.env.DATABASE_URL = pg.url('postgres');
  }

  run.template = await createTemplateDatabase(process.env.DATABASE_URL);
  process.env.TEST_TEMPLATE_DATABASE = run.template.name;

  if (!process.env.AZURE_STORAGE_CONNECTION_STRING) {
    const port = await freePort();
    const cwd = path.join(root, 'azurite');
    mkdirSync(cwd, { recursive: true });
    const child = spawn(
      process.execPath,
      [
        require.resolve('azurite/dist/src/blob/main.js'),
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--inMemoryPersistence',
        '--silent',
        '--skipApiVersionCheck',
        '--disableTelemetry',
        '--loose',
      ],
      { cwd, stdio: 'ignore' },
    );
    const deadline = Date.now() + 20000;
    while (!(await portOpen(port))) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error('Azurite did not start for the tests');
      await new Promise((r) => setTimeout(r, 100));
    }
    run.azurite = child;
    process.env.AZURE_STORAGE_CONNECTION_STRING = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`;
  }
}

/**
 * Migrates one database for the whole run; each test file's world clones it (`create database … template`),
 * which takes a fraction of running every migration again per file.
 */
async function createTemplateDatabase(adminUrl: string): Promise<{ adminUrl: string; name: string }> {
  const name = `test_template_${process.pid}_${Date.now().toString(36)}`;
  const admin = new Client(pgConnectionOptions(adminUrl));
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const orm = await openDatabase({ url: url.toString() }, createLogger('silent'));
  try {
    await migrate(orm);
  } finally {
    // A template must have no open connection when it is cloned.
    await orm.close(true);
  }
  return { adminUrl, name };
}
