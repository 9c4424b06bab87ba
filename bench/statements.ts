// Statements and exports under volume: `npm run bench:statements`. Starts the app in-process on a throwaway
// PostgreSQL (or a fresh database on DATABASE_URL's server) and Azurite, seeds in SQL a partner with
// BENCH_EXPORT_ROWS requests and another with BENCH_STATEMENT_ENTRIES ledger entries over one year, then
// times each read over HTTP and samples this process's heap (also after a full GC: what is live) and RSS
// while it runs. References measured in the same run: the existing streamed JSON list of the same requests,
// and one plain SELECT of the same rows into memory (what a read that is not streamed costs).
import 'reflect-metadata';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'pg';
import { createApp, type App } from '../src/app';
import { mintToken } from '../src/auth/dev-tokens';
import { loadConfig } from '../src/config';
import { migrate, openDatabase } from '../src/db';
import { startAzurite } from '../src/infra/embedded';
import { pgConnectionOptions } from '../src/infra/database-url';
import { freePort } from '../src/infra/free-port';
import { PostgresCluster, temporaryDataDir } from '../src/infra/postgres-cluster';
import { createLogger, logDestination } from '../src/logger';
import { createOperator, createPartner } from '../src/services/identity/admin.service';
import { createFields, newOperator, newPartner, parseInput } from '../src/shapes/inputs';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const EXPORT_ROWS = num('BENCH_EXPORT_ROWS', 100_000);
const STATEMENT_ENTRIES = num('BENCH_STATEMENT_ENTRIES', 100_000);
const say = (line: string) => process.stderr.write(`· ${line}\n`);
const gc = (globalThis as { gc?: () => void }).gc;
const MB = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

interface Measure {
  label: string;
  ms: number;
  firstByteMs?: number;
  bytes?: number;
  heapPeak: number;
  /** The heap after a full GC, sampled every 250 ms: what the read holds, without its garbage. */
  livePeak: number;
  rssPeak: number;
}

/**
 * Runs `work` while sampling heap and RSS every 10 ms, and the live heap (after a full GC) every 250 ms;
 * peaks are above the level measured just before. The heap peak counts garbage V8 has not collected yet
 * (it lets it grow as far as earlier reads raised its limits); the live peak is what the read holds.
 */
async function measure(label: string, work: () => Promise<Partial<Measure>>): Promise<Measure> {
  gc?.();
  const before = process.memoryUsage();
  let heapPeak = 0;
  let livePeak = 0;
  let rssPeak = 0;
  const sample = () => {
    const now = process.memoryUsage();
    heapPeak = Math.max(heapPeak, now.heapUsed - before.heapUsed);
    rssPeak = Math.max(rssPeak, now.rss - before.rss);
  };
  const timer = setInterval(sample, 10);
  const live = setInterval(() => {
    if (!gc) return;
    gc();
    livePeak = Math.max(livePeak, process.memoryUsage().heapUsed - before.heapUsed);
  }, 250);
  const started = performance.now();
  const extra = await work();
  sample();
  clearInterval(timer);
  clearInterval(live);
  const result = { label, ms: performance.now() - started, heapPeak, livePeak, rssPeak, ...extra };
  say(
    `${label}: ${result.ms.toFixed(0)} ms${result.firstByteMs !== undefined ? ` (first bytes ${result.firstByteMs.toFixed(0)} ms)` : ''}` +
      `${result.bytes !== undefined ? `, ${MB(result.bytes)}` : ''}; heap peak +${MB(heapPeak)}, live heap peak +${MB(livePeak)}, RSS peak +${MB(rssPeak)}`,
  );
  return result;
}

/** GET over HTTP, counting the bytes and throwing them away (the client keeps nothing). */
function download(url: string, headers: Record<string, string>): Promise<Partial<Measure>> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
      let bytes = 0;
      let firstByteMs: number | undefined;
      res.on('data', (chunk: Buffer) => {
        firstByteMs ??= performance.now() - started;
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ bytes, firstByteMs }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function seed(databaseUrl: string, sql: string, params: unknown[]): Promise<void> {
  const client = new Client(pgConnectionOptions(databaseUrl));
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const cleanup: Array<() => Promise<unknown>> = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'statements-bench-'));
  chmodSync(tmp, 0o755);
  cleanup.push(async () => rmSync(tmp, { recursive: true, force: true }));
  const log = createLogger('warn', logDestination('/dev/null'));
  let app: App | undefined;
  try {
    let databaseUrl: string;
    if (process.env.DATABASE_URL) {
      const database = `bench_${randomBytes(5).toString('hex')}`;
      await seed(process.env.DATABASE_URL, `create database "${database}"`, []);
      cleanup.push(() =>
        seed(process.env.DATABASE_URL!, `drop database if exists "${database}" with (force)`, []),
      );
      const u = new URL(process.env.DATABASE_URL);
      u.pathname = `/${database}`;
      databaseUrl = u.toString();
    } else {
      const pg = new PostgresCluster({
        dataDir: temporaryDataDir(tmp),
        port: await freePort(),
        temporary: true,
      });
      await pg.initialise();
      await pg.start();
      cleanup.push(() => pg.stop());
      await seed(pg.url('postgres'), 'create database bench', []);
      databaseUrl = pg.url('bench');
    }
    const azurite = await startAzurite(path.join(tmp, 'azurite'), log, await freePort());
    cleanup.push(() => azurite.stop());
    const orm = await openDatabase({ url: databaseUrl }, log);
    await migrate(orm).finally(() => orm.close(true));
    const config = {
      ...loadConfig({ LOG_LEVEL: 'warn' }),
      databaseUrl,
      storageConnectionString: azurite.url,
      evidenceContainer: `bench-${randomBytes(4).toString('hex')}`,
      metricsPort: null,
    };
    app = await createApp(config, { logger: log });
    const address = await app.listen(0, '127.0.0.1');
    const origin = `http://127.0.0.1:${address.port}`;

    const em = () => app!.orm.em.fork();
    const { partner } = await createPartner(
      em(),
      parseInput(newPartner, { name: 'Volume', currency: 'USD' }),
    );
    const person = (roles: string[]) =>
      createOperator(
        em(),
        parseInput(newOperator, {
          email: `${randomBytes(4).toString('hex')}@bench.local`,
          name: 'Bench',
          roles,
          partnerIds: [partner.id],
        }),
      );
    const [maker, viewer] = [await person(['MAKER']), await person(['VIEWER'])];
    const source = await app.services.processRequests.create(
      { em: em(), operator: maker, log },
      partner.id,
      async (stage) => {
        await stage({ stream: Readable.from([Buffer.from('%PDF-1.4\n%%EOF\n')]), fileName: 'receipt.pdf' });
        return parseInput(createFields, { requestedAmount: '10.00', observations: 'seed' });
      },
    );

    say(
      `seeding ${Math.max(EXPORT_ROWS, STATEMENT_ENTRIES)} requests and ${STATEMENT_ENTRIES} ledger entries (in SQL)`,
    );
    // Requests: copies of the real one, one second apart going back; APPROVED, each with its ledger entry in
    // 2025 (STATEMENT_ENTRIES of them spread over the year), the running balance as balance_after.
    await seed(
      databaseUrl,
      `insert into process_request (id, process_type_id, client_balance_id, client_id, requested_amount, currency, observations,
         evidence_url, evidence_file_name, evidence_content_type, evidence_size, evidence_sha256, evidence_blob_name, status,
         created_by, created_at, updated_at, expires_at, required_approvals, approval_count)
       select gen_random_uuid(), process_type_id, client_balance_id, client_id, (g % 997) + 0.25, currency,
         case when g % 10 = 0 then '=formula ' || g else 'wire ' || g end, evidence_url, evidence_file_name,
         evidence_content_type, evidence_size, evidence_sha256, evidence_blob_name, 'APPROVED', created_by,
         timestamptz '2025-12-31T23:00:00Z' - g * interval '1 second' * (31500000.0 / $2::int), updated_at, expires_at, 1, 1
       from process_request s, generate_series(1, $2::int) g where s.id = $1`,
      [source.id, Math.max(EXPORT_ROWS, STATEMENT_ENTRIES)],
    );
    await seed(
      databaseUrl,
      `insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after, created_at)
       select gen_random_uuid(), client_balance_id, id, requested_amount,
         sum(requested_amount) over (order by created_at, id), created_at
       from (select * from process_request where client_id = $1 and status = 'APPROVED' order by created_at limit $2) r`,
      [partner.id, STATEMENT_ENTRIES],
    );
    await seed(
      databaseUrl,
      `update client_balance b set available = (select coalesce(sum(amount), 0) from ledger_entry where client_balance_id = b.id)
        where client_id = $1`,
      [partner.id],
    );
    // One history event per request (its CREATED), for the events export.
    await seed(
      databaseUrl,
      `insert into process_request_event (process_request_id, client_id, type, actor_id, to_status, data, created_at)
       select id, client_id, 'CREATED', created_by, 'PENDING', case when observations like '=%' then jsonb_build_object('reason', observations) end,
         created_at from process_request where client_id = $1 and id <> $2 order by created_at`,
      [partner.id, source.id],
    );
    await seed(databaseUrl, 'vacuum analyze', []);

    const appToken = await mintToken(config, 'app', 'bench', 3600);
    const headers = {
      authorization: `Bearer ${appToken}`,
      'x-user-token': `Bearer ${await mintToken(config, 'user', viewer.subject, 3600)}`,
    };
    const base = `${origin}/cms/rest/app/partners/${partner.id}`;
    const results: Measure[] = [];
    for (let round = 0; round < 2; round++) {
      if (round === 0) say('warm-up round');
      const run = async (label: string, work: () => Promise<Partial<Measure>>) => {
        const m = await measure(label, work);
        if (round === 1) results.push(m);
      };
      await run('requests export (CSV)', () => download(`${base}/process-requests/export`, headers));
      await run('reference: streamed JSON list', () => download(`${base}/process-request`, headers));
      await run('reference: one SELECT into memory', async () => {
        const rows = await app!.orm.em
          .fork()
          .execute('select * from process_request where client_id = ?', [partner.id]);
        if (rows.length < EXPORT_ROWS) throw new Error(`only ${rows.length} rows`);
        return {};
      });
      await run('events export (CSV)', () => download(`${base}/events/export`, headers));
      for (const format of ['json', 'csv', 'camt053']) {
        await run(`statement 2025 (${format})`, () =>
          download(`${base}/statement?from=2025-01-01&to=2025-12-31&format=${format}`, headers),
        );
      }
      await run('balance at an instant (2025-07-01)', () =>
        download(`${base}/balance?at=2025-07-01T00:00:00Z`, headers),
      );
    }
    const [{ entries }] = await app.orm.em
      .fork()
      .execute<Array<{ entries: string }>>(
        "select count(*)::text as entries from ledger_entry where created_at >= '2025-01-01' and created_at < '2026-01-01'",
      );
    process.stdout.write(
      `\n## Statements and exports (${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} cores, load ${os
        .loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')})\n\n` +
        `${Math.max(EXPORT_ROWS, STATEMENT_ENTRIES)} requests, as many events; ${entries} ledger entries in 2025. Peaks are above the level before each read, in this process (server and client); the live heap peak is sampled after a full GC every 250 ms.\n\n` +
        '| read | time | first bytes | size | heap peak | live heap peak | RSS peak |\n| --- | --- | --- | --- | --- | --- | --- |\n' +
        results
          .map(
            (r) =>
              `| ${r.label} | ${r.ms.toFixed(0)} ms | ${r.firstByteMs === undefined ? '' : `${r.firstByteMs.toFixed(0)} ms`} | ${
                r.bytes === undefined ? '' : MB(r.bytes)
              } | +${MB(r.heapPeak)} | +${MB(r.livePeak)} | +${MB(r.rssPeak)} |`,
          )
          .join('\n') +
        '\n',
    );
  } finally {
    await app?.close().catch(() => undefined);
    for (const step of cleanup.reverse()) await step().catch((e) => say(`cleanup: ${(e as Error).message}`));
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
