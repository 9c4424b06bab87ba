// Helpers for the approval-policy and lifecycle suites: policies, bulk decisions, reversals and balances over
// REST, operators through the CLI, and the ledger invariants of SPEC sections 3, 12 and 13 as SQL.
import { randomBytes } from 'node:crypto';
import type supertest from 'supertest';
import { runCli } from '../../src/cli/run';
import type { Operator } from '../../src/entities/operator.entity';
import type { World } from './world';

type Headers = Record<string, string>;
type Caller = Operator | Headers;

const headersOf = async (world: World, caller: Caller): Promise<Headers> =>
  typeof (caller as Operator).id === 'string' && Array.isArray((caller as Operator).roles)
    ? world.headers(caller as Operator)
    : (caller as Headers);

/** A partner with an admin, a maker, a viewer and `checkers` checkers, each with request headers. */
export interface Desk {
  partner: { id: string; currency: string };
  admin: Operator;
  maker: Operator;
  viewer: Operator;
  checkers: Operator[];
  h: { admin: Headers; maker: Headers; viewer: Headers; checkers: Headers[] };
}

export async function desk(world: World, name: string, currency = 'USD', checkers = 3): Promise<Desk> {
  const partner = await world.partner(name, currency);
  const [admin, maker, viewer] = await Promise.all(
    [['ADMIN'], ['MAKER'], ['VIEWER']].map((roles) => world.operator(roles, [partner.id])),
  );
  const list = await Promise.all(
    Array.from({ length: checkers }, () => world.operator(['CHECKER'], [partner.id])),
  );
  return {
    partner,
    admin,
    maker,
    viewer,
    checkers: list,
    h: {
      admin: await world.headers(admin),
      maker: await world.headers(maker),
      viewer: await world.headers(viewer),
      checkers: await Promise.all(list.map((c) => world.headers(c))),
    },
  };
}

export interface Tier {
  from: string;
  approvals: number;
}

/** PUT /approval-policy; the caller asserts the status. */
export async function putPolicy(
  world: World,
  partnerId: string,
  caller: Caller,
  body: unknown,
): Promise<supertest.Response> {
  return world.http
    .put(`${world.rest(partnerId)}/approval-policy`)
    .set(await headersOf(world, caller))
    .send(body as object);
}

/** PUT /approval-policy that must succeed (200). */
export async function setPolicy(
  world: World,
  partnerId: string,
  admin: Caller,
  tiers: Tier[],
  pendingTtlSeconds = 604800,
): Promise<void> {
  const res = await putPolicy(world, partnerId, admin, { tiers, pendingTtlSeconds });
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
}

/** POST /process-requests/{approve|reject}; the caller asserts the status. */
export async function bulk(
  world: World,
  partnerId: string,
  action: 'approve' | 'reject',
  caller: Caller,
  body: unknown,
): Promise<supertest.Response> {
  return world.http
    .post(`${world.rest(partnerId)}/process-requests/${action}`)
    .set(await headersOf(world, caller))
    .send(body as object);
}

/** POST /process-request/{id}/reversal; the caller asserts the status. */
export async function fileReversal(
  world: World,
  partnerId: string,
  id: string,
  caller: Caller,
  body?: unknown,
): Promise<supertest.Response> {
  const req = world.http
    .post(`${world.rest(partnerId)}/process-request/${id}/reversal`)
    .set(await headersOf(world, caller));
  return body === undefined ? req : req.send(body as object);
}

/** GET /balance, with `available` and `pending` as the exact text of the JSON numbers. */
export async function balanceOf(
  world: World,
  partnerId: string,
  caller: Caller,
): Promise<{ available: string; pending: string }> {
  const res = await world.http.get(`${world.rest(partnerId)}/balance`).set(await headersOf(world, caller));
  expect(res.status).toBe(200);
  const number = (name: string) => new RegExp(`"${name}":(-?[0-9.]+)`).exec(res.text)?.[1];
  return { available: number('available') as string, pending: number('pending') as string };
}

/** GET /process-request/{id}: the view with its history. */
export async function details(
  world: World,
  partnerId: string,
  id: string,
  caller: Caller,
): Promise<Record<string, unknown> & { history: Array<Record<string, unknown>> }> {
  const res = await world.http
    .get(`${world.rest(partnerId)}/process-request/${id}`)
    .set(await headersOf(world, caller));
  expect(res.status).toBe(200);
  return res.body;
}

export async function statusOf(world: World, id: string): Promise<string> {
  const [row] = await world.sql<{ status: string }>('select status from process_request where id = ?', [id]);
  return row.status;
}

/** The stored events of a request, oldest first. */
export async function eventsOf(
  world: World,
  id: string,
): Promise<Array<{ type: string; actor_id: string | null; from_status: string; to_status: string }>> {
  return world.sql(
    'select type, actor_id, from_status, to_status from process_request_event where process_request_id = ? order by id',
    [id],
  );
}

/** The ledger entries of a request, as exact text. */
export async function ledgerOf(world: World, id: string): Promise<Array<{ amount: string; after: string }>> {
  return world.sql(
    'select amount::text as amount, balance_after::text as after from ledger_entry where process_request_id = ? order by created_at, id',
    [id],
  );
}

/** Runs a CLI command against the world's database; the one JSON object it printed, or its error. */
export async function cli(
  world: World,
  ...argv: string[]
): Promise<{ code: number; out?: Record<string, unknown>; stderr: string }> {
  const result = await runCli(argv, {
    NODE_ENV: 'test',
    DATABASE_URL: world.databaseUrl,
    LOG_LEVEL: 'silent',
  });
  return {
    code: result.code,
    out: result.code === 0 ? (JSON.parse(result.stdout) as Record<string, unknown>) : undefined,
    stderr: result.stderr,
  };
}

/** `operator:create` through the CLI with the given extra flags; returns the operator's id and headers. */
export async function cliOperator(
  world: World,
  roles: string,
  partnerIds: string[],
  ...flags: string[]
): Promise<{ id: string; email: string; printed: Record<string, unknown>; headers: Headers }> {
  const email = `cli-${randomBytes(5).toString('hex')}@test.local`;
  const result = await cli(
    world,
    'operator:create',
    '--email',
    email,
    '--name',
    'CLI Operator',
    '--roles',
    roles,
    '--partners',
    partnerIds.join(','),
    ...flags,
  );
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  const printed = result.out as Record<string, unknown>;
  return { id: printed.id as string, email, printed, headers: await world.headers(printed.id as string) };
}

/**
 * Every ledger rule of SPEC sections 3, 12 and 13, over every row of the world's database. Each list names
 * the rows that break its rule, so a failure says which.
 */
export async function ledgerViolations(world: World): Promise<Record<string, unknown[]>> {
  const q = (sql: string) => world.sql(sql);
  return {
    // available = Σ ledger ≥ 0, for every balance.
    balanceNotLedgerSum: await q(
      `select b.id, b.available::text, coalesce(sum(l.amount), 0)::text as ledger
         from client_balance b left join ledger_entry l on l.client_balance_id = b.id
        group by b.id having b.available <> coalesce(sum(l.amount), 0) or b.available < 0`,
    ),
    // No movement ever took a balance below zero.
    negativeBalanceAfter: await q(`select id, balance_after::text from ledger_entry where balance_after < 0`),
    // APPROVED or REVERSED top-up: one credit of its amount; APPROVED reversal: one debit of its amount;
    // anything else (PENDING, REJECTED, CANCELLED, EXPIRED, of either type): no entry.
    wrongEntries: await q(
      `select pr.id, pr.process_type_id, pr.status, count(l.id)::int as entries, sum(l.amount)::text as total
         from process_request pr left join ledger_entry l on l.process_request_id = pr.id
        group by pr.id
       having not case
         when pr.process_type_id = 1 and pr.status in ('APPROVED', 'REVERSED')
           then count(l.id) = 1 and sum(l.amount) = pr.requested_amount
         when pr.process_type_id = 2 and pr.status = 'APPROVED'
           then count(l.id) = 1 and sum(l.amount) = -pr.requested_amount
         else count(l.id) = 0 end`,
    ),
    entryOnAnotherBalance: await q(
      `select l.id from ledger_entry l join process_request pr on pr.id = l.process_request_id
        where l.client_balance_id <> pr.client_balance_id`,
    ),
    // A REVERSED top-up names the APPROVED reversal that reversed it, and only a REVERSED one names one.
    wrongReversedBy: await q(
      `select o.id, o.status from process_request o left join process_request r on r.id = o.reversed_by
        where (o.status = 'REVERSED') <> (o.reversed_by is not null)
           or (o.status = 'REVERSED' and (o.process_type_id <> 1 or r.status <> 'APPROVED'
               or r.process_type_id <> 2 or r.reversal_of <> o.id))`,
    ),
    // A reversal reverses a top-up of its partner, for the same amount; an APPROVED one reversed it.
    wrongReversal: await q(
      `select r.id, r.status from process_request r left join process_request o on o.id = r.reversal_of
        where (r.process_type_id = 2) <> (r.reversal_of is not null)
           or (r.process_type_id = 2 and (o.process_type_id <> 1 or o.client_id <> r.client_id
               or o.requested_amount <> r.requested_amount or r.evidence_url is not null
               or (r.status = 'APPROVED' and (o.status <> 'REVERSED' or o.reversed_by <> r.id))))`,
    ),
    // At most one live (PENDING or APPROVED) reversal per top-up.
    twoLiveReversals: await q(
      `select reversal_of from process_request where status in ('PENDING', 'APPROVED') and reversal_of is not null
        group by reversal_of having count(*) > 1`,
    ),
    // Approvals: one row per counted approval, from distinct operators (never the creator); a request approved
    // has exactly the approvals it needed, any other fewer.
    wrongApprovals: await q(
      `select pr.id, pr.status, pr.approval_count, pr.required_approvals, count(a.id)::int as rows,
              count(distinct a.operator_id)::int as operators, bool_or(a.operator_id = pr.created_by) as by_creator
         from process_request pr left join approval a on a.process_request_id = pr.id
        group by pr.id
       having pr.approval_count <> count(a.id) or count(distinct a.operator_id) <> count(a.id)
           or coalesce(bool_or(a.operator_id = pr.created_by), false)
           or (pr.status in ('APPROVED', 'REVERSED') and pr.approval_count <> pr.required_approvals)
           or (pr.status not in ('APPROVED', 'REVERSED') and pr.approval_count >= pr.required_approvals)`,
    ),
    // Events: exactly one event per transition the status implies, an EXPIRED one by nobody, and one
    // APPROVAL_RECORDED per approval that did not complete the count.
    wrongEvents: await q(
      `select pr.id, pr.status, e.approved, e.rejected, e.cancelled, e.expired, e.expired_by_someone, e.reversed, e.recorded
         from process_request pr
         left join lateral (
           select count(*) filter (where type = 'APPROVED')::int as approved,
                  count(*) filter (where type = 'REJECTED')::int as rejected,
                  count(*) filter (where type = 'CANCELLED')::int as cancelled,
                  count(*) filter (where type = 'EXPIRED')::int as expired,
                  count(*) filter (where type = 'EXPIRED' and actor_id is not null)::int as expired_by_someone,
                  count(*) filter (where type = 'REVERSED')::int as reversed,
                  count(*) filter (where type = 'APPROVAL_RECORDED')::int as recorded
             from process_request_event where process_request_id = pr.id) e on true
        where e.approved <> (case when pr.status in ('APPROVED', 'REVERSED') then 1 else 0 end)
           or e.rejected <> (case when pr.status = 'REJECTED' then 1 else 0 end)
           or e.cancelled <> (case when pr.status = 'CANCELLED' then 1 else 0 end)
           or e.expired <> (case when pr.status = 'EXPIRED' then 1 else 0 end)
           or e.expired_by_someone <> 0
           or e.reversed <> (case when pr.status = 'REVERSED' then 1 else 0 end)
           or e.recorded <> pr.approval_count - (case when pr.status in ('APPROVED', 'REVERSED') then 1 else 0 end)`,
    ),
    // The kept counts per partner and status (the lists' totals) and the kept sums of their top-ups (the
    // balance's pending) are the rows', whatever path wrote them.
    countsNotRows: await q(
      `select coalesce(c.client_id, r.client_id) as client_id, coalesce(c.status, r.status) as status,
              c.n::int as kept, coalesce(r.n, 0)::int as rows, c.top_up_amount::text as kept_amount,
              coalesce(r.amount, 0)::text as rows_amount
         from (select * from process_request_count where n <> 0 or top_up_amount <> 0) c
         full join (select client_id, status, count(*) as n,
                           coalesce(sum(requested_amount) filter (where process_type_id = 1), 0) as amount
                      from process_request group by client_id, status) r
           on r.client_id = c.client_id and r.status = c.status
        where c.n is distinct from r.n or c.top_up_amount is distinct from r.amount`,
    ),
  };
}

/** No rule broken: every list of ledgerViolations is empty. */
export const NO_VIOLATIONS = {
  balanceNotLedgerSum: [],
  negativeBalanceAfter: [],
  wrongEntries: [],
  entryOnAnotherBalance: [],
  wrongReversedBy: [],
  wrongReversal: [],
  twoLiveReversals: [],
  wrongApprovals: [],
  wrongEvents: [],
  countsNotRows: [],
};
