// What the third outside review found (issue 17, points 5-14), each over real HTTP on a real database: the
// per-operator cap over REST, bulk batches that validate first and keep every committed result, tokens
// (NUL in the subject, maximum lifetime), CORS for PUT, paginated policy history, times from the
// database's clock, crashed idempotency claims released, HEAD /graphql.
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { DEV_APP_TOKEN_SECRET, DEV_USER_TOKEN_SECRET } from '../src/config';
import { replacePolicy } from '../src/services/approval-policy.service';
import { parseInput, policyInput } from '../src/shapes/inputs';
import { bulk, desk, statusOf, type Desk } from './support/lifecycle';
import { holdRow, waitingOnLocks } from './support/locks';
import { createWorld, type World } from './support/world';

const ORIGIN = 'https://console.example.com';

let world: World;
let d: Desk;
beforeAll(async () => {
  world = await createWorld({ CORS_ORIGINS: ORIGIN, EVIDENCE_RECONCILE_SECONDS: '1' });
  d = await desk(world, 'Round three', 'USD', 3);
});
afterAll(() => world?.close());

const now = () => Math.floor(Date.now() / 1000);
const key = (secret: string) => new TextEncoder().encode(secret);

/** A token signed with a development secret, with exactly the claims given. */
async function sign(kind: 'app' | 'user', claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ kind, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(key(kind === 'app' ? DEV_APP_TOKEN_SECRET : DEV_USER_TOKEN_SECRET));
}

async function headersWith(user: Record<string, unknown>, app: Record<string, unknown> = {}) {
  const appToken = await sign('app', { sub: 'test-app', iat: now(), exp: now() + 600, ...app });
  const userToken = await sign('user', user);
  return { authorization: `Bearer ${appToken}`, 'x-user-token': `Bearer ${userToken}` };
}

const balance = async (headers: Record<string, string>) =>
  world.http.get(`${world.rest(d.partner.id)}/balance`).set(headers);

describe('tokens', () => {
  test('a NUL or another control character in the subject claim is 401, not 503', async () => {
    for (const sub of [`${d.viewer.id}\u0000`, `\u0000`, `a\u0001b`]) {
      const res = await balance(await headersWith({ sub, iat: now(), exp: now() + 600 }));
      expect([res.status, res.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
  });

  test('MAX_TOKEN_LIFETIME_SECONDS (86400): exp further than that from now or from iat is 401', async () => {
    const sub = d.viewer.subject;
    const ok = await balance(await headersWith({ sub, iat: now(), exp: now() + 86_000 }));
    expect(ok.status).toBe(200);
    for (const claims of [
      { sub, exp: 1e300 },
      { sub, iat: now(), exp: now() + 86_400 + 120 },
      { sub, iat: now() - 86_400, exp: now() + 600 },
    ]) {
      const res = await balance(await headersWith(claims));
      expect([res.status, res.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    const app = await balance(await headersWith({ sub, iat: now(), exp: now() + 600 }, { exp: 1e300 }));
    expect(app.status).toBe(401);
  });
});

test('CORS: a preflight for PUT /approval-policy is allowed', async () => {
  const res = await world.http
    .options(`${world.rest(d.partner.id)}/approval-policy`)
    .set('Origin', ORIGIN)
    .set('Access-Control-Request-Method', 'PUT')
    .set('Access-Control-Request-Headers', 'authorization,x-user-token,content-type');
  expect(res.status).toBe(204);
  expect(res.headers['access-control-allow-methods']?.split(',')).toEqual(
    expect.arrayContaining(['GET', 'HEAD', 'POST', 'PUT', 'PATCH']),
  );
});

test('HEAD /graphql is answered as GET, without a body', async () => {
  for (const accept of ['text/html', 'application/json']) {
    const get = await world.http.get('/graphql?query=%7B__typename%7D').set('Accept', accept);
    const head = await world.http.head('/graphql?query=%7B__typename%7D').set('Accept', accept);
    expect(head.status).toBe(get.status);
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    expect(head.text ?? '').toBe('');
  }
});

describe('per-operator cap over REST (shared with GraphQL)', () => {
  test('the fifth call in flight of one operator is 429 with Retry-After; others are served', async () => {
    const id = await world.createInProcess(d.partner.id, d.maker, '5.00');
    const lock = await holdRow(world, id);
    const checker = d.h.checkers[0];
    let blocked: Promise<unknown>[] = [];
    try {
      blocked = Array.from({ length: 4 }, () =>
        world.act(d.partner.id, id, 'approve', checker).then((r) => r.status),
      );
      await waitingOnLocks(world, 4);
      const fifth = await balance(checker);
      expect([fifth.status, fifth.body.code]).toEqual([429, 'TOO_MANY_OPERATIONS']);
      expect(Number(fifth.headers['retry-after'])).toBeGreaterThan(0);
      const graphql = await world.http.post('/graphql').set(checker).send({ query: '{ me { id } }' });
      expect(graphql.status).toBe(429);
      expect((await balance(d.h.checkers[1])).status).toBe(200);
    } finally {
      await lock.release();
    }
    expect((await Promise.all(blocked)).sort()).toEqual([204, 409, 409, 409]);
    expect((await balance(checker)).status).toBe(200);
  });

  test('a bulk call counts by its size: 100 ids take every place, 75 take three', async () => {
    const id = await world.createInProcess(d.partner.id, d.maker, '6.00');
    const lock = await holdRow(world, id);
    const checker = d.h.checkers[1];
    let blocked: Promise<number> | undefined;
    try {
      blocked = world.act(d.partner.id, id, 'approve', checker).then((r) => r.status);
      await waitingOnLocks(world, 1);
      const hundred = Array.from({ length: 100 }, () => randomUUID());
      const full = await bulk(world, d.partner.id, 'approve', checker, { ids: hundred });
      expect([full.status, full.body.code]).toEqual([429, 'TOO_MANY_OPERATIONS']);
      expect(full.headers['retry-after']).toBeDefined();
      const fits = await bulk(world, d.partner.id, 'approve', checker, { ids: hundred.slice(0, 75) });
      expect(fits.status).toBe(200);
      const overGraphQL = await world.http
        .post('/graphql')
        .set(checker)
        .send({
          query: `mutation($c: ID!, $ids: [ID!]!) { approveProcessRequests(clientId: $c, ids: $ids) { id ok } }`,
          variables: { c: d.partner.id, ids: hundred },
        });
      expect(overGraphQL.body.errors?.[0]?.extensions?.code).toBe('TOO_MANY_OPERATIONS');
    } finally {
      await lock.release();
    }
    expect(await blocked).toBe(204);
  });
});

describe('bulk decisions', () => {
  test('an id nested 5,000 deep makes the whole body 400 and nothing is decided', async () => {
    const first = await world.createInProcess(d.partner.id, d.maker, '7.00');
    const nested = '['.repeat(5000) + ']'.repeat(5000);
    const res = await world.http
      .post(`${world.rest(d.partner.id)}/process-requests/approve`)
      .set(d.h.checkers[2])
      .set('Content-Type', 'application/json')
      .send(`{"ids":["${first}",${nested}]}`);
    expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(res.body.details).toEqual({ field: 'ids.1' });
    expect(await statusOf(world, first)).toBe('PENDING');
  });

  test('a 5xx on one item still reports the items decided before and after it', async () => {
    const [a, broken, c] = await Promise.all(
      ['8.00', '9.00', '10.00'].map((amount) => world.createInProcess(d.partner.id, d.maker, amount)),
    );
    await world.sql(`create function refuse_one() returns trigger language plpgsql as $$
      begin if new.id = '${broken}' then raise exception 'refused by the test'; end if; return new; end $$`);
    await world.sql(
      'create trigger refuse_one before update on process_request for each row execute function refuse_one()',
    );
    try {
      const res = await bulk(world, d.partner.id, 'approve', d.h.checkers[2], { ids: [a, broken, c] });
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([
        { id: a, statusCode: 204 },
        { id: broken, statusCode: 500, code: 'INTERNAL_ERROR' },
        { id: c, statusCode: 204 },
      ]);
    } finally {
      await world.sql('drop trigger refuse_one on process_request');
      await world.sql('drop function refuse_one()');
    }
    expect([await statusOf(world, a), await statusOf(world, broken), await statusOf(world, c)]).toEqual([
      'APPROVED',
      'PENDING',
      'APPROVED',
    ]);
  });
});

describe('policy history is paginated', () => {
  let partnerId: string;
  beforeAll(async () => {
    const p = await desk(world, 'History', 'USD', 1);
    partnerId = p.partner.id;
    for (let i = 1; i <= 25; i++) {
      const input = parseInput(policyInput, {
        tiers: [{ from: '0', approvals: 1 }],
        pendingTtlSeconds: 1000 + i,
      });
      await replacePolicy(world.app.orm.em.fork(), partnerId, 'USD', input, null);
    }
  });

  test('REST: the newest 10 by default, any page on asking, and the total', async () => {
    const first = await world.http.get(`${world.rest(partnerId)}/approval-policy`).set(d.h.viewer);
    expect(first.status).toBe(403); // d.viewer is not this partner's
    const viewer = await world.operator(['VIEWER'], [partnerId]);
    const h = await world.headers(viewer);
    const page1 = await world.http.get(`${world.rest(partnerId)}/approval-policy`).set(h);
    expect(page1.status).toBe(200);
    expect(page1.body.history).toHaveLength(10);
    expect(page1.body.historyTotal).toBe(25);
    expect(page1.body.history[0].after.pendingTtlSeconds).toBe(1025);
    const page3 = await world.http
      .get(`${world.rest(partnerId)}/approval-policy?historyPage=3&historyLimit=10`)
      .set(h);
    expect(
      page3.body.history.map((c: { after: { pendingTtlSeconds: number } }) => c.after.pendingTtlSeconds),
    ).toEqual([1005, 1004, 1003, 1002, 1001]);
    const bad = await world.http.get(`${world.rest(partnerId)}/approval-policy?historyLimit=101`).set(h);
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  test('GraphQL: history(page, limit) and historyTotal; the cost counts the limit asked', async () => {
    const viewer = await world.operator(['VIEWER'], [partnerId]);
    const h = await world.headers(viewer);
    const res = await world.http
      .post('/graphql')
      .set(h)
      .send({
        query: `query($c: ID!) { approvalPolicy(clientId: $c) { historyTotal history(page: 2, limit: 4) { after { pendingTtlSeconds } } } }`,
        variables: { c: partnerId },
      });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.approvalPolicy).toEqual({
      historyTotal: 25,
      history: [1021, 1020, 1019, 1018].map((n) => ({ after: { pendingTtlSeconds: n } })),
    });
    // Each change with its actor and three states' tiers costs 35 objects: 100 of them are over 3,000.
    const costly = (limit: number) =>
      world.http
        .post('/graphql')
        .set(h)
        .send({
          query: `{ approvalPolicy(clientId: "${partnerId}") { history(limit: ${limit}) { actor { id } before { tiers { from } } after { tiers { from } } again: after { tiers { from } } } } }`,
        });
    const refused = await costly(100);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const served = await costly(10);
    expect(served.body.errors).toBeUndefined();
    expect(served.body.data.approvalPolicy.history).toHaveLength(10);
  });
});

test('createdAt and expiresAt come from the database clock, not the process clock', async () => {
  const p = await desk(world, 'Clocks', 'USD', 1);
  const input = parseInput(policyInput, { tiers: [{ from: '0', approvals: 1 }], pendingTtlSeconds: 60 });
  await replacePolicy(world.app.orm.em.fork(), p.partner.id, 'USD', input, null);
  // This process's clock runs 90 s behind the database's (Date only; timers stay real).
  jest.useFakeTimers({
    now: Date.now() - 90_000,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  let id: string;
  try {
    id = await world.createInProcess(p.partner.id, p.maker, '1.00');
  } finally {
    jest.useRealTimers();
  }
  const [row] = await world.sql<{ live: boolean; skew: number }>(
    `select expires_at > now() as live, abs(extract(epoch from created_at - now())) as skew
       from process_request where id = ?`,
    [id],
  );
  expect(row.live).toBe(true);
  expect(Number(row.skew)).toBeLessThan(10);
});

test('an IN_PROGRESS idempotency claim of a process that is gone is released; a live one stays', async () => {
  const ownerGone = 2_000_000_001;
  const mine = world.app.liveness.ownerId;
  for (const [k, owner] of [
    ['crashed', ownerGone],
    ['running', mine],
  ] as const) {
    await world.sql(
      `insert into idempotency_key (id, operator_id, key, request_hash, status, owner)
       values (?, ?, ?, repeat('a', 64), 'IN_PROGRESS', ?)`,
      [randomUUID(), d.maker.id, k, owner],
    );
  }
  const keys = async () =>
    (
      await world.sql<{ key: string }>('select key from idempotency_key where operator_id = ? order by key', [
        d.maker.id,
      ])
    ).map((r) => r.key);
  const deadline = Date.now() + 8_000;
  while ((await keys()).includes('crashed') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  expect(await keys()).toEqual(['running']);
});
