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
         evidence_sha256, evidence_blob_name, coalesce($3::process_request_status, status), created_by,
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
