// Statements and point-in-time balances read from the ledger: the SQL, and a snapshot cursor to stream it.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client as PgClient } from 'pg';
import { logStatement, prepared } from './statement';

/** One ledger entry of a statement, as the cursor returns it. */
export interface StatementRow {
  id: string;
  process_request_id: string;
  process_type_id: number;
  amount: string;
  /** The running balance in the statement's order: the opening balance plus every amount up to this one. */
  running: string;
  /** The instant in UTC, ISO 8601 with milliseconds. */
  at: string;
}

/** The balances and totals of a period, from the same snapshot as its entries. */
export interface StatementTotalsRow {
  opening: string;
  closing: string;
  credit_count: string;
  credit_sum: string;
  debit_count: string;
  debit_sum: string;
}

const ISO = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Opening = every amount booked before the period, closing = opening + every amount within it: sums over
 * the ledger in exact NUMERIC, so opening + Σ entries = closing holds by construction.
 */
export const STATEMENT_TOTALS = `select
    coalesce(sum(amount) filter (where created_at < ?), 0)::text as opening,
    coalesce(sum(amount) filter (where created_at < ?), 0)::text as closing,
    count(*) filter (where created_at >= ? and created_at < ? and amount > 0)::text as credit_count,
    coalesce(sum(amount) filter (where created_at >= ? and created_at < ? and amount > 0), 0)::text as credit_sum,
    count(*) filter (where created_at >= ? and created_at < ? and amount < 0)::text as debit_count,
    coalesce(-sum(amount) filter (where created_at >= ? and created_at < ? and amount < 0), 0)::text as debit_sum
  from ledger_entry where client_balance_id = ? and created_at < ?`;

export const statementTotalsParams = (balanceId: string, start: Date, end: Date): unknown[] => [
  start,
  end,
  ...[1, 2, 3, 4].flatMap(() => [start, end]),
  balanceId,
  end,
];

/**
 * The entries of a period in booking order (time, then id), each with the running balance computed by
 * the database from the opening balance. Booking order is the ledger's `created_at`, the start of the
 * transaction that booked it; the balance_after column follows the order in which the balance row was
 * locked, which two concurrent bookings can take the other way round, so the statement computes its own
 * running balance and stays consistent (equal to balance_after whenever bookings did not overlap).
 */
export const STATEMENT_ENTRIES = `select l.id, l.process_request_id, r.process_type_id, l.amount::text as amount,
    (?::numeric + sum(l.amount) over (order by l.created_at, l.id rows unbounded preceding))::text as running,
    ${ISO('l.created_at')} as at
  from ledger_entry l join process_request r on r.id = l.process_request_id
  where l.client_balance_id = ? and l.created_at >= ? and l.created_at < ?
  order by l.created_at, l.id`;

/**
 * The balance as it stood at an instant: every amount booked at or before it; `pending` the PENDING
 * top-ups then (filed by then, not yet decided, cancelled or past their deadline); `updated_at` the last
 * booking by then (the balance's creation when there was none).
 */
export const BALANCE_AT = `select b.id, b.client_id, b.currency, b.created_at,
    (select coalesce(sum(amount), 0)::text from ledger_entry where client_balance_id = b.id and created_at <= ?) as available,
    (select coalesce(sum(requested_amount), 0)::text from process_request
      where client_id = b.client_id and process_type_id = ? and created_at <= ? and expires_at > ?
        and (coalesce(reviewed_at, cancelled_at) is null or coalesce(reviewed_at, cancelled_at) > ?)) as pending,
    coalesce((select max(created_at) from ledger_entry where client_balance_id = b.id and created_at <= ?), b.created_at)
      as updated_at
  from client_balance b where b.client_id = ?`;

export interface BalanceAtRow {
  id: string;
  client_id: string;
  currency: string;
  created_at: string | Date;
  available: string;
  pending: string;
  updated_at: string | Date;
}

/** Rows fetched from a cursor per round trip. */
export const CURSOR_BATCH = 1000;

/**
 * The rows of a snapshot's cursor, one batch per round trip, read once. `close()` ends the snapshot and
 * gives its connection back at once, whatever is under way: a fetch already sent finishes first (the
 * connection runs its statements in order), and no fetch is sent after it.
 */
export interface SnapshotRows<Row> extends AsyncIterable<Row[]> {
  close(): Promise<void>;
}

const BEGIN = 'begin isolation level repeatable read read only';
const FETCH = `fetch ${CURSOR_BATCH} from statement_rows`;

/**
 * A read in one REPEATABLE READ, READ ONLY snapshot on a connection of the pool taken for it alone (pg
 * directly, as the hot reads): `first` runs there, then the cursor's rows are fetched in batches as the
 * consumer asks for them (memory stays flat). The first batch is fetched before this resolves, so a
 * failure is thrown while the caller can still answer with an error status. The connection is given back
 * as soon as the last batch is in (before the consumer reads it: a statement of one batch holds none while
 * it is written), when a fetch fails, or on `close()` (which the iterator's `return()` calls too).
 */
export async function snapshotCursor<First, Row>(
  em: EntityManager,
  first: (run: <T>(sql: string, params: unknown[]) => Promise<T[]>) => Promise<First>,
  cursor: (head: First) => { sql: string; params: unknown[] },
): Promise<{ head: First; rows: SnapshotRows<Row> }> {
  const knex = em.getConnection().getKnex();
  const client = (await knex.client.acquireConnection()) as PgClient;
  const run = async <T>(sql: string, params: unknown[], named = false): Promise<T[]> => {
    const { name, text } = params.length > 0 ? prepared(sql) : { name: undefined, text: sql };
    const started = Date.now();
    knex.emit('query', { sql: text, bindings: params });
    try {
      const result = await (named
        ? client.query({ name, text, values: params })
        : client.query(text, params.length > 0 ? params : undefined));
      logStatement(em, text, started, 'info');
      return result.rows as T[];
    } catch (error) {
      logStatement(em, text, started, 'error');
      throw error;
    }
  };
  // Ends the transaction (COMMIT after a read, ROLLBACK after a failure) and gives the connection back,
  // once: a connection whose transaction could not be ended is given back as knex does after a failed
  // COMMIT, and the pool's own checks deal with it.
  let ended: Promise<void> | undefined;
  const end = (how: 'commit' | 'rollback') =>
    (ended ??= run(how, [])
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => knex.client.releaseConnection(client)));
  try {
    await run(BEGIN, []);
    const head = await first((sql, params) => run(sql, params, true));
    const { sql, params } = cursor(head);
    await run(`declare statement_rows no scroll cursor for ${sql}`, params);
    let batch: Row[] | undefined = await run<Row>(FETCH, []);
    if (batch.length < CURSOR_BATCH) void end('commit');
    let closed = false;
    const close = async () => {
      closed = true;
      batch = undefined;
      await end('commit');
    };
    const done = async (): Promise<IteratorResult<Row[]>> => {
      await ended;
      return { value: undefined, done: true };
    };
    const next = async (): Promise<IteratorResult<Row[]>> => {
      if (batch) {
        const rows = batch;
        batch = undefined;
        if (rows.length > 0) return { value: rows, done: false };
      }
      // Nothing is fetched once the transaction is ending: between this check and the FETCH being queued on
      // the connection there is no await, so a COMMIT queued by close() always comes after it.
      if (closed || ended) return done();
      let rows: Row[];
      try {
        rows = await run<Row>(FETCH, []);
      } catch (error) {
        await end('rollback');
        throw error;
      }
      if (rows.length < CURSOR_BATCH) void end('commit');
      // Closed while that fetch was under way: its rows are nobody's.
      if (closed || rows.length === 0) return done();
      return { value: rows, done: false };
    };
    const iterator: AsyncIterator<Row[]> = {
      next,
      return: async () => {
        await close();
        return { value: undefined, done: true };
      },
    };
    return { head, rows: { close, [Symbol.asyncIterator]: () => iterator } };
  } catch (error) {
    await end('rollback');
    throw error;
  }
}

/** An event of the events export, with the actor's name and email (null when the service acted). */
export interface EventExportRow {
  id: string;
  at: string;
  process_request_id: string;
  type: string;
  actor_id: string | null;
  actor_name: string | null;
  actor_email: string | null;
  from_status: string | null;
  to_status: string | null;
  reason: string | null;
}

/**
 * A batch of a partner's stored events after the event id `after`, oldest first, created within the
 * optional bounds; keyset on the id, so each batch is one index range and no connection is held between.
 */
export function eventsBatchSql(
  partnerId: string,
  after: string,
  bounds: { from?: string; to?: string },
  limit: number,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [partnerId, after];
  let where = 'e.client_id = ? and e.id > ?::bigint';
  if (bounds.from) {
    where += ' and e.created_at >= ?';
    params.push(bounds.from);
  }
  if (bounds.to) {
    where += ' and e.created_at <= ?';
    params.push(bounds.to);
  }
  params.push(limit);
  return {
    sql: `select e.id::text as id, ${ISO('e.created_at')} as at, e.process_request_id, e.type, e.actor_id,
        o.name as actor_name, o.email as actor_email, e.from_status, e.to_status, e.data->>'reason' as reason
      from process_request_event e left join operator o on o.id = e.actor_id
      where ${where} order by e.id limit ?`,
    params,
  };
}
