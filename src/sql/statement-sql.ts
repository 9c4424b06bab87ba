// Statements and point-in-time balances read from the ledger: the SQL, and a snapshot cursor to stream it.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Knex } from '@mikro-orm/postgresql';

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
const CURSOR_BATCH = 1000;

/**
 * A read in one REPEATABLE READ, READ ONLY snapshot on a connection of its own: `first` runs there, then
 * the cursor's rows are fetched in batches as the consumer asks for them (memory stays flat). The first
 * batch is fetched before this resolves, so a failure is thrown while the caller can still answer with an
 * error status. The connection is given back when the rows are read, when reading fails, or when the
 * consumer stops early (`return()`, which a destroyed Readable.from calls even before its first read).
 */
export async function snapshotCursor<First, Row>(
  em: EntityManager,
  first: (run: <T>(sql: string, params: unknown[]) => Promise<T[]>) => Promise<First>,
  cursor: (head: First) => { sql: string; params: unknown[] },
): Promise<{ head: First; rows: AsyncIterable<Row> }> {
  const knex = em.getConnection().getKnex();
  const trx: Knex.Transaction = await knex.transaction({ isolationLevel: 'repeatable read', readOnly: true });
  const run = async <T>(sql: string, params: unknown[]): Promise<T[]> =>
    ((await trx.raw(sql, params as Knex.RawBinding[])) as { rows: T[] }).rows;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await trx.commit().catch(() => undefined);
  };
  const fetch = () => run<Row>(`fetch ${CURSOR_BATCH} from statement_rows`, []);
  try {
    const head = await first(run);
    const { sql, params } = cursor(head);
    await run(`declare statement_rows no scroll cursor for ${sql}`, params);
    let batch = await fetch();
    let index = 0;
    const iterator: AsyncIterator<Row> = {
      async next() {
        for (;;) {
          if (index < batch.length) return { value: batch[index++], done: false };
          if (released || batch.length < CURSOR_BATCH) {
            await release();
            return { value: undefined, done: true };
          }
          try {
            [batch, index] = [await fetch(), 0];
          } catch (error) {
            await release();
            throw error;
          }
        }
      },
      async return() {
        await release();
        return { value: undefined, done: true };
      },
    };
    return { head, rows: { [Symbol.asyncIterator]: () => iterator } };
  } catch (error) {
    await release();
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
