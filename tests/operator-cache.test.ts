// The operator rows a process keeps for reads: any change to an operator, however it is made (plain SQL on
// another connection, the CLI, the service, another process), takes effect on the very next call.
import { Client } from 'pg';
import type { App } from '../src/app';
import { runCli } from '../src/cli/run';
import { Operator as OperatorEntity, Role, type Operator } from '../src/entities/operator.entity';
import { pgConnectionOptions } from '../src/infra/database-url';
import { deactivateOperator, updateOperator } from '../src/services/identity/admin.service';
import { parseInput, operatorChanges } from '../src/shapes/inputs';
import { until } from './support/progress-ws';
import { statementsOf } from './support/statements';
import { PDF } from './support/files';
import { createWorld, type TestPartner, type World } from './support/world';

let world: World;
let other: Client;
let second: App;
let secondUrl: string;
let partner: TestPartner;
let elsewhere: TestPartner;

beforeAll(async () => {
  world = await createWorld();
  // Another session on the same database, as an administrator's psql would be.
  other = new Client(pgConnectionOptions(world.databaseUrl));
  await other.connect();
  // A second server process's worth of app on the same database.
  ({ app: second, url: secondUrl } = await world.secondProcess());
  partner = await world.partner('Cached');
  elsewhere = await world.partner('Elsewhere');
});
afterAll(async () => {
  await other?.end();
  await world?.close();
});

const cached = (app: App, operator: Operator) =>
  app.services.operators.get(`sub:${operator.subject}`) !== undefined;

/** GET balance on the first app (or on `origin`); returns status and code. */
async function balance(
  operator: Operator,
  partnerId = partner.id,
  origin?: string,
): Promise<[number, string | undefined]> {
  const headers = await world.headers(operator);
  const path = `${world.rest(partnerId)}/balance`;
  if (!origin) {
    const res = await world.http.get(path).set(headers);
    return [res.status, res.body.code];
  }
  const res = await fetch(`${origin}${path}`, { headers });
  return [res.status, ((await res.json()) as { code?: string }).code];
}

/** A viewer whose row both apps have read and kept. */
async function warmViewer(): Promise<Operator> {
  const op = await world.operator(['VIEWER'], [partner.id]);
  expect(await balance(op)).toEqual([200, undefined]);
  expect(await balance(op, partner.id, secondUrl)).toEqual([200, undefined]);
  expect(cached(world.app, op)).toBe(true);
  expect(cached(second, op)).toBe(true);
  return op;
}

test('a read keeps the operator row; a second read is served from it', async () => {
  const op = await warmViewer();
  const before = world.app.services.operators.size;
  expect(await balance(op)).toEqual([200, undefined]);
  expect(world.app.services.operators.size).toBe(before);
});

test('deactivated with plain SQL on another connection: 403 OPERATOR_INACTIVE on the very next call, on both apps', async () => {
  const op = await warmViewer();
  await other.query('update operator set active = false where id = $1', [op.id]);
  expect(await balance(op)).toEqual([403, 'OPERATOR_INACTIVE']);
  expect(await balance(op, partner.id, secondUrl)).toEqual([403, 'OPERATOR_INACTIVE']);
  // An inactive operator is never kept: reactivated, the next call reads it again.
  await other.query('update operator set active = true where id = $1', [op.id]);
  expect(await balance(op)).toEqual([200, undefined]);
});

test('roles and scope changed with plain SQL: refused on the very next call', async () => {
  const op = await warmViewer();
  await other.query(`update operator set roles = '{}' where id = $1`, [op.id]);
  expect(await balance(op)).toEqual([403, 'FORBIDDEN']);
  await other.query(`update operator set roles = '{VIEWER}', partner_ids = $2 where id = $1`, [
    op.id,
    `{${elsewhere.id}}`,
  ]);
  expect(await balance(op)).toEqual([403, 'PARTNER_FORBIDDEN']);
  expect(await balance(op, elsewhere.id)).toEqual([200, undefined]);
  expect(await balance(op, partner.id, secondUrl)).toEqual([403, 'PARTNER_FORBIDDEN']);
});

test('a changed subject: the old one names nobody on the very next call', async () => {
  const op = await warmViewer();
  await other.query('update operator set subject = $2 where id = $1', [op.id, `renamed-${op.id}`]);
  const [status, code] = await balance(op);
  expect([status, code]).toEqual([401, 'UNAUTHENTICATED']);
  expect((await balance(op, partner.id, secondUrl))[0]).toBe(401);
});

test('a deleted operator names nobody on the very next call', async () => {
  const op = await warmViewer();
  await other.query('delete from operator where id = $1', [op.id]);
  expect((await balance(op))[0]).toBe(401);
  expect((await balance(op, partner.id, secondUrl))[0]).toBe(401);
});

test('deactivated by the CLI (its own connection): refused on the very next call, on both apps', async () => {
  const op = await warmViewer();
  const result = await runCli(['operator:deactivate', '--operator', op.id], {
    NODE_ENV: 'test',
    DATABASE_URL: world.databaseUrl,
    LOG_LEVEL: 'silent',
  });
  expect(result.code).toBe(0);
  expect(await balance(op)).toEqual([403, 'OPERATOR_INACTIVE']);
  expect(await balance(op, partner.id, secondUrl)).toEqual([403, 'OPERATOR_INACTIVE']);
});

test("changed through one app's service: that app forgets at commit, the other on the notification", async () => {
  const op = await warmViewer();
  await updateOperator(
    world.app.orm.em.fork(),
    op.id,
    parseInput(operatorChanges, { approvalLimits: { USD: '5.00' } }),
  );
  // This app forgot it when the change committed, before the notification came back.
  expect(cached(world.app, op)).toBe(false);
  await deactivateOperator(world.app.orm.em.fork(), op.id);
  expect(await balance(op)).toEqual([403, 'OPERATOR_INACTIVE']);
  expect(await balance(op, partner.id, secondUrl)).toEqual([403, 'OPERATOR_INACTIVE']);
});

test('a write that the kept row refuses is judged again with the stored row', async () => {
  const maker = await world.operator(['MAKER'], [partner.id]);
  expect(await balance(maker)).toEqual([200, undefined]);
  expect(cached(world.app, maker)).toBe(true);
  // Kept row and stored row disagree only if a change was not heard; a refusal is judged on the stored one.
  world.app.services.operators.get(`sub:${maker.subject}`)!.roles = ['VIEWER'];
  const id = await world.createRequest(partner.id, maker, '1.00');
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  world.app.services.operators.forget(maker.id);
});

test('while the LISTEN connection is down, the cache is not used; it starts empty when LISTEN is back', async () => {
  const op = await warmViewer();
  const pid = second.progress.listenerPid;
  const deaf = jest.spyOn(second.services.operators, 'deaf');
  await other.query('select pg_terminate_backend($1)', [pid]);
  await until(() => deaf.mock.calls.length > 0);
  deaf.mockRestore();
  expect(second.services.operators.size).toBe(0);
  await other.query('update operator set active = false where id = $1', [op.id]);
  expect(await balance(op, partner.id, secondUrl)).toEqual([403, 'OPERATOR_INACTIVE']);
  await other.query('update operator set active = true where id = $1', [op.id]);
  await until(() => second.services.operators.enabled && second.progress.listenerPid !== pid);
  // The reactivation's NOTIFY may still be on its way (or was sent before LISTEN was back): once heard,
  // it forgets what a read kept before it, and the next read keeps the row again.
  for (let read = 0; read < 50 && !cached(second, op); read += 1) {
    expect(await balance(op, partner.id, secondUrl)).toEqual([200, undefined]);
    if (!cached(second, op)) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(cached(second, op)).toBe(true);
});

test('a statement is served from the kept row: the operator is not read again', async () => {
  const op = await warmViewer();
  const headers = await world.headers(op);
  const path = `${world.rest(partner.id)}/statement?from=2026-01-01&to=2026-01-31`;
  const { sql, result } = await statementsOf(world, () => world.http.get(path).set(headers));
  expect(result.status).toBe(200);
  expect(sql.filter((s) => /from operator where subject/.test(s))).toEqual([]);
  expect(sql.filter((s) => /statement_rows/.test(s))).toHaveLength(2);
  // Deactivated unheard (as if the notification were lost): the very next statement is refused.
  const forget = jest.spyOn(world.app.services.operators, 'forget').mockImplementation(() => undefined);
  try {
    await other.query('update operator set active = false where id = $1', [op.id]);
    const res = await world.http.get(path).set(headers);
    expect([res.status, res.body.code]).toEqual([403, 'OPERATOR_INACTIVE']);
  } finally {
    forget.mockRestore();
  }
});

test('a change not heard at all (no notification) is still caught: the read checks the row version', async () => {
  const op = await warmViewer();
  // As if the notification were lost or late: this process forgets nothing.
  const forget = jest.spyOn(second.services.operators, 'forget').mockImplementation(() => undefined);
  try {
    await other.query(`update operator set partner_ids = $2 where id = $1`, [op.id, `{${elsewhere.id}}`]);
    expect(await balance(op, partner.id, secondUrl)).toEqual([403, 'PARTNER_FORBIDDEN']);
    await other.query(`update operator set partner_ids = null, active = false where id = $1`, [op.id]);
    const headers = await world.headers(op);
    for (const path of [
      'balance',
      'process-requests',
      `process-request/${op.id}`,
      'statement?from=2026-01-01&to=2026-01-31',
    ]) {
      const res = await fetch(`${secondUrl}${world.rest(partner.id)}/${path}`, { headers });
      expect([path, res.status, ((await res.json()) as { code?: string }).code]).toEqual([
        path,
        403,
        'OPERATOR_INACTIVE',
      ]);
    }
  } finally {
    forget.mockRestore();
  }
});

describe('decisions judged with the kept row (REST approve, reject, cancel)', () => {
  /** A checker whose row this app keeps, with its changes never heard: only the row version can tell. */
  async function deafChecker(): Promise<{ checker: Operator; maker: Operator; restore: () => void }> {
    const checker = await world.operator(['CHECKER'], [partner.id]);
    const maker = await world.operator(['MAKER'], [partner.id]);
    expect(await balance(checker)).toEqual([200, undefined]);
    expect(cached(world.app, checker)).toBe(true);
    const forget = jest.spyOn(world.app.services.operators, 'forget').mockImplementation(() => undefined);
    return { checker, maker, restore: () => forget.mockRestore() };
  }
  const stateOf = async (id: string) =>
    (
      await world.sql<{ status: string; approvals: string; ledger: string }>(
        `select status, approval_count::text as approvals,
                (select count(*)::text from ledger_entry where process_request_id = r.id) as ledger
           from process_request r where id = ?`,
        [id],
      )
    )[0];

  test('an approval is served from the kept row: the operator is not read again', async () => {
    const { checker, maker, restore } = await deafChecker();
    try {
      const id = await world.createRequest(partner.id, maker, '3.00');
      const { sql, result } = await statementsOf(world, () => world.act(partner.id, id, 'approve', checker));
      expect(result.status).toBe(204);
      expect(sql.filter((s) => /from operator where subject/.test(s))).toEqual([]);
      expect(await stateOf(id)).toEqual({ status: 'APPROVED', approvals: '1', ledger: '1' });
    } finally {
      restore();
    }
  });

  test('deactivated, unheard: the very next approval is refused and nothing moves', async () => {
    const { checker, maker, restore } = await deafChecker();
    try {
      const id = await world.createRequest(partner.id, maker, '4.00');
      await other.query('update operator set active = false where id = $1', [checker.id]);
      const res = await world.act(partner.id, id, 'approve', checker);
      expect([res.status, res.body.code]).toEqual([403, 'OPERATOR_INACTIVE']);
      expect(await stateOf(id)).toEqual({ status: 'PENDING', approvals: '0', ledger: '0' });
    } finally {
      restore();
    }
  });

  test('limit lowered, role taken, OTP enrolled, all unheard: each judged with the stored row', async () => {
    const { checker, maker, restore } = await deafChecker();
    try {
      const id = await world.createRequest(partner.id, maker, '50.00');
      await other.query(`update operator set approval_limits = '{"USD": "10"}' where id = $1`, [checker.id]);
      let res = await world.act(partner.id, id, 'approve', checker);
      expect([res.status, res.body.code]).toEqual([403, 'APPROVAL_LIMIT_EXCEEDED']);
      await other.query(`update operator set approval_limits = null, otp_required = true where id = $1`, [
        checker.id,
      ]);
      res = await world.act(partner.id, id, 'approve', checker);
      expect([res.status, res.body.code]).toEqual([403, 'OTP_REQUIRED']);
      await other.query(`update operator set otp_required = false, roles = '{VIEWER}' where id = $1`, [
        checker.id,
      ]);
      res = await world.act(partner.id, id, 'reject', checker, { reason: 'no' });
      expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
      expect(await stateOf(id)).toEqual({ status: 'PENDING', approvals: '0', ledger: '0' });
      // Given the role back (still unheard), the decision goes through on the stored row.
      await other.query(`update operator set roles = '{CHECKER}' where id = $1`, [checker.id]);
      expect((await world.act(partner.id, id, 'approve', checker)).status).toBe(204);
      expect(await stateOf(id)).toEqual({ status: 'APPROVED', approvals: '1', ledger: '1' });
    } finally {
      restore();
    }
  });

  test('a kept row that gained a role it no longer has writes nothing (the statement checks the version)', async () => {
    const { checker, maker, restore } = await deafChecker();
    try {
      const id = await world.createRequest(partner.id, maker, '6.00');
      // The stored row loses the partner; the kept one still has it (and passes the checks before SQL).
      await other.query('update operator set partner_ids = $2 where id = $1', [
        checker.id,
        `{${elsewhere.id}}`,
      ]);
      const res = await world.act(partner.id, id, 'approve', checker);
      expect([res.status, res.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
      expect(await stateOf(id)).toEqual({ status: 'PENDING', approvals: '0', ledger: '0' });
    } finally {
      restore();
    }
  });
});

describe('creates judged with the kept row (REST)', () => {
  /** A maker whose row this app keeps, with its changes never heard: only the row version can tell. */
  async function deafMaker(): Promise<{ maker: Operator; restore: () => void }> {
    const maker = await world.operator(['MAKER'], [partner.id]);
    expect(await balance(maker)).toEqual([200, undefined]);
    expect(cached(world.app, maker)).toBe(true);
    const forget = jest.spyOn(world.app.services.operators, 'forget').mockImplementation(() => undefined);
    return { maker, restore: () => forget.mockRestore() };
  }
  /** Nothing of a refused create is left: no row, no upload intent, no blob of the partner's. */
  const leftovers = async () => ({
    rows: await world.requestCount(partner.id),
    intents: Number((await world.sql<{ n: string }>('select count(*) as n from upload_intent'))[0].n),
    blobs: (await world.blobsOf(partner.id)).length,
  });
  const create = async (maker: Operator) =>
    world.http
      .post(`${world.rest(partner.id)}/process-request`)
      .set(await world.headers(maker))
      .field('requestedAmount', '5.00')
      .attach('evidence', PDF, 'receipt.pdf');

  test('a create is served from the kept row: the operator is not read again', async () => {
    const { maker, restore } = await deafMaker();
    try {
      const { sql, result } = await statementsOf(world, () => create(maker));
      expect(result.status).toBe(201);
      expect(sql.filter((s) => /from operator where subject/.test(s))).toEqual([]);
    } finally {
      restore();
    }
  });

  test('deactivated, scope narrowed, OTP enrolled, all unheard: refused on the very next create, nothing left', async () => {
    const { maker, restore } = await deafMaker();
    try {
      const before = await leftovers();
      await other.query('update operator set partner_ids = $2 where id = $1', [
        maker.id,
        `{${elsewhere.id}}`,
      ]);
      let res = await create(maker);
      expect([res.status, res.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
      await other.query('update operator set partner_ids = null, otp_required = true where id = $1', [
        maker.id,
      ]);
      res = await create(maker);
      expect([res.status, res.body.code]).toEqual([403, 'OTP_REQUIRED']);
      await other.query('update operator set otp_required = false, active = false where id = $1', [maker.id]);
      res = await create(maker);
      expect([res.status, res.body.code]).toEqual([403, 'OPERATOR_INACTIVE']);
      expect(await leftovers()).toEqual(before);
      // Active again (still unheard): the next create is filed with the stored row.
      await other.query('update operator set active = true where id = $1', [maker.id]);
      expect((await create(maker)).status).toBe(201);
      expect((await leftovers()).rows).toBe(before.rows + 1);
    } finally {
      restore();
    }
  });
});

// GraphQL: an operation may be served the kept row only when it is a query whose root fields are all reads
// that check the row's version in their own statement (processRequests, processRequest, partnerBalance
// without `at`, and __typename beside them).

const PAGE = `query($c: ID!) { processRequests(clientId: $c) { total items { id creator { id } history { actor { id } } } } }`;
const ONE = `query($c: ID!, $id: ID!) { processRequest(clientId: $c, id: $id) { id creator { id } history { actor { id } } } }`;
const BALANCE = `query($c: ID!) { partnerBalance(clientId: $c) { clientId available } }`;

interface GqlAnswer {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** One GraphQL call over HTTP to the first app (or to `origin`). */
async function gql(
  operator: Operator,
  query: string,
  variables: Record<string, unknown> = {},
  origin?: string,
): Promise<GqlAnswer> {
  const headers = await world.headers(operator);
  if (!origin) return (await world.http.post('/graphql').set(headers).send({ query, variables })).body;
  const res = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlAnswer;
}

const codesOf = (answer: GqlAnswer) => (answer.errors ?? []).map((e) => e.extensions?.code);

/** The operator reads (by subject) the first app's ORM sends while `run` runs. */
async function operatorReads(run: () => Promise<GqlAnswer>): Promise<[number, GqlAnswer]> {
  const { sql, result } = await statementsOf(world, run);
  return [sql.filter((s) => /from operator where subject/.test(s)).length, result];
}

/** A request of `partner` filed by a maker of it: a creator and a history for nested fields to read. */
let filed: { id: string; maker: Operator } | undefined;
async function filedRequest(): Promise<{ id: string; maker: Operator }> {
  if (filed) return filed;
  const maker = await world.operator(['MAKER'], [partner.id]);
  filed = { id: await world.createInProcess(partner.id, maker, '3.00'), maker };
  return filed;
}

test('GraphQL: a query of checked reads is served the kept row; every other operation reads the row', async () => {
  const { id } = await filedRequest();
  const op = await warmViewer();
  const c = partner.id;
  const hot: Array<[string, Record<string, unknown>]> = [
    [PAGE, { c }],
    [ONE, { c, id }],
    [BALANCE, { c }],
    [
      `query($c: ID!) { __typename a: partnerBalance(clientId: $c) { available } b: processRequests(clientId: $c) { total } }`,
      { c },
    ],
  ];
  for (const [query, variables] of hot) {
    const [reads, answer] = await operatorReads(() => gql(op, query, variables));
    expect([query, reads, answer.errors]).toEqual([query, 0, undefined]);
  }
  // A query sent with GET is judged the same way, from its query string.
  const headers = { ...(await world.headers(op)), 'apollo-require-preflight': 'true' };
  const viaGet = (query: string) =>
    operatorReads(
      async () =>
        (
          await world.http
            .get('/graphql')
            .query({ query, variables: JSON.stringify({ c }) })
            .set(headers)
        ).body as GqlAnswer,
    );
  const [getReads, got] = await viaGet(BALANCE);
  expect([getReads, got.errors]).toEqual([0, undefined]);
  expect((await viaGet(`query($c: ID!) { partnerBalance(clientId: $c) { available } me { id } }`))[0]).toBe(
    1,
  );
  const fresh: Array<[string, Record<string, unknown>]> = [
    [`{ me { id } }`, {}],
    [`{ __typename }`, {}],
    [`query($c: ID!) { partnerBalance(clientId: $c, at: "2020-01-01") { available } }`, { c }],
    [`query($c: ID!) { processRequests(clientId: $c) { total } me { id } }`, { c }],
    [`query($c: ID!) { processRequests(clientId: $c) @include(if: true) { total } }`, { c }],
    [`query($c: ID!) { ... on Query { processRequests(clientId: $c) { total } } }`, { c }],
    [`mutation($c: ID!, $id: ID!) { cancelProcessRequest(clientId: $c, id: $id) { id } }`, { c, id }],
  ];
  for (const [query, variables] of fresh) {
    const [reads] = await operatorReads(() => gql(op, query, variables));
    expect([query, reads]).toEqual([query, 1]);
  }
});

test('GraphQL: deactivated or moved with plain SQL, no notification heard: the very next checked read is refused', async () => {
  const { id } = await filedRequest();
  const op = await warmViewer();
  const forget = jest.spyOn(second.services.operators, 'forget').mockImplementation(() => undefined);
  try {
    const c = partner.id;
    const reads: Array<[string, Record<string, unknown>]> = [
      [PAGE, { c }],
      [ONE, { c, id }],
      [BALANCE, { c }],
    ];
    for (const [query, variables] of reads)
      expect((await gql(op, query, variables, secondUrl)).errors).toBeUndefined();
    expect(cached(second, op)).toBe(true);
    await other.query(`update operator set partner_ids = $2 where id = $1`, [op.id, `{${elsewhere.id}}`]);
    for (const [query, variables] of reads) {
      const answer = await gql(op, query, variables, secondUrl);
      expect([query, codesOf(answer)]).toEqual([query, ['PARTNER_FORBIDDEN']]);
    }
    await other.query(`update operator set partner_ids = null, active = false where id = $1`, [op.id]);
    for (const [query, variables] of reads) {
      const answer = await gql(op, query, variables, secondUrl);
      expect([query, codesOf(answer)]).toEqual([query, ['OPERATOR_INACTIVE']]);
    }
  } finally {
    forget.mockRestore();
  }
});

test('GraphQL: deactivated on another connection, heard: refused on the very next call, on both apps', async () => {
  const op = await warmViewer();
  expect((await gql(op, BALANCE, { c: partner.id })).errors).toBeUndefined();
  await other.query('update operator set active = false where id = $1', [op.id]);
  expect(codesOf(await gql(op, BALANCE, { c: partner.id }))).toEqual(['OPERATOR_INACTIVE']);
  expect(codesOf(await gql(op, PAGE, { c: partner.id }, secondUrl))).toEqual(['OPERATOR_INACTIVE']);
});

test('GraphQL: a mutation, or a query that is not all checked reads, never uses the kept row', async () => {
  const { id, maker } = await filedRequest();
  expect(await balance(maker)).toEqual([200, undefined]);
  expect(cached(world.app, maker)).toBe(true);
  // Kept row and stored row disagree only if a change was not heard; these operations must read the stored one.
  world.app.services.operators.get(`sub:${maker.subject}`)!.roles = ['VIEWER'];
  try {
    const me = await gql(maker, `query($c: ID!) { me { roles } processRequests(clientId: $c) { total } }`, {
      c: partner.id,
    });
    expect(me.errors).toBeUndefined();
    expect((me.data!.me as { roles: string[] }).roles).toEqual(['MAKER']);
    const cancelled = await gql(
      maker,
      `mutation($c: ID!, $id: ID!) { cancelProcessRequest(clientId: $c, id: $id) { id status } }`,
      { c: partner.id, id },
    );
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelProcessRequest).toEqual({ id, status: 'CANCELLED' });
  } finally {
    world.app.services.operators.forget(maker.id);
  }
});

test('GraphQL: once a read finds the kept row changed, the rest of the operation is judged with the stored row', async () => {
  const { id, maker } = await filedRequest();
  // Kept while the viewer could read only the other partner; then given this partner, unheard.
  const op = await world.operator(['VIEWER'], [elsewhere.id]);
  expect(await balance(op, elsewhere.id)).toEqual([200, undefined]);
  expect(cached(world.app, op)).toBe(true);
  const forget = jest.spyOn(world.app.services.operators, 'forget').mockImplementation(() => undefined);
  try {
    await other.query(`update operator set partner_ids = $2 where id = $1`, [op.id, `{${partner.id}}`]);
    // Two checked reads side by side find the change: the stored row is read once for both, and the
    // nested fields (creator, history and its actors, read by loaders after the roots) are judged with it.
    const [reads, answer] = await operatorReads(() =>
      gql(
        op,
        `query($c: ID!, $id: ID!) {
          list: processRequests(clientId: $c) { items { id creator { id } history { actor { id } } } }
          one: processRequest(clientId: $c, id: $id) { id creator { id } history { actor { id } } }
        }`,
        { c: partner.id, id },
      ),
    );
    expect(answer.errors).toBeUndefined();
    expect(reads).toBe(1);
    const one = answer.data!.one as {
      creator: { id: string };
      history: Array<{ actor: { id: string } | null }>;
    };
    expect(one.creator).toEqual({ id: maker.id });
    expect(one.history[0].actor).toEqual({ id: maker.id });
    const items = (answer.data!.list as { items: Array<{ id: string; creator: { id: string } }> }).items;
    expect(items.find((item) => item.id === id)?.creator).toEqual({ id: maker.id });
  } finally {
    forget.mockRestore();
    world.app.services.operators.forget(op.id);
  }
});

test("a kept row serves each call an Operator of its own, equal field by field to the stored row's", async () => {
  const op = await world.operator(['CHECKER'], [partner.id], {});
  const before = world.app.services.operators.mark();
  await other.query(`update operator set approval_limits = '{"USD": "50.00"}' where id = $1`, [op.id]);
  // The update's NOTIFY is heard first: arriving after the read below, it would forget the row just kept.
  await until(() => world.app.services.operators.mark() > before);
  expect(await balance(op)).toEqual([200, undefined]);
  const credentials = await world.headers(op);
  const stored = await world.app.graphqlContext({ credentials });
  const [first, second] = [
    await world.app.graphqlContext({ credentials, hot: true }),
    await world.app.graphqlContext({ credentials, hot: true }),
  ];
  expect(stored.kept).toBeUndefined();
  for (const kept of [first, second]) {
    expect(kept.kept).toBeDefined();
    expect(kept.operator).toBeInstanceOf(OperatorEntity);
    expect({ ...kept.operator }).toEqual({ ...stored.operator });
  }
  expect(first.operator.approvalLimits).toEqual({ USD: '50.00' });
  expect(first.operator).not.toBe(second.operator);
  expect(first.operator.roles).not.toBe(second.operator.roles);
  expect(first.operator.approvalLimits).not.toBe(second.operator.approvalLimits);
  first.operator.roles.push(Role.ADMIN);
  expect(second.operator.roles).toEqual([Role.CHECKER]);
});
