// The list's exact total kept per partner and status (process_request_count, kept by triggers): equal to
// the rows counted through every write path, over REST and GraphQL, under concurrent creates and
// decisions of one partner, and with the filters that still count rows.
import { ProcessRequestStatus } from '../src/entities/process-request.entity';
import { ProcessRequestsDocument, type ProcessRequestStatus as GqlStatus } from './generated/graphql';
import { balanceOf, desk as makeDesk, type Desk, ledgerViolations, NO_VIOLATIONS } from './support/lifecycle';
import { createWorld, type World } from './support/world';

let world: World;
beforeAll(async () => {
  world = await createWorld({ MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: '20' });
});
afterAll(() => world?.close());

/** The partner's rows per status, counted. */
async function rowsByStatus(partnerId: string): Promise<Record<string, number>> {
  const rows = await world.sql<{ status: string; n: number }>(
    'select status, count(*)::int as n from process_request where client_id = ? group by status',
    [partnerId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** The partner's kept counts per status (rows at zero left out). */
async function keptByStatus(partnerId: string): Promise<Record<string, number>> {
  const rows = await world.sql<{ status: string; n: number }>(
    'select status, n::int as n from process_request_count where client_id = ? and n <> 0',
    [partnerId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

async function restTotal(d: Desk, query = ''): Promise<number> {
  const res = await world.http
    .get(`${world.rest(d.partner.id)}/process-requests?limit=1${query}`)
    .set(d.h.viewer);
  expect({ status: res.status, body: res.status === 200 ? undefined : res.body }).toEqual({ status: 200 });
  return res.body.total;
}

async function gqlTotal(d: Desk, status?: ProcessRequestStatus[]): Promise<number> {
  const res = await world.gql(d.viewer, ProcessRequestsDocument, {
    clientId: d.partner.id,
    limit: 1,
    status: status as GqlStatus[] | undefined,
  });
  expect(res.errors).toBeUndefined();
  return res.data!.processRequests.total;
}

/** The sum of the partner's top-ups (process type 1) per status: from the rows, and as kept beside the counts. */
async function topUpAmounts(
  partnerId: string,
): Promise<{ rows: Record<string, string>; kept: Record<string, string> }> {
  const [rows, kept] = await Promise.all([
    world.sql<{ status: string; amount: string }>(
      `select status, sum(requested_amount)::text as amount from process_request
        where client_id = ? and process_type_id = 1 group by status`,
      [partnerId],
    ),
    world.sql<{ status: string; amount: string }>(
      `select status, top_up_amount::text as amount from process_request_count where client_id = ? and top_up_amount <> 0`,
      [partnerId],
    ),
  ]);
  const byStatus = (list: Array<{ status: string; amount: string }>) =>
    Object.fromEntries(list.map((r) => [r.status, Number(r.amount).toFixed(4)]));
  return { rows: byStatus(rows), kept: byStatus(kept) };
}

/** The balance's `pending` as the rows give it: PENDING top-ups still before their deadline. */
async function pendingOfRows(partnerId: string): Promise<string> {
  const [{ pending }] = await world.sql<{ pending: string }>(
    `select coalesce(sum(requested_amount), 0)::numeric(19,2)::text as pending from process_request
      where client_id = ? and status = 'PENDING' and process_type_id = 1 and expires_at > now()`,
    [partnerId],
  );
  return pending;
}

/**
 * Every way of asking for the total agrees with the rows, the kept counts and top-up amounts are the
 * rows', and the balance's `pending` (read from the kept amount) is the rows' sum.
 */
async function expectExact(d: Desk): Promise<void> {
  const rows = await rowsByStatus(d.partner.id);
  const all = Object.values(rows).reduce((a, b) => a + b, 0);
  expect(await keptByStatus(d.partner.id)).toEqual(rows);
  const amounts = await topUpAmounts(d.partner.id);
  expect(amounts.kept).toEqual(amounts.rows);
  expect((await balanceOf(world, d.partner.id, d.viewer)).pending).toBe(await pendingOfRows(d.partner.id));
  expect(await restTotal(d)).toBe(all);
  expect(await gqlTotal(d)).toBe(all);
  for (const status of Object.values(ProcessRequestStatus)) {
    expect(await restTotal(d, `&status=${status}`)).toBe(rows[status] ?? 0);
    expect(await gqlTotal(d, [status])).toBe(rows[status] ?? 0);
  }
  const pendingOrApproved = (rows.PENDING ?? 0) + (rows.APPROVED ?? 0);
  expect(await restTotal(d, '&status=pending,APPROVED,Pending')).toBe(pendingOrApproved);
  // Filters beyond partner and status count the rows: the same figures.
  expect(await restTotal(d, '&from=2000-01-01T00:00:00Z')).toBe(all);
  expect(await restTotal(d, '&status=PENDING&processTypeId=1&to=2999-01-01T00:00:00Z')).toBe(
    (
      await world.sql<{ n: number }>(
        `select count(*)::int as n from process_request where client_id = ? and status = 'PENDING' and process_type_id = 1`,
        [d.partner.id],
      )
    )[0].n,
  );
}

test('a partner with no request: total 0 (no count row yet)', async () => {
  const d = await makeDesk(world, 'Counts Empty', 'USD', 1);
  expect(await restTotal(d)).toBe(0);
  expect(await gqlTotal(d, [ProcessRequestStatus.PENDING])).toBe(0);
  expect(await keptByStatus(d.partner.id)).toEqual({});
});

test('create, approve, reject, cancel, SQL seeding and deletes each keep the counts exact', async () => {
  const d = await makeDesk(world, 'Counts Paths', 'USD', 2);
  const created = await Promise.all(
    ['10.00', '20.00', '30.00', '40.00'].map((a) => world.createRequest(d.partner.id, d.h.maker, a)),
  );
  await expectExact(d);
  expect((await world.act(d.partner.id, created[0], 'approve', d.h.checkers[0])).status).toBe(204);
  expect(
    (await world.act(d.partner.id, created[1], 'reject', d.h.checkers[1], { reason: 'blurry' })).status,
  ).toBe(204);
  expect((await world.act(d.partner.id, created[2], 'cancel', d.h.maker)).status).toBe(204);
  // A refused decision changes nothing.
  expect((await world.act(d.partner.id, created[0], 'approve', d.h.checkers[1])).status).toBe(409);
  await expectExact(d);
  expect(await rowsByStatus(d.partner.id)).toEqual({ PENDING: 1, APPROVED: 1, REJECTED: 1, CANCELLED: 1 });

  // Volume written in SQL in one statement: one upsert per (partner, status).
  const seeded = await world.seedRequests(d.partner.id, d.maker, 250, '5.00');
  await expectExact(d);
  expect(await restTotal(d, '&status=PENDING')).toBe(251);

  // A statement that changes no status moves no count; one that moves many moves them all, both ways.
  await world.sql('update process_request set observations = ? where client_id = ?', ['noted', d.partner.id]);
  // An amount changed in place (maintenance, never the service) moves the kept amount, not the count.
  await world.sql(
    `update process_request set requested_amount = requested_amount + 0.25 where id = any(?::uuid[])`,
    [`{${seeded.slice(0, 10).join(',')}}`],
  );
  await expectExact(d);
  const some = `{${seeded.slice(0, 100).join(',')}}`;
  await world.sql(`update process_request set status = 'CANCELLED' where id = any(?::uuid[])`, [some]);
  await expectExact(d);
  expect(await rowsByStatus(d.partner.id)).toMatchObject({ PENDING: 151, CANCELLED: 101 });
  await world.sql(`update process_request set status = 'PENDING' where id = any(?::uuid[])`, [some]);
  await expectExact(d);

  // Deletes (not a path of the service, but of maintenance) are counted as well.
  const gone = `{${seeded.slice(200).join(',')}}`;
  await world.sql('delete from process_request_event where process_request_id = any(?::uuid[])', [gone]);
  await world.sql('delete from process_request where id = any(?::uuid[])', [gone]);
  await expectExact(d);
  expect(await rowsByStatus(d.partner.id)).toEqual({ PENDING: 201, APPROVED: 1, REJECTED: 1, CANCELLED: 1 });

  // A write rolled back leaves the counts as they were.
  await expect(
    world.sql(`update process_request set status = 'EXPIRED', requested_amount = -1 where client_id = ?`, [
      d.partner.id,
    ]),
  ).rejects.toThrow();
  await expectExact(d);
  expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
});

test('concurrent creates and decisions of one partner: no deadlock, no failure, the total exact after the storm', async () => {
  const d = await makeDesk(world, 'Counts Storm', 'USD', 4);
  const pending = await world.seedRequests(d.partner.id, d.maker, 24, '3.00');
  const creates = Array.from({ length: 12 }, (_, i) =>
    world.createRequest(d.partner.id, d.h.maker, `${i + 1}.25`).then(() => 201),
  );
  const decisions = pending.map((id, i) => {
    const checker = d.h.checkers[i % d.h.checkers.length];
    if (i % 4 === 3) return world.act(d.partner.id, id, 'cancel', d.h.maker).then((r) => r.status);
    if (i % 4 === 2)
      return world.act(d.partner.id, id, 'reject', checker, { reason: 'no' }).then((r) => r.status);
    return world.act(d.partner.id, id, 'approve', checker).then((r) => r.status);
  });
  // Reads while it all happens: each total is the rows of one snapshot, never an error.
  const reads = Array.from({ length: 10 }, () => restTotal(d).then(() => 200));
  const statuses = await Promise.all([...creates, ...decisions, ...reads]);
  expect(statuses.filter((s) => s >= 300)).toEqual([]);
  await expectExact(d);
  expect(await rowsByStatus(d.partner.id)).toEqual({ PENDING: 12, APPROVED: 12, REJECTED: 6, CANCELLED: 6 });
  expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
});

test('the page and its total are read in one snapshot: a page that lists the rows never disagrees with its total', async () => {
  const d = await makeDesk(world, 'Counts Snapshot', 'USD', 1);
  const writes = (async () => {
    for (let i = 0; i < 15; i++) await world.seedRequests(d.partner.id, d.maker, 2, '1.00');
  })();
  const checks: Array<[number, number]> = [];
  const reading = (async () => {
    for (let i = 0; i < 20; i++) {
      const res = await world.http
        .get(`${world.rest(d.partner.id)}/process-requests?limit=100`)
        .set(d.h.viewer);
      expect(res.status).toBe(200);
      checks.push([res.body.items.length, res.body.total]);
    }
  })();
  await Promise.all([writes, reading]);
  for (const [listed, total] of checks) expect(listed).toBe(total);
  await expectExact(d);
});
