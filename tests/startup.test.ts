// Start-up and shutdown as a newcomer meets them (SPEC section 20), with the service as a real child process:
// a port that is taken stops start-up with one line naming the variable to change, exit 1, no stack trace;
// two clones run side by side with `0` ports for their embedded servers; Ctrl-C stops everything with info
// lines only; a crash (an error nothing caught) is logged at fatal and leaves no embedded server behind.
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { livePostmaster } from '../src/infra/postgres-cluster';
import { runUntilExit, startServer, type LogLine, type ServerProcess } from './support/server-process';
import { createWorld, type World } from './support/world';

jest.setTimeout(180_000);

let world: World;
const blockers: Server[] = [];
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  for (const blocker of blockers) await new Promise((resolve) => blocker.close(resolve));
  await world?.close();
});

/** A port some other program holds for the whole test. */
async function takenPort(): Promise<number> {
  const blocker = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  blockers.push(blocker);
  return (blocker.address() as { port: number }).port;
}

const onWorld = () => ({
  NODE_ENV: 'test',
  DATABASE_URL: world.databaseUrl,
  AZURE_STORAGE_CONNECTION_STRING: process.env.AZURE_STORAGE_CONNECTION_STRING!,
  EVIDENCE_CONTAINER: world.container,
});

/** The service on embedded defaults (its own PostgreSQL and Azurite in `dataDir`), on free ports. */
const embeddedEnv = (dataDir: string) => ({
  NODE_ENV: 'development',
  DATABASE_URL: '',
  AZURE_STORAGE_CONNECTION_STRING: '',
  DATA_DIR: dataDir,
  EMBEDDED_POSTGRES_PORT: '0',
  AZURITE_PORT: '0',
});

const logLines = (stdout: string): LogLine[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

/** Exactly one line on standard error, naming `variable`, exit 1, and no warning or stack anywhere. */
function expectOneLine(run: { code: number | null; stdout: string; stderr: string }, variable: string) {
  expect(run.code).toBe(1);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^start-up error: ${variable}: .*set ${variable} to`));
  expect(run.stdout).not.toMatch(/\n\s+at /);
  expect(logLines(run.stdout).filter((line) => (line.level as number) >= 40)).toEqual([]);
}

describe('a port that is taken', () => {
  test('PORT: one line naming PORT, exit 1', async () => {
    const port = await takenPort();
    expectOneLine(await runUntilExit({ ...onWorld(), PORT: String(port) }), 'PORT');
  });

  test('METRICS_PORT: one line naming METRICS_PORT, exit 1', async () => {
    const port = await takenPort();
    expectOneLine(await runUntilExit({ ...onWorld(), METRICS_PORT: String(port) }), 'METRICS_PORT');
  });

  test('AZURITE_PORT: refused rather than used (it is not this data directory’s Azurite)', async () => {
    const port = await takenPort();
    const dataDir = path.resolve('.cache', `startup-azurite-${process.pid}`);
    try {
      const run = await runUntilExit({
        ...onWorld(),
        AZURE_STORAGE_CONNECTION_STRING: '',
        DATA_DIR: dataDir,
        AZURITE_PORT: String(port),
      });
      expectOneLine(run, 'AZURITE_PORT');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('EMBEDDED_POSTGRES_PORT: one line naming it, exit 1', async () => {
    const port = await takenPort();
    const dataDir = path.resolve('.cache', `startup-postgres-${process.pid}`);
    try {
      const run = await runUntilExit({
        ...onWorld(),
        DATABASE_URL: '',
        DATA_DIR: dataDir,
        EMBEDDED_POSTGRES_PORT: String(port),
      });
      expectOneLine(run, 'EMBEDDED_POSTGRES_PORT');
    } finally {
      removeDataDir(dataDir);
    }
  });
});

/** A DATA_DIR and, as root, the cluster folder its `postgres` link points to. */
function removeDataDir(dataDir: string): void {
  const link = path.join(dataDir, 'postgres');
  try {
    const target = readlinkSync(link);
    rmSync(path.dirname(target), { recursive: true, force: true });
  } catch {
    // not a link: the cluster lives inside DATA_DIR
  }
  rmSync(dataDir, { recursive: true, force: true });
}

test('two clones side by side with 0 ports; Ctrl-C stops each with info lines only', async () => {
  const dirs = [0, 1].map((i) => path.resolve('.cache', `clone-${process.pid}-${i}`));
  const servers: ServerProcess[] = [];
  try {
    for (const dataDir of dirs) {
      mkdirSync(dataDir, { recursive: true });
      servers.push(await startServer(embeddedEnv(dataDir), 120_000, { group: true }));
    }
    const ports = servers.map((server) =>
      server.logs.filter((line) => line.port !== undefined).map((line) => line.port),
    );
    // Four embedded servers on four ports, none of them the fixed defaults.
    const all = ports.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all).not.toContain(54329);
    expect(all).not.toContain(10000);
    for (const server of servers) {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
    }
    for (const [i, server] of servers.entries()) {
      const postmaster = livePostmaster(readlinkOr(path.join(dirs[i], 'postgres')));
      expect(postmaster).toBeDefined();
      await server.interrupt();
      expect(await server.exited).toBe(0);
      expect(server.stderr()).toBe('');
      expect(server.logs.filter((line) => (line.level as number) > 30)).toEqual([]);
      expect(server.logs.map((line) => line.msg)).toEqual(
        expect.arrayContaining(['shutting down', 'stopped']),
      );
      // The embedded servers it started are gone with it.
      expect(isAlive(postmaster!.pid)).toBe(false);
      expect(existsSync(path.join(dirs[i], 'azurite', 'running.json'))).toBe(false);
    }
  } finally {
    // Stopped as Ctrl-C stops them, so the embedded servers (in their own process group) go too.
    for (const server of servers) await server.interrupt().catch(() => server.kill());
    for (const dataDir of dirs) removeDataDir(dataDir);
  }
});

test.each(['exception', 'rejection'])(
  'a crash (an uncaught %s) is logged at fatal, stops the embedded servers it started and exits 1',
  async (kind) => {
    const dataDir = path.resolve('.cache', `crash-${process.pid}-${kind}`);
    mkdirSync(dataDir, { recursive: true });
    let server: ServerProcess | undefined;
    const embedded: number[] = [];
    try {
      server = await startServer({ ...embeddedEnv(dataDir), TEST_CRASH: kind }, 120_000, {
        group: true,
        preload: path.join(__dirname, 'support', 'crash-on-signal.cjs'),
      });
      const postmaster = livePostmaster(readlinkOr(path.join(dataDir, 'postgres')));
      expect(postmaster).toBeDefined();
      const azurite = JSON.parse(readFileSync(path.join(dataDir, 'azurite', 'running.json'), 'utf8')) as {
        pid: number;
      };
      expect(isAlive(azurite.pid)).toBe(true);
      embedded.push(postmaster!.pid, azurite.pid);
      process.kill(server.pid, 'SIGUSR2');
      expect(await server.exited).toBe(1);
      const fatal = server.logs.filter((line) => line.level === 60);
      expect(fatal).toEqual([
        expect.objectContaining({
          msg: 'uncaught error: the process stops',
          err: expect.objectContaining({ message: 'a crash the test asked for' }),
        }),
      ]);
      // Nothing left running without it.
      expect(isAlive(postmaster!.pid)).toBe(false);
      expect(isAlive(azurite.pid)).toBe(false);
      expect(existsSync(path.join(dataDir, 'azurite', 'running.json'))).toBe(false);
    } finally {
      await server?.interrupt().catch(() => server?.kill());
      // Should the crash have left them running, they do not outlive the test (SIGINT: PostgreSQL's fast stop).
      for (const pid of embedded.filter(isAlive)) process.kill(pid, 'SIGINT');
      removeDataDir(dataDir);
    }
  },
);

function readlinkOr(link: string): string {
  try {
    return readlinkSync(link);
  } catch {
    return link;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
