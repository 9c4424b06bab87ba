// Approval policies, partial approvals, approval limits and bulk decisions (SPEC section 12), over real HTTP
// (REST and GraphQL), SSE and a graphql-ws subscription, with the CLI for what only the CLI does; the ledger
// invariants over everything this file did, last.
import { randomUUID } from 'node:crypto';
import { deactivateOperator } from '../src/services/identity/admin.service';
import {
  balanceOf,
  desk as makeDesk,
  type Desk,
  bulk,
  cli,
  cliOperator,
  details,
  eventsOf,
  ledgerOf,
  ledgerViolations,
  NO_VIOLATIONS,
  putPolicy,
  setPolicy,
  statusOf,
} from './support/lifecycle';
import { holdRow, waitingOnLocks } from './support/locks';
import { PROGRESS_SUBSCRIPTION, until, watchProgress } from './support/progress-ws';
import { SseClient } from './support/sse';
import { codeAt, enrollWithCli, gqlHttp, wrongCode } from './support/step-up';
import { createWorld, type World } from './support/world';

let world: World;
beforeAll(async () => {
  // Policies are this suite's fixtures, set at once; four eyes on policy changes: tests/policy-changes.test.ts.
  world = await createWorld({ POLICY_CHANGES_NEED_APPROVAL: 'false' });
});
afterAll(() => world?.close());

type Headers = Record<string, string>;

/** Five checkers by default. */
const desk = (currency = 'USD', checkers = 5) => makeDesk(world, `Policy ${currency}`, currency, checkers);

const DEFAULT_POLICY = { tiers: [{ from: '0', approvals: 1 }], pendingTtlSeconds: 604800 };
/** The controls of SPEC section 18 a policy holds by default (tests/policy-changes.test.ts covers them). */
const DEFAULT_CONTROLS = {
  dailyCreditLimit: null,
  maxBalance: null,
  requireAmountConfirmation: false,
  requireEvidenceViewed: false,
  rejectReasonRequired: false,
  refuseDuplicateEvidence: false,
};

const POLICY_FIELDS = `clientId tiers { from approvals } pendingTtlSeconds updatedAt updatedBy
  history { id actorId at before { tiers { from approvals } pendingTtlSeconds } after { tiers { from approvals } pendingTtlSeconds } }`;
const POLICY_QUERY = `query($clientId: ID!) { approvalPolicy(clientId: $clientId) { ${POLICY_FIELDS} } }`;
const SET_POLICY = `mutation($clientId: ID!, $input: ApprovalPolicyInput!) {
  setApprovalPolicy(clientId: $clientId, input: $input) { ${POLICY_FIELDS} } }`;

async function getPolicy(partnerId: string, headers: Headers) {
  const res = await world.http.get(`${world.rest(partnerId)}/approval-policy`).set(headers);
  expect(res.status).toBe(200);
  return res.body;
}

const approve = (d: Desk, id: string, i: number, body?: Record<string, unknown>) =>
  world.act(d.partner.id, id, 'approve', d.h.checkers[i], body);

describe('the policy: read by every role, changed by ADMIN, every change recorded', () => {
  let d: Desk;
  beforeAll(async () => {
    d = await desk();
  });

  test('a new partner has the default policy: one tier from "0", one approval, 7 days; REST and GraphQL agree', async () => {
    for (const headers of [d.h.viewer, d.h.maker, d.h.checkers[0], d.h.admin]) {
      expect(await getPolicy(d.partner.id, headers)).toEqual({
        clientId: d.partner.id,
        ...DEFAULT_POLICY,
        ...DEFAULT_CONTROLS,
        updatedAt: expect.any(String),
        updatedBy: null,
        history: [],
        pendingChange: null,
        historyTotal: 0,
      });
    }
    const gql = await gqlHttp(world, d.h.viewer, POLICY_QUERY, { clientId: d.partner.id });
    expect(gql.errors).toBeUndefined();
    expect(gql.data?.approvalPolicy).toMatchObject({
      clientId: d.partner.id,
      ...DEFAULT_POLICY,
      history: [],
    });
  });

  test('PUT by an ADMIN → 200 with the new policy; the history records who, when, before and after', async () => {
    const started = Date.now();
    const tiers = [
      { from: '0', approvals: 1 },
      { from: '1000.50', approvals: 2 },
      { from: '50000', approvals: 3 },
    ];
    const res = await putPolicy(world, d.partner.id, d.h.admin, { tiers, pendingTtlSeconds: 3600 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      clientId: d.partner.id,
      tiers,
      pendingTtlSeconds: 3600,
      updatedBy: d.admin.id,
    });
    // Amounts stay decimal strings, exactly as sent.
    expect(res.text).toContain('"from":"1000.50"');
    expect(res.body.history).toHaveLength(1);
    expect(res.body.history[0]).toMatchObject({
      id: expect.any(String),
      actorId: d.admin.id,
      at: expect.any(String),
      before: { ...DEFAULT_POLICY, ...DEFAULT_CONTROLS },
      after: { tiers, pendingTtlSeconds: 3600, ...DEFAULT_CONTROLS },
    });
    const at = Date.parse(res.body.history[0].at);
    expect(at).toBeGreaterThanOrEqual(started - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await getPolicy(d.partner.id, d.h.viewer)).toEqual(res.body);
  });

  test('setApprovalPolicy (GraphQL) by an ADMIN: the change is recorded newest first, its before the previous after', async () => {
    const before = await getPolicy(d.partner.id, d.h.viewer);
    const input = { tiers: [{ from: '0', approvals: 2 }], pendingTtlSeconds: 120 };
    const set = await gqlHttp(world, d.h.admin, SET_POLICY, { clientId: d.partner.id, input });
    expect(set.errors).toBeUndefined();
    const policy = set.data?.setApprovalPolicy as Record<string, unknown> & { history: unknown[] };
    expect(policy).toMatchObject({ ...input, updatedBy: d.admin.id });
    expect(policy.history).toHaveLength(before.history.length + 1);
    expect(policy.history[0]).toMatchObject({
      actorId: d.admin.id,
      before: { tiers: before.tiers, pendingTtlSeconds: before.pendingTtlSeconds },
      after: input,
    });
    const read = await gqlHttp(world, d.h.viewer, POLICY_QUERY, { clientId: d.partner.id });
    expect(read.data?.approvalPolicy).toEqual(policy);
    // Back to the default, for the tests below.
    await setPolicy(world, d.partner.id, d.admin, DEFAULT_POLICY.tiers);
  });

  test('changes at the same moment are recorded one after the other: each change’s before is the previous one’s after', async () => {
    const ttls = [101, 102, 103, 104, 105, 106, 107, 108];
    // Two admins, four calls each: one operator may have four calls in flight.
    const other = await world.operator(['ADMIN'], [d.partner.id]);
    const results = await Promise.all(
      ttls.map((pendingTtlSeconds, i) =>
        putPolicy(world, d.partner.id, i % 2 ? d.admin : other, {
          tiers: DEFAULT_POLICY.tiers,
          pendingTtlSeconds,
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(ttls.map(() => 200));
    const { history, pendingTtlSeconds } = await getPolicy(d.partner.id, d.h.viewer);
    const recent = history.slice(0, ttls.length).reverse() as Array<{
      before: { pendingTtlSeconds: number };
      after: { pendingTtlSeconds: number };
    }>;
    expect(recent.map((c) => c.after.pendingTtlSeconds).sort()).toEqual(ttls);
    for (let i = 1; i < recent.length; i++) expect(recent[i].before).toEqual(recent[i - 1].after);
    expect(pendingTtlSeconds).toBe(recent.at(-1)?.after.pendingTtlSeconds);
    await setPolicy(world, d.partner.id, d.admin, DEFAULT_POLICY.tiers);
  });

  test.each([
    ['MAKER', 'maker'],
    ['CHECKER', 'checker'],
    ['VIEWER', 'viewer'],
  ] as const)(
    '%s cannot change the policy: 403 FORBIDDEN over REST and GraphQL; nothing recorded',
    async (_r, who) => {
      const headers = who === 'checker' ? d.h.checkers[0] : d.h[who];
      const before = await getPolicy(d.partner.id, d.h.viewer);
      const body = { tiers: [{ from: '0', approvals: 5 }], pendingTtlSeconds: 60 };
      const res = await putPolicy(world, d.partner.id, headers, body);
      expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
      const gql = await gqlHttp(world, headers, SET_POLICY, { clientId: d.partner.id, input: body });
      expect(gql.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', status: 403 });
      expect(await getPolicy(d.partner.id, d.h.viewer)).toEqual(before);
    },
  );

  test('an ADMIN of another partner: 403 PARTNER_FORBIDDEN to read or change; a partner that does not exist: 404', async () => {
    const other = await world.partner('Other', 'USD');
    const outsider = await world.headers(await world.operator(['ADMIN'], [other.id]));
    const read = await world.http.get(`${world.rest(d.partner.id)}/approval-policy`).set(outsider);
    expect([read.status, read.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
    const write = await putPolicy(world, d.partner.id, outsider, DEFAULT_POLICY);
    expect([write.status, write.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
    const staff = await world.headers(await world.operator(['ADMIN'], null));
    const missing = await putPolicy(world, randomUUID(), staff, DEFAULT_POLICY);
    expect([missing.status, missing.body.code]).toEqual([404, 'NOT_FOUND']);
    const badId = await world.http.get(`${world.rest('nope')}/approval-policy`).set(staff);
    expect([badId.status, badId.body.code]).toEqual([400, 'INVALID_ID']);
  });

  const tier = (from: unknown, approvals: unknown) => ({ from, approvals });
  test.each([
    ['no tiers', { pendingTtlSeconds: 60 }, 'tiers'],
    ['an empty list of tiers', { tiers: [], pendingTtlSeconds: 60 }, 'tiers'],
    [
      '11 tiers',
      { tiers: Array.from({ length: 11 }, (_, i) => tier(String(i * 10), 1)), pendingTtlSeconds: 60 },
      'tiers',
    ],
    ['a first tier not from "0"', { tiers: [tier('10', 1)], pendingTtlSeconds: 60 }, 'tiers'],
    [
      'tiers out of order',
      { tiers: [tier('0', 1), tier('500', 2), tier('100', 3)], pendingTtlSeconds: 60 },
      'tiers',
    ],
    [
      'the same bound twice',
      { tiers: [tier('0', 1), tier('100', 2), tier('100.00', 3)], pendingTtlSeconds: 60 },
      'tiers',
    ],
    [
      'fewer approvals for a larger amount',
      { tiers: [tier('0', 2), tier('100', 1)], pendingTtlSeconds: 60 },
      'tiers',
    ],
    ['0 approvals', { tiers: [tier('0', 0)], pendingTtlSeconds: 60 }, 'tiers.0.approvals'],
    ['6 approvals', { tiers: [tier('0', 6)], pendingTtlSeconds: 60 }, 'tiers.0.approvals'],
    ['1.5 approvals', { tiers: [tier('0', 1.5)], pendingTtlSeconds: 60 }, 'tiers.0.approvals'],
    ['approvals as a string', { tiers: [tier('0', '1')], pendingTtlSeconds: 60 }, 'tiers.0.approvals'],
    ['a bound given as a JSON number', { tiers: [tier(0, 1)], pendingTtlSeconds: 60 }, 'tiers.0.from'],
    ['a negative bound', { tiers: [tier('0', 1), tier('-5', 2)], pendingTtlSeconds: 60 }, 'tiers.1.from'],
    [
      'a bound in exponent form',
      { tiers: [tier('0', 1), tier('1e3', 2)], pendingTtlSeconds: 60 },
      'tiers.1.from',
    ],
    [
      'a bound finer than cents (USD)',
      { tiers: [tier('0', 1), tier('10.001', 2)], pendingTtlSeconds: 60 },
      'tiers.1.from',
    ],
    [
      'a bound above 999999999999999',
      { tiers: [tier('0', 1), tier('1000000000000000', 2)], pendingTtlSeconds: 60 },
      'tiers.1.from',
    ],
    ['a tier that is not an object', { tiers: ['0:1'], pendingTtlSeconds: 60 }, 'tiers.0'],
    ['no pendingTtlSeconds', { tiers: [tier('0', 1)] }, 'pendingTtlSeconds'],
    ['pendingTtlSeconds 0', { tiers: [tier('0', 1)], pendingTtlSeconds: 0 }, 'pendingTtlSeconds'],
    [
      'pendingTtlSeconds over a year',
      { tiers: [tier('0', 1)], pendingTtlSeconds: 31536001 },
      'pendingTtlSeconds',
    ],
    ['pendingTtlSeconds 1.5', { tiers: [tier('0', 1)], pendingTtlSeconds: 1.5 }, 'pendingTtlSeconds'],
    [
      'pendingTtlSeconds as a string',
      { tiers: [tier('0', 1)], pendingTtlSeconds: '60' },
      'pendingTtlSeconds',
    ],
  ])('PUT with %s → 400 VALIDATION_FAILED naming the field; nothing changes', async (_name, body, field) => {
    const before = await getPolicy(d.partner.id, d.h.viewer);
    const res = await putPolicy(world, d.partner.id, d.h.admin, body);
    expect({ status: res.status, body: res.body }).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED', details: { field } },
    });
    expect(await getPolicy(d.partner.id, d.h.viewer)).toEqual(before);
  });

  test('a body that is not a JSON object → 400; a JPY bound with decimals → 400; over GraphQL too', async () => {
    const before = await getPolicy(d.partner.id, d.h.viewer);
    const array = await putPolicy(world, d.partner.id, d.h.admin, [DEFAULT_POLICY]);
    expect([array.status, array.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const yen = await desk('JPY', 0);
    const res = await putPolicy(world, yen.partner.id, yen.h.admin, {
      tiers: [tier('0', 1), tier('0.5', 2)],
      pendingTtlSeconds: 60,
    });
    expect([res.status, res.body.code, res.body.details]).toEqual([
      400,
      'VALIDATION_FAILED',
      { field: 'tiers.1.from' },
    ]);
    for (const input of [
      { tiers: [tier('0', 1), tier('100', 6)], pendingTtlSeconds: 60 },
      { tiers: [tier('5', 1)], pendingTtlSeconds: 60 },
      { tiers: [tier('0', 1)], pendingTtlSeconds: 0 },
      { tiers: [], pendingTtlSeconds: 60 },
    ]) {
      const gql = await gqlHttp(world, d.h.admin, SET_POLICY, { clientId: d.partner.id, input });
      expect(gql.errors?.[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    }
    expect(await getPolicy(d.partner.id, d.h.viewer)).toEqual(before);
  });

  test('the limits themselves are accepted: 10 tiers, 5 approvals, equal approvals in a row, TTL 1 and 31536000', async () => {
    const tiers = Array.from({ length: 10 }, (_, i) =>
      tier(String(i * 100), Math.min(5, 1 + Math.floor(i / 2))),
    );
    for (const pendingTtlSeconds of [1, 31536000]) {
      const res = await putPolicy(world, d.partner.id, d.h.admin, { tiers, pendingTtlSeconds });
      expect([res.status, res.body.tiers, res.body.pendingTtlSeconds]).toEqual([
        200,
        tiers,
        pendingTtlSeconds,
      ]);
    }
    // Leading zeros are not part of the amount.
    const res = await putPolicy(world, d.partner.id, d.h.admin, {
      tiers: [tier('000', 1), tier('0100', 2)],
      pendingTtlSeconds: 60,
    });
    expect([res.status, res.body.tiers]).toEqual([200, [tier('0', 1), tier('100', 2)]]);
    await setPolicy(world, d.partner.id, d.admin, DEFAULT_POLICY.tiers);
  });

  test('CLI policy:set: prints the policy; the change is in the history with actor null; flags left out keep their value', async () => {
    const before = await getPolicy(d.partner.id, d.h.viewer);
    const why = ['--reason', 'tiers for the new desk'];
    const set = await cli(
      world,
      'policy:set',
      '--partner',
      d.partner.id,
      '--tiers',
      '0:1,2500:2,10000:4',
      ...why,
    );
    expect(set.code).toBe(0);
    const tiers = [tier('0', 1), tier('2500', 2), tier('10000', 4)];
    expect(set.out).toEqual({
      clientId: d.partner.id,
      tiers,
      pendingTtlSeconds: before.pendingTtlSeconds,
      ...DEFAULT_CONTROLS,
      updatedAt: expect.any(String),
      updatedBy: null,
      pendingChange: null,
    });
    const ttl = await cli(
      world,
      'policy:set',
      '--partner',
      d.partner.id,
      '--pending-ttl-seconds',
      '900',
      ...why,
    );
    expect(ttl.out).toMatchObject({ tiers, pendingTtlSeconds: 900 });
    const after = await getPolicy(d.partner.id, d.h.viewer);
    expect(after.history[0]).toMatchObject({
      id: expect.any(String),
      actorId: null,
      reason: 'tiers for the new desk',
      at: expect.any(String),
      before: { tiers, pendingTtlSeconds: before.pendingTtlSeconds },
      after: { tiers, pendingTtlSeconds: 900 },
    });
    expect(after.history[1]).toMatchObject({
      id: expect.any(String),
      actorId: null,
      at: expect.any(String),
      before: { tiers: before.tiers, pendingTtlSeconds: before.pendingTtlSeconds },
      after: { tiers, pendingTtlSeconds: before.pendingTtlSeconds },
    });
    expect(after.historyTotal).toBe(before.historyTotal + 2);
  });

  test.each([
    ['no change asked', ['--partner', 'PARTNER']],
    ['0 approvals', ['--partner', 'PARTNER', '--tiers', '0:0']],
    ['a tier without approvals', ['--partner', 'PARTNER', '--tiers', '0:1,100']],
    ['unsorted tiers', ['--partner', 'PARTNER', '--tiers', '0:1,500:2,100:3']],
    ['a TTL of 0', ['--partner', 'PARTNER', '--pending-ttl-seconds', '0']],
    ['a TTL that is not a number', ['--partner', 'PARTNER', '--pending-ttl-seconds', 'soon']],
    [
      'a partner that does not exist',
      ['--partner', '00000000-0000-4000-8000-000000000000', '--tiers', '0:1'],
    ],
    ['a partner id that is not a UUID', ['--partner', 'acme', '--tiers', '0:1']],
  ])('CLI policy:set with %s fails with a message; nothing changes', async (_name, args) => {
    const before = await getPolicy(d.partner.id, d.h.viewer);
    const result = await cli(
      world,
      'policy:set',
      ...args.map((a) => (a === 'PARTNER' ? d.partner.id : a)),
      '--reason',
      'test',
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error: .+/);
    expect(await getPolicy(d.partner.id, d.h.viewer)).toEqual(before);
  });
});

describe('requiredApprovals is fixed when a request is filed', () => {
  test('amounts pick their tier; a later change of policy leaves requests already filed as they were', async () => {
    const d = await desk();
    await setPolicy(world, d.partner.id, d.admin, [
      { from: '0', approvals: 1 },
      { from: '1000', approvals: 2 },
      { from: '5000.50', approvals: 3 },
    ]);
    const amounts = ['999.99', '1000', '5000.49', '5000.50', '70000'];
    const ids: string[] = [];
    for (const amount of amounts) ids.push(await world.createRequest(d.partner.id, d.h.maker, amount));
    // One after another: five reads at once by one operator would meet the per-operator cap on calls in
    // flight (4 by default), which is not what this test is about.
    const required = async () => {
      const found: unknown[] = [];
      for (const id of ids)
        found.push((await details(world, d.partner.id, id, d.h.viewer)).requiredApprovals);
      return found;
    };
    expect(await required()).toEqual([1, 2, 2, 3, 3]);

    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }]);
    expect(await required()).toEqual([1, 2, 2, 3, 3]);
    const later = await world.createRequest(d.partner.id, d.h.maker, '70000');
    expect((await details(world, d.partner.id, later, d.h.viewer)).requiredApprovals).toBe(1);

    // And they are decided by what they were filed with: the 1000 one still needs two approvals.
    expect((await approve(d, ids[1], 0)).status).toBe(204);
    expect(await statusOf(world, ids[1])).toBe('PENDING');
    expect((await approve(d, ids[1], 1)).status).toBe(204);
    expect(await statusOf(world, ids[1])).toBe('APPROVED');
    expect((await approve(d, later, 0)).status).toBe(204);
    expect(await statusOf(world, later)).toBe('APPROVED');
  });
});

const PROGRESS_WITH_APPROVALS = PROGRESS_SUBSCRIPTION.replace(
  'available',
  'available approvals requiredApprovals',
);

describe('partial approvals', () => {
  let d: Desk;
  beforeAll(async () => {
    d = await desk();
    await setPolicy(world, d.partner.id, d.admin, [
      { from: '0', approvals: 1 },
      { from: '100', approvals: 2 },
      { from: '1000', approvals: 3 },
    ]);
  });

  test('below the count: 204, still PENDING, the approver listed, APPROVAL_RECORDED on SSE and the subscription; the last approval credits once', async () => {
    const sse = await SseClient.open(
      `${world.baseUrl}${world.rest(d.partner.id)}/process-request/progress`,
      d.h.viewer,
    );
    expect(sse.status).toBe(200);
    const ws = watchProgress(world.baseUrl, d.h.viewer, d.partner.id, PROGRESS_WITH_APPROVALS);
    await until(() => world.app.progress.openStreams === 2);
    const balance = await balanceOf(world, d.partner.id, d.viewer);
    const id = await world.createRequest(d.partner.id, d.h.maker, '1500.25');

    for (const [i, n] of [
      [0, 1],
      [1, 2],
    ]) {
      const res = await approve(d, id, i, { reason: `look ${n}` });
      expect([res.status, res.text]).toEqual([204, '']);
      const view = await details(world, d.partner.id, id, d.h.viewer);
      expect(view).toMatchObject({ status: 'PENDING', requiredApprovals: 3, reviewedBy: null });
      expect(view.approvals).toEqual(
        d.checkers.slice(0, n).map((c) => ({ operatorId: c.id, at: expect.any(String) })),
      );
      const fields = { type: 'APPROVAL_RECORDED', processRequestId: id, approvals: n };
      const frame = await sse.waitForEvent(fields);
      expect(frame.data).toMatchObject({
        ...fields,
        requiredApprovals: 3,
        status: 'PENDING',
        clientId: d.partner.id,
      });
      expect(await ws.waitFor(fields)).toMatchObject({ ...fields, requiredApprovals: 3, status: 'PENDING' });
      expect(await balanceOf(world, d.partner.id, d.viewer)).toEqual({
        available: balance.available,
        pending: expect.any(String),
      });
      expect(await ledgerOf(world, id)).toEqual([]);
    }

    const last = await approve(d, id, 2, { reason: 'third look' });
    expect(last.status).toBe(204);
    const view = await details(world, d.partner.id, id, d.h.viewer);
    expect(view).toMatchObject({
      status: 'APPROVED',
      reviewedBy: d.checkers[2].id,
      reviewReason: 'third look',
      approvals: d.checkers.slice(0, 3).map((c) => ({ operatorId: c.id, at: expect.any(String) })),
    });
    expect(view.history.map((h) => [h.type, h.actorId, h.toStatus])).toEqual([
      ['CREATED', d.maker.id, 'PENDING'],
      ['APPROVAL_RECORDED', d.checkers[0].id, 'PENDING'],
      ['APPROVAL_RECORDED', d.checkers[1].id, 'PENDING'],
      ['APPROVED', d.checkers[2].id, 'APPROVED'],
    ]);
    const approved = await sse.waitForEvent({ type: 'APPROVED', processRequestId: id });
    expect(approved.data).toMatchObject({
      status: 'APPROVED',
      available: Number(balance.available) + 1500.25,
    });
    await ws.waitFor({ type: 'APPROVED', processRequestId: id });
    expect(await ledgerOf(world, id)).toHaveLength(1);
    expect((await balanceOf(world, d.partner.id, d.viewer)).available).toBe(
      (Number(balance.available) + 1500.25).toFixed(2),
    );
    // Each event once, on both transports.
    const types = (events: Array<Record<string, unknown>>) =>
      events.filter((e) => e.processRequestId === id && e.type !== 'EVIDENCE_UPLOADING').map((e) => e.type);
    const expected = ['CREATED', 'APPROVAL_RECORDED', 'APPROVAL_RECORDED', 'APPROVED'];
    expect(types(sse.events())).toEqual(expected);
    expect(types(ws.events)).toEqual(expected);
    sse.close();
    await ws.dispose();

    // A fourth checker is too late.
    const late = await approve(d, id, 3);
    expect([late.status, late.body.code]).toEqual([409, 'PROCESS_REQUEST_NOT_PENDING']);
  });

  test('GraphQL approveProcessRequest returns the request still PENDING with its approvals, then APPROVED', async () => {
    const id = await world.createRequest(d.partner.id, d.h.maker, '100');
    const mutation = `mutation($clientId: ID!, $id: ID!) { approveProcessRequest(clientId: $clientId, id: $id) {
      status requiredApprovals approvals { operatorId at } } }`;
    const first = await gqlHttp(world, d.h.checkers[3], mutation, { clientId: d.partner.id, id });
    expect(first.data?.approveProcessRequest).toEqual({
      status: 'PENDING',
      requiredApprovals: 2,
      approvals: [{ operatorId: d.checkers[3].id, at: expect.any(String) }],
    });
    const again = await gqlHttp(world, d.h.checkers[3], mutation, { clientId: d.partner.id, id });
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'ALREADY_APPROVED_BY_OPERATOR', status: 409 });
    const second = await gqlHttp(world, d.h.checkers[4], mutation, { clientId: d.partner.id, id });
    expect(second.data?.approveProcessRequest).toMatchObject({ status: 'APPROVED' });
    expect((second.data?.approveProcessRequest as { approvals: unknown[] }).approvals).toHaveLength(2);
  });

  test('the same approver twice → 409 ALREADY_APPROVED_BY_OPERATOR; the creator never approves, even as CHECKER', async () => {
    const id = await world.createRequest(d.partner.id, d.h.maker, '250');
    expect((await approve(d, id, 0)).status).toBe(204);
    const twice = await approve(d, id, 0);
    expect([twice.status, twice.body.code]).toEqual([409, 'ALREADY_APPROVED_BY_OPERATOR']);
    expect(await statusOf(world, id)).toBe('PENDING');
    const both = await world.operator(['MAKER', 'CHECKER'], [d.partner.id]);
    const own = await world.createRequest(d.partner.id, both, '250');
    expect((await approve(d, own, 0)).status).toBe(204);
    const self = await world.act(d.partner.id, own, 'approve', both);
    expect([self.status, self.body.code]).toEqual([403, 'SELF_REVIEW_FORBIDDEN']);
    expect(await statusOf(world, own)).toBe('PENDING');
    expect((await approve(d, own, 1)).status).toBe(204);
    expect(await statusOf(world, own)).toBe('APPROVED');
  });

  test('any checker may reject a partly approved request, the approver too, but only with a reason (400 REASON_REQUIRED)', async () => {
    for (const rejecter of [0, 1]) {
      const id = await world.createRequest(d.partner.id, d.h.maker, '300');
      expect((await approve(d, id, 0)).status).toBe(204);
      for (const body of [undefined, {}, { reason: '' }, { reason: null }, { reason: ' \t\n\u00a0 ' }]) {
        const res = await world.act(d.partner.id, id, 'reject', d.h.checkers[rejecter], body);
        expect([res.status, res.body.code]).toEqual([400, 'REASON_REQUIRED']);
      }
      expect(await statusOf(world, id)).toBe('PENDING');
      const res = await world.act(d.partner.id, id, 'reject', d.h.checkers[rejecter], {
        reason: 'amount differs',
      });
      expect(res.status).toBe(204);
      expect(await details(world, d.partner.id, id, d.h.viewer)).toMatchObject({
        status: 'REJECTED',
        reviewedBy: d.checkers[rejecter].id,
        reviewReason: 'amount differs',
        approvals: [{ operatorId: d.checkers[0].id, at: expect.any(String) }],
      });
      expect(await ledgerOf(world, id)).toEqual([]);
    }
    // Without approvals, a reason stays optional.
    const plain = await world.createRequest(d.partner.id, d.h.maker, '300');
    expect((await world.act(d.partner.id, plain, 'reject', d.h.checkers[2])).status).toBe(204);
  });

  test('an approval already recorded stays valid when its operator is deactivated; the deactivated operator can do nothing more', async () => {
    const leaver = await world.operator(['CHECKER'], [d.partner.id]);
    const hLeaver = await world.headers(leaver);
    const id = await world.createRequest(d.partner.id, d.h.maker, '150');
    expect((await world.act(d.partner.id, id, 'approve', hLeaver)).status).toBe(204);
    await deactivateOperator(world.app.orm.em.fork(), leaver.id);
    const refused = await world.act(d.partner.id, id, 'reject', hLeaver, { reason: 'changed my mind' });
    expect([refused.status, refused.body.code]).toEqual([403, 'OPERATOR_INACTIVE']);
    expect((await approve(d, id, 0)).status).toBe(204);
    expect(await details(world, d.partner.id, id, d.h.viewer)).toMatchObject({
      status: 'APPROVED',
      approvals: [
        { operatorId: leaver.id, at: expect.any(String) },
        { operatorId: d.checkers[0].id, at: expect.any(String) },
      ],
    });
    expect(await ledgerOf(world, id)).toHaveLength(1);
  });
});

describe('races', () => {
  let d: Desk;
  let crowd: Headers[];
  beforeAll(async () => {
    d = await desk();
    await setPolicy(world, d.partner.id, d.admin, [
      { from: '0', approvals: 2 },
      { from: '1000', approvals: 3 },
    ]);
    const checkers = await Promise.all(
      Array.from({ length: 10 }, () => world.operator(['CHECKER'], [d.partner.id])),
    );
    crowd = await Promise.all(checkers.map((c) => world.headers(c)));
  });

  test.each([
    ['two', '500.50', 2],
    ['three', '1000', 3],
  ])(
    'ten distinct checkers approve a %s-approval request at once: exactly that many 204s, the rest 409, credited once',
    async (_n, amount, required) => {
      for (let round = 0; round < 3; round++) {
        const before = await balanceOf(world, d.partner.id, d.viewer);
        const id = await world.createRequest(d.partner.id, d.h.maker, amount);
        const results = await Promise.all(crowd.map((h) => world.act(d.partner.id, id, 'approve', h)));
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((s) => s === 204)).toHaveLength(required);
        expect(results.filter((r) => r.status !== 204).map((r) => [r.status, r.body.code])).toEqual(
          Array.from({ length: 10 - required }, () => [409, 'PROCESS_REQUEST_NOT_PENDING']),
        );
        expect(await statusOf(world, id)).toBe('APPROVED');
        expect(await ledgerOf(world, id)).toHaveLength(1);
        const [{ n }] = await world.sql<{ n: number }>(
          'select count(*)::int as n from approval where process_request_id = ?',
          [id],
        );
        expect(n).toBe(required);
        expect((await balanceOf(world, d.partner.id, d.viewer)).available).toBe(
          (Number(before.available) + Number(amount)).toFixed(2),
        );
        expect((await eventsOf(world, id)).map((e) => e.type)).toEqual([
          'CREATED',
          ...Array.from({ length: required - 1 }, () => 'APPROVAL_RECORDED'),
          'APPROVED',
        ]);
      }
    },
  );

  test('the same operator approving twice at once: one 204, one 409 ALREADY_APPROVED_BY_OPERATOR, one approval counted', async () => {
    for (let round = 0; round < 10; round++) {
      const id = await world.createInProcess(d.partner.id, d.maker, '10.00');
      const results = await Promise.all([0, 1, 2].map(() => approve(d, id, 0)));
      expect(results.map((r) => r.status).sort()).toEqual([204, 409, 409]);
      expect(results.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual([
        'ALREADY_APPROVED_BY_OPERATOR',
        'ALREADY_APPROVED_BY_OPERATOR',
      ]);
      const [row] = await world.sql<{ status: string; approval_count: number }>(
        'select status, approval_count from process_request where id = ?',
        [id],
      );
      expect(row).toEqual({ status: 'PENDING', approval_count: 1 });
    }
  });

  test('approvals racing a rejection: either the rejection or the completing approval wins, never both', async () => {
    for (let round = 0; round < 10; round++) {
      const id = await world.createInProcess(d.partner.id, d.maker, '20.00');
      expect((await approve(d, id, 0)).status).toBe(204);
      const [ok, no] = await Promise.all([
        approve(d, id, 1),
        world.act(d.partner.id, id, 'reject', d.h.checkers[2], { reason: 'race' }),
      ]);
      expect([ok.status, no.status].sort()).toEqual([204, 409]);
      const status = await statusOf(world, id);
      expect(status).toBe(ok.status === 204 ? 'APPROVED' : 'REJECTED');
      expect(await ledgerOf(world, id)).toHaveLength(status === 'APPROVED' ? 1 : 0);
    }
  });

  /**
   * A decision over GraphQL, answering the request it decided. Each is started once the previous one waits
   * on the held row, so they take the row in that order.
   */
  async function queued(
    id: string,
    held: { release: () => Promise<void> },
    calls: Array<[mutation: string, headers: Headers, reason?: string]>,
  ) {
    const answers = [];
    try {
      for (const [mutation, headers, reason] of calls) {
        answers.push(
          gqlHttp(
            world,
            headers,
            `mutation($clientId: ID!, $id: ID!, $reason: String) {
              ${mutation}(clientId: $clientId, id: $id, reason: $reason) { status approvals { operatorId } } }`,
            { clientId: d.partner.id, id, reason },
          ).then((r) => r.data?.[mutation] ?? r.errors),
        );
        await waitingOnLocks(world, answers.length);
      }
    } finally {
      await held.release();
    }
    return Promise.all(answers);
  }

  test('two approvals that waited on the row: the one that approves answers both approvals, not only its own', async () => {
    const id = await world.createInProcess(d.partner.id, d.maker, '30.00');
    const answers = await queued(id, await holdRow(world, id), [
      ['approveProcessRequest', d.h.checkers[0]],
      ['approveProcessRequest', d.h.checkers[1]],
    ]);
    // The second statement's snapshot was taken before the first approval committed.
    expect(answers).toEqual([
      { status: 'PENDING', approvals: [{ operatorId: d.checkers[0].id }] },
      { status: 'APPROVED', approvals: [{ operatorId: d.checkers[0].id }, { operatorId: d.checkers[1].id }] },
    ]);
  });

  test.each([
    ['rejection', 'rejectProcessRequest', 'REJECTED'],
    ['cancellation', 'cancelProcessRequest', 'CANCELLED'],
  ])('a %s that waited on an approval answers that approval', async (_what, mutation, status) => {
    // Three approvals needed: the first leaves the request PENDING for the decision behind it.
    const id = await world.createInProcess(d.partner.id, d.maker, '1000.00');
    const decider = mutation === 'cancelProcessRequest' ? d.h.maker : d.h.checkers[1];
    const answers = await queued(id, await holdRow(world, id), [
      ['approveProcessRequest', d.h.checkers[0]],
      [mutation, decider, 'race'],
    ]);
    expect(answers).toEqual([
      { status: 'PENDING', approvals: [{ operatorId: d.checkers[0].id }] },
      { status, approvals: [{ operatorId: d.checkers[0].id }] },
    ]);
  });
});

describe('approval limits per operator and currency', () => {
  let usd: Desk;
  let eur: Desk;
  let jpy: Desk;
  beforeAll(async () => {
    [usd, eur, jpy] = [await desk('USD', 1), await desk('EUR', 1), await desk('JPY', 1)];
  });

  test('operator:create --approval-limit: above it 403 APPROVAL_LIMIT_EXCEEDED (nothing recorded), at it 204; absent currency = no limit', async () => {
    const partners = [usd.partner.id, eur.partner.id, jpy.partner.id];
    const limited = await cliOperator(world, 'CHECKER', partners, '--approval-limit', 'USD:500,eur:400.50');
    expect(limited.printed).toMatchObject({ approvalLimits: { USD: '500', EUR: '400.50' } });

    const over = await world.createRequest(usd.partner.id, usd.h.maker, '500.01');
    const res = await world.act(usd.partner.id, over, 'approve', limited.headers);
    expect([res.status, res.body.code]).toEqual([403, 'APPROVAL_LIMIT_EXCEEDED']);
    expect(await details(world, usd.partner.id, over, usd.h.viewer)).toMatchObject({
      status: 'PENDING',
      approvals: [],
    });
    expect(await eventsOf(world, over)).toHaveLength(1);
    const at = await world.createRequest(usd.partner.id, usd.h.maker, '500');
    expect((await world.act(usd.partner.id, at, 'approve', limited.headers)).status).toBe(204);

    const eurOver = await world.createRequest(eur.partner.id, eur.h.maker, '400.51');
    const eurRes = await world.act(eur.partner.id, eurOver, 'approve', limited.headers);
    expect([eurRes.status, eurRes.body.code]).toEqual([403, 'APPROVAL_LIMIT_EXCEEDED']);
    const eurAt = await world.createRequest(eur.partner.id, eur.h.maker, '400.50');
    expect((await world.act(eur.partner.id, eurAt, 'approve', limited.headers)).status).toBe(204);

    // No JPY limit: any amount.
    const yen = await world.createRequest(jpy.partner.id, jpy.h.maker, '999999999999');
    expect((await world.act(jpy.partner.id, yen, 'approve', limited.headers)).status).toBe(204);

    // Someone without a limit approves what the limited operator could not; a rejection knows no limit.
    expect((await world.act(usd.partner.id, over, 'approve', usd.h.checkers[0])).status).toBe(204);
    const rejectable = await world.createRequest(eur.partner.id, eur.h.maker, '100000');
    expect((await world.act(eur.partner.id, rejectable, 'reject', limited.headers)).status).toBe(204);
  });

  test('operator:update --approval-limit raises it, `none` clears it; operator:show prints it', async () => {
    const op = await cliOperator(world, 'CHECKER', [usd.partner.id], '--approval-limit', 'USD:100');
    const id = await world.createRequest(usd.partner.id, usd.h.maker, '2500');
    const first = await world.act(usd.partner.id, id, 'approve', op.headers);
    expect([first.status, first.body.code]).toEqual([403, 'APPROVAL_LIMIT_EXCEEDED']);

    const raised = await cli(
      world,
      'operator:update',
      '--operator',
      op.email,
      '--approval-limit',
      'USD:2499.99',
    );
    expect(raised.out).toMatchObject({ id: op.id, approvalLimits: { USD: '2499.99' } });
    const second = await world.act(usd.partner.id, id, 'approve', op.headers);
    expect([second.status, second.body.code]).toEqual([403, 'APPROVAL_LIMIT_EXCEEDED']);

    const cleared = await cli(world, 'operator:update', '--operator', op.id, '--approval-limit', 'none');
    expect(cleared.out).toMatchObject({ approvalLimits: null });
    expect((await cli(world, 'operator:show', '--operator', op.id)).out).toMatchObject({
      approvalLimits: null,
    });
    expect((await world.act(usd.partner.id, id, 'approve', op.headers)).status).toBe(204);
  });

  test('a limit holds for every approval of a multi-approval request, and in a bulk decision per item', async () => {
    await setPolicy(world, usd.partner.id, usd.admin, [{ from: '0', approvals: 2 }]);
    const op = await cliOperator(world, 'CHECKER', [usd.partner.id], '--approval-limit', 'USD:1000');
    const small = await world.createRequest(usd.partner.id, usd.h.maker, '999');
    const big = await world.createRequest(usd.partner.id, usd.h.maker, '1001');
    // The first approval of the big one by someone else; the limited operator cannot complete it.
    expect((await world.act(usd.partner.id, big, 'approve', usd.h.checkers[0])).status).toBe(204);
    const res = await bulk(world, usd.partner.id, 'approve', op.headers, { ids: [small, big] });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { id: small, statusCode: 204 },
      { id: big, statusCode: 403, code: 'APPROVAL_LIMIT_EXCEEDED' },
    ]);
    expect(await statusOf(world, big)).toBe('PENDING');
    await setPolicy(world, usd.partner.id, usd.admin, [{ from: '0', approvals: 1 }]);
  });

  test.each([
    ['a currency that is not ISO 4217', 'US:100'],
    ['an amount that is not a decimal', 'USD:lots'],
    ['a zero limit', 'USD:0'],
    ['no amount', 'USD'],
    ['a currency twice', 'USD:1,usd:2'],
  ])('--approval-limit with %s is refused and nothing changes', async (_name, value) => {
    const op = await cliOperator(world, 'CHECKER', [usd.partner.id], '--approval-limit', 'USD:100');
    const update = await cli(world, 'operator:update', '--operator', op.id, '--approval-limit', value);
    expect(update.code).not.toBe(0);
    expect(update.stderr).toMatch(/^error: /);
    expect((await cli(world, 'operator:show', '--operator', op.id)).out).toMatchObject({
      approvalLimits: { USD: '100' },
    });
  });
});

describe('OTP on approval, with several approvals', () => {
  test('each OTP approver sends a code; a refused approval (already approved, limit) costs no code', async () => {
    const d = await desk('USD', 1);
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 2 }]);
    const otp = await enrollWithCli(world, 'CHECKER', [d.partner.id]);
    const id = await world.createRequest(d.partner.id, d.h.maker, '75');
    const none = await world.act(d.partner.id, id, 'approve', otp.headers);
    expect([none.status, none.body.code]).toEqual([403, 'OTP_REQUIRED']);
    const wrong = await world.act(d.partner.id, id, 'approve', otp.headers, {
      otp: await wrongCode(otp.otpSecret),
    });
    expect([wrong.status, wrong.body.code]).toEqual([403, 'OTP_INVALID']);
    expect(await details(world, d.partner.id, id, d.h.viewer)).toMatchObject({
      status: 'PENDING',
      approvals: [],
    });

    const ok = await world.act(d.partner.id, id, 'approve', otp.headers, {
      otp: await codeAt(otp.otpSecret),
    });
    expect(ok.status).toBe(204);
    expect(await statusOf(world, id)).toBe('PENDING');
    // Judged before the code: no code needed to learn it was already approved.
    const again = await world.act(d.partner.id, id, 'approve', otp.headers);
    expect([again.status, again.body.code]).toEqual([409, 'ALREADY_APPROVED_BY_OPERATOR']);
    expect((await world.act(d.partner.id, id, 'approve', d.h.checkers[0])).status).toBe(204);
    expect(await statusOf(world, id)).toBe('APPROVED');
  });
});

describe('bulk decisions', () => {
  let d: Desk;
  beforeAll(async () => {
    d = await desk();
    await setPolicy(world, d.partner.id, d.admin, [
      { from: '0', approvals: 1 },
      { from: '1000', approvals: 2 },
    ]);
  });

  test('REST approve: 200 with one result per id, in order, each as its single call would answer', async () => {
    const other = await desk('USD', 0);
    const both = await world.operator(['MAKER', 'CHECKER'], [d.partner.id]);
    const hBoth = await world.headers(both);
    const limited = await cliOperator(world, 'CHECKER', [d.partner.id], '--approval-limit', 'USD:5000');
    const ok = await world.createRequest(d.partner.id, d.h.maker, '10');
    const partial = await world.createRequest(d.partner.id, d.h.maker, '2000');
    const decided = await world.createRequest(d.partner.id, d.h.maker, '20');
    expect((await world.act(d.partner.id, decided, 'reject', d.h.checkers[0])).status).toBe(204);
    const own = await world.createRequest(d.partner.id, hBoth, '30');
    const tooBig = await world.createRequest(d.partner.id, d.h.maker, '6000');
    const approvedByMe = await world.createRequest(d.partner.id, d.h.maker, '3000');
    expect((await world.act(d.partner.id, approvedByMe, 'approve', limited.headers)).status).toBe(204);
    const foreign = await world.createRequest(other.partner.id, other.h.maker, '40');
    const missing = randomUUID();

    const ids = [
      ok,
      partial,
      decided,
      own,
      tooBig,
      approvedByMe,
      foreign,
      missing,
      'not-a-uuid',
      ok,
      42,
      ok.toUpperCase(),
    ];
    // The bulk caller: a checker who is also a maker (so that one of the ids is their own) with a limit.
    await cli(world, 'operator:update', '--operator', both.id, '--approval-limit', 'USD:5000');
    const res = await bulk(world, d.partner.id, 'approve', hBoth, {
      ids: ids.filter((i) => i !== approvedByMe),
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      results: [
        { id: ok, statusCode: 204 },
        { id: partial, statusCode: 204 },
        { id: decided, statusCode: 409, code: 'PROCESS_REQUEST_NOT_PENDING' },
        { id: own, statusCode: 403, code: 'SELF_REVIEW_FORBIDDEN' },
        { id: tooBig, statusCode: 403, code: 'APPROVAL_LIMIT_EXCEEDED' },
        { id: foreign, statusCode: 404, code: 'NOT_FOUND' },
        { id: missing, statusCode: 404, code: 'NOT_FOUND' },
        { id: 'not-a-uuid', statusCode: 400, code: 'INVALID_ID' },
        { id: ok, statusCode: 409, code: 'PROCESS_REQUEST_NOT_PENDING' },
        { id: '42', statusCode: 400, code: 'INVALID_ID' },
        { id: ok.toUpperCase(), statusCode: 409, code: 'PROCESS_REQUEST_NOT_PENDING' },
      ],
    });
    const byMe = await bulk(world, d.partner.id, 'approve', limited.headers, {
      ids: [approvedByMe, partial],
    });
    expect(byMe.body.results).toEqual([
      { id: approvedByMe, statusCode: 409, code: 'ALREADY_APPROVED_BY_OPERATOR' },
      { id: partial, statusCode: 204 },
    ]);
    expect(await statusOf(world, ok)).toBe('APPROVED');
    expect(await statusOf(world, partial)).toBe('APPROVED');
    expect(await statusOf(world, own)).toBe('PENDING');
    expect(await statusOf(world, tooBig)).toBe('PENDING');
    expect(await statusOf(world, foreign)).toBe('PENDING');
    expect(await details(world, d.partner.id, partial, d.h.viewer)).toMatchObject({
      approvals: [
        { operatorId: both.id, at: expect.any(String) },
        { operatorId: limited.id, at: expect.any(String) },
      ],
    });
  });

  test('REST reject: a reason covers the batch; a partly approved one without a reason is that item’s 400', async () => {
    const plain = await world.createRequest(d.partner.id, d.h.maker, '10');
    const partly = await world.createRequest(d.partner.id, d.h.maker, '1500');
    expect((await approve(d, partly, 0)).status).toBe(204);
    const withoutReason = await bulk(world, d.partner.id, 'reject', d.h.checkers[1], {
      ids: [partly, plain],
    });
    expect(withoutReason.body.results).toEqual([
      { id: partly, statusCode: 400, code: 'REASON_REQUIRED' },
      { id: plain, statusCode: 204 },
    ]);
    const withReason = await bulk(world, d.partner.id, 'reject', d.h.checkers[0], {
      ids: [partly],
      reason: 'statement does not match',
    });
    expect(withReason.body.results).toEqual([{ id: partly, statusCode: 204 }]);
    expect(await details(world, d.partner.id, partly, d.h.viewer)).toMatchObject({
      status: 'REJECTED',
      reviewReason: 'statement does not match',
      reviewedBy: d.checkers[0].id,
    });
  });

  test('1 to 100 ids: 100 → 100 results; 0 or 101 → 400 and nothing is decided; not a list → 400', async () => {
    const real = await Promise.all(
      Array.from({ length: 5 }, () => world.createInProcess(d.partner.id, d.maker, '1.00')),
    );
    const hundred = [...real, ...Array.from({ length: 95 }, () => randomUUID())];
    const tooMany = await bulk(world, d.partner.id, 'approve', d.h.checkers[0], {
      ids: [...hundred, randomUUID()],
    });
    expect([tooMany.status, tooMany.body.code, tooMany.body.details]).toEqual([
      400,
      'VALIDATION_FAILED',
      { field: 'ids' },
    ]);
    for (const id of real) expect(await statusOf(world, id)).toBe('PENDING');
    for (const body of [{ ids: [] }, { ids: real[0] }, {}, { ids: null }]) {
      const res = await bulk(world, d.partner.id, 'approve', d.h.checkers[0], body);
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    const res = await bulk(world, d.partner.id, 'approve', d.h.checkers[0], { ids: hundred });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(100);
    expect(res.body.results.map((r: { id: string }) => r.id)).toEqual(hundred);
    expect(res.body.results.slice(0, 5).every((r: { statusCode: number }) => r.statusCode === 204)).toBe(
      true,
    );
    expect(res.body.results.slice(5).every((r: { code: string }) => r.code === 'NOT_FOUND')).toBe(true);
    for (const id of real) expect(await statusOf(world, id)).toBe('APPROVED');
  });

  test('the batch is refused whole: VIEWER or MAKER 403 FORBIDDEN, another partner’s checker 403 PARTNER_FORBIDDEN', async () => {
    const id = await world.createRequest(d.partner.id, d.h.maker, '10');
    const other = await world.partner('Elsewhere', 'USD');
    const outsider = await world.headers(await world.operator(['CHECKER'], [other.id]));
    for (const [headers, code] of [
      [d.h.viewer, 'FORBIDDEN'],
      [d.h.maker, 'FORBIDDEN'],
      [outsider, 'PARTNER_FORBIDDEN'],
    ] as const) {
      for (const action of ['approve', 'reject'] as const) {
        const res = await bulk(world, d.partner.id, action, headers, { ids: [id], reason: 'x' });
        expect([res.status, res.body.code]).toEqual([403, code]);
      }
    }
    expect(await statusOf(world, id)).toBe('PENDING');
  });

  test('one OTP check covers the batch: missing or wrong refuses it whole; a good code decides every item, and is not reusable', async () => {
    const otp = await enrollWithCli(world, 'CHECKER', [d.partner.id]);
    const ids = [
      await world.createRequest(d.partner.id, d.h.maker, '11'),
      await world.createRequest(d.partner.id, d.h.maker, '12'),
      await world.createRequest(d.partner.id, d.h.maker, '1200'),
    ];
    const none = await bulk(world, d.partner.id, 'approve', otp.headers, { ids });
    expect([none.status, none.body.code]).toEqual([403, 'OTP_REQUIRED']);
    const wrong = await bulk(world, d.partner.id, 'approve', otp.headers, {
      ids,
      otp: await wrongCode(otp.otpSecret),
    });
    expect([wrong.status, wrong.body.code]).toEqual([403, 'OTP_INVALID']);
    for (const id of ids) expect(await statusOf(world, id)).toBe('PENDING');
    const code = await codeAt(otp.otpSecret);
    const ok = await bulk(world, d.partner.id, 'approve', otp.headers, { ids, otp: code });
    expect(ok.body.results.map((r: { statusCode: number }) => r.statusCode)).toEqual([204, 204, 204]);
    expect(await Promise.all(ids.map((id) => statusOf(world, id)))).toEqual([
      'APPROVED',
      'APPROVED',
      'PENDING',
    ]);
    const another = await world.createRequest(d.partner.id, d.h.maker, '13');
    const replay = await bulk(world, d.partner.id, 'approve', otp.headers, { ids: [another], otp: code });
    expect([replay.status, replay.body.code]).toEqual([403, 'OTP_INVALID']);
    // Rejection is not elevated.
    const rejected = await bulk(world, d.partner.id, 'reject', otp.headers, { ids: [another] });
    expect(rejected.body.results).toEqual([{ id: another, statusCode: 204 }]);
  });

  test('GraphQL approveProcessRequests / rejectProcessRequests: { id, ok, code, request } per item, in order', async () => {
    const fields = '{ id ok code message request { id status approvals { operatorId } } }';
    const approveMany = `mutation($clientId: ID!, $ids: [ID!]!, $reason: String) {
      approveProcessRequests(clientId: $clientId, ids: $ids, reason: $reason) ${fields} }`;
    const rejectMany = `mutation($clientId: ID!, $ids: [ID!]!, $reason: String) {
      rejectProcessRequests(clientId: $clientId, ids: $ids, reason: $reason) ${fields} }`;
    const one = await world.createRequest(d.partner.id, d.h.maker, '5');
    const two = await world.createRequest(d.partner.id, d.h.maker, '1005');
    const missing = randomUUID();
    const res = await gqlHttp(world, d.h.checkers[0], approveMany, {
      clientId: d.partner.id,
      ids: [one, missing, two, 'bad', one],
      reason: 'batch',
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.approveProcessRequests).toEqual([
      {
        id: one,
        ok: true,
        code: null,
        message: null,
        request: { id: one, status: 'APPROVED', approvals: [{ operatorId: d.checkers[0].id }] },
      },
      { id: missing, ok: false, code: 'NOT_FOUND', message: expect.any(String), request: null },
      {
        id: two,
        ok: true,
        code: null,
        message: null,
        request: { id: two, status: 'PENDING', approvals: [{ operatorId: d.checkers[0].id }] },
      },
      { id: 'bad', ok: false, code: 'INVALID_ID', message: expect.any(String), request: null },
      { id: one, ok: false, code: 'PROCESS_REQUEST_NOT_PENDING', message: expect.any(String), request: null },
    ]);
    const rejected = await gqlHttp(world, d.h.checkers[1], rejectMany, {
      clientId: d.partner.id,
      ids: [two, one],
    });
    expect(rejected.data?.rejectProcessRequests).toEqual([
      { id: two, ok: false, code: 'REASON_REQUIRED', message: expect.any(String), request: null },
      { id: one, ok: false, code: 'PROCESS_REQUEST_NOT_PENDING', message: expect.any(String), request: null },
    ]);
    const withReason = await gqlHttp(world, d.h.checkers[1], rejectMany, {
      clientId: d.partner.id,
      ids: [two],
      reason: 'no',
    });
    expect(withReason.data?.rejectProcessRequests).toMatchObject([
      { id: two, ok: true, request: { status: 'REJECTED' } },
    ]);
    for (const ids of [[], Array.from({ length: 101 }, () => randomUUID())]) {
      const refused = await gqlHttp(world, d.h.checkers[0], approveMany, { clientId: d.partner.id, ids });
      expect(refused.errors?.[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    }
    const viewer = await gqlHttp(world, d.h.viewer, approveMany, { clientId: d.partner.id, ids: [one] });
    expect(viewer.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });
});

// Runs last, over everything the tests above did.
test('ledger invariants hold over every request this file made', async () => {
  expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
  const [{ approved, partial }] = await world.sql<{ approved: number; partial: number }>(
    `select count(*) filter (where status = 'APPROVED' and required_approvals > 1)::int as approved,
            count(*) filter (where status = 'PENDING' and approval_count > 0)::int as partial from process_request`,
  );
  expect(approved).toBeGreaterThan(10);
  expect(partial).toBeGreaterThan(0);
});
