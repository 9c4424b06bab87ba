// Controls around approvals (SPEC section 18) beyond the decision table (tests/decision-rules.test.ts): the
// caps under a 20-way race of final approvals by several checkers, with the ledger invariants afterwards;
// EVIDENCE_VIEWED in the history; bulk approval items with re-keyed amounts over REST and GraphQL; the CLI's
// daily approval limits; duplicate receipts, also when two creates of one file race.
import {
  bulk,
  cli,
  cliOperator,
  desk,
  type Desk,
  details,
  fileReversal,
  ledgerViolations,
  NO_VIOLATIONS,
} from './support/lifecycle';
import { Client } from 'pg';
import { pgConnectionOptions } from '../src/infra/database-url';
import { ADVISORY_LOCKS } from '../src/infra/locks';
import { MAX_DUPLICATES_LISTED } from '../src/shapes/views';
import { gqlHttp } from './support/step-up';
import { createWorld, type World } from './support/world';

type Headers = Record<string, string>;

let world: World;

beforeAll(async () => {
  // 20 approvals at once, each its own statement: the pool must not be what serializes them.
  // Races of one checker's 20 calls at once: the per-operator cap on calls in flight is not the subject here.
  world = await createWorld({ DB_POOL_SIZE: '30', MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: '100' });
}, 120_000);
afterAll(() => world?.close());

/** policy:set through the CLI (immediate, with a reason). */
async function policySet(partnerId: string, ...flags: string[]): Promise<void> {
  const res = await cli(world, 'policy:set', '--partner', partnerId, '--reason', 'test fixture', ...flags);
  expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
}

interface RaceFigures {
  ok: number;
  refused: Record<string, number>;
  ms: number;
}

/** 20 final approvals of 100 at once, spread over `checkers`; the refused requests must still be PENDING. */
async function race(d: Desk, checkers: Headers[], ids: string[]): Promise<RaceFigures> {
  const started = Date.now();
  const answers = await Promise.all(
    ids.map((id, i) => world.act(d.partner.id, id, 'approve', checkers[i % checkers.length])),
  );
  const ms = Date.now() - started;
  const refused: Record<string, number> = {};
  answers.forEach((res, i) => {
    if (res.status === 204) return;
    refused[`${res.status} ${res.body.code}`] = (refused[`${res.status} ${res.body.code}`] ?? 0) + 1;
    expect(ids[i]).toBeDefined();
  });
  // Each request answered 204 is APPROVED; each refused one is still PENDING.
  const rows = await world.sql<{ id: string; status: string }>(
    `select id, status from process_request where id = any(?::uuid[])`,
    [`{${ids.join(',')}}`],
  );
  const statusOfId = new Map(rows.map((r) => [r.id, r.status]));
  const ok = answers.filter((r) => r.status === 204).length;
  expect(ids.map((id) => statusOfId.get(id))).toEqual(
    answers.map((res) => (res.status === 204 ? 'APPROVED' : 'PENDING')),
  );
  // Nothing of a refused approval was written: no approval row, no event beyond CREATED.
  const [stray] = await world.sql<{ approvals: number; events: number }>(
    `select (select count(*) from approval a join process_request r on r.id = a.process_request_id
              where r.id = any(?::uuid[]) and r.status = 'PENDING')::int as approvals,
            (select count(*) from process_request_event e join process_request r on r.id = e.process_request_id
              where r.id = any(?::uuid[]) and r.status = 'PENDING' and e.type <> 'CREATED')::int as events`,
    [`{${ids.join(',')}}`, `{${ids.join(',')}}`],
  );
  expect(stray).toEqual({ approvals: 0, events: 0 });
  return { ok, refused, ms };
}

const FIGURES: Record<string, RaceFigures> = {};

describe('caps under a 20-way race of final approvals (several checkers)', () => {
  test('dailyCreditLimit 1500 with 500 credited today (1,000 remaining): exactly 10 of 20 × 100 succeed, 10 are 409 DAILY_CREDIT_LIMIT_EXCEEDED', async () => {
    const d = await desk(world, 'Daily credit race', 'USD', 5);
    await policySet(d.partner.id, '--daily-credit-limit', '1500');
    const [first] = await world.seedRequests(d.partner.id, d.maker, 1, '500.00');
    expect((await world.act(d.partner.id, first, 'approve', d.h.checkers[0])).status).toBe(204);
    const ids = await world.seedRequests(d.partner.id, d.maker, 20, '100.00');
    const figures = await race(d, d.h.checkers, ids);
    FIGURES.dailyCreditLimit = figures;
    expect(figures.ok).toBe(10);
    expect(figures.refused).toEqual({ '409 DAILY_CREDIT_LIMIT_EXCEEDED': 10 });
    const [b] = await world.sql<{ available: string; credited: string }>(
      `select available::text, credited_that_day::text as credited from client_balance where client_id = ?`,
      [d.partner.id],
    );
    expect(b).toEqual({ available: '1500.0000', credited: '1500.0000' });
  });

  test('maxBalance 1000: exactly 10 of 20 × 100 succeed, 10 are 409 BALANCE_CEILING_EXCEEDED', async () => {
    const d = await desk(world, 'Ceiling race', 'USD', 5);
    await policySet(d.partner.id, '--max-balance', '1000');
    const ids = await world.seedRequests(d.partner.id, d.maker, 20, '100.00');
    const figures = await race(d, d.h.checkers, ids);
    FIGURES.maxBalance = figures;
    expect(figures.ok).toBe(10);
    expect(figures.refused).toEqual({ '409 BALANCE_CEILING_EXCEEDED': 10 });
  });

  test("one checker's daily approval limit USD 1000: exactly 10 of their 20 approvals of 100 succeed, 10 are 403 DAILY_LIMIT_EXCEEDED", async () => {
    const d = await desk(world, 'Operator daily race', 'USD', 1);
    const limited = await cliOperator(world, 'CHECKER', [d.partner.id], '--daily-approval-limit', 'USD:1000');
    const ids = await world.seedRequests(d.partner.id, d.maker, 20, '100.00');
    const figures = await race(d, [limited.headers], ids);
    FIGURES.dailyApprovalLimit = figures;
    expect(figures.ok).toBe(10);
    expect(figures.refused).toEqual({ '403 DAILY_LIMIT_EXCEEDED': 10 });
    const [t] = await world.sql<{ total: string; day_ok: boolean }>(
      `select total::text, day = (now() at time zone 'UTC')::date as day_ok from operator_daily_total where operator_id = ?`,
      [limited.id],
    );
    expect(t).toEqual({ total: '1000.0000', day_ok: true });
  });

  test("an operator's approved total of the day past what an amount column holds (no daily limit, JPY): each approval is recorded and the total is exact", async () => {
    const d = await desk(world, 'Huge daily total', 'JPY', 2);
    await policySet(d.partner.id, '--tiers', '0:2');
    const [first] = await world.seedRequests(d.partner.id, d.maker, 1, '999999999999999');
    const [second] = await world.seedRequests(d.partner.id, d.maker, 1, '600000000000000');
    const checker = d.h.checkers[0];
    // Two non-final approvals by one operator, 1,599,999,999,999,999 in all: nothing is credited.
    expect((await world.act(d.partner.id, first, 'approve', checker)).status).toBe(204);
    const res = await world.act(d.partner.id, second, 'approve', checker);
    expect([res.status, res.body.code]).toEqual([204, undefined]);
    const [t] = await world.sql<{ total: string }>(
      `select total::text from operator_daily_total where operator_id = ?`,
      [d.checkers[0].id],
    );
    expect(t.total).toMatch(/^1599999999999999(\.0+)?$/);
    // A daily limit given later in the day still counts what was approved already.
    await cli(
      world,
      'operator:update',
      '--operator',
      d.checkers[0].id,
      '--daily-approval-limit',
      'JPY:999999999999999',
    );
    const [third] = await world.seedRequests(d.partner.id, d.maker, 1, '1');
    const refused = await world.act(d.partner.id, third, 'approve', await world.headers(d.checkers[0]));
    expect([refused.status, refused.body.code]).toEqual([403, 'DAILY_LIMIT_EXCEEDED']);
  });

  test("a partner's credited total of the day past what an amount column holds (credit, reverse, credit; no daily credit limit, JPY): the second credit is made and the total is exact", async () => {
    const d = await desk(world, 'Huge credited day', 'JPY', 1);
    await policySet(d.partner.id, '--tiers', '0:1');
    const [first] = await world.seedRequests(d.partner.id, d.maker, 1, '999999999999999');
    expect((await world.act(d.partner.id, first, 'approve', d.h.checkers[0])).status).toBe(204);
    const reversal = await fileReversal(world, d.partner.id, first, d.h.maker, { reason: 'wrong amount' });
    expect(reversal.status).toBe(201);
    expect((await world.act(d.partner.id, reversal.body.id, 'approve', d.h.checkers[0])).status).toBe(204);
    // The balance is back to 0; the day's credited total still counts the first credit (a reversal is no credit).
    const [second] = await world.seedRequests(d.partner.id, d.maker, 1, '600000000000000');
    const res = await world.act(d.partner.id, second, 'approve', d.h.checkers[0]);
    expect([res.status, res.body.code]).toEqual([204, undefined]);
    const [b] = await world.sql<{ available: string; credited: string }>(
      `select available::text, credited_that_day::text as credited from client_balance where client_id = ?`,
      [d.partner.id],
    );
    expect(b.available).toMatch(/^600000000000000(\.0+)?$/);
    expect(b.credited).toMatch(/^1599999999999999(\.0+)?$/);
    // A daily credit limit given later in the day still counts what was credited already.
    await policySet(d.partner.id, '--tiers', '0:1', '--daily-credit-limit', '999999999999999');
    const [third] = await world.seedRequests(d.partner.id, d.maker, 1, '1');
    const refused = await world.act(d.partner.id, third, 'approve', d.h.checkers[0]);
    expect([refused.status, refused.body.code]).toEqual([409, 'DAILY_CREDIT_LIMIT_EXCEEDED']);
    expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
  });

  test('without caps (the reference): all 20 succeed', async () => {
    const d = await desk(world, 'No cap race', 'USD', 5);
    const ids = await world.seedRequests(d.partner.id, d.maker, 20, '100.00');
    const figures = await race(d, d.h.checkers, ids);
    FIGURES.none = figures;
    expect(figures.ok).toBe(20);
  });

  afterAll(() => {
    // The figures the closing note reports.
    console.log(`race figures: ${JSON.stringify(FIGURES)}`);
  });
});

describe('evidence viewed', () => {
  test('a download link records EVIDENCE_VIEWED (actor, time) in the history; the status is unchanged', async () => {
    const d = await desk(world, 'Viewed', 'USD', 1);
    const id = await world.createRequest(d.partner.id, d.h.maker, '100.00');
    const link = await world.http
      .get(`${world.rest(d.partner.id)}/process-request/${id}/evidence/download`)
      .set(d.h.checkers[0]);
    expect(link.status).toBe(200);
    const view = await details(world, d.partner.id, id, d.h.viewer);
    expect(view.status).toBe('PENDING');
    const viewed = view.history.filter((h) => h.type === 'EVIDENCE_VIEWED');
    expect(viewed).toHaveLength(1);
    expect(viewed[0]).toMatchObject({ actorId: d.checkers[0].id });
    expect(typeof viewed[0].at).toBe('string');
  });

  test('a HEAD (REST or GraphQL) answers as GET without recording a view: under requireEvidenceViewed the approval is refused until a GET', async () => {
    const d = await desk(world, 'Viewed by HEAD', 'USD', 1);
    await policySet(d.partner.id, '--require-evidence-viewed', 'true');
    const id = await world.createRequest(d.partner.id, d.h.maker, '100.00');
    const checker = d.h.checkers[0];
    const path = `${world.rest(d.partner.id)}/process-request/${id}/evidence/download`;
    const head = await world.http.head(path).set(checker);
    expect([head.status, head.headers['content-type'], head.text ?? '']).toEqual([
      200,
      'application/json; charset=utf-8',
      '',
    ]);
    const query = `{ evidenceDownloadUrl(clientId: "${d.partner.id}", id: "${id}") { url } }`;
    const graphql = await world.http
      .head(`/graphql?query=${encodeURIComponent(query)}`)
      .set(checker)
      .set('apollo-require-preflight', 'true');
    expect([graphql.status, graphql.text ?? '']).toEqual([200, '']);
    const before = await details(world, d.partner.id, id, d.h.viewer);
    expect(before.history.filter((h) => h.type === 'EVIDENCE_VIEWED')).toEqual([]);
    const refused = await world.act(d.partner.id, id, 'approve', checker);
    expect([refused.status, refused.body.code]).toEqual([409, 'EVIDENCE_NOT_VIEWED']);

    expect((await world.http.get(path).set(checker)).status).toBe(200);
    expect((await world.act(d.partner.id, id, 'approve', checker)).status).toBe(204);
  });
});

describe('bulk approval items with re-keyed amounts', () => {
  let d: Desk;
  beforeAll(async () => {
    d = await desk(world, 'Bulk rekey', 'USD', 2);
    await policySet(d.partner.id, '--require-amount-confirmation', 'true');
  });

  test('REST items: each judged with its own confirmAmount; ids alone under the policy → each 400 AMOUNT_CONFIRMATION_REQUIRED', async () => {
    const [a, b, c] = await world.seedRequests(d.partner.id, d.maker, 3, '1234.50');
    const res = await bulk(world, d.partner.id, 'approve', d.h.checkers[0], {
      items: [
        { id: a, confirmAmount: '1234.5' },
        { id: b, confirmAmount: '1243.50' },
        { id: c },
        { id: 'nope', confirmAmount: '1' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { id: a, statusCode: 204 },
      { id: b, statusCode: 409, code: 'AMOUNT_CONFIRMATION_MISMATCH' },
      { id: c, statusCode: 400, code: 'AMOUNT_CONFIRMATION_REQUIRED' },
      { id: 'nope', statusCode: 400, code: 'INVALID_ID' },
    ]);
    const plain = await bulk(world, d.partner.id, 'approve', d.h.checkers[0], { ids: [b] });
    expect(plain.body.results).toEqual([{ id: b, statusCode: 400, code: 'AMOUNT_CONFIRMATION_REQUIRED' }]);
    const both = await bulk(world, d.partner.id, 'approve', d.h.checkers[0], {
      ids: [b],
      items: [{ id: b }],
    });
    expect([both.status, both.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  test('GraphQL: approveProcessRequest(confirmAmount) and approveProcessRequests(items)', async () => {
    const [a, b] = await world.seedRequests(d.partner.id, d.maker, 2, '10.00');
    const ONE = `mutation($clientId: ID!, $id: ID!, $confirmAmount: Decimal) {
      approveProcessRequest(clientId: $clientId, id: $id, confirmAmount: $confirmAmount) { id status } }`;
    const wrong = await gqlHttp(world, d.h.checkers[0], ONE, {
      clientId: d.partner.id,
      id: a,
      confirmAmount: '10.01',
    });
    expect(wrong.errors?.[0].extensions).toMatchObject({ code: 'AMOUNT_CONFIRMATION_MISMATCH', status: 409 });
    const missing = await gqlHttp(world, d.h.checkers[0], ONE, { clientId: d.partner.id, id: a });
    expect(missing.errors?.[0].extensions).toMatchObject({
      code: 'AMOUNT_CONFIRMATION_REQUIRED',
      status: 400,
    });
    const ok = await gqlHttp(world, d.h.checkers[0], ONE, {
      clientId: d.partner.id,
      id: a,
      confirmAmount: '10',
    });
    expect(ok.data).toEqual({ approveProcessRequest: { id: a, status: 'APPROVED' } });
    const MANY = `mutation($clientId: ID!, $items: [ApprovalItemInput!]) {
      approveProcessRequests(clientId: $clientId, items: $items) { id ok code } }`;
    const many = await gqlHttp(world, d.h.checkers[1], MANY, {
      clientId: d.partner.id,
      items: [
        { id: b, confirmAmount: '10.000' },
        { id: a, confirmAmount: '10' },
      ],
    });
    expect(many.data!.approveProcessRequests).toEqual([
      { id: b, ok: true, code: null },
      { id: a, ok: false, code: 'PROCESS_REQUEST_NOT_PENDING' },
    ]);
  });
});

describe('CLI daily approval limits', () => {
  test('operator:create --daily-approval-limit prints it; operator:update … none clears it; a bad value is refused', async () => {
    const p = await world.partner('Daily CLI');
    const made = await cliOperator(world, 'CHECKER', [p.id], '--daily-approval-limit', 'usd:100000,EUR:5');
    expect(made.printed.dailyApprovalLimits).toEqual({ USD: '100000', EUR: '5' });
    const cleared = await cli(
      world,
      'operator:update',
      '--operator',
      made.email,
      '--daily-approval-limit',
      'none',
    );
    expect(cleared).toMatchObject({ code: 0, out: { dailyApprovalLimits: null } });
    const bad = await cli(
      world,
      'operator:update',
      '--operator',
      made.email,
      '--daily-approval-limit',
      'USD',
    );
    expect(bad.code).not.toBe(0);
  });
});

/** A create of `file` by the desk's maker over REST, answered whatever its status. */
function sendReceipt(d: Desk, amount: string, file: Buffer, fileName: string, key?: string) {
  const req = world.http.post(`${world.rest(d.partner.id)}/process-request`).set(d.h.maker);
  if (key) req.set('Idempotency-Key', key);
  return req
    .field('requestedAmount', amount)
    .attach('evidence', file, { filename: fileName, contentType: 'application/pdf' });
}

/** Sessions of this test's database waiting for an advisory lock. */
async function advisoryWaiters(): Promise<number> {
  const [{ n }] = await world.sql<{ n: string }>(
    `select count(*) as n from pg_locks where locktype = 'advisory' and not granted
        and database = (select oid from pg_database where datname = current_database())`,
  );
  return Number(n);
}

/**
 * Two creates of the same file for the same partner at once, both past FILING (whose duplicate check then
 * sees neither) before either commits: the partner's event-order lock, which a create's CREATED takes before
 * it commits, is held on a session of the test's own until both creates wait on an advisory lock (both on
 * that one, or the second on the receipt lock the first holds), then let go.
 */
async function twoCreatesAtOnce(d: Desk, file: Buffer, keys: [string, string]) {
  const holder = new Client(pgConnectionOptions(world.databaseUrl));
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query('select pg_advisory_xact_lock($1::int, hashtext($2::text))', [
      ADVISORY_LOCKS.EVENT_ORDER,
      d.partner.id,
    ]);
    const both = Promise.all([
      sendReceipt(d, '10.00', file, 'a.pdf', keys[0]),
      sendReceipt(d, '20.00', file, 'b.pdf', keys[1]),
    ]);
    for (let look = 0; (await advisoryWaiters()) < 2; look += 1) {
      if (look > 1000) throw new Error('the two creates never both waited on an advisory lock');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await holder.query('commit');
    return await both;
  } finally {
    await holder.end();
  }
}

describe('duplicate receipts', () => {
  test('duplicateEvidence on every view names the other requests with the same file; refuseDuplicateEvidence → 409 DUPLICATE_EVIDENCE, nothing stored', async () => {
    const d = await desk(world, 'Duplicates', 'USD', 1);
    const file = Buffer.from(`%PDF-1.4 receipt ${Date.now()}\n%%EOF`);
    const first = await world.createRequest(d.partner.id, d.h.maker, '10.00', file, 'r.pdf');
    const second = await sendReceipt(d, '20.00', file, 'again.pdf');
    expect(second.status).toBe(201);
    expect(second.body.duplicateEvidence).toEqual([first]);
    const one = await details(world, d.partner.id, first, d.h.viewer);
    expect(one.duplicateEvidence).toEqual([second.body.id]);
    const list = await world.http.get(`${world.rest(d.partner.id)}/process-requests`).set(d.h.viewer);
    const byId = new Map(
      list.body.items.map((i: { id: string; duplicateEvidence: string[] }) => [i.id, i.duplicateEvidence]),
    );
    expect(byId.get(first)).toEqual([second.body.id]);
    const approved = await world.act(d.partner.id, second.body.id, 'approve', d.h.checkers[0]);
    expect(approved.status).toBe(204);
    const other = await world.createRequest(d.partner.id, d.h.maker, '10.00');
    expect((await details(world, d.partner.id, other, d.h.viewer)).duplicateEvidence).toEqual([]);

    await policySet(d.partner.id, '--refuse-duplicate-evidence', 'true');
    const rows = await world.requestCount(d.partner.id);
    const blobs = (await world.blobsOf(d.partner.id)).length;
    const third = await sendReceipt(d, '30.00', file, 'third.pdf');
    expect([third.status, third.body.code]).toEqual([409, 'DUPLICATE_EVIDENCE']);
    expect(await world.requestCount(d.partner.id)).toBe(rows);
    expect((await world.blobsOf(d.partner.id)).length).toBe(blobs);
    // A new file is still taken.
    expect(
      await world.createRequest(
        d.partner.id,
        d.h.maker,
        '30.00',
        Buffer.from(`%PDF-1.4 other ${Date.now()}\n%%EOF`),
        'o.pdf',
      ),
    ).toBeTruthy();
  });

  test(`a file filed ${MAX_DUPLICATES_LISTED + 3} times: every view, page and refusal lists its ${MAX_DUPLICATES_LISTED} oldest duplicates, no more`, async () => {
    const d = await desk(world, 'Many duplicates', 'USD', 1);
    const file = Buffer.from(`%PDF-1.4 receipt filed again and again ${Date.now()}\n%%EOF`);
    const ids: string[] = [];
    for (let i = 0; i < MAX_DUPLICATES_LISTED + 3; i++) {
      const res = await sendReceipt(d, '10.00', file, `r${i}.pdf`);
      expect(res.status).toBe(201);
      // Each answer names the oldest of the ones before it.
      expect(res.body.duplicateEvidence).toEqual(ids.slice(0, MAX_DUPLICATES_LISTED));
      ids.push(res.body.id);
    }
    expect((await details(world, d.partner.id, ids[0], d.h.viewer)).duplicateEvidence).toEqual(
      ids.slice(1, MAX_DUPLICATES_LISTED + 1),
    );
    const list = await world.http.get(`${world.rest(d.partner.id)}/process-requests`).set(d.h.viewer);
    for (const item of list.body.items as Array<{ id: string; duplicateEvidence: string[] }>) {
      expect(item.duplicateEvidence).toEqual(
        ids.filter((id) => id !== item.id).slice(0, MAX_DUPLICATES_LISTED),
      );
    }
    await policySet(d.partner.id, '--refuse-duplicate-evidence', 'true');
    const refused = await sendReceipt(d, '10.00', file, 'again.pdf');
    expect([refused.status, refused.body.code, refused.body.details]).toEqual([
      409,
      'DUPLICATE_EVIDENCE',
      { duplicateEvidence: ids.slice(0, MAX_DUPLICATES_LISTED) },
    ]);
  });

  test('two creates of one file at once, refuseDuplicateEvidence: one 201, one 409 DUPLICATE_EVIDENCE naming it; one row, one blob, FAILED for the refused one, no intent left', async () => {
    const d = await desk(world, 'Duplicates racing, refused', 'USD', 1);
    await policySet(d.partner.id, '--refuse-duplicate-evidence', 'true');
    const file = Buffer.from(`%PDF-1.4 receipt raced ${Date.now()}\n%%EOF`);
    const answers = await twoCreatesAtOnce(d, file, [`race-a-${Date.now()}`, `race-b-${Date.now()}`]);
    expect(answers.map((res) => res.status).sort()).toEqual([201, 409]);
    const created = answers.find((res) => res.status === 201)!.body as { id: string };
    const refused = answers.find((res) => res.status === 409)!.body;
    expect(refused).toMatchObject({
      code: 'DUPLICATE_EVIDENCE',
      details: { duplicateEvidence: [created.id] },
    });
    const rows = await world.sql<{ id: string }>('select id from process_request where client_id = ?', [
      d.partner.id,
    ]);
    expect(rows.map((r) => r.id)).toEqual([created.id]);
    expect(await world.blobsOf(d.partner.id)).toEqual([`${d.partner.id}/${created.id}/evidence.pdf`]);
    const failed = await world.sql<{ process_request_id: string; code: string }>(
      `select process_request_id, data->>'code' as code from process_request_event
        where client_id = ? and type = 'FAILED'`,
      [d.partner.id],
    );
    expect(failed).toEqual([{ process_request_id: expect.any(String), code: 'DUPLICATE_EVIDENCE' }]);
    expect(failed[0].process_request_id).not.toBe(created.id);
    const intents = await world.sql('select blob_name from upload_intent where blob_name like ?', [
      `${d.partner.id}/%`,
    ]);
    expect(intents).toEqual([]);
  });

  test('two creates of one file at once, duplicates allowed: both 201, the later answer (and its idempotent replay) names the earlier', async () => {
    const d = await desk(world, 'Duplicates racing, allowed', 'USD', 1);
    const file = Buffer.from(`%PDF-1.4 receipt raced ${Date.now()}\n%%EOF`);
    const keys: [string, string] = [`race-c-${Date.now()}`, `race-d-${Date.now()}`];
    const answers = await twoCreatesAtOnce(d, file, keys);
    expect(answers.map((res) => res.status)).toEqual([201, 201]);
    // The later of the two (the one that read the other) names it; the earlier names none.
    const [earlier, later] = [...answers].sort(
      (a, b) => a.body.duplicateEvidence.length - b.body.duplicateEvidence.length,
    );
    expect(earlier.body.duplicateEvidence).toEqual([]);
    expect(later.body.duplicateEvidence).toEqual([earlier.body.id]);
    // The key's stored answer is the view that was sent.
    const laterIndex = answers.indexOf(later);
    const replay = await sendReceipt(
      d,
      laterIndex === 0 ? '10.00' : '20.00',
      file,
      'x.pdf',
      keys[laterIndex],
    );
    expect([replay.status, replay.body.id, replay.body.duplicateEvidence]).toEqual([
      201,
      later.body.id,
      [earlier.body.id],
    ]);
    expect((await world.blobsOf(d.partner.id)).length).toBe(2);
  });
});

// Runs last, over everything the tests above did.
describe('afterwards', () => {
  test('ledger invariants hold: available = Σ ledger ≥ 0, one credit per approved top-up', async () => {
    expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
  });
});
