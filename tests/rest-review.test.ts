// REST approve / reject / cancel (SPEC sections 2 and 4): who may act, what is stored, the 409 on a decided
// request, exactly-once crediting under concurrency, and the ledger invariant over everything this file did.
import type { Operator } from '../src/entities/operator.entity';
import { ledgerViolations, NO_VIOLATIONS } from './support/lifecycle';
import { createWorld, type Action, type World } from './support/world';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

type Headers = Record<string, string>;

interface Setup {
  partner: { id: string; balanceId: string };
  maker: Operator;
  checker: Operator;
  h: { maker: Headers; otherMaker: Headers; checker: Headers; admin: Headers; viewer: Headers };
}

async function setup(currency = 'USD'): Promise<Setup> {
  const partner = await world.partner(`Review ${currency}`, currency);
  const [maker, otherMaker, checker, admin, viewer] = await Promise.all(
    [['MAKER'], ['MAKER'], ['CHECKER'], ['ADMIN'], ['VIEWER']].map((roles) =>
      world.operator(roles, [partner.id]),
    ),
  );
  const [hm, hom, hc, ha, hv] = await Promise.all(
    [maker, otherMaker, checker, admin, viewer].map((o) => world.headers(o)),
  );
  return { partner, maker, checker, h: { maker: hm, otherMaker: hom, checker: hc, admin: ha, viewer: hv } };
}

async function row(id: string) {
  const [r] = await world.sql<Record<string, unknown>>(
    `select status, review_reason, reviewed_by, reviewed_at, cancelled_by, cancelled_at from process_request where id = ?`,
    [id],
  );
  return r;
}

async function available(partnerId: string, headers: Headers): Promise<string> {
  const res = await world.http.get(`${world.rest(partnerId)}/balance`).set(headers);
  expect(res.status).toBe(200);
  return /"available":([0-9.]+)/.exec(res.text)![1];
}

const ledgerCount = async (requestId: string) =>
  Number(
    (
      await world.sql<{ n: string }>(
        'select count(*)::text as n from ledger_entry where process_request_id = ?',
        [requestId],
      )
    )[0].n,
  );

describe('decisions', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });

  test('approve → 204; the reason is stored as reviewReason; the balance is credited with one ledger entry', async () => {
    const id = await world.createRequest(s.partner.id, s.h.maker, '250.75');
    const res = await world.act(s.partner.id, id, 'approve', s.h.checker, {
      reason: 'matches statement #881',
    });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await row(id)).toMatchObject({
      status: 'APPROVED',
      review_reason: 'matches statement #881',
      reviewed_by: s.checker.id,
      reviewed_at: expect.any(String),
      cancelled_by: null,
    });
    expect(await available(s.partner.id, s.h.viewer)).toBe('250.75');
    const ledger = await world.sql(
      'select amount::text as amount, balance_after::text as after from ledger_entry where process_request_id = ?',
      [id],
    );
    expect(ledger).toEqual([{ amount: '250.7500', after: '250.7500' }]);
  });

  test('reject → 204 with its reason; nothing is credited', async () => {
    const before = await available(s.partner.id, s.h.viewer);
    const id = await world.createRequest(s.partner.id, s.h.maker);
    expect(
      (await world.act(s.partner.id, id, 'reject', s.h.checker, { reason: 'blurry receipt' })).status,
    ).toBe(204);
    expect(await row(id)).toMatchObject({
      status: 'REJECTED',
      review_reason: 'blurry receipt',
      reviewed_by: s.checker.id,
    });
    expect(await available(s.partner.id, s.h.viewer)).toBe(before);
    expect(await ledgerCount(id)).toBe(0);
  });

  test('cancel → 204 without a body; cancelledBy is recorded', async () => {
    const id = await world.createRequest(s.partner.id, s.h.maker);
    expect((await world.act(s.partner.id, id, 'cancel', s.h.maker)).status).toBe(204);
    expect(await row(id)).toMatchObject({
      status: 'CANCELLED',
      cancelled_by: s.maker.id,
      cancelled_at: expect.any(String),
      reviewed_by: null,
      review_reason: null,
    });
    expect(await ledgerCount(id)).toBe(0);
  });

  test('a reason of exactly 500 characters is kept; 501 → 400 and the request stays PENDING', async () => {
    const tooLong = await world.createRequest(s.partner.id, s.h.maker);
    const res = await world.act(s.partner.id, tooLong, 'reject', s.h.checker, { reason: 'r'.repeat(501) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      details: { field: 'reason' },
    });
    expect((await row(tooLong)).status).toBe('PENDING');
    expect(
      (await world.act(s.partner.id, tooLong, 'reject', s.h.checker, { reason: 'é'.repeat(500) })).status,
    ).toBe(204);
    expect((await row(tooLong)).review_reason).toBe('é'.repeat(500));
  });

  test.each([
    ['a reason that is not a string', { reason: 42 }, 400, 'VALIDATION_FAILED'],
    ['a JSON array', [], 400, 'VALIDATION_FAILED'],
  ])('%s → 400 VALIDATION_FAILED', async (_name, body, status, code) => {
    const id = await world.createRequest(s.partner.id, s.h.maker);
    const res = await world.act(s.partner.id, id, 'approve', s.h.checker, body as Record<string, unknown>);
    expect([res.status, res.body.code]).toEqual([status, code]);
    expect((await row(id)).status).toBe('PENDING');
  });

  test('malformed JSON → 400 MALFORMED_JSON and nothing changes', async () => {
    const id = await world.createRequest(s.partner.id, s.h.maker);
    // Not world.act: the body is raw text, sent as JSON.
    const res = await world.http
      .patch(`${world.rest(s.partner.id)}/process-request/${id}/approve`)
      .set(s.h.checker)
      .set('content-type', 'application/json')
      .send('{"reason": ');
    expect([res.status, res.body.code]).toEqual([400, 'MALFORMED_JSON']);
    expect((await row(id)).status).toBe('PENDING');
  });

  test.each([
    ['approve', 'approve'],
    ['approve', 'reject'],
    ['approve', 'cancel'],
    ['reject', 'approve'],
    ['cancel', 'approve'],
    ['cancel', 'cancel'],
  ] as Array<[Action, Action]>)(
    'after %s, %s → 409 PROCESS_REQUEST_NOT_PENDING and nothing changes',
    async (first, second) => {
      const id = await world.createRequest(s.partner.id, s.h.maker);
      const by = (a: Action) => (a === 'cancel' ? s.h.admin : s.h.checker);
      expect((await world.act(s.partner.id, id, first, by(first))).status).toBe(204);
      const stored = await row(id);
      const balance = await available(s.partner.id, s.h.viewer);
      const res = await world.act(s.partner.id, id, second, by(second), { reason: 'again' });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        statusCode: 409,
        code: 'PROCESS_REQUEST_NOT_PENDING',
        message: expect.any(String),
        requestId: expect.any(String),
      });
      expect(await row(id)).toEqual(stored);
      expect(await available(s.partner.id, s.h.viewer)).toBe(balance);
    },
  );
});

describe('who may decide', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });

  test('four eyes: the creator can never approve or reject, even as ADMIN or MAKER+CHECKER', async () => {
    for (const roles of [['ADMIN'], ['MAKER', 'CHECKER']]) {
      const creator = await world.operator(roles, [s.partner.id]);
      const h = await world.headers(creator);
      const id = await world.createRequest(s.partner.id, h);
      for (const action of ['approve', 'reject'] as const) {
        const res = await world.act(s.partner.id, id, action, h);
        expect([roles.join('+'), action, res.status, res.body.code]).toEqual([
          roles.join('+'),
          action,
          403,
          'SELF_REVIEW_FORBIDDEN',
        ]);
      }
      expect((await row(id)).status).toBe('PENDING');
      // Another checker may.
      expect((await world.act(s.partner.id, id, 'approve', s.h.checker)).status).toBe(204);
    }
  });

  test('cancel: the creating MAKER may; another MAKER may not (403 FORBIDDEN); an ADMIN may', async () => {
    const own = await world.createRequest(s.partner.id, s.h.maker);
    const foreign = await world.createRequest(s.partner.id, s.h.maker);
    const res = await world.act(s.partner.id, foreign, 'cancel', s.h.otherMaker);
    expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
    expect((await row(foreign)).status).toBe('PENDING');
    expect((await world.act(s.partner.id, own, 'cancel', s.h.maker)).status).toBe(204);
    expect(
      (
        await world.act(s.partner.id, foreign, 'cancel', s.h.admin, {
          reason: 'duplicate of another request',
        })
      ).status,
    ).toBe(204);
    expect(await row(foreign)).toMatchObject({
      status: 'CANCELLED',
      review_reason: 'duplicate of another request',
    });
  });

  test.each([
    ['VIEWER', 'approve', 'viewer'],
    ['VIEWER', 'reject', 'viewer'],
    ['VIEWER', 'cancel', 'viewer'],
    ['MAKER (not the creator)', 'approve', 'otherMaker'],
    ['CHECKER', 'cancel', 'checker'],
  ] as const)('%s cannot %s: 403 FORBIDDEN', async (_who, action, key) => {
    const id = await world.createRequest(s.partner.id, s.h.maker);
    const res = await world.act(s.partner.id, id, action, s.h[key]);
    expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
    expect((await row(id)).status).toBe('PENDING');
  });

  test('a checker of another partner gets 403 PARTNER_FORBIDDEN; through its own partner path, 404', async () => {
    const other = await world.partner('Elsewhere', 'USD');
    const outsider = await world.headers(await world.operator(['CHECKER'], [other.id]));
    const id = await world.createRequest(s.partner.id, s.h.maker);
    const res = await world.act(s.partner.id, id, 'approve', outsider);
    expect([res.status, res.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
    const crossPath = await world.act(other.id, id, 'approve', outsider);
    expect([crossPath.status, crossPath.body.code]).toEqual([404, 'NOT_FOUND']);
    expect((await row(id)).status).toBe('PENDING');
  });
});

describe('concurrency', () => {
  test('50 parallel approvals of one request: one 204, 49 × 409, credited once, one ledger entry', async () => {
    const s = await setup();
    const checkers = await Promise.all(
      Array.from({ length: 50 }, () => world.operator(['CHECKER'], [s.partner.id])),
    );
    const headers = await Promise.all(checkers.map((c) => world.headers(c)));
    const id = await world.createRequest(s.partner.id, s.h.maker, '1000.01');

    const results = await Promise.all(headers.map((h) => world.act(s.partner.id, id, 'approve', h)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((st) => st === 204)).toHaveLength(1);
    expect(statuses.filter((st) => st === 409)).toHaveLength(49);
    expect(
      results.filter((r) => r.status === 409).every((r) => r.body.code === 'PROCESS_REQUEST_NOT_PENDING'),
    ).toBe(true);

    const winner = checkers[statuses.indexOf(204)];
    expect(await row(id)).toMatchObject({ status: 'APPROVED', reviewed_by: winner.id });
    expect(await available(s.partner.id, s.h.viewer)).toBe('1000.01');
    expect(await ledgerCount(id)).toBe(1);
    const events = await world.sql<{ type: string; actor_id: string }>(
      `select type, actor_id from process_request_event where process_request_id = ? order by id`,
      [id],
    );
    expect(events).toEqual([
      { type: 'CREATED', actor_id: s.maker.id },
      { type: 'APPROVED', actor_id: winner.id },
    ]);
  });

  test('approve racing cancel, 20 times: exactly one winner each time, and the stored state is the winner’s', async () => {
    const s = await setup();
    let credited = 0;
    for (let i = 0; i < 20; i++) {
      const id = await world.createInProcess(s.partner.id, s.maker, '2.50');
      const [approve, cancel] = await Promise.all([
        world.act(s.partner.id, id, 'approve', s.h.checker),
        world.act(s.partner.id, id, 'cancel', s.h.maker),
      ]);
      expect([approve.status, cancel.status].sort()).toEqual([204, 409]);
      const loser = approve.status === 409 ? approve : cancel;
      expect(loser.body.code).toBe('PROCESS_REQUEST_NOT_PENDING');
      const stored = await row(id);
      if (approve.status === 204) {
        credited++;
        expect(stored).toMatchObject({ status: 'APPROVED', reviewed_by: s.checker.id, cancelled_by: null });
        expect(await ledgerCount(id)).toBe(1);
      } else {
        expect(stored).toMatchObject({ status: 'CANCELLED', cancelled_by: s.maker.id, reviewed_by: null });
        expect(await ledgerCount(id)).toBe(0);
      }
    }
    const expected = (credited * 2.5).toFixed(2);
    expect(await available(s.partner.id, s.h.viewer)).toBe(expected);
  });
});

test('money is exact: approving 0.10 and 0.20 gives exactly 0.30', async () => {
  const s = await setup();
  for (const amount of ['0.10', '0.20']) {
    const id = await world.createRequest(s.partner.id, s.h.maker, amount);
    expect((await world.act(s.partner.id, id, 'approve', s.h.checker)).status).toBe(204);
  }
  const res = await world.http.get(`${world.rest(s.partner.id)}/balance`).set(s.h.viewer);
  expect(res.text).toContain('"available":0.30');
  expect(res.body.available).toBe(0.3);
  const [stored] = await world.sql<{ available: string }>(
    'select available::text as available from client_balance where id = ?',
    [s.partner.balanceId],
  );
  expect(stored.available).toBe('0.3000');
});

test('JPY: whole units are credited and shown without decimals', async () => {
  const s = await setup('JPY');
  const id = await world.createRequest(s.partner.id, s.h.maker, '123456');
  expect((await world.act(s.partner.id, id, 'approve', s.h.checker)).status).toBe(204);
  const res = await world.http.get(`${world.rest(s.partner.id)}/balance`).set(s.h.viewer);
  expect(res.text).toContain('"available":123456,');
});

// Runs last, over everything the tests above did.
test('invariants: every balance equals the sum of its ledger (never below zero), every APPROVED request has exactly one entry of its amount, every other none; one event per transition', async () => {
  expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
  const [{ approved }] = await world.sql<{ approved: number }>(
    `select count(*)::int as approved from process_request where status = 'APPROVED'`,
  );
  expect(approved).toBeGreaterThan(10);
});
