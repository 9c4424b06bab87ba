// Four eyes on the rules (SPEC section 18): a policy change through the API is a pending change another
// ADMIN applies or rejects, over REST and GraphQL, with every refusal; the CLI applies at once with a reason;
// the history records requester, decider and reason; the impact preview counts what the change would have done.
import { Client } from 'pg';
import { pgConnectionOptions } from '../src/infra/database-url';
import { policyOf, replacePolicy } from '../src/services/approval-policy.service';
import { parseInput, policyInput } from '../src/shapes/inputs';
import { cli, desk, type Desk, putPolicy } from './support/lifecycle';
import { codeAt, enrollWithCli, gqlHttp } from './support/step-up';
import { createWorld, type World } from './support/world';

type Headers = Record<string, string>;

let world: World;
let d: Desk;
let admin2: Headers;
let admin2Id: string;

const TIERS = { tiers: [{ from: '0', approvals: 1 }], pendingTtlSeconds: 604800 };

beforeAll(async () => {
  world = await createWorld();
  d = await desk(world, 'Four eyes');
  const second = await world.operator(['ADMIN'], [d.partner.id]);
  admin2Id = second.id;
  admin2 = await world.headers(second);
}, 120_000);
afterAll(() => world?.close());

const base = () => world.rest(d.partner.id);
const changes = (h: Headers, query = '') => world.http.get(`${base()}/policy-changes${query}`).set(h);
const decide = (h: Headers, id: string, action: 'approve' | 'reject', body: object = {}) =>
  world.http.post(`${base()}/policy-changes/${id}/${action}`).set(h).send(body);
const policy = async () => (await world.http.get(`${base()}/approval-policy`).set(d.h.viewer)).body;

describe('REST', () => {
  let changeId: string;

  test('PUT by an ADMIN → 202 { change } PENDING with before, after, requester, 7-day deadline and impact; the policy is unchanged', async () => {
    const res = await putPolicy(world, d.partner.id, d.admin, {
      ...TIERS,
      tiers: [
        { from: '0', approvals: 1 },
        { from: '500', approvals: 2 },
      ],
      maxBalance: '10000',
      requireAmountConfirmation: true,
    });
    expect(res.status).toBe(202);
    const change = res.body.change;
    changeId = change.id;
    expect(change).toMatchObject({
      clientId: d.partner.id,
      status: 'PENDING',
      requestedBy: d.admin.id,
      decidedBy: null,
      decidedAt: null,
      before: { tiers: [{ from: '0', approvals: 1 }], maxBalance: null, requireAmountConfirmation: false },
      after: { maxBalance: '10000', requireAmountConfirmation: true, dailyCreditLimit: null },
      impact: { requests: 0, moreApprovals: 0, fewerApprovals: 0 },
    });
    const days = (Date.parse(change.expiresAt) - Date.parse(change.createdAt)) / 86_400_000;
    expect(days).toBeCloseTo(7, 5);
    const now = await policy();
    expect(now).toMatchObject({
      tiers: [{ from: '0', approvals: 1 }],
      maxBalance: null,
      requireAmountConfirmation: false,
    });
    expect(now.pendingChange).toMatchObject({ id: changeId, status: 'PENDING' });
    expect(now.history).toEqual([]);
  });

  test('a second change while one is pending → 409 CHANGE_PENDING (by either ADMIN)', async () => {
    for (const h of [d.h.admin, admin2]) {
      const res = await world.http.put(`${base()}/approval-policy`).set(h).send(TIERS);
      expect([res.status, res.body.code]).toEqual([409, 'CHANGE_PENDING']);
    }
  });

  test('the requester never decides it: approve or reject → 403 SELF_REVIEW_FORBIDDEN; a CHECKER → 403 FORBIDDEN; an unknown id → 404', async () => {
    for (const action of ['approve', 'reject'] as const) {
      const own = await decide(d.h.admin, changeId, action, { reason: 'mine' });
      expect([own.status, own.body.code]).toEqual([403, 'SELF_REVIEW_FORBIDDEN']);
      const checker = await decide(d.h.checkers[0], changeId, action, { reason: 'x' });
      expect([checker.status, checker.body.code]).toEqual([403, 'FORBIDDEN']);
    }
    const unknown = await decide(admin2, '999999', 'approve');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'NOT_FOUND']);
    expect((await policy()).pendingChange.status).toBe('PENDING');
  });

  test('GET /policy-changes?status= lists them (any role of the partner); a status not known → 400', async () => {
    const pending = await changes(d.h.viewer, '?status=PENDING');
    expect(pending.status).toBe(200);
    expect(pending.body.changes.map((c: { id: string }) => c.id)).toEqual([changeId]);
    expect((await changes(d.h.viewer, '?status=APPLIED')).body.changes).toEqual([]);
    const bad = await changes(d.h.viewer, '?status=DONE');
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  test('another ADMIN applies it → 200 the policy in force; the caps reach the balance row; the history names requester and decider; twice → 409', async () => {
    const res = await decide(admin2, changeId, 'approve');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      tiers: [
        { from: '0', approvals: 1 },
        { from: '500', approvals: 2 },
      ],
      maxBalance: '10000',
      requireAmountConfirmation: true,
      updatedBy: admin2Id,
      pendingChange: null,
    });
    expect(res.body.history[0]).toMatchObject({
      id: changeId,
      status: 'APPLIED',
      requestedBy: d.admin.id,
      decidedBy: admin2Id,
      impact: null,
    });
    const [row] = await world.sql<{ max_balance: string }>(
      'select max_balance::text from client_balance where client_id = ?',
      [d.partner.id],
    );
    expect(row.max_balance).toBe('10000.0000');
    const again = await decide(d.h.checkers[0], changeId, 'approve');
    expect(again.status).toBe(403);
    const twice = await decide(admin2, changeId, 'approve');
    expect([twice.status, twice.body.code]).toEqual([409, 'CHANGE_NOT_PENDING']);
  });

  test('reject needs a reason (400 REASON_REQUIRED), then → 200 REJECTED with decider and reason; the policy is unchanged', async () => {
    const filed = await world.http
      .put(`${base()}/approval-policy`)
      .set(admin2)
      .send({ ...TIERS, maxBalance: null });
    expect(filed.status).toBe(202);
    const id = filed.body.change.id;
    for (const body of [{}, { reason: '  ' }]) {
      const res = await decide(d.h.admin, id, 'reject', body);
      expect([res.status, res.body.code]).toEqual([400, 'REASON_REQUIRED']);
    }
    const res = await decide(d.h.admin, id, 'reject', { reason: 'keep the ceiling' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      status: 'REJECTED',
      decidedBy: d.admin.id,
      reason: 'keep the ceiling',
    });
    expect((await policy()).maxBalance).toBe('10000');
    expect((await changes(d.h.viewer, '?status=REJECTED')).body.changes[0].id).toBe(id);
  });

  test('a pending change expires after 7 days: listed EXPIRED, deciding it → 409 CHANGE_NOT_PENDING, and a new change may be filed', async () => {
    const filed = await world.http.put(`${base()}/approval-policy`).set(d.h.admin).send(TIERS);
    expect(filed.status).toBe(202);
    const id = filed.body.change.id;
    await world.sql(
      `update approval_policy_change set created_at = now() - interval '7 days 1 second',
              expires_at = now() - interval '1 second' where id = ?`,
      [id],
    );
    expect(
      (await changes(d.h.viewer, '?status=EXPIRED')).body.changes.map((c: { id: string }) => c.id),
    ).toContain(id);
    const late = await decide(admin2, id, 'approve');
    expect([late.status, late.body.code]).toEqual([409, 'CHANGE_NOT_PENDING']);
    expect((await policy()).pendingChange).toBeNull();
    const next = await world.http.put(`${base()}/approval-policy`).set(d.h.admin).send(TIERS);
    expect(next.status).toBe(202);
    expect((await decide(admin2, next.body.change.id, 'reject', { reason: 'tidy up' })).status).toBe(200);
  });

  test('an ADMIN enrolled in OTP applies with a code: without → 403 OTP_REQUIRED (still pending), with → 200', async () => {
    const enrolled = await enrollWithCli(world, 'ADMIN', [d.partner.id]);
    const filed = await world.http
      .put(`${base()}/approval-policy`)
      .set(d.h.admin)
      .send({ ...TIERS, pendingTtlSeconds: 3600 });
    const id = filed.body.change.id;
    const bare = await decide(enrolled.headers, id, 'approve');
    expect([bare.status, bare.body.code]).toEqual([403, 'OTP_REQUIRED']);
    expect((await policy()).pendingChange.id).toBe(id);
    const ok = await decide(enrolled.headers, id, 'approve', { otp: await codeAt(enrolled.otpSecret) });
    expect(ok.status).toBe(200);
    expect(ok.body.pendingTtlSeconds).toBe(3600);
  });
});

describe('impact preview', () => {
  test('counts the last 90 days: requests needing more or fewer approvals under the new tiers, credits the new caps would refuse', async () => {
    const p = await desk(world, 'Impact', 'USD', 2);
    const other = await world.operator(['ADMIN'], [p.partner.id]);
    // Three requests: 100, 600 (PENDING) and one of 900 credited; one more of 900 filed 100 days ago.
    await world.seedRequests(p.partner.id, p.maker, 1, '100.00');
    await world.seedRequests(p.partner.id, p.maker, 1, '600.00');
    const [credited] = await world.seedRequests(p.partner.id, p.maker, 1, '900.00');
    expect((await world.act(p.partner.id, credited, 'approve', p.h.checkers[0])).status).toBe(204);
    const [old] = await world.seedRequests(p.partner.id, p.maker, 1, '900.00');
    await world.sql(`update process_request set created_at = now() - interval '100 days' where id = ?`, [
      old,
    ]);
    const res = await putPolicy(world, p.partner.id, p.admin, {
      tiers: [
        { from: '0', approvals: 1 },
        { from: '500', approvals: 2 },
      ],
      pendingTtlSeconds: 604800,
      dailyCreditLimit: '800',
      maxBalance: '500',
    });
    expect(res.status).toBe(202);
    expect(res.body.change.impact).toMatchObject({
      requests: 3,
      moreApprovals: 2,
      fewerApprovals: 0,
      approvals: 1,
      refusedByDailyCreditLimit: 1,
      refusedByMaxBalance: 1,
    });
    const undo = await world.http
      .post(`${world.rest(p.partner.id)}/policy-changes/${res.body.change.id}/reject`)
      .set(await world.headers(other))
      .send({ reason: 'too strict' });
    expect(undo.status).toBe(200);
  });
});

describe('GraphQL', () => {
  const SET = `mutation S($clientId: ID!, $input: ApprovalPolicyInput!) { setApprovalPolicy(clientId: $clientId, input: $input) {
    maxBalance pendingChange { id status requestedBy after { maxBalance dailyCreditLimit } impact { requests } } } }`;
  const LIST = `query L($clientId: ID!, $status: String) { policyChanges(clientId: $clientId, status: $status) { id status } }`;
  const APPROVE = `mutation A($clientId: ID!, $id: ID!) { approvePolicyChange(clientId: $clientId, id: $id) {
    maxBalance dailyCreditLimit history { id status requestedBy decidedBy } } }`;
  const REJECT = `mutation R($clientId: ID!, $id: ID!, $reason: String) { rejectPolicyChange(clientId: $clientId, id: $id, reason: $reason) { id status reason decidedBy } }`;

  test('setApprovalPolicy files a pending change; policyChanges lists it; approvePolicyChange by another ADMIN applies it; the requester is refused', async () => {
    const input = { ...TIERS, dailyCreditLimit: '250000' };
    const set = await gqlHttp(world, d.h.admin, SET, { clientId: d.partner.id, input });
    expect(set.errors).toBeUndefined();
    const pending = set.data!.setApprovalPolicy as { maxBalance: string; pendingChange: { id: string } };
    expect(pending).toMatchObject({
      maxBalance: '10000',
      pendingChange: {
        status: 'PENDING',
        requestedBy: d.admin.id,
        after: { dailyCreditLimit: '250000' },
        impact: { requests: 0 },
      },
    });
    const id = pending.pendingChange.id;
    const list = await gqlHttp(world, d.h.viewer, LIST, { clientId: d.partner.id, status: 'PENDING' });
    expect(list.data!.policyChanges).toEqual([{ id, status: 'PENDING' }]);
    const again = await gqlHttp(world, admin2, SET, { clientId: d.partner.id, input });
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'CHANGE_PENDING' });
    const own = await gqlHttp(world, d.h.admin, APPROVE, { clientId: d.partner.id, id });
    expect(own.errors?.[0].extensions).toMatchObject({ code: 'SELF_REVIEW_FORBIDDEN', status: 403 });
    const ok = await gqlHttp(world, admin2, APPROVE, { clientId: d.partner.id, id });
    expect(ok.errors).toBeUndefined();
    const applied = ok.data!.approvePolicyChange as { dailyCreditLimit: string; history: unknown[] };
    expect(applied.dailyCreditLimit).toBe('250000');
    expect(applied.history[0]).toEqual({
      id,
      status: 'APPLIED',
      requestedBy: d.admin.id,
      decidedBy: admin2Id,
    });
  });

  test('rejectPolicyChange needs a reason and records it', async () => {
    const set = await gqlHttp(world, admin2, SET, { clientId: d.partner.id, input: TIERS });
    const id = (set.data!.setApprovalPolicy as { pendingChange: { id: string } }).pendingChange.id;
    const bare = await gqlHttp(world, d.h.admin, REJECT, { clientId: d.partner.id, id });
    expect(bare.errors?.[0].extensions).toMatchObject({ code: 'REASON_REQUIRED', status: 400 });
    // The reason is read with REST's shape (SPEC section 8): too long, or holding NUL, is 400 on both doors.
    for (const reason of ['x'.repeat(600), 'a\u0000b']) {
      const rest = await decide(d.h.admin, id, 'reject', { reason });
      expect([rest.status, rest.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      const gql = await gqlHttp(world, d.h.admin, REJECT, { clientId: d.partner.id, id, reason });
      expect(gql.errors?.[0].extensions).toMatchObject({
        code: 'VALIDATION_FAILED',
        status: 400,
        details: { field: 'reason' },
      });
    }
    const ok = await gqlHttp(world, d.h.admin, REJECT, { clientId: d.partner.id, id, reason: 'not now' });
    expect(ok.data!.rejectPolicyChange).toEqual({
      id,
      status: 'REJECTED',
      reason: 'not now',
      decidedBy: d.admin.id,
    });
  });
});

describe('CLI', () => {
  test('policy:set needs --reason; with one it applies at once, even with a change pending, and the history records the reason with no requester', async () => {
    const refused = await cli(world, 'policy:set', '--partner', d.partner.id, '--max-balance', '20000');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--reason/);
    const filed = await world.http.put(`${base()}/approval-policy`).set(d.h.admin).send(TIERS);
    expect(filed.status).toBe(202);
    const applied = await cli(
      world,
      'policy:set',
      '--partner',
      d.partner.id,
      '--max-balance',
      'none',
      '--reject-reason-required',
      'true',
      '--reason',
      'incident 42: ceiling blocks payroll',
    );
    expect(applied).toMatchObject({ code: 0, out: { maxBalance: null, rejectReasonRequired: true } });
    const now = await policy();
    expect(now.history[0]).toMatchObject({
      status: 'APPLIED',
      requestedBy: null,
      decidedBy: null,
      reason: 'incident 42: ceiling blocks payroll',
      after: { maxBalance: null, rejectReasonRequired: true },
    });
    expect(now.pendingChange).toMatchObject({ id: filed.body.change.id, status: 'PENDING' });
    const bad = await cli(
      world,
      'policy:set',
      '--partner',
      d.partner.id,
      '--reason',
      'x',
      '--require-evidence-viewed',
      'yes',
    );
    expect(bad.code).not.toBe(0);
  });
});

describe('a break-glass change made while a change is pending', () => {
  const PROPOSED = {
    tiers: [
      { from: '0', approvals: 1 },
      { from: '1000', approvals: 3 },
    ],
    pendingTtlSeconds: 604800,
  };
  const BREAK_GLASS = { maxBalance: null, rejectReasonRequired: true };
  const APPROVE = `mutation A($clientId: ID!, $id: ID!) { approvePolicyChange(clientId: $clientId, id: $id) {
    tiers { from approvals } pendingTtlSeconds maxBalance rejectReasonRequired history { id before { maxBalance } after { maxBalance rejectReasonRequired } } } }`;

  /** A partner with a ceiling; ADMIN A proposes new tiers (controls left out); the CLI then lifts the ceiling. */
  async function proposeThenBreakGlass(name: string) {
    const p = await desk(world, name);
    const b = await world.operator(['ADMIN'], [p.partner.id]);
    const setUp = ['policy:set', '--partner', p.partner.id, '--reason'];
    expect((await cli(world, ...setUp, 'ceiling', '--max-balance', '83030666.66')).code).toBe(0);
    const filed = await putPolicy(world, p.partner.id, p.admin, PROPOSED);
    expect(filed.status).toBe(202);
    expect(filed.body.change.before).toMatchObject({
      maxBalance: '83030666.66',
      rejectReasonRequired: false,
    });
    const glass = await cli(
      world,
      ...setUp,
      'break glass',
      '--max-balance',
      'none',
      '--reject-reason-required',
      'true',
    );
    expect(glass).toMatchObject({ code: 0, out: BREAK_GLASS });
    return { p, b, changeId: filed.body.change.id as string, bHeaders: await world.headers(b) };
  }

  test('REST: the pending change shows what approving does now; approving applies only the new tiers and keeps the break-glass values; the history shows the policy in force first', async () => {
    const { p, b, changeId, bHeaders } = await proposeThenBreakGlass('Break glass REST');
    const url = world.rest(p.partner.id);
    const seen = (await world.http.get(`${url}/approval-policy`).set(bHeaders)).body.pendingChange;
    expect(seen).toMatchObject({
      id: changeId,
      before: { ...BREAK_GLASS, tiers: [{ from: '0', approvals: 1 }] },
      after: { ...BREAK_GLASS, ...PROPOSED },
    });
    const res = await world.http.post(`${url}/policy-changes/${changeId}/approve`).set(bHeaders).send({});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ...PROPOSED, ...BREAK_GLASS, updatedBy: b.id });
    const [applied, glass] = res.body.history;
    expect(applied).toMatchObject({
      id: changeId,
      decidedBy: b.id,
      before: { ...BREAK_GLASS, tiers: [{ from: '0', approvals: 1 }] },
      after: { ...BREAK_GLASS, ...PROPOSED },
    });
    expect(glass).toMatchObject({ reason: 'break glass', after: BREAK_GLASS });
    const [row] = await world.sql<{ max_balance: string | null }>(
      'select max_balance::text from client_balance where client_id = ?',
      [p.partner.id],
    );
    expect(row.max_balance).toBeNull();
  });

  test('GraphQL: approvePolicyChange keeps the break-glass values alike', async () => {
    const { p, changeId, bHeaders } = await proposeThenBreakGlass('Break glass GraphQL');
    const res = await gqlHttp(world, bHeaders, APPROVE, { clientId: p.partner.id, id: changeId });
    expect(res.errors).toBeUndefined();
    const policy = res.data!.approvePolicyChange as Record<string, unknown> & { history: unknown[] };
    expect(policy).toMatchObject({ ...PROPOSED, ...BREAK_GLASS });
    expect(policy.history[0]).toEqual({
      id: changeId,
      before: { maxBalance: null },
      after: BREAK_GLASS,
    });
  });
});

test('two policy writes at once: each keeps what the other set', async () => {
  const partner = await world.partner('Two writes');
  const base = { tiers: [{ from: '0', approvals: 1 }], pendingTtlSeconds: 86_400 };
  const write = (input: Record<string, unknown>, reason: string) =>
    replacePolicy(
      world.app.orm.em.fork(),
      partner.id,
      'USD',
      parseInput(policyInput, { ...base, ...input }),
      null,
      reason,
    );
  await write({}, 'start');
  // Both writes arrive while the row is locked elsewhere, then go one after the other.
  const holder = new Client(pgConnectionOptions(world.databaseUrl));
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query('select 1 from approval_policy where client_id = $1 for update', [partner.id]);
    const writes = Promise.all([
      write({ dailyCreditLimit: '100.00' }, 'cap'),
      write({ requireEvidenceViewed: true }, 'viewed'),
    ]);
    for (let look = 0; ; look += 1) {
      const [{ n }] = await world.sql<{ n: string }>(
        "select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%approval_policy%'",
      );
      if (n === '2') break;
      if (look > 500) throw new Error('the two writes never waited on the policy row');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await holder.query('commit');
    await writes;
  } finally {
    await holder.end();
  }
  const state = await policyOf(world.app.orm.em.fork(), partner.id);
  expect({ cap: state.dailyCreditLimit, viewed: state.requireEvidenceViewed }).toEqual({
    cap: '100',
    viewed: true,
  });
});
