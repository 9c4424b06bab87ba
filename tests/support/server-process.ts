// The service as a real child process (`node src/main.ts` through swc, as `npm start` runs it from dist/),
// on a test world's database and container, so a test can kill it with SIGKILL and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(__dirname, '../..');
const REGISTER = path.join(__dirname, 'swc-register.cjs');

/** One pino line of the child's standard output. */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface ServerProcess {
  url: string;
  pid: number;
  /** Every JSON log line so far. */
  logs: LogLine[];
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  exited: Promise<number | null>;
  /** SIGKILL: no handler runs, nothing is flushed or closed. */
  kill(): Promise<void>;
  /** SIGTERM: the graceful shutdown. */
  stop(): Promise<void>;
  /** SIGINT to the whole process group, as a terminal's Ctrl-C sends it (needs `{ group: true }`). */
  interrupt(): Promise<void>;
  /** Everything written to standard error so far. */
  stderr(): string;
  /** Resolves with the first log line (already written or to come) that `match` accepts. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

const serverEnv = (env: Record<string, string>) => ({
  ...process.env,
  PORT: '0',
  METRICS_PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  ...env,
});

/** Runs `src/main.ts` with `env` until it exits by itself (a start that fails): its code and output. */
export function runUntilExit(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['-r', REGISTER, 'src/main.ts'], {
    cwd: ROOT,
    env: serverEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${timeoutMs} ms; stdout: ${stdout.slice(-2000)}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts `src/main.ts` with `env` over the test's environment; resolves once it logs `listening`. With
 * `group`, the child leads a process group of its own, so `interrupt()` can play a terminal's Ctrl-C;
 * `preload` is a module the child requires first (tests/support/crash-on-signal.cjs).
 */
export async function startServer(
  env: Record<string, string>,
  timeoutMs = 30_000,
  options: { group?: boolean; preload?: string } = {},
): Promise<ServerProcess> {
  const preload = options.preload ? ['-r', options.preload] : [];
  const child: ChildProcess = spawn(process.execPath, ['-r', REGISTER, ...preload, 'src/main.ts'], {
    cwd: ROOT,
    env: serverEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group ?? false,
  });
  const logs: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return; // not a log line
    }
    logs.push(line);
    for (const waiter of [...waiters]) {
      if (!waiter.match(line)) continue;
      waiters.delete(waiter);
      waiter.resolve(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (match: (line: LogLine) => boolean, ms = timeoutMs) => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const waiter = { match, resolve };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no such log line within ${ms} ms; stderr: ${stderr.slice(-2000)}`));
      }, ms);
      waiter.resolve = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
      waiters.add(waiter);
      void exited.then((code) => {
        if (!waiters.delete(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}) first; stderr: ${stderr.slice(-2000)}`));
      });
    });
  };

  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  try {
    const listening = await waitForLog((line) => line.msg === 'listening');
    return {
      url: String(listening.url),
      pid: child.pid!,
      logs,
      exited,
      kill: () => signal('SIGKILL'),
      stop: () => signal('SIGTERM'),
      async interrupt() {
        if (!options.group) throw new Error('start the server with { group: true } to interrupt it');
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGINT');
        await exited;
      },
      stderr: () => stderr,
      waitForLog,
    };
  } catch (error) {
    await signal('SIGKILL');
    throw error;
  }
}
