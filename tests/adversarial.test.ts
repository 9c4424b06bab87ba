// Hostile use of the most recently changed parts: the one-statement decision under storms of parallel
// deciders over real HTTP (with the ledger invariants after each), the partner cache across partners and
// scopes, the API document and docs assets against odd paths and methods, and the raw-row reads (REST
// against GraphQL for the same request).
import { randomUUID } from 'node:crypto';
import type supertest from 'supertest';
import { createPartner } from '../src/services/identity/admin.service';
import { expire } from '../src/runtime/expiry';
import { newPartner, parseInput } from '../src/shapes/inputs';
import { ProcessRequestDocument, ProcessRequestsDocument } from './generated/graphql';
import { until } from './support/progress-ws';
import { rawHttp } from './support/raw-http';
import { SseClient } from './support/sse';
import {
  bulk,
  desk as makeDesk,
  type Desk,
  fileReversal,
  ledgerViolations,
  NO_VIOLATIONS,
  setPolicy,
} from './support/lifecycle';
import { createWorld, type World } from './support/world';

let world: World;

beforeAll(async () => {
  // Storms of one checker's calls at once test the decision SQL, not the per-operator cap on calls in flight.
  // Policies are this suite's fixtures, set at once; four eyes on policy changes: tests/policy-changes.test.ts.
  world = await createWorld({
    MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: '100',
    POLICY_CHANGES_NEED_APPROVAL: 'false',
  });
});
afterAll(() => world?.close());

type Headers = Record<string, string>;
const desk = (name: string, currency = 'USD', checkers = 3): Promise<Desk> =>
  makeDesk(world, name, currency, checkers);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const patch = (partnerId: string, id: string, action: string, h: Headers, body?: object) => {
  const req = world.http.patch(`${world.rest(partnerId)}/process-request/${id}/${action}`).set(h);
  return body === undefined ? req : req.send(body);
};

/** Status and code of each answer, e.g. "204" or "409 PROCESS_REQUEST_NOT_PENDING". */
const outcome = (res: supertest.Response) => (res.status === 204 ? '204' : `${res.status} ${res.body.code}`);

async function topUps(d: Desk, amounts: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const amount of amounts) ids.push(await world.createInProcess(d.partner.id, d.maker, amount));
  return ids;
}

async function statuses(ids: string[]): Promise<Record<string, string>> {
  const rows = await world.sql<{ id: string; status: string }>(
    'select id, status from process_request where id = any(?)',
    [`{${ids.join(',')}}`],
  );
  return Object.fromEntries(rows.map((r) => [r.id, r.status]));
}

async function expectInvariants(): Promise<void> {
  expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
}

describe('the one-statement decision under storms', () => {
  test('3 approvals required, 5 checkers approve 6 requests at once, each checker twice: exactly 3 approvals each, the rest 409', async () => {
    const d = await desk('Storm3', 'USD', 5);
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 3 }]);
    const ids = await topUps(d, ['10.01', '20.02', '30.03', '0.01', '999999.99', '12.34']);
    const calls = ids.flatMap((id) =>
      d.h.checkers.flatMap((h) => [
        patch(d.partner.id, id, 'approve', h),
        patch(d.partner.id, id, 'approve', h),
      ]),
    );
    const results = (await Promise.all(calls)).map(outcome);
    for (let i = 0; i < ids.length; i += 1) {
      const mine = results.slice(i * 10, i * 10 + 10);
      expect(mine.filter((r) => r === '204')).toHaveLength(3);
      for (const r of mine.filter((x) => x !== '204'))
        expect(['409 PROCESS_REQUEST_NOT_PENDING', '409 ALREADY_APPROVED_BY_OPERATOR']).toContain(r);
    }
    expect(Object.values(await statuses(ids))).toEqual(Array(ids.length).fill('APPROVED'));
    await expectInvariants();
  });

  test('the same operator approving twice at once under a 2-approval policy: one 204, one 409 ALREADY_APPROVED_BY_OPERATOR, still PENDING', async () => {
    const d = await desk('Twice', 'USD', 1);
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 2 }]);
    const ids = await topUps(d, ['5.00', '6.00', '7.00', '8.00']);
    const results = await Promise.all(
      ids.flatMap((id) => [0, 1, 2].map(() => patch(d.partner.id, id, 'approve', d.h.checkers[0]))),
    );
    const codes = results.map(outcome);
    for (let i = 0; i < ids.length; i += 1)
      expect(codes.slice(i * 3, i * 3 + 3).sort()).toEqual([
        '204',
        '409 ALREADY_APPROVED_BY_OPERATOR',
        '409 ALREADY_APPROVED_BY_OPERATOR',
      ]);
    expect(Object.values(await statuses(ids))).toEqual(Array(ids.length).fill('PENDING'));
    await expectInvariants();
  });

  test('approve vs reject vs cancel at once: one outcome per request, its event once, losers 409 PROCESS_REQUEST_NOT_PENDING', async () => {
    const d = await desk('Race', 'USD', 3);
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 2 }]);
    const ids = await topUps(
      d,
      Array.from({ length: 8 }, (_, i) => `${i + 1}.25`),
    );
    const calls = ids.flatMap((id) => [
      patch(d.partner.id, id, 'approve', d.h.checkers[0]),
      patch(d.partner.id, id, 'approve', d.h.checkers[1]),
      patch(d.partner.id, id, 'reject', d.h.checkers[2], { reason: 'no' }),
      patch(d.partner.id, id, 'cancel', d.h.maker, { reason: 'withdrawn' }),
    ]);
    const codes = (await Promise.all(calls)).map(outcome);
    expect(codes.filter((c) => c !== '204' && c !== '409 PROCESS_REQUEST_NOT_PENDING')).toEqual([]);
    const final = await statuses(ids);
    ids.forEach((id, i) => {
      const [a1, a2, rej, can] = codes.slice(i * 4, i * 4 + 4);
      const status = final[id];
      if (status === 'APPROVED')
        expect([a1, a2, rej, can]).toEqual(['204', '204', expect.any(String), expect.any(String)]);
      if (status === 'REJECTED') expect(rej).toBe('204');
      if (status === 'CANCELLED') expect(can).toBe('204');
      expect(['APPROVED', 'REJECTED', 'CANCELLED']).toContain(status);
      expect([rej === '204', can === '204', status === 'APPROVED'].filter(Boolean)).toHaveLength(1);
    });
    await expectInvariants();
  });

  test('one partner: top-ups approved while reversals of its earlier top-ups are approved (both money paths at once): all 204, no deadlock', async () => {
    const d = await desk('Both paths', 'USD', 2);
    const originals = await topUps(d, ['100.00', '200.00', '300.00', '400.00', '500.00', '600.00']);
    for (const id of originals)
      expect(outcome(await patch(d.partner.id, id, 'approve', d.h.checkers[0]))).toBe('204');
    const reversals: string[] = [];
    for (const id of originals) {
      const res = await fileReversal(world, d.partner.id, id, d.h.maker, { reason: 'duplicate' });
      expect(res.status).toBe(201);
      reversals.push(res.body.id);
    }
    const fresh = await topUps(
      d,
      Array.from({ length: 12 }, (_, i) => `${i + 1}.50`),
    );
    const calls = [...reversals, ...fresh].map((id, i) =>
      patch(d.partner.id, id, 'approve', d.h.checkers[i % 2]),
    );
    expect((await Promise.all(calls)).map(outcome)).toEqual(Array(calls.length).fill('204'));
    await expectInvariants();
  });

  test('many requests of one partner approved at once: all 204, the balance is their sum exactly, event ids follow the ledger order and reach SSE in strictly increasing order', async () => {
    const d = await desk('Many', 'USD', 4);
    const amounts = Array.from({ length: 24 }, (_, i) => `${(i + 1) * 3}.0${i % 10}`);
    const ids = await topUps(d, amounts);
    const sse = await SseClient.open(
      `${world.baseUrl}${world.rest(d.partner.id)}/process-request/progress`,
      d.h.viewer,
    );
    await until(() => world.app.progress.openStreams === 1);
    const codes = (
      await Promise.all(ids.map((id, i) => patch(d.partner.id, id, 'approve', d.h.checkers[i % 4])))
    ).map(outcome);
    expect(codes).toEqual(Array(ids.length).fill('204'));
    // Live events come in commit order: their ids strictly increase, and none is missing.
    await until(() => sse.events().filter((e) => e.type === 'APPROVED').length === ids.length);
    sse.close();
    const live = sse.events().map((e) => BigInt(e.id as string));
    expect(live.every((id, i) => i === 0 || id > live[i - 1])).toBe(true);
    const stored = await world.sql<{ id: string }>(
      `select id::text from process_request_event where client_id = ? and type = 'APPROVED' order by id`,
      [d.partner.id],
    );
    expect(live.map(String)).toEqual(stored.map((r) => r.id));
    const [balance] = await world.sql<{ available: string; total: string }>(
      `select b.available::text as available, (select sum(x)::numeric(20, 4)::text from unnest(?::numeric[]) x) as total
         from client_balance b where b.client_id = ?`,
      [`{${amounts.join(',')}}`, d.partner.id],
    );
    expect(balance.available).toBe(balance.total);
    // Each credit's balance_after grows with the event id of its APPROVED event: credits and events are
    // ordered by the same per-partner lock.
    const rows = await world.sql<{ after: string; event: string }>(
      `select l.balance_after::text as after, e.id::text as event from ledger_entry l
         join process_request_event e on e.process_request_id = l.process_request_id and e.type = 'APPROVED'
        where l.client_balance_id = (select id from client_balance where client_id = ?) order by e.id`,
      [d.partner.id],
    );
    const afters = rows.map((r) => Number(r.after));
    expect(afters).toEqual([...afters].sort((a, b) => a - b));
    await expectInvariants();
  });

  test('bulk approve overlapping single approvals of the same requests: each request one approval counted per operator, no 500', async () => {
    const d = await desk('Bulk', 'USD', 3);
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 2 }]);
    const ids = await topUps(
      d,
      Array.from({ length: 10 }, (_, i) => `${i + 1}.75`),
    );
    const [b1, b2, ...singles] = await Promise.all([
      bulk(world, d.partner.id, 'approve', d.h.checkers[0], { ids }),
      bulk(world, d.partner.id, 'approve', d.h.checkers[1], { ids }),
      ...ids.map((id) => patch(d.partner.id, id, 'approve', d.h.checkers[0])),
      ...ids.map((id) => patch(d.partner.id, id, 'approve', d.h.checkers[2])),
    ]);
    expect([b1.status, b2.status]).toEqual([200, 200]);
    const singleCodes = singles.map(outcome);
    expect(
      singleCodes.filter(
        (c) => !['204', '409 PROCESS_REQUEST_NOT_PENDING', '409 ALREADY_APPROVED_BY_OPERATOR'].includes(c),
      ),
    ).toEqual([]);
    expect(Object.values(await statuses(ids))).toEqual(Array(ids.length).fill('APPROVED'));
    await expectInvariants();
  });

  test('approvals racing a 1 s deadline: each is 204 (then APPROVED) or 409 PROCESS_REQUEST_NOT_PENDING (then EXPIRED), never a 500', async () => {
    const d = await desk('Deadline', 'USD', 2);
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 1 }], 1);
    const ids = await topUps(
      d,
      Array.from({ length: 10 }, (_, i) => `${i + 1}.10`),
    );
    const [row] = await world.sql<{ at: Date }>(
      'select min(expires_at) as at from process_request where id = any(?)',
      [`{${ids.join(',')}}`],
    );
    await sleep(Math.max(0, new Date(row.at).getTime() - Date.now() - 15));
    const codes = (
      await Promise.all(ids.map((id, i) => patch(d.partner.id, id, 'approve', d.h.checkers[i % 2])))
    ).map(outcome);
    const final = await statuses(ids);
    ids.forEach((id, i) =>
      expect([codes[i], final[id]]).toEqual(
        codes[i] === '204' ? ['204', 'APPROVED'] : ['409 PROCESS_REQUEST_NOT_PENDING', 'EXPIRED'],
      ),
    );
    await expectInvariants();
  });
});

describe('refusals: a top-up and a reversal answer alike', () => {
  test('a top-up (its approval credits) and a reversal (its final approval debits): the same codes in the same precedence', async () => {
    const d = await desk('Precedence', 'USD', 3);
    await world.sql(`update operator set approval_limits = '{"USD": "1"}' where id = ?`, [d.checkers[1].id]);
    const [original] = await topUps(d, ['50.00']);
    expect(outcome(await patch(d.partner.id, original, 'approve', d.h.checkers[0]))).toBe('204');
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 2 }]);
    const topUp = await world.createRequest(d.partner.id, d.h.admin, '50.00');
    const filed = await fileReversal(world, d.partner.id, original, d.h.admin, { reason: 'wrong partner' });
    expect(filed.status).toBe(201);
    const [c0, c1, c2] = d.h.checkers;
    const steps: Array<[string, Headers, object?]> = [
      ['approve', d.h.admin],
      ['approve', c0],
      ['approve', c0],
      ['approve', c1],
      ['reject', c2],
      ['cancel', c0],
      ['approve', c2],
      ['approve', d.h.admin],
      ['approve', c0],
      ['approve', c1],
      ['reject', c2],
      ['reject', c1, { reason: 'late' }],
      ['cancel', c0],
      ['cancel', d.h.admin],
    ];
    const run = async (id: string) => {
      const codes: string[] = [];
      for (const [action, h, body] of steps)
        codes.push(outcome(await patch(d.partner.id, id, action, h, body)));
      codes.push(outcome(await patch(d.partner.id, randomUUID(), 'approve', c0)));
      return codes;
    };
    const expected = [
      '403 SELF_REVIEW_FORBIDDEN',
      '204',
      '409 ALREADY_APPROVED_BY_OPERATOR',
      '403 APPROVAL_LIMIT_EXCEEDED',
      '400 REASON_REQUIRED',
      '403 FORBIDDEN',
      '204',
      '403 SELF_REVIEW_FORBIDDEN',
      '409 PROCESS_REQUEST_NOT_PENDING',
      '409 PROCESS_REQUEST_NOT_PENDING',
      '409 PROCESS_REQUEST_NOT_PENDING',
      '409 PROCESS_REQUEST_NOT_PENDING',
      '403 FORBIDDEN',
      '409 PROCESS_REQUEST_NOT_PENDING',
      '404 NOT_FOUND',
    ];
    expect(await run(topUp)).toEqual(expected);
    expect(await run(filed.body.id)).toEqual(expected);
    expect(await statuses([topUp, filed.body.id, original])).toEqual({
      [topUp]: 'APPROVED',
      [filed.body.id]: 'APPROVED',
      [original]: 'REVERSED',
    });
    await expectInvariants();
  });

  test('the largest amounts, approved at once: the balance column holds one, the rest 409 BALANCE_LIMIT_EXCEEDED and nothing moves; long reasons reach the history', async () => {
    const d = await desk('Largest', 'USD', 3);
    const ids = await topUps(d, ['999999999999999.99', '999999999999999.99', '999999999999999.99']);
    const reason = `${'\u0001'.repeat(250)}${'💸'.repeat(250)}`;
    const codes = (
      await Promise.all(ids.map((id, i) => patch(d.partner.id, id, 'approve', d.h.checkers[i], { reason })))
    ).map(outcome);
    expect(codes.sort()).toEqual(['204', '409 BALANCE_LIMIT_EXCEEDED', '409 BALANCE_LIMIT_EXCEEDED']);
    const final = await statuses(ids);
    expect(Object.values(final).sort()).toEqual(['APPROVED', 'PENDING', 'PENDING']);
    const approved = ids.find((id) => final[id] === 'APPROVED')!;
    const view = await world.http
      .get(`${world.rest(d.partner.id)}/process-request/${approved}`)
      .set(d.h.viewer);
    expect(view.body.history.at(-1)).toMatchObject({ type: 'APPROVED', reason });
    await expectInvariants();
  });
});

describe('the partner cache', () => {
  test('an unknown partner is 404 NOT_FOUND every time (not remembered), and found once it exists', async () => {
    const global = await world.operator(['ADMIN'], null);
    const h = await world.headers(global);
    const missing = randomUUID();
    for (let i = 0; i < 2; i += 1) {
      for (const path of ['/process-requests', '/balance', `/process-request/${randomUUID()}`]) {
        const res = await world.http.get(`${world.rest(missing)}${path}`).set(h);
        expect([path, res.status, res.body.code]).toEqual([path, 404, 'NOT_FOUND']);
      }
      const approve = await patch(missing, randomUUID(), 'approve', h);
      expect([approve.status, approve.body.code]).toEqual([404, 'NOT_FOUND']);
    }
    await createPartner(
      world.app.orm.em.fork(),
      parseInput(newPartner, { id: missing, name: 'Late', currency: 'JPY' }),
    );
    const list = await world.http.get(`${world.rest(missing)}/process-requests`).set(h);
    expect([list.status, list.body.total]).toEqual([200, 0]);
    const id = await world.createRequest(missing, h, '1500');
    const view = await world.http.get(`${world.rest(missing)}/process-request/${id}`).set(h);
    expect([view.status, view.body.currency, view.body.clientId]).toEqual([200, 'JPY', missing]);
  });

  test("a partner known to the cache: another partner's operator 403 PARTNER_FORBIDDEN, a viewer 403 FORBIDDEN, a request of another partner 404, the limit in the right currency", async () => {
    const usd = await desk('Cache USD', 'USD', 1);
    const jpy = await desk('Cache JPY', 'JPY', 1);
    const both = await world.operator(['CHECKER'], [usd.partner.id, jpy.partner.id]);
    await world.sql(`update operator set approval_limits = '{"USD": "10"}' where id = ?`, [both.id]);
    const hb = await world.headers(both);
    const usdBig = await world.createInProcess(usd.partner.id, usd.maker, '20.00');
    const jpyBig = await world.createInProcess(jpy.partner.id, jpy.maker, '100000');
    // Both partners are known now.
    for (const d of [usd, jpy])
      expect((await world.http.get(`${world.rest(d.partner.id)}/balance`).set(d.h.viewer)).status).toBe(200);
    for (let i = 0; i < 2; i += 1) {
      const foreign = await world.http
        .get(`${world.rest(usd.partner.id)}/process-requests`)
        .set(jpy.h.viewer);
      expect([foreign.status, foreign.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
      const foreignApprove = await patch(usd.partner.id, usdBig, 'approve', jpy.h.checkers[0]);
      expect([foreignApprove.status, foreignApprove.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
      const viewer = await patch(usd.partner.id, usdBig, 'approve', usd.h.viewer);
      expect([viewer.status, viewer.body.code]).toEqual([403, 'FORBIDDEN']);
      const crossed = await world.http.get(`${world.rest(jpy.partner.id)}/process-request/${usdBig}`).set(hb);
      expect([crossed.status, crossed.body.code]).toEqual([404, 'NOT_FOUND']);
      const crossedApprove = await patch(jpy.partner.id, usdBig, 'approve', hb);
      expect([crossedApprove.status, crossedApprove.body.code]).toEqual([404, 'NOT_FOUND']);
    }
    const overLimit = await patch(usd.partner.id, usdBig, 'approve', hb);
    expect([overLimit.status, overLimit.body.code]).toEqual([403, 'APPROVAL_LIMIT_EXCEEDED']);
    expect(outcome(await patch(jpy.partner.id, jpyBig, 'approve', hb))).toBe('204');
    // The path's partner id in upper case is the same partner, with the same scope.
    const upper = await world.http
      .get(`${world.rest(usd.partner.id.toUpperCase())}/process-request/${usdBig}`)
      .set(usd.h.viewer);
    expect([upper.status, upper.body.clientId]).toEqual([200, usd.partner.id]);
    const upperForeign = await world.http
      .get(`${world.rest(usd.partner.id.toUpperCase())}/balance`)
      .set(jpy.h.viewer);
    expect([upperForeign.status, upperForeign.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
  });
});

describe('the API document and the docs assets', () => {
  const raw = (target: string, method = 'GET') =>
    rawHttp(world.baseUrl, `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);

  test('asset names that try to leave the list: 404 NOT_FOUND, never a file, never a 500', async () => {
    const names = [
      '../package.json',
      '..%2fpackage.json',
      '%2e%2e%2f%2e%2e%2fpackage.json',
      '%2e%2e/%2e%2e/package.json',
      '..%5c..%5cpackage.json',
      '..\\..\\package.json',
      '%2fetc%2fpasswd',
      '/etc/passwd',
      'swagger-ui.css%00.js',
      'swagger-ui.css%00',
      'index.html',
      'package.json',
      'swagger-ui.css.map',
      'swagger-ui-bundle.js.map',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      '%E0%A4%A',
      'swagger-ui.css/..',
    ];
    const answers = await Promise.all(names.map((name) => raw(`/docs/${name}`)));
    expect(answers.map((res, i) => [names[i], res.status, res.json?.code])).toEqual(
      names.map((name) => [name, 404, 'NOT_FOUND']),
    );
    // A name longer than the header limit is refused before routing; a trailing slash is the same asset.
    const long = await raw(`/docs/${'a'.repeat(20_000)}`);
    expect([long.status, long.json?.code]).toEqual([431, 'HEADERS_TOO_LARGE']);
    const [css, slash] = await Promise.all([raw('/docs/swagger-ui.css'), raw('/docs/swagger-ui.css/')]);
    expect([css.status, css.headers['content-type'], slash.body === css.body]).toEqual([
      200,
      'text/css; charset=utf-8',
      true,
    ]);
  });

  test('HEAD 200 without a body, OPTIONS 204, any other method 405 with Allow, a huge query string ignored: on /openapi.json and /docs', async () => {
    for (const target of ['/openapi.json', '/docs', '/docs/start.js']) {
      for (const method of ['HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND']) {
        const res = await raw(target, method);
        const want = method === 'HEAD' ? 200 : method === 'OPTIONS' ? 204 : 405;
        expect([target, method, res.status, method === 'HEAD' || res.headers.allow]).toEqual([
          target,
          method,
          want,
          method === 'HEAD' || 'GET, HEAD, OPTIONS',
        ]);
      }
      const head = await raw(target, 'HEAD');
      expect([target, head.status, head.body]).toEqual([target, 200, '']);
      const long = await raw(`${target}?${'q=%2e%2e%2f&'.repeat(600)}`);
      expect([target, long.status]).toEqual([target, 200]);
    }
  });
});

describe('reads mapped from raw rows', () => {
  /** The fields both doors show, REST's amount as the exact text of its JSON number. */
  const FIELDS = [
    'id',
    'processTypeId',
    'clientBalanceId',
    'clientId',
    'requestedAmount',
    'currency',
    'observations',
    'evidenceUrl',
    'evidence',
    'status',
    'createdBy',
    'createdAt',
    'updatedAt',
    'reviewedBy',
    'reviewedAt',
    'reviewReason',
    'cancelledBy',
    'cancelledAt',
  ];
  const pick = (o: Record<string, unknown>) => Object.fromEntries(FIELDS.map((f) => [f, o[f]]));
  const amountsIn = (text: string) => [...text.matchAll(/"requestedAmount":(-?[0-9.e+]+)/g)].map((m) => m[1]);
  const ms = (column: string) =>
    `to_char(date_trunc('milliseconds', ${column}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

  /** A partner's requests in every state: pending with one of two approvals, approved, rejected, cancelled, expired, reversed. */
  async function everyState(currency: string, amounts: string[]) {
    const d = await desk(`Rows ${currency}`, currency, 2);
    const [approved, rejected, cancelled, second, reversed] = await topUps(d, amounts);
    expect(outcome(await patch(d.partner.id, approved, 'approve', d.h.checkers[0], { reason: 'ok ✓' }))).toBe(
      '204',
    );
    expect(
      outcome(await patch(d.partner.id, rejected, 'reject', d.h.checkers[1], { reason: 'blurred' })),
    ).toBe('204');
    expect(outcome(await patch(d.partner.id, cancelled, 'cancel', d.h.maker))).toBe('204');
    expect(outcome(await patch(d.partner.id, reversed, 'approve', d.h.checkers[1]))).toBe('204');
    const filed = await fileReversal(world, d.partner.id, reversed, d.h.maker, { reason: 'twice' });
    expect(filed.status).toBe(201);
    expect(outcome(await patch(d.partner.id, filed.body.id, 'approve', d.h.checkers[0]))).toBe('204');
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 2 }], 1);
    const [expired] = await topUps(d, [amounts[0]]);
    await setPolicy(world, d.partner.id, d.admin, [{ from: '0', approvals: 2 }]);
    const [late] = await topUps(d, [amounts[1]]);
    expect(outcome(await patch(d.partner.id, late, 'approve', d.h.checkers[0]))).toBe('204');
    // Filed under the one-approval policy: one approval still completes it.
    expect(outcome(await patch(d.partner.id, second, 'approve', d.h.checkers[0]))).toBe('204');
    await sleep(1100);
    expect(await expire(world.app.orm.em.fork())).toHaveLength(1);
    return {
      d,
      ids: [approved, rejected, cancelled, second, reversed, filed.body.id as string, expired, late],
    };
  }

  test.each([
    ['USD', ['0.01', '12.3', '999999999.99', '1000', '7.07']],
    ['JPY', ['1', '1500', '99999999999', '10', '7']],
  ])(
    '%s: REST detail, REST page, GraphQL detail and GraphQL page agree on every field, amounts and ms timestamps as stored',
    async (currency, amounts) => {
      const { d, ids } = await everyState(currency, amounts);
      const stored = await world.sql<Record<string, string | null>>(
        `select id, requested_amount::text as amount, status, ${ms('created_at')} as created, ${ms('updated_at')} as updated,
              ${ms('reviewed_at')} as reviewed, ${ms('cancelled_at')} as cancelled, reviewed_by, cancelled_by
         from process_request where client_id = ? order by id`,
        [d.partner.id],
      );
      expect(stored.map((r) => r.id)).toEqual([...ids].sort());
      const restPage = await world.http
        .get(`${world.rest(d.partner.id)}/process-requests?limit=100`)
        .set(d.h.viewer);
      const gqlPage = await world.gql(d.viewer, ProcessRequestsDocument, {
        clientId: d.partner.id,
        limit: 100,
      });
      expect(gqlPage.errors).toBeUndefined();
      const restItems = restPage.body.items as Array<Record<string, unknown>>;
      const restAmounts = amountsIn(restPage.text);
      const gqlItems = gqlPage.data!.processRequests.items as Array<Record<string, unknown>>;
      expect([restItems.length, gqlItems.length, restPage.body.total]).toEqual([
        stored.length,
        stored.length,
        stored.length,
      ]);
      const decimals = currency === 'JPY' ? 0 : 2;
      for (const row of stored) {
        const detail = await world.http
          .get(`${world.rest(d.partner.id)}/process-request/${row.id}`)
          .set(d.h.viewer);
        expect(detail.status).toBe(200);
        const gql = await world.gql(d.viewer, ProcessRequestDocument, {
          clientId: d.partner.id,
          id: row.id as string,
        });
        expect(gql.errors).toBeUndefined();
        const i = restItems.findIndex((x) => x.id === row.id);
        const fromRestPage = { ...pick(restItems[i]), requestedAmount: restAmounts[i] };
        const fromRest = { ...pick(detail.body), requestedAmount: amountsIn(detail.text)[0] };
        const fromGql = pick(gql.data!.processRequest as Record<string, unknown>);
        const fromGqlPage = pick(gqlItems.find((x) => x.id === row.id)!);
        const expected = {
          id: row.id,
          status: row.status,
          requestedAmount: Number(row.amount).toFixed(decimals),
          createdAt: row.created,
          updatedAt: row.updated,
          reviewedAt: row.reviewed,
          reviewedBy: row.reviewed_by,
          cancelledAt: row.cancelled,
          cancelledBy: row.cancelled_by,
        };
        expect(fromRest).toMatchObject(expected);
        expect(fromRestPage).toEqual(fromRest);
        expect(fromGql).toEqual(fromRest);
        expect(fromGqlPage).toEqual(fromRest);
        // The history's last event is the row's last change.
        expect((detail.body.history as Array<{ at: string }>).map((e) => e.at)).toEqual(
          (gql.data!.processRequest!.history as Array<{ at: string }>).map((e) => e.at),
        );
      }
      expect(
        Object.values(stored)
          .map((r) => r.status)
          .sort(),
      ).toEqual([
        'APPROVED',
        'APPROVED',
        'APPROVED',
        'CANCELLED',
        'EXPIRED',
        'PENDING',
        'REJECTED',
        'REVERSED',
      ]);
    },
  );

  test('pages: limit 1 walks every request once, newest first; beyond the end is empty with the total; limit 100 holds all; out of range 400; processTypeId filters', async () => {
    const d = await desk('Pages', 'USD', 1);
    const ids = await topUps(d, ['1.00', '2.00', '3.00', '4.00', '5.00']);
    expect(outcome(await patch(d.partner.id, ids[0], 'approve', d.h.checkers[0]))).toBe('204');
    const reversal = await fileReversal(world, d.partner.id, ids[0], d.h.maker, { reason: 'x' });
    expect(reversal.status).toBe(201);
    const get = (q: string) =>
      world.http.get(`${world.rest(d.partner.id)}/process-requests?${q}`).set(d.h.viewer);
    const seen: string[] = [];
    for (let page = 1; page <= 6; page += 1) {
      const res = await get(`limit=1&page=${page}`);
      expect([res.status, res.body.items.length, res.body.total, res.body.totalPages]).toEqual([
        200, 1, 6, 6,
      ]);
      seen.push(res.body.items[0].id);
    }
    expect(new Set(seen).size).toBe(6);
    const all = await get('limit=100');
    expect(all.body.items.map((x: { id: string }) => x.id)).toEqual(seen);
    for (const q of ['limit=1&page=7', 'limit=100&page=2', 'page=1000000']) {
      const res = await get(q);
      expect([q, res.status, res.body.items, res.body.total]).toEqual([q, 200, [], 6]);
    }
    for (const q of [
      'limit=0',
      'limit=101',
      'page=0',
      'page=1000001',
      'limit=-1',
      'limit=1.5',
      'processTypeId=3',
    ]) {
      const res = await get(q);
      expect([q, res.status]).toEqual([q, 400]);
    }
    const reversals = await get('processTypeId=2');
    expect(reversals.body.items.map((x: { id: string }) => x.id)).toEqual([reversal.body.id]);
    const topUpsOnly = await get('processTypeId=1&limit=2&page=3');
    expect([topUpsOnly.body.total, topUpsOnly.body.items.length, topUpsOnly.body.totalPages]).toEqual([
      5, 1, 3,
    ]);
    expect(topUpsOnly.body.items[0].id).toBe(ids[0]);
  });
});
