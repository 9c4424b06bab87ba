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
  /** Resolves with the first log line (already written or to come) that `match` accepts. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

/** Starts `src/main.ts` with `env` over the test's environment; resolves once it logs `listening`. */
export async function startServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['-r', REGISTER, 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
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
      waitForLog,
    };
  } catch (error) {
    await signal('SIGKILL');
    throw error;
  }
}
