// The streams scenario: many watchers of one partner (SSE streams or graphql-ws subscriptions), opened
// from a child process (bench/watcher-client.ts), one approval, and the time until each watcher has it;
// with the server process's memory per open watcher (RSS and heap after a full GC, before and after).
import { fork } from 'node:child_process';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { WatcherJob } from './watcher-client';

export interface WatchersRun {
  kind: WatcherJob['kind'];
  url: string;
  headers: Record<string, string>;
  partnerId: string;
  watchers: number;
  /** The approval that every watcher must be told of. */
  awaited: string;
  trigger: () => Promise<void>;
  /** Streams the server holds open through this door (the progress bus's count). */
  openStreams: () => number;
}

export interface WatchersResult {
  kind: WatcherJob['kind'];
  open: number;
  failed: number;
  openSeconds: number;
  received: number;
  /** From the approval's request to each watcher's arrival. */
  latencies: number[];
  /** The approval call itself (sent to answered). */
  approveMs: number;
  /** From the first watcher told to the last: the fan-out. */
  spreadMs: number;
  rssPerWatcher: number;
  heapPerWatcher: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await sleep(20);
  return condition();
}

function memory(): { rss: number; heap: number } {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
}

export async function measureWatchers(run: WatchersRun): Promise<WatchersResult> {
  const baseline = run.openStreams();
  const before = memory();
  const started = Date.now();
  const job: WatcherJob = {
    kind: run.kind,
    url: run.url,
    headers: run.headers,
    partnerId: run.partnerId,
    watchers: run.watchers,
    opening: 200,
    timeout: 20,
  };
  const child = fork(path.join(__dirname, 'watcher-client.js'), [JSON.stringify(job)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`the watchers' process exited (${code})`)));
    });
  try {
    const opened = (await next()) as { open: number; failed: number };
    // A subscription is registered after its subscribe message is read: wait until the server holds all.
    await until(() => run.openStreams() - baseline >= opened.open, 60_000);
    const openSeconds = (Date.now() - started) / 1000;
    const after = memory();
    const held = Math.max(1, run.openStreams() - baseline);
    const result = next();
    child.send({ await: run.awaited });
    const sentAt = Date.now();
    await run.trigger();
    const answeredAt = Date.now();
    const { arrivals } = (await result) as { arrivals: number[] };
    return {
      kind: run.kind,
      open: opened.open,
      failed: opened.failed,
      openSeconds,
      received: arrivals.length,
      latencies: arrivals.map((t) => t - sentAt),
      approveMs: answeredAt - sentAt,
      spreadMs: arrivals.length > 0 ? Math.max(...arrivals) - Math.min(...arrivals) : NaN,
      rssPerWatcher: (after.rss - before.rss) / held,
      heapPerWatcher: (after.heap - before.heap) / held,
    };
  } finally {
    child.kill();
    // The next scenario starts once the server has let go of these streams.
    await until(() => run.openStreams() <= baseline, 60_000);
  }
}

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** One line of the report. */
export function watchersLine(r: WatchersResult): string {
  const door = r.kind === 'sse' ? 'SSE streams' : 'graphql-ws subscriptions';
  return (
    `${r.open} ${door} open in ${r.openSeconds.toFixed(1)} s (${r.failed} refused); ${r.received} received the approval; ` +
    `latency p50 ${pct(r.latencies, 50).toFixed(0)} ms, p99 ${pct(r.latencies, 99).toFixed(0)} ms, ` +
    `max ${Math.max(...r.latencies).toFixed(0)} ms from the approve call (goal: all within 1,000 ms; the call ` +
    `itself ${r.approveMs} ms, first to last watcher ${r.spreadMs} ms); per watcher ` +
    `RSS ${(r.rssPerWatcher / 1024).toFixed(1)} KiB, heap ${(r.heapPerWatcher / 1024).toFixed(1)} KiB`
  );
}
