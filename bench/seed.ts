// Volume for the benchmark, made in SQL by copying one real request (created through HTTP) many times.
import { Client } from 'pg';

async function withClient<T>(databaseUrl: string, run: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Copies one stored request `count` times under new ids and older timestamps, for `partnerId` (its
 * balance too), with `status`; returns the new ids when asked (`returning`). APPROVED copies stand for a
 * partner's history; PENDING copies are requests to approve.
 */
export function cloneRequests(
  databaseUrl: string,
  sourceId: string,
  count: number,
  options: { partnerId?: string; status?: 'PENDING' | 'APPROVED'; returning?: boolean } = {},
): Promise<string[]> {
  if (count <= 0) return Promise.resolve([]);
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `insert into process_request (id, process_type_id, client_balance_id, client_id, requested_amount, currency, observations,
         evidence_url, evidence_file_name, evidence_content_type, evidence_size, evidence_sha256, evidence_blob_name, status,
         created_by, created_at, updated_at, expires_at, required_approvals)
       select gen_random_uuid(), process_type_id, coalesce(b.id, s.client_balance_id), coalesce(b.client_id, s.client_id),
         requested_amount, s.currency, observations, evidence_url, evidence_file_name, evidence_content_type, evidence_size,
         -- Each copy stands for a file of its own: copies sharing one SHA-256 would all be duplicates of each other.
         encode(sha256(convert_to(evidence_sha256 || g::text, 'UTF8')), 'hex'), evidence_blob_name,
         coalesce($3::process_request_status, status), created_by,
         s.created_at - g * interval '1 millisecond', s.updated_at - g * interval '1 millisecond', expires_at, required_approvals
       from process_request s left join client_balance b on b.client_id = $4::uuid, generate_series(1, $2::int) g
       where s.id = $1 ${options.returning ? 'returning id' : ''}`,
      [sourceId, count, options.status ?? null, options.partnerId ?? null],
    );
    // A table in steady state: statistics current and the visibility map set (index-only counts).
    await client.query('vacuum analyze process_request');
    return rows.map((r) => r.id);
  });
}

/**
 * Books the ledger entry of each APPROVED request of `partnerId` that has none (the copies above have
 * none), `hoursApart` hours apart going back from `before` (newest request first), with the running
 * balance as balance_after, and sets the available balance to the ledger's sum: the history a statement
 * reads. The entries' times are not their requests' (those are all of the last seconds): a statement
 * period then holds a known number of them. Returns how many were booked.
 */
export function bookLedger(
  databaseUrl: string,
  partnerId: string,
  before: Date,
  hoursApart: number,
): Promise<number> {
  return withClient(databaseUrl, async (client) => {
    const { rowCount } = await client.query(
      `insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after, created_at)
       select gen_random_uuid(), client_balance_id, id, requested_amount,
         sum(requested_amount) over (order by k desc), $2::timestamptz - k * $3::int * interval '1 hour'
       from (select r.*, row_number() over (order by created_at desc, id desc) as k from process_request r
         where client_id = $1 and status = 'APPROVED'
           and not exists (select 1 from ledger_entry l where l.process_request_id = r.id)) r`,
      [partnerId, before, hoursApart],
    );
    await client.query(
      `update client_balance b set available = (select coalesce(sum(amount), 0) from ledger_entry where client_balance_id = b.id)
        where client_id = $1`,
      [partnerId],
    );
    await client.query('vacuum analyze ledger_entry');
    return rowCount ?? 0;
  });
}

export function countRequests(databaseUrl: string, partnerId: string): Promise<number> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      'select count(*)::int as n from process_request where client_id = $1',
      [partnerId],
    );
    return rows[0].n;
  });
}

/** The balance's available amount, as exact text. */
export function availableOf(databaseUrl: string, partnerId: string): Promise<string> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ available: string }>(
      'select available::text from client_balance where client_id = $1',
      [partnerId],
    );
    return rows[0].available;
  });
}

/** `explain (analyze)` of a statement, one line per plan node (for the notes). */
export function explain(databaseUrl: string, sql: string, params: unknown[]): Promise<string> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `explain (analyze, costs off, timing off) ${sql}`,
      params,
    );
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}
