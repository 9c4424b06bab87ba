// Approve, layer by layer (bench/RESULTS.md, "Approve, round 2"): the same approvals run as bare
// transactions straight on `pg` (no HTTP, no tokens), with and without NOTIFY, beside the HTTP pair the
// benchmark already measures; and where an approval waits in PostgreSQL, sampled from pg_stat_activity.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { APPROVE } from './bare-sql';
import type { LoadSummary } from './load-worker';

/** The bare approval without its NOTIFY: the same writes, locks and event row, nothing announced. */
export const APPROVE_NO_NOTIFY = APPROVE.replace(
  /announced as \(\s*select pg_notify\([\s\S]*?from event e\)/,
  'announced as (select e.id from event e)',
);
if (APPROVE_NO_NOTIFY === APPROVE) throw new Error('bench/approve.ts: the NOTIFY of bare APPROVE not found');

/** The same, locking as the service does: the balance row first, then the partner's event-order lock. */
export const APPROVE_BALANCE_FIRST = APPROVE_NO_NOTIFY.replace(
  /ordered as \(select pg_advisory_xact_lock\(727274003, hashtext\(\$2::text\)\) as locked from decided\)/,
  'ordered as (select pg_advisory_xact_lock(727274003, hashtext($2::text)) as locked from decided left join credit on true)',
);
if (APPROVE_BALANCE_FIRST === APPROVE_NO_NOTIFY)
  throw new Error('bench/approve.ts: the order lock not found');

/**
 * And the checker's approved total of the day (SPEC section 18's daily limit), kept as the service keeps it:
 * one row per operator, day and currency, upserted by every approval and locked before the order lock.
 */
export const APPROVE_TALLIED = APPROVE_BALANCE_FIRST.replace(
  'ordered as (select pg_advisory_xact_lock(727274003, hashtext($2::text)) as locked from decided left join credit on true)',
  `tallied as (insert into operator_daily_total as t (operator_id, day, currency, total, daily_limit)
      select $3, (now() at time zone 'UTC')::date, d.currency, d.requested_amount, null from decided d
      on conflict (operator_id, day, currency) do update set total = t.total + excluded.total, daily_limit = excluded.daily_limit
      returning t.total),
  ordered as (select pg_advisory_xact_lock(727274003, hashtext($2::text)) as locked
      from decided left join credit on true left join tallied on true)`,
);

/** The bare transaction variants, from the plainest up to the service's locks (none sends a NOTIFY but the first). */
export const VARIANTS = {
  notify: APPROVE,
  plain: APPROVE_NO_NOTIFY,
  balanceFirst: APPROVE_BALANCE_FIRST,
  tallied: APPROVE_TALLIED,
} as const;
export type Variant = keyof typeof VARIANTS;

/** One approval to make: the request and its partner. */
export interface Target {
  id: string;
  partnerId: string;
}

/**
 * Approves every target once as a bare transaction (one statement, autocommit), `connections` at a time,
 * by the checkers in turn, with one of the VARIANTS of the statement. Rates as autocannon's summary.
 */
export async function bareTransactions(
  databaseUrl: string,
  checkers: string[],
  targets: Target[],
  connections: number,
  variant: Variant,
): Promise<LoadSummary> {
  const pool = new Pool({ connectionString: databaseUrl, max: connections });
  const sql = VARIANTS[variant];
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let refused = 0;
  try {
    // Connections opened before the clock starts, as autocannon's are.
    const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
    clients.forEach((c) => c.release());
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        for (let i = next++; i < targets.length; i = next++) {
          const t0 = process.hrtime.bigint();
          try {
            const { rows } = await pool.query(sql, [
              targets[i].id,
              targets[i].partnerId,
              checkers[i % checkers.length],
              null,
              randomUUID(),
              randomUUID(),
            ]);
            if (!rows[0]?.decided) refused++;
          } catch {
            errors++;
          }
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort((a, b) => a - b);
    const at = (p: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]);
    return {
      requests: targets.length,
      seconds,
      perSecond: targets.length / seconds,
      p50: at(0.5),
      p99: at(0.99),
      average: latencies.reduce((s, l) => s + l, 0) / latencies.length,
      errors,
      non2xx: refused,
      statusCodes: { '204': targets.length - refused - errors },
    };
  } finally {
    await pool.end();
  }
}

/**
 * Samples what the database's client sessions are doing every `everyMs` while `during` runs: per wait
 * event (Lock/transactionid = a row lock held by another transaction, Lock/advisory = the event-order lock,
 * Lock/object = the database-wide notify lock at commit, IO/WalSync = the commit's flush, CPU = running), the
 * share of active-session samples. Sessions idle (the LISTEN connection, an idle pool) are not counted.
 */
export async function sampleWaits<T>(
  databaseUrl: string,
  during: Promise<T>,
  everyMs = 5,
): Promise<{ result: T; waits: Array<[string, number]>; samples: number }> {
  const client = new Pool({ connectionString: databaseUrl, max: 1 });
  const counts = new Map<string, number>();
  let samples = 0;
  let done = false;
  const sampling = (async () => {
    while (!done) {
      const { rows } = await client.query<{ wait: string; n: number }>(
        `select coalesce(wait_event_type || '/' || wait_event, 'CPU') as wait, count(*)::int as n
           from pg_stat_activity
          where datname = current_database() and state = 'active' and pid <> pg_backend_pid()
            and backend_type = 'client backend'
          group by 1`,
      );
      for (const r of rows) counts.set(r.wait, (counts.get(r.wait) ?? 0) + r.n);
      samples++;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  try {
    const result = await during;
    return { result, waits: shares(counts), samples };
  } finally {
    done = true;
    await sampling.catch(() => undefined);
    await client.end();
  }
}

function shares(counts: Map<string, number>): Array<[string, number]> {
  const total = [...counts.values()].reduce((s, n) => s + n, 0) || 1;
  return [...counts].map(([wait, n]): [string, number] => [wait, n / total]).sort((a, b) => b[1] - a[1]);
}

/** One line per wait event: "Lock/transactionid 41.2%, IO/WalSync 20.3%, …" (the top `top`). */
export function waitLine(waits: Array<[string, number]>, top = 6): string {
  return waits
    .slice(0, top)
    .map(([wait, share]) => `${wait} ${(share * 100).toFixed(1)}%`)
    .join(', ');
}

/** One approve scenario measured at every layer. */
export interface ApproveLayers {
  scenario: string;
  /** The service over HTTP, and the bare HTTP reference (tokens, operator read, the service's own decision statement). */
  service: LoadSummary;
  bareRun: LoadSummary;
  /** Bare transactions on `pg`: the same statement with its NOTIFY, and without it. */
  txNotify: LoadSummary;
  tx: LoadSummary;
  /** Without NOTIFY, locking the balance row before the order lock; then also the daily total. */
  txBalanceFirst: LoadSummary;
  txTallied: LoadSummary;
  waits: Array<[string, number]>;
  bareWaits: Array<[string, number]>;
  txWaits: Array<[string, number]>;
}

/** The layer table and the wait profile of each scenario, for bench/RESULTS.md. */
export function layersTable(all: ApproveLayers[]): string {
  const cell = (s: LoadSummary, ref: LoadSummary) =>
    `${s.perSecond.toFixed(0)}/s p99 ${s.p99} (${(s.perSecond / ref.perSecond).toFixed(2)}x)`;
  const lines = all.map((l) => [
    l.scenario,
    `${l.service.perSecond.toFixed(0)}/s p99 ${l.service.p99}`,
    cell(l.bareRun, l.tx),
    cell(l.txNotify, l.tx),
    `${l.tx.perSecond.toFixed(0)}/s p99 ${l.tx.p99}`,
    cell(l.txBalanceFirst, l.tx),
    cell(l.txTallied, l.tx),
    `${(l.service.perSecond / l.bareRun.perSecond).toFixed(2)}x`,
    `${(l.service.perSecond / l.tx.perSecond).toFixed(2)}x`,
  ]);
  const header = [
    'approve',
    'service (HTTP)',
    'bare HTTP (same statement)',
    'bare tx + NOTIFY',
    'bare tx, no NOTIFY',
    '+ balance row first',
    '+ daily total row',
    'service / bare HTTP',
    'service / bare tx',
  ];
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    'approve by layer (bare rates as a ratio to the bare transaction without NOTIFY):',
    '',
    row(header),
    row(header.map(() => '---')),
    ...lines.map(row),
    '',
    'where active sessions wait (pg_stat_activity samples every 5 ms):',
    '',
    ...all.flatMap((l) => [
      `- ${l.scenario}, service: ${waitLine(l.waits)}`,
      `- ${l.scenario}, bare HTTP: ${waitLine(l.bareWaits)}`,
      `- ${l.scenario}, bare tx, no NOTIFY: ${waitLine(l.txWaits)}`,
    ]),
  ].join('\n');
}
