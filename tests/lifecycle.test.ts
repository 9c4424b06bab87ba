// The request lifecycle of SPEC section 13 over real HTTP, GraphQL, SSE and graphql-ws, with two server
// processes' worth of app on one database: expiry (sweeps in both, and decisions after the deadline), the
// pending balance, and reversals with their races; the ledger invariants over all of it, last.
import supertest from 'supertest';
import { checked } from './support/openapi';
import type { App } from '../src/app';
import { expire } from '../src/runtime/expiry';
import {
  balanceOf,
  desk as makeDesk,
  type Desk,
  bulk,
  cliOperator,
  details,
  eventsOf,
  fileReversal,
  ledgerOf,
  ledgerViolations,
  NO_VIOLATIONS,
  setPolicy,
  statusOf,
} from './support/lifecycle';
import { until, watchProgress } from './support/progress-ws';
import { SseClient } from './support/sse';
import { codeAt, enrollWithCli, gqlHttp, wrongCode } from './support/step-up';
import { createWorld, type World } from './support/world';

let world: World;
let second: App;
let secondHttp: ReturnType<typeof supertest>;
let secondUrl: string;

beforeAll(async () => {
  // Races of one operator's calls at once test the lifecycle, not the per-operator cap on calls in flight.
  // Policies are this suite's fixtures, set at once; four eyes on policy changes: tests/policy-changes.test.ts.
  world = await createWorld({
    EXPIRY_SWEEP_SECONDS: '1',
    MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: '100',
    POLICY_CHANGES_NEED_APPROVAL: 'false',
  });
  // Same configuration, same database: a second server process, sweeping on its own timer.
  ({ app: second, url: secondUrl } = await world.secondProcess());
  secondHttp = checked(supertest(secondUrl));
});
afterAll(async () => {
  await world?.close();
});

type Headers = Record<string, string>;

const desk = (name: string, currency = 'USD', checkers = 3) => makeDesk(world, name, currency, checkers);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the condition holds (at most `timeoutMs`). */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Waits until every given request is past its expiresAt. */
async function pastDeadline(ids: string[]): Promise<void> {
  const rows = await world.sql<{ at: Date }>(
    'select max(expires_at) as at from process_request where id = any(?)',
    [`{${ids.join(',')}}`],
  );
  const wait = new Date(rows[0].at).getTime() - Date.now() + 20;
  if (wait > 0) await sleep(wait);
}

/** Stops both processes' sweep timers for the tests of one describe, and starts them again after. */
function withoutSweeps(): void {
  beforeAll(() => Promise.all([world.app.services.expiry.stop(), second.services.expiry.stop()]));
  afterAll(() => {
    world.app.services.expiry.start(1);
    second.services.expiry.start(1);
  });
}

const progressUrl = (base: string, partnerId: string) =>
  `${base}${world.rest(partnerId)}/process-request/progress`;

async function expiredEvents(ids: string[]) {
  return world.sql<{
    process_request_id: string;
    actor_id: string | null;
    from_status: string;
    to_status: string;
  }>(
    `select process_request_id, actor_id, from_status, to_status from process_request_event
      where type = 'EXPIRED' and process_request_id = any(?) order by id`,
    [`{${ids.join(',')}}`],
  );
}

const HISTORY_QUERY = `query($clientId: ID!, $id: ID!) { processRequest(clientId: $clientId, id: $id) {
  status expiresAt createdAt history { type actorId fromStatus toStatus } } }`;

describe('expiry swept by two server processes', () => {
  test('TTL 1 s: every request expires once — one EXPIRED event (actor null) in the table, on SSE (process 2), on the subscription (process 1) and in the history', async () => {
    const d = await desk('Expiry');
    await setPolicy(
      world,
      d.partner.id,
      d.admin,
      [
        { from: '0', approvals: 1 },
        { from: '1000', approvals: 2 },
      ],
      1,
    );
    const sse = await SseClient.open(progressUrl(secondUrl, d.partner.id), d.h.viewer);
    expect(sse.status).toBe(200);
    const ws = watchProgress(world.baseUrl, d.h.viewer, d.partner.id);
    await until(() => world.app.progress.openStreams === 1 && second.progress.openStreams === 1);

    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push(await world.createRequest(d.partner.id, d.h.maker, i < 2 ? '1000' : '5'));
    // Two are partly approved before their deadline: they expire all the same.
    for (const id of ids.slice(0, 2)) {
      const res = await world.act(d.partner.id, id, 'approve', d.h.checkers[0]);
      if (res.status !== 204)
        expect([res.status, res.body.code]).toEqual([409, 'PROCESS_REQUEST_NOT_PENDING']);
    }
    await eventually(async () =>
      (await Promise.all(ids.map((id) => statusOf(world, id)))).every((s) => s === 'EXPIRED'),
    );
    // Both processes sweep every second: give them two more rounds to (not) expire anything twice.
    await sleep(2200);

    const events = await expiredEvents(ids);
    expect(events.map((e) => e.process_request_id).sort()).toEqual([...ids].sort());
    expect(
      events.every((e) => e.actor_id === null && e.from_status === 'PENDING' && e.to_status === 'EXPIRED'),
    ).toBe(true);
    const expiredOn = (list: Array<Record<string, unknown>>) =>
      list
        .filter((e) => e.type === 'EXPIRED')
        .map((e) => e.processRequestId as string)
        .sort();
    await eventually(async () => expiredOn(ws.events).length === ids.length);
    expect(expiredOn(sse.events())).toEqual([...ids].sort());
    expect(expiredOn(ws.events)).toEqual([...ids].sort());
    expect(sse.events().find((e) => e.type === 'EXPIRED')).toMatchObject({
      status: 'EXPIRED',
      clientId: d.partner.id,
      id: expect.any(String),
    });

    const view = await details(world, d.partner.id, ids[0], d.h.viewer);
    expect(view.status).toBe('EXPIRED');
    expect(view.history.at(-1)).toMatchObject({
      type: 'EXPIRED',
      actorId: null,
      fromStatus: 'PENDING',
      toStatus: 'EXPIRED',
    });
    expect(Date.parse(view.expiresAt as string) - Date.parse(view.createdAt as string)).toBe(1000);
    const gql = await gqlHttp(world, d.h.viewer, HISTORY_QUERY, { clientId: d.partner.id, id: ids[5] });
    expect(gql.data?.processRequest).toMatchObject({ status: 'EXPIRED' });
    expect((gql.data?.processRequest as { history: unknown[] }).history.at(-1)).toEqual({
      type: 'EXPIRED',
      actorId: null,
      fromStatus: 'PENDING',
      toStatus: 'EXPIRED',
    });
    // Lists filter on the new status, on either process.
    const listed = await secondHttp
      .get(`${world.rest(d.partner.id)}/process-requests?status=EXPIRED&limit=100`)
      .set(d.h.viewer);
    expect(listed.body.total).toBe(ids.length);
    const gqlList = await gqlHttp(
      world,
      d.h.viewer,
      `query($c: ID!) { processRequests(clientId: $c, status: [EXPIRED], limit: 100) { total } }`,
      { c: d.partner.id },
    );
    expect(gqlList.data?.processRequests).toEqual({ total: ids.length });
    // A watcher that reconnects from before the expiries gets them replayed, each once.
    const firstId = sse.frames.find((f) => f.data?.type === 'CREATED')?.id as string;
    const resumed = await SseClient.open(progressUrl(world.baseUrl, d.partner.id), {
      ...d.h.viewer,
      'last-event-id': firstId,
    });
    await eventually(async () => expiredOn(resumed.events()).length === ids.length);
    expect(expiredOn(resumed.events())).toEqual([...ids].sort());
    resumed.close();
    sse.close();
    await ws.dispose();
  });

  describe('with the timers stopped, so the sweeps run exactly when the test says', () => {
    withoutSweeps();

    test('eight sweeps at once, four per process, over 40 due requests: each expires once', async () => {
      const d = await desk('Backlog');
      await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }], 1);
      const ids = await world.seedRequests(d.partner.id, d.maker, 40);
      await pastDeadline(ids);
      const sweeps = await Promise.all(
        Array.from({ length: 8 }, (_, i) => expire((i % 2 ? second : world.app).orm.em.fork())),
      );
      const expired = sweeps.flat().filter((e) => ids.includes(e.processRequestId));
      expect(expired.map((e) => e.processRequestId).sort()).toEqual([...ids].sort());
      expect((await expiredEvents(ids)).length).toBe(40);
    });

    test('approvals racing sweeps just after the deadline: every approval 409, every request one EXPIRED event', async () => {
      const d = await desk('Deadline race');
      await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }], 1);
      const ids = await Promise.all(
        Array.from({ length: 10 }, () => world.createInProcess(d.partner.id, d.maker, '2.00')),
      );
      await pastDeadline(ids);
      const [approvals] = await Promise.all([
        Promise.all(
          ids.map((id, i) =>
            (i % 2 ? secondHttp : world.http)
              .patch(`${world.rest(d.partner.id)}/process-request/${id}/approve`)
              .set(d.h.checkers[0]),
          ),
        ),
        expire(world.app.orm.em.fork()),
        expire(second.orm.em.fork()),
      ]);
      expect(approvals.map((r) => [r.status, r.body.code])).toEqual(
        ids.map(() => [409, 'PROCESS_REQUEST_NOT_PENDING']),
      );
      expect((await expiredEvents(ids)).map((e) => e.process_request_id).sort()).toEqual([...ids].sort());
      for (const id of ids) expect(await ledgerOf(world, id)).toEqual([]);
    });
  });
});

describe('a decision attempted after the deadline', () => {
  withoutSweeps();

  test('approve, reject, cancel, an OTP approval, GraphQL and bulk: 409 PROCESS_REQUEST_NOT_PENDING, and the request is EXPIRED then (once)', async () => {
    const d = await desk('Late');
    const otp = await enrollWithCli(world, 'CHECKER', [d.partner.id]);
    await setPolicy(
      world,
      d.partner.id,
      d.admin,
      [
        { from: '0', approvals: 1 },
        { from: '1000', approvals: 2 },
      ],
      3,
    );
    const sse = await SseClient.open(progressUrl(world.baseUrl, d.partner.id), d.h.viewer);
    // Filed together, so that all are checked before the first deadline.
    const [approved, rejected, cancelled, byOtp, byGraphql, byBulk, partly] = await Promise.all(
      ['10', '11', '12', '13', '14', '15', '1000'].map((amount) =>
        world.createRequest(d.partner.id, d.h.maker, amount),
      ),
    );
    const all = [approved, rejected, cancelled, byOtp, byGraphql, byBulk, partly];
    expect((await world.act(d.partner.id, partly, 'approve', d.h.checkers[0])).status).toBe(204);
    // A later change of policy does not move a deadline already set.
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }], 3600);
    const balance = await balanceOf(world, d.partner.id, d.viewer);
    expect(balance.pending).toBe('1075.00');
    await pastDeadline(all);

    // Still PENDING in the table, but no longer waiting to be added: `pending` leaves them out already.
    expect(await statusOf(world, approved)).toBe('PENDING');
    expect(await balanceOf(world, d.partner.id, d.viewer)).toEqual({ available: '0.00', pending: '0.00' });
    const gqlBalance = await gqlHttp(
      world,
      d.h.viewer,
      `query($c: ID!) { partnerBalance(clientId: $c) { available pending } }`,
      { c: d.partner.id },
    );
    expect(gqlBalance.data?.partnerBalance).toEqual({ available: '0.00', pending: '0.00' });

    const notPending = (res: supertest.Response) =>
      expect([res.status, res.body.code]).toEqual([409, 'PROCESS_REQUEST_NOT_PENDING']);
    notPending(await world.act(d.partner.id, approved, 'approve', d.h.checkers[1]));
    notPending(await world.act(d.partner.id, rejected, 'reject', d.h.checkers[1], { reason: 'late' }));
    notPending(await world.act(d.partner.id, cancelled, 'cancel', d.h.maker));
    // Judged before the code is asked for: no code, yet the answer is the deadline's.
    notPending(await world.act(d.partner.id, byOtp, 'approve', otp.headers));
    notPending(await world.act(d.partner.id, partly, 'approve', d.h.checkers[1]));
    const gql = await gqlHttp(
      world,
      d.h.checkers[1],
      `mutation($c: ID!, $id: ID!) { approveProcessRequest(clientId: $c, id: $id) { status } }`,
      { c: d.partner.id, id: byGraphql },
    );
    expect(gql.errors?.[0].extensions).toMatchObject({ code: 'PROCESS_REQUEST_NOT_PENDING', status: 409 });
    const many = await bulk(world, d.partner.id, 'approve', d.h.checkers[1], { ids: [byBulk] });
    expect(many.body.results).toEqual([{ id: byBulk, statusCode: 409, code: 'PROCESS_REQUEST_NOT_PENDING' }]);

    for (const id of all) {
      expect(await statusOf(world, id)).toBe('EXPIRED');
      const events = await eventsOf(world, id);
      expect(events.at(-1)).toEqual({
        type: 'EXPIRED',
        actor_id: null,
        from_status: 'PENDING',
        to_status: 'EXPIRED',
      });
      expect(events.filter((e) => e.type === 'EXPIRED')).toHaveLength(1);
      expect(await ledgerOf(world, id)).toEqual([]);
      await sse.waitForEvent({ type: 'EXPIRED', processRequestId: id });
    }
    // The approval recorded before the deadline stays on record; the late one was not recorded.
    expect((await details(world, d.partner.id, partly, d.h.viewer)).approvals).toEqual([
      { operatorId: d.checkers[0].id, at: expect.any(String) },
    ]);
    // Again: still 409, still one EXPIRED event each; a sweep finds nothing left to expire.
    notPending(await world.act(d.partner.id, approved, 'approve', d.h.checkers[2]));
    notPending(await world.act(d.partner.id, cancelled, 'cancel', d.h.maker));
    expect((await expire(world.app.orm.em.fork())).filter((e) => all.includes(e.processRequestId))).toEqual(
      [],
    );
    expect(await expiredEvents(all)).toHaveLength(all.length);
    // A wrong OTP on an expired request is still the deadline's answer, not a counted attempt.
    notPending(
      await world.act(d.partner.id, byOtp, 'approve', otp.headers, { otp: await wrongCode(otp.otpSecret) }),
    );
    expect(await balanceOf(world, d.partner.id, d.viewer)).toEqual({ available: '0.00', pending: '0.00' });
    // A request of the new policy's TTL is decided normally, by the OTP checker with a code.
    const fresh = await world.createRequest(d.partner.id, d.h.maker, '20');
    expect(
      (await world.act(d.partner.id, fresh, 'approve', otp.headers, { otp: await codeAt(otp.otpSecret) }))
        .status,
    ).toBe(204);
    sse.close();
  });

  test('a decision just before the deadline still decides', async () => {
    const d = await desk('Just in time');
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }], 2);
    const id = await world.createRequest(d.partner.id, d.h.maker, '30');
    expect((await world.act(d.partner.id, id, 'approve', d.h.checkers[0])).status).toBe(204);
    await pastDeadline([id]);
    expect(await expire(world.app.orm.em.fork())).not.toContainEqual(
      expect.objectContaining({ processRequestId: id }),
    );
    expect(await statusOf(world, id)).toBe('APPROVED');
  });
});

describe('pending balance', () => {
  test('REST `pending` and GraphQL partnerBalance { pending } move with create, partial approval, approve, reject and expiry; reversals are not counted', async () => {
    const d = await desk('Pending');
    await setPolicy(world, d.partner.id, d.admin, [
      { from: '0', approvals: 1 },
      { from: '500', approvals: 2 },
    ]);
    const both = async () => {
      const rest = await balanceOf(world, d.partner.id, d.viewer);
      const gql = await gqlHttp(
        world,
        d.h.viewer,
        `query($c: ID!) { partnerBalance(clientId: $c) { available pending } }`,
        { c: d.partner.id },
      );
      expect(gql.data?.partnerBalance).toEqual(rest);
      return rest;
    };
    expect(await both()).toEqual({ available: '0.00', pending: '0.00' });
    const a = await world.createRequest(d.partner.id, d.h.maker, '100.10');
    const b = await world.createRequest(d.partner.id, d.h.maker, '600');
    const c = await world.createRequest(d.partner.id, d.h.maker, '0.05');
    expect(await both()).toEqual({ available: '0.00', pending: '700.15' });
    expect((await world.act(d.partner.id, b, 'approve', d.h.checkers[0])).status).toBe(204);
    expect(await both()).toEqual({ available: '0.00', pending: '700.15' });
    expect((await world.act(d.partner.id, b, 'approve', d.h.checkers[1])).status).toBe(204);
    expect(await both()).toEqual({ available: '600.00', pending: '100.15' });
    expect((await world.act(d.partner.id, a, 'reject', d.h.checkers[0])).status).toBe(204);
    expect(await both()).toEqual({ available: '600.00', pending: '0.05' });
    expect((await world.act(d.partner.id, c, 'cancel', d.h.maker)).status).toBe(204);
    expect(await both()).toEqual({ available: '600.00', pending: '0.00' });

    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }], 1);
    const soon = await world.createRequest(d.partner.id, d.h.maker, '42');
    expect(await both()).toEqual({ available: '600.00', pending: '42.00' });
    await eventually(async () => (await statusOf(world, soon)) === 'EXPIRED');
    expect(await both()).toEqual({ available: '600.00', pending: '0.00' });

    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }]);
    const reversal = await fileReversal(world, d.partner.id, b, d.h.maker, { reason: 'paid twice' });
    expect(reversal.status).toBe(201);
    expect(await both()).toEqual({ available: '600.00', pending: '0.00' });
  });

  test('JPY: pending in whole units', async () => {
    const d = await desk('Yen', 'JPY', 0);
    await world.createRequest(d.partner.id, d.h.maker, '1500');
    const res = await world.http.get(`${world.rest(d.partner.id)}/balance`).set(d.h.viewer);
    expect(res.text).toContain('"pending":1500,');
    expect(res.body).toMatchObject({ available: 0, pending: 1500, currency: 'JPY' });
  });
});

describe('reversal', () => {
  let d: Desk;
  let crowd: Headers[];
  /** An APPROVED top-up of `amount`. */
  const approvedTopUp = async (amount: string) => {
    const id = await world.createRequest(d.partner.id, d.h.maker, amount);
    expect((await world.act(d.partner.id, id, 'approve', d.h.checkers[0])).status).toBe(204);
    return id;
  };
  const reverse = (id: string, body: unknown = { reason: 'credited twice' }, caller: Headers = d.h.maker) =>
    fileReversal(world, d.partner.id, id, caller, body);

  beforeAll(async () => {
    d = await desk('Reversals', 'USD', 3);
    const checkers = await Promise.all(
      Array.from({ length: 10 }, () => world.operator(['CHECKER'], [d.partner.id])),
    );
    crowd = await Promise.all(checkers.map((c) => world.headers(c)));
  });
  // Each test starts from one approval per request, whatever the one before it left.
  beforeEach(() => setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }]));

  test('a MAKER files it: 201, a type-2 request of the same amount with reversalOf, the reason as observations, no evidence', async () => {
    const original = await approvedTopUp('250.50');
    const res = await reverse(original, { reason: 'duplicate credit, ticket 7781' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      processTypeId: 2,
      clientBalanceId: expect.any(String),
      clientId: d.partner.id,
      requestedAmount: 250.5,
      currency: 'USD',
      observations: 'duplicate credit, ticket 7781',
      evidenceUrl: null,
      evidence: null,
      status: 'PENDING',
      createdBy: d.maker.id,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      reviewedBy: null,
      reviewedAt: null,
      reviewReason: null,
      cancelledBy: null,
      cancelledAt: null,
      requiredApprovals: 1,
      approvals: [],
      expiresAt: expect.any(String),
      reversalOf: original,
      reversedBy: null,
      duplicateEvidence: [],
    });
    expect(res.text).toContain('"requestedAmount":250.50');
    expect(await details(world, d.partner.id, original, d.h.viewer)).toMatchObject({
      status: 'APPROVED',
      reversedBy: null,
    });
    const download = await world.http
      .get(`${world.rest(d.partner.id)}/process-request/${res.body.id}/evidence/download`)
      .set(d.h.viewer);
    expect([download.status, download.body.code]).toEqual([404, 'NOT_FOUND']);
    const gql = await gqlHttp(
      world,
      d.h.viewer,
      `query($c: ID!, $id: ID!) { evidenceDownloadUrl(clientId: $c, id: $id) { url } }`,
      { c: d.partner.id, id: res.body.id },
    );
    expect(gql.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    // Cancelled by its maker, it leaves room for another.
    expect((await world.act(d.partner.id, res.body.id, 'cancel', d.h.maker)).status).toBe(204);
    expect((await reverse(original)).status).toBe(201);
  });

  test.each([
    ['no body', undefined, 'VALIDATION_FAILED'],
    ['no reason', {}, 'VALIDATION_FAILED'],
    ['an empty reason', { reason: '' }, 'VALIDATION_FAILED'],
    ['a reason of blanks only', { reason: '  \n\t ' }, 'VALIDATION_FAILED'],
    ['a reason of 501 characters', { reason: 'r'.repeat(501) }, 'VALIDATION_FAILED'],
    ['a reason that is not a string', { reason: 7 }, 'VALIDATION_FAILED'],
  ])('%s → 400 %s, nothing filed', async (_name, body, code) => {
    const original = await approvedTopUp('5');
    const res = await fileReversal(world, d.partner.id, original, d.h.maker, body);
    expect([res.status, res.body.code, res.body.details]).toEqual([400, code, { field: 'reason' }]);
    const [{ n }] = await world.sql<{ n: number }>(
      'select count(*)::int as n from process_request where reversal_of = ?',
      [original],
    );
    expect(n).toBe(0);
  });

  test('who may file it: MAKER or ADMIN; CHECKER and VIEWER 403 FORBIDDEN; another partner 403 PARTNER_FORBIDDEN; unknown or foreign id 404', async () => {
    const original = await approvedTopUp('6');
    for (const headers of [d.h.checkers[1], d.h.viewer]) {
      const res = await reverse(original, undefined, headers);
      expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
    }
    const other = await desk('Other reversals', 'USD', 0);
    const outsider = await reverse(original, undefined, other.h.maker);
    expect([outsider.status, outsider.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
    const foreign = await fileReversal(world, other.partner.id, original, other.h.maker, { reason: 'x' });
    expect([foreign.status, foreign.body.code]).toEqual([404, 'NOT_FOUND']);
    const badId = await fileReversal(world, d.partner.id, 'nope', d.h.maker, { reason: 'x' });
    expect([badId.status, badId.body.code]).toEqual([400, 'INVALID_ID']);
    const byAdmin = await reverse(original, undefined, d.h.admin);
    expect([byAdmin.status, byAdmin.body.createdBy]).toEqual([201, d.admin.id]);
  });

  test('an OTP maker sends a code: missing 403 OTP_REQUIRED, wrong 403 OTP_INVALID, good 201', async () => {
    const otp = await enrollWithCli(world, 'MAKER', [d.partner.id]);
    const original = await approvedTopUp('7');
    const none = await reverse(original, { reason: 'x' }, otp.headers);
    expect([none.status, none.body.code]).toEqual([403, 'OTP_REQUIRED']);
    const wrong = await reverse(original, { reason: 'x', otp: await wrongCode(otp.otpSecret) }, otp.headers);
    expect([wrong.status, wrong.body.code]).toEqual([403, 'OTP_INVALID']);
    const code = await codeAt(otp.otpSecret);
    const ok = await reverse(original, { reason: 'x', otp: code }, otp.headers);
    expect([ok.status, ok.body.createdBy]).toEqual([201, otp.id]);
    // Refusals come before the code is asked for, and cost none.
    const exists = await reverse(original, { reason: 'again' }, otp.headers);
    expect([exists.status, exists.body.code]).toEqual([409, 'REVERSAL_EXISTS']);
    const pending = await world.createRequest(d.partner.id, d.h.maker, '7');
    const notApproved = await reverse(pending, { reason: 'x' }, otp.headers);
    expect([notApproved.status, notApproved.body.code]).toEqual([409, 'PROCESS_REQUEST_NOT_APPROVED']);
    const [{ attempts }] = await world.sql<{ attempts: number }>(
      'select count(*)::int as attempts from otp_attempt where operator_id = ?',
      [otp.id],
    );
    expect(attempts).toBe(2); // the wrong code and the good one
  });

  test('409 PROCESS_REQUEST_NOT_APPROVED for a PENDING, REJECTED, CANCELLED or EXPIRED top-up and for a reversal', async () => {
    const pending = await world.createRequest(d.partner.id, d.h.maker, '8');
    const rejected = await world.createRequest(d.partner.id, d.h.maker, '8');
    expect((await world.act(d.partner.id, rejected, 'reject', d.h.checkers[0])).status).toBe(204);
    const cancelled = await world.createRequest(d.partner.id, d.h.maker, '8');
    expect((await world.act(d.partner.id, cancelled, 'cancel', d.h.maker)).status).toBe(204);
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }], 1);
    const expired = await world.createRequest(d.partner.id, d.h.maker, '8');
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }]);
    await eventually(async () => (await statusOf(world, expired)) === 'EXPIRED');
    const original = await approvedTopUp('8');
    const reversal = (await reverse(original)).body.id as string;
    for (const id of [pending, rejected, cancelled, expired, reversal]) {
      const res = await reverse(id);
      expect([res.status, res.body.code]).toEqual([409, 'PROCESS_REQUEST_NOT_APPROVED']);
    }
    // Approved, the reversal is still not reversible; nor is the REVERSED original.
    expect((await world.act(d.partner.id, reversal, 'approve', d.h.checkers[1])).status).toBe(204);
    for (const id of [reversal, original]) {
      const res = await reverse(id);
      expect([res.status, res.body.code]).toEqual([409, 'PROCESS_REQUEST_NOT_APPROVED']);
    }
  });

  test('one live reversal: a second while one is PENDING → 409 REVERSAL_EXISTS; ten at once → one 201; a REJECTED one leaves room', async () => {
    const original = await approvedTopUp('9');
    const first = await reverse(original);
    expect(first.status).toBe(201);
    const again = await reverse(original);
    expect([again.status, again.body.code]).toEqual([409, 'REVERSAL_EXISTS']);
    expect(
      (await world.act(d.partner.id, first.body.id, 'reject', d.h.checkers[0], { reason: 'not a duplicate' }))
        .status,
    ).toBe(204);

    const makers = await Promise.all(
      Array.from({ length: 10 }, () => world.operator(['MAKER'], [d.partner.id])),
    );
    const results = await Promise.all(
      makers.map(async (m, i) =>
        (i % 2 ? secondHttp : world.http)
          .post(`${world.rest(d.partner.id)}/process-request/${original}/reversal`)
          .set(await world.headers(m))
          .send({ reason: `filing ${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status !== 201).map((r) => [r.status, r.body.code])).toEqual(
      Array.from({ length: 9 }, () => [409, 'REVERSAL_EXISTS']),
    );
    const rows = await world.sql<{ status: string }>(
      'select status from process_request where reversal_of = ? order by created_at',
      [original],
    );
    expect(rows.map((r) => r.status)).toEqual(['REJECTED', 'PENDING']);
  });

  test('a reversal expires like any request; an EXPIRED one leaves room for a new one', async () => {
    const original = await approvedTopUp('9.50');
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }], 1);
    const first = await reverse(original);
    expect(first.status).toBe(201);
    expect(Date.parse(first.body.expiresAt) - Date.parse(first.body.createdAt)).toBe(1000);
    await eventually(async () => (await statusOf(world, first.body.id)) === 'EXPIRED');
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }]);
    const late = await world.act(d.partner.id, first.body.id, 'approve', d.h.checkers[0]);
    expect([late.status, late.body.code]).toEqual([409, 'PROCESS_REQUEST_NOT_PENDING']);
    expect(await statusOf(world, original)).toBe('APPROVED');
    const second = await reverse(original);
    expect(second.status).toBe(201);
    expect((await world.act(d.partner.id, second.body.id, 'approve', d.h.checkers[0])).status).toBe(204);
    expect(await details(world, d.partner.id, original, d.h.viewer)).toMatchObject({
      status: 'REVERSED',
      reversedBy: second.body.id,
    });
  });

  test('two approvals required, ten checkers at once: two 204s, one debit; the original REVERSED; APPROVED and REVERSED events on SSE and the subscription', async () => {
    const original = await approvedTopUp('300.30');
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 2 }]);
    const filed = await reverse(original);
    expect([filed.status, filed.body.requiredApprovals]).toEqual([201, 2]);
    const reversal = filed.body.id as string;
    const sse = await SseClient.open(progressUrl(secondUrl, d.partner.id), d.h.viewer);
    const ws = watchProgress(world.baseUrl, d.h.viewer, d.partner.id);
    await until(() => world.app.progress.openStreams === 1 && second.progress.openStreams === 1);
    const before = await balanceOf(world, d.partner.id, d.viewer);

    const results = await Promise.all(
      crowd.map((h, i) =>
        (i % 2 ? secondHttp : world.http)
          .patch(`${world.rest(d.partner.id)}/process-request/${reversal}/approve`)
          .set(h),
      ),
    );
    expect(results.filter((r) => r.status === 204)).toHaveLength(2);
    expect(results.filter((r) => r.status !== 204).map((r) => r.body.code)).toEqual(
      Array(8).fill('PROCESS_REQUEST_NOT_PENDING'),
    );

    const after = (Number(before.available) - 300.3).toFixed(2);
    expect(await balanceOf(world, d.partner.id, d.viewer)).toEqual({
      available: after,
      pending: before.pending,
    });
    expect(await ledgerOf(world, reversal)).toEqual([{ amount: '-300.3000', after: `${after}00` }]);
    expect(await ledgerOf(world, original)).toHaveLength(1);
    const rev = await details(world, d.partner.id, reversal, d.h.viewer);
    expect(rev).toMatchObject({ status: 'APPROVED', processTypeId: 2, reversalOf: original });
    expect(rev.approvals).toHaveLength(2);
    const orig = await details(world, d.partner.id, original, d.h.viewer);
    expect(orig).toMatchObject({ status: 'REVERSED', reversedBy: reversal });
    expect(orig.history.at(-1)).toMatchObject({
      type: 'REVERSED',
      fromStatus: 'APPROVED',
      toStatus: 'REVERSED',
      actorId: rev.reviewedBy,
    });

    for (const watcher of [
      (f: Record<string, unknown>) => sse.waitForEvent(f).then((frame) => frame.data),
      (f: Record<string, unknown>) => ws.waitFor(f),
    ]) {
      expect(await watcher({ type: 'APPROVED', processRequestId: reversal })).toMatchObject({
        status: 'APPROVED',
      });
      expect(await watcher({ type: 'REVERSED', processRequestId: original })).toMatchObject({
        status: 'REVERSED',
      });
    }
    const approvedEvent = sse.events().find((e) => e.type === 'APPROVED' && e.processRequestId === reversal);
    expect(approvedEvent?.available).toBe(Number(after));
    await sleep(300);
    const count = (list: Array<Record<string, unknown>>, type: string, id: string) =>
      list.filter((e) => e.type === type && e.processRequestId === id).length;
    expect([count(sse.events(), 'APPROVED', reversal), count(sse.events(), 'REVERSED', original)]).toEqual([
      1, 1,
    ]);
    expect([count(ws.events, 'APPROVED', reversal), count(ws.events, 'REVERSED', original)]).toEqual([1, 1]);
    sse.close();
    await ws.dispose();
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }]);
  });

  test('the reversal follows four eyes, limits and OTP like a top-up', async () => {
    const original = await approvedTopUp('400');
    const both = await world.operator(['MAKER', 'CHECKER'], [d.partner.id]);
    const hBoth = await world.headers(both);
    const reversal = (await reverse(original, undefined, hBoth)).body.id as string;
    const self = await world.act(d.partner.id, reversal, 'approve', hBoth);
    expect([self.status, self.body.code]).toEqual([403, 'SELF_REVIEW_FORBIDDEN']);
    const limited = await cliOperator(world, 'CHECKER', [d.partner.id], '--approval-limit', 'USD:399.99');
    const over = await world.act(d.partner.id, reversal, 'approve', limited.headers);
    expect([over.status, over.body.code]).toEqual([403, 'APPROVAL_LIMIT_EXCEEDED']);
    const otp = await enrollWithCli(world, 'CHECKER', [d.partner.id]);
    const noCode = await world.act(d.partner.id, reversal, 'approve', otp.headers);
    expect([noCode.status, noCode.body.code]).toEqual([403, 'OTP_REQUIRED']);
    expect(await statusOf(world, reversal)).toBe('PENDING');
    expect(
      (await world.act(d.partner.id, reversal, 'approve', otp.headers, { otp: await codeAt(otp.otpSecret) }))
        .status,
    ).toBe(204);
    expect(await statusOf(world, original)).toBe('REVERSED');
  });

  test('INSUFFICIENT_BALANCE: when the balance was spent below the amount, the final approval is 409 and nothing moves; the reversal stays PENDING', async () => {
    const e = await desk('Spent', 'USD', 3);
    await setPolicy(world, e.partner.id, e.admin, [{ from: '0', approvals: 2 }]);
    const original = await world.createRequest(e.partner.id, e.h.maker, '100');
    expect((await world.act(e.partner.id, original, 'approve', e.h.checkers[0])).status).toBe(204);
    expect((await world.act(e.partner.id, original, 'approve', e.h.checkers[1])).status).toBe(204);
    const reversal = (await fileReversal(world, e.partner.id, original, e.h.maker, { reason: 'chargeback' }))
      .body.id;
    expect((await world.act(e.partner.id, reversal, 'approve', e.h.checkers[0])).status).toBe(204);
    // Nothing in this service spends a balance; another system did (simulated here, and undone below).
    await world.sql('update client_balance set available = available - 40 where client_id = ?', [
      e.partner.id,
    ]);
    const res = await world.act(e.partner.id, reversal, 'approve', e.h.checkers[1], { reason: 'confirmed' });
    expect([res.status, res.body.code]).toEqual([409, 'INSUFFICIENT_BALANCE']);
    expect(await details(world, e.partner.id, reversal, e.h.viewer)).toMatchObject({
      status: 'PENDING',
      approvals: [{ operatorId: e.checkers[0].id, at: expect.any(String) }],
      reviewedBy: null,
    });
    expect(await statusOf(world, original)).toBe('APPROVED');
    expect(await ledgerOf(world, reversal)).toEqual([]);
    expect((await balanceOf(world, e.partner.id, e.viewer)).available).toBe('60.00');
    const bulkRes = await bulk(world, e.partner.id, 'approve', e.h.checkers[2], { ids: [reversal] });
    expect(bulkRes.body.results).toEqual([{ id: reversal, statusCode: 409, code: 'INSUFFICIENT_BALANCE' }]);
    expect((await eventsOf(world, reversal)).map((ev) => ev.type)).toEqual(['CREATED', 'APPROVAL_RECORDED']);

    await world.sql('update client_balance set available = available + 40 where client_id = ?', [
      e.partner.id,
    ]);
    expect((await world.act(e.partner.id, reversal, 'approve', e.h.checkers[1])).status).toBe(204);
    expect((await balanceOf(world, e.partner.id, e.viewer)).available).toBe('0.00');
    expect(await statusOf(world, original)).toBe('REVERSED');
  });

  test('GraphQL reverseProcessRequest: the reversal, and the same refusals with their codes', async () => {
    const mutation = `mutation($c: ID!, $id: ID!, $reason: String!, $otp: String) {
      reverseProcessRequest(clientId: $c, id: $id, reason: $reason, otp: $otp) {
        id processTypeId status reversalOf requestedAmount evidence { sha256 } evidenceUrl observations requiredApprovals } }`;
    const original = await approvedTopUp('12.34');
    const ok = await gqlHttp(world, d.h.maker, mutation, {
      c: d.partner.id,
      id: original,
      reason: 'wrong partner',
    });
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.reverseProcessRequest).toEqual({
      id: expect.any(String),
      processTypeId: 2,
      status: 'PENDING',
      reversalOf: original,
      requestedAmount: '12.34',
      evidence: null,
      evidenceUrl: null,
      observations: 'wrong partner',
      requiredApprovals: 1,
    });
    const exists = await gqlHttp(world, d.h.maker, mutation, {
      c: d.partner.id,
      id: original,
      reason: 'again',
    });
    expect(exists.errors?.[0].extensions).toMatchObject({ code: 'REVERSAL_EXISTS', status: 409 });
    const pending = await world.createRequest(d.partner.id, d.h.maker, '1');
    const notApproved = await gqlHttp(world, d.h.maker, mutation, {
      c: d.partner.id,
      id: pending,
      reason: 'x',
    });
    expect(notApproved.errors?.[0].extensions).toMatchObject({
      code: 'PROCESS_REQUEST_NOT_APPROVED',
      status: 409,
    });
    const empty = await gqlHttp(world, d.h.maker, mutation, { c: d.partner.id, id: original, reason: '' });
    expect(empty.errors?.[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    const checker = await gqlHttp(world, d.h.checkers[0], mutation, {
      c: d.partner.id,
      id: original,
      reason: 'x',
    });
    expect(checker.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    const missing = await gqlHttp(
      world,
      d.h.maker,
      `mutation($c: ID!, $id: ID!) { reverseProcessRequest(clientId: $c, id: $id) { id } }`,
      { c: d.partner.id, id: original },
    );
    expect(missing.status).toBe(400);
  });

  test('lists filter on processTypeId (REST page and stream, GraphQL page and list); 3 or text → 400', async () => {
    const page = async (q: string) => {
      const res = await world.http
        .get(`${world.rest(d.partner.id)}/process-requests?limit=100&${q}`)
        .set(d.h.viewer);
      expect(res.status).toBe(200);
      return res.body.items as Array<{ processTypeId: number; reversalOf: string | null }>;
    };
    const [{ reversals, topUps }] = await world.sql<{ reversals: number; topUps: number }>(
      `select count(*) filter (where process_type_id = 2)::int as reversals, count(*) filter (where process_type_id = 1)::int as "topUps"
         from process_request where client_id = ?`,
      [d.partner.id],
    );
    expect(reversals).toBeGreaterThan(5);
    const two = await page('processTypeId=2');
    expect(two).toHaveLength(reversals);
    expect(two.every((r) => r.processTypeId === 2 && r.reversalOf !== null)).toBe(true);
    const one = await page('processTypeId=1');
    expect(one).toHaveLength(Math.min(100, topUps));
    expect(one.every((r) => r.processTypeId === 1 && r.reversalOf === null)).toBe(true);
    const approvedReversals = await page('processTypeId=2&status=APPROVED');
    expect(approvedReversals.length).toBeGreaterThan(0);
    const reversed = await page('status=REVERSED');
    expect(reversed.length).toBe(approvedReversals.length);

    const stream = await world.http
      .get(`${world.rest(d.partner.id)}/process-request?processTypeId=2`)
      .set(d.h.viewer);
    expect(stream.body).toHaveLength(reversals);
    for (const bad of ['3', 'two', '0', '-1']) {
      const res = await world.http
        .get(`${world.rest(d.partner.id)}/process-requests?processTypeId=${bad}`)
        .set(d.h.viewer);
      expect([res.status, res.body.code, res.body.details]).toEqual([
        400,
        'VALIDATION_FAILED',
        { field: 'processTypeId' },
      ]);
    }
    const gql = await gqlHttp(
      world,
      d.h.viewer,
      `query($c: ID!, $t: Int) { processRequests(clientId: $c, processTypeId: $t, limit: 100) { total items { processTypeId } }
        allProcessRequests(clientId: $c, processTypeId: $t) { processTypeId reversalOf } }`,
      { c: d.partner.id, t: 2 },
    );
    expect(gql.errors).toBeUndefined();
    const data = gql.data as {
      processRequests: { total: number };
      allProcessRequests: Array<{ processTypeId: number }>;
    };
    expect(data.processRequests.total).toBe(reversals);
    expect(data.allProcessRequests).toHaveLength(reversals);
    expect(data.allProcessRequests.every((r) => r.processTypeId === 2)).toBe(true);
    const bad = await gqlHttp(
      world,
      d.h.viewer,
      `query($c: ID!) { processRequests(clientId: $c, processTypeId: 3) { total } }`,
      { c: d.partner.id },
    );
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });
});

// Runs last, over everything the tests above did (both processes, every partner).
test('invariants: available = Σ ledger ≥ 0; one credit per APPROVED or REVERSED top-up; one debit per approved reversal; one event per transition', async () => {
  expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
  const [counts] = await world.sql<Record<string, number>>(
    `select count(*) filter (where status = 'EXPIRED')::int as expired,
            count(*) filter (where status = 'REVERSED')::int as reversed,
            count(*) filter (where process_type_id = 2 and status = 'APPROVED')::int as "approvedReversals"
       from process_request`,
  );
  expect(counts.expired).toBeGreaterThan(50);
  expect(counts.reversed).toBeGreaterThan(2);
  expect(counts.approvedReversals).toBe(counts.reversed);
});

test('the invariants can fail: each rule names the row that breaks it (broken by hand, then restored)', async () => {
  const [balance] = await world.sql<{ id: string }>('select id from client_balance order by id limit 1');
  const [reversal] = await world.sql<{ id: string; reversal_of: string }>(
    `select id, reversal_of from process_request where process_type_id = 2 and status = 'APPROVED' limit 1`,
  );
  const [expired] = await world.sql<{ id: string; client_id: string }>(
    `select id, client_id from process_request where status = 'EXPIRED' limit 1`,
  );
  const broken = async (breakIt: string, params: unknown[], undo: string, rule: string) => {
    await world.sql(breakIt, params);
    const found = await ledgerViolations(world);
    await world.sql(undo, params);
    expect(found[rule]).toHaveLength(1);
  };
  await broken(
    'update client_balance set available = available + 1 where id = ?',
    [balance.id],
    'update client_balance set available = available - 1 where id = ?',
    'balanceNotLedgerSum',
  );
  await broken(
    `update process_request set status = 'APPROVED' where id = ?`,
    [reversal.reversal_of],
    `update process_request set status = 'REVERSED' where id = ?`,
    'wrongReversal',
  );
  await broken(
    `insert into process_request_event (process_request_id, client_id, type, from_status, to_status)
     values (?, ?, 'EXPIRED', 'PENDING', 'EXPIRED')`,
    [expired.id, expired.client_id],
    `delete from process_request_event where id = (select max(id) from process_request_event where process_request_id = ? and client_id = ?)`,
    'wrongEvents',
  );
  await broken(
    'update process_request_count set n = n + 1 where client_id = ? and status = ?',
    [expired.client_id, 'EXPIRED'],
    'update process_request_count set n = n - 1 where client_id = ? and status = ?',
    'countsNotRows',
  );
  expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
});
