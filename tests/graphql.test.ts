// GraphQL in-process (Apollo executeOperation with the real context), typed documents from codegen:
// every query and mutation of SPEC section 8, with the same rules and error codes as REST.
import { createHash, randomUUID } from 'node:crypto';
import { GraphQLError, print } from 'graphql';
import { deactivateOperator } from '../src/services/identity/admin.service';
import type { Operator } from '../src/entities/operator.entity';
import {
  AllProcessRequestsDocument,
  ApproveProcessRequestDocument,
  CancelProcessRequestDocument,
  CreateProcessRequestDocument,
  EvidenceDownloadUrlDocument,
  MeDocument,
  PartnerBalanceDocument,
  PartnersDocument,
  ProcessRequestDocument,
  ProcessRequestsDocument,
  RejectProcessRequestDocument,
} from './generated/graphql';
import { JPEG, PDF, png, WEBP } from './support/files';
import { upload } from './support/upload';
import { statementsOf } from './support/statements';
import { createWorld, type World } from './support/world';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

type Result = Awaited<ReturnType<World['gql']>>;

/** The one error of a refused operation: its code, its REST status, no data. */
function expectError(result: Result, code: string, status: number) {
  expect(result.data ?? null).toBeNull();
  expect(result.errors).toHaveLength(1);
  expect(result.errors?.[0].extensions).toMatchObject({ code, status });
  return result.errors![0];
}

async function setup(currency = 'USD') {
  const partner = await world.partner(`Partner ${currency}`, currency);
  const maker = await world.operator(['MAKER'], [partner.id]);
  const checker = await world.operator(['CHECKER'], [partner.id]);
  return { partner, maker, checker };
}

async function create(
  operator: Operator,
  clientId: string,
  requestedAmount = '10000',
  file: Buffer = PDF,
  filename = 'receipt.pdf',
) {
  const result = await world.gql(operator, CreateProcessRequestDocument, {
    clientId,
    input: { requestedAmount, observations: 'bank receipt' },
    evidence: upload(file, filename),
  });
  expect(result.errors).toBeUndefined();
  return result.data!.createProcessRequest;
}

describe('identity', () => {
  test('me is the operator acting through the call', async () => {
    const { partner, maker } = await setup();
    const result = await world.gql(maker, MeDocument);
    expect(result.errors).toBeUndefined();
    expect(result.data?.me).toEqual({
      id: maker.id,
      email: maker.email,
      name: maker.name,
      roles: ['MAKER'],
      partnerIds: [partner.id],
      otpRequired: false,
      active: true,
    });
  });

  test('missing or bad tokens: the context refuses with UNAUTHENTICATED 401 before any resolver', async () => {
    const attempts = [
      {},
      { authorization: 'Bearer nope', 'x-user-token': 'Bearer nope' },
      { authorization: (await world.headers(randomUUID())).authorization },
    ];
    for (const credentials of attempts) {
      const error = await world.app.graphqlContext({ credentials, requestId: 'req-unauth' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(GraphQLError);
      expect((error as GraphQLError).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        status: 401,
        requestId: 'req-unauth',
      });
    }
  });

  test('a token naming no operator is 401; an inactive operator is 403 on the next call', async () => {
    const headers = await world.headers(randomUUID());
    await expect(world.app.graphqlContext({ credentials: headers })).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED', status: 401 },
    });
    const { maker } = await setup();
    expect((await world.gql(maker, MeDocument)).errors).toBeUndefined();
    await deactivateOperator(world.app.orm.em.fork(), maker.id);
    await expect(world.gql(maker, MeDocument)).rejects.toMatchObject({
      extensions: { code: 'OPERATOR_INACTIVE', status: 403 },
    });
  });
});

describe('partners and balance', () => {
  test('partners lists the partners in scope; internal staff see every partner', async () => {
    const a = await world.partner('Alpha', 'USD');
    const b = await world.partner('Beta', 'JPY');
    const scoped = await world.operator(['VIEWER'], [b.id]);
    const staff = await world.operator(['VIEWER'], null);

    const mine = await world.gql(scoped, PartnersDocument);
    expect(mine.errors).toBeUndefined();
    expect(mine.data?.partners).toEqual([
      { id: b.id, name: 'Beta', currency: 'JPY', createdAt: expect.any(String) },
    ]);

    const all = await world.gql(staff, PartnersDocument);
    const ids = all.data!.partners.map((p) => p.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
  });

  test('partnerBalance: Decimal strings with the currency digits; scope and id rules', async () => {
    const usd = await world.partner('Dollars', 'USD');
    const jpy = await world.partner('Yen', 'JPY');
    const viewer = await world.operator(['VIEWER'], [usd.id, jpy.id]);

    const dollars = await world.gql(viewer, PartnerBalanceDocument, { clientId: usd.id });
    expect(dollars.data?.partnerBalance).toMatchObject({
      id: usd.balanceId,
      clientId: usd.id,
      available: '0.00',
      currency: 'USD',
    });
    expect(Date.parse(dollars.data!.partnerBalance.createdAt)).not.toBeNaN();
    const yen = await world.gql(viewer, PartnerBalanceDocument, { clientId: jpy.id });
    expect(yen.data?.partnerBalance).toMatchObject({ available: '0', currency: 'JPY' });

    const other = await world.partner('Other', 'USD');
    expectError(
      await world.gql(viewer, PartnerBalanceDocument, { clientId: other.id }),
      'PARTNER_FORBIDDEN',
      403,
    );
    expectError(
      await world.gql(viewer, PartnerBalanceDocument, { clientId: 'not-a-uuid' }),
      'INVALID_ID',
      400,
    );
    const staff = await world.operator(['VIEWER'], null);
    expectError(await world.gql(staff, PartnerBalanceDocument, { clientId: randomUUID() }), 'NOT_FOUND', 404);
  });
});

describe('createProcessRequest', () => {
  test('creates a PENDING request; money is a Decimal string; the blob is stored under a service-made name', async () => {
    const { partner, maker } = await setup();
    const created = await create(maker, partner.id, '10000');
    expect(created).toMatchObject({
      clientId: partner.id,
      clientBalanceId: partner.balanceId,
      processTypeId: 1,
      requestedAmount: '10000.00',
      currency: 'USD',
      observations: 'bank receipt',
      status: 'PENDING',
      createdBy: maker.id,
      reviewedBy: null,
      cancelledBy: null,
      evidence: {
        fileName: 'receipt.pdf',
        contentType: 'application/pdf',
        size: PDF.length,
        sha256: createHash('sha256').update(PDF).digest('hex'),
      },
    });
    const blobName = `${partner.id}/${created.id}/evidence.pdf`;
    expect(created.evidenceUrl).toMatch(new RegExp(`/${world.container}/${blobName}$`));
    expect(await world.blobsOf(partner.id)).toEqual([blobName]);
    const [row] = await world.sql<{ requested_amount: string; status: string }>(
      'select requested_amount, status from process_request where id = ?',
      [created.id],
    );
    expect(row).toMatchObject({ requested_amount: '10000.0000', status: 'PENDING' });
  });

  test('amounts keep the currency digits: "10000.5" USD is "10000.50", JPY 5000 is "5000"', async () => {
    const usd = await setup('USD');
    expect((await create(usd.maker, usd.partner.id, '10000.5')).requestedAmount).toBe('10000.50');
    const jpy = await setup('JPY');
    expect((await create(jpy.maker, jpy.partner.id, '5000')).requestedAmount).toBe('5000');
  });

  test('every accepted type is identified by its first bytes, whatever the name', async () => {
    const { partner, maker } = await setup();
    const jpg = await create(maker, partner.id, '1', JPEG, 'photo.pdf');
    expect(jpg.evidence?.contentType).toBe('image/jpeg');
    const pngFile = await create(maker, partner.id, '1', png(), '../../etc/receipt.png');
    expect(pngFile.evidence).toMatchObject({ contentType: 'image/png', fileName: 'receipt.png' });
    const webp = await create(maker, partner.id, '1', WEBP, 'scan');
    expect(webp.evidence?.contentType).toBe('image/webp');
    expect((await world.blobsOf(partner.id)).sort()).toEqual(
      [
        `${partner.id}/${jpg.id}/evidence.jpg`,
        `${partner.id}/${pngFile.id}/evidence.png`,
        `${partner.id}/${webp.id}/evidence.webp`,
      ].sort(),
    );
  });

  test.each([
    ['10.001', 'USD'],
    ['5000.5', 'JPY'],
    ['0', 'USD'],
    ['0.00', 'USD'],
    ['-5', 'USD'],
    ['1e5', 'USD'],
    ['', 'USD'],
    ['1000000000000000', 'USD'],
  ])('requestedAmount %p (%s) is VALIDATION_FAILED, nothing stored', async (requestedAmount, currency) => {
    const { partner, maker } = await setup(currency);
    const result = await world.gql(maker, CreateProcessRequestDocument, {
      clientId: partner.id,
      input: { requestedAmount },
      evidence: upload(PDF),
    });
    const error = expectError(result, 'VALIDATION_FAILED', 400);
    expect(error.extensions?.details).toMatchObject({ field: 'requestedAmount' });
    expect(await world.requestCount(partner.id)).toBe(0);
    expect(await world.blobsOf(partner.id)).toEqual([]);
  });

  test('observations over 2,000 characters are VALIDATION_FAILED', async () => {
    const { partner, maker } = await setup();
    const result = await world.gql(maker, CreateProcessRequestDocument, {
      clientId: partner.id,
      input: { requestedAmount: '1', observations: 'x'.repeat(2001) },
      evidence: upload(PDF),
    });
    expectError(result, 'VALIDATION_FAILED', 400);
    expect(await world.requestCount(partner.id)).toBe(0);
  });

  test('a forged file is UNSUPPORTED_EVIDENCE_TYPE 415, nothing stored', async () => {
    const { partner, maker } = await setup();
    const forged = Buffer.from('MZ\x90\x00 this is not a receipt, whatever its name says');
    const result = await world.gql(maker, CreateProcessRequestDocument, {
      clientId: partner.id,
      input: { requestedAmount: '10' },
      evidence: upload(forged, 'receipt.pdf', 'application/pdf'),
    });
    expectError(result, 'UNSUPPORTED_EVIDENCE_TYPE', 415);
    expect(await world.requestCount(partner.id)).toBe(0);
    expect(await world.blobsOf(partner.id)).toEqual([]);
  });

  test('a non-Upload evidence value is refused by the Upload scalar', async () => {
    const { partner, maker } = await setup();
    const result = await world.gql(maker, CreateProcessRequestDocument, {
      clientId: partner.id,
      input: { requestedAmount: '10' },
      evidence: 'not a file',
    });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
    expect(await world.requestCount(partner.id)).toBe(0);
  });

  test('idempotencyKey: a repeated create gets the first answer; nothing new is created or uploaded', async () => {
    const { partner, maker } = await setup();
    const vars = () => ({
      clientId: partner.id,
      input: { requestedAmount: '42' },
      evidence: upload(PDF),
      idempotencyKey: `gql-${randomUUID()}`,
    });
    const first = vars();
    const a = await world.gql(maker, CreateProcessRequestDocument, first);
    expect(a.errors).toBeUndefined();
    const b = await world.gql(maker, CreateProcessRequestDocument, { ...first, evidence: upload(PDF) });
    expect(b.errors).toBeUndefined();
    expect(b.data?.createProcessRequest.id).toBe(a.data?.createProcessRequest.id);
    expect(await world.requestCount(partner.id)).toBe(1);
    expect(await world.blobsOf(partner.id)).toHaveLength(1);
    const reused = await world.gql(maker, CreateProcessRequestDocument, {
      ...first,
      input: { requestedAmount: '43' },
      evidence: upload(PDF),
    });
    expectError(reused, 'IDEMPOTENCY_KEY_REUSED', 409);
    expect(await world.requestCount(partner.id)).toBe(1);
  });

  test('scope, role and id rules', async () => {
    const { partner } = await setup();
    const viewer = await world.operator(['VIEWER'], [partner.id]);
    const checker = await world.operator(['CHECKER'], [partner.id]);
    const outsider = await world.operator(['MAKER'], [(await world.partner()).id]);
    const staff = await world.operator(['MAKER'], null);
    const vars = (clientId: string) => ({
      clientId,
      input: { requestedAmount: '10' },
      evidence: upload(PDF),
    });
    expectError(await world.gql(viewer, CreateProcessRequestDocument, vars(partner.id)), 'FORBIDDEN', 403);
    expectError(await world.gql(checker, CreateProcessRequestDocument, vars(partner.id)), 'FORBIDDEN', 403);
    expectError(
      await world.gql(outsider, CreateProcessRequestDocument, vars(partner.id)),
      'PARTNER_FORBIDDEN',
      403,
    );
    expectError(await world.gql(staff, CreateProcessRequestDocument, vars('42')), 'INVALID_ID', 400);
    expectError(await world.gql(staff, CreateProcessRequestDocument, vars(randomUUID())), 'NOT_FOUND', 404);
    expect(await world.requestCount(partner.id)).toBe(0);
    expect(await world.blobsOf(partner.id)).toEqual([]);
  });
});

describe('lists', () => {
  let partner: { id: string };
  let viewer: Operator;
  const ids: string[] = [];

  beforeAll(async () => {
    const s = await setup();
    partner = s.partner;
    viewer = await world.operator(['VIEWER'], [partner.id]);
    for (const amount of ['1', '2', '3', '4', '5']) ids.push((await create(s.maker, partner.id, amount)).id);
    // One of each outcome, so the status filters have something to tell apart.
    expect(
      (await world.gql(s.checker, ApproveProcessRequestDocument, { clientId: partner.id, id: ids[0] }))
        .errors,
    ).toBeUndefined();
    expect(
      (await world.gql(s.checker, RejectProcessRequestDocument, { clientId: partner.id, id: ids[1] })).errors,
    ).toBeUndefined();
  });

  test('processRequests pages newest first with totals', async () => {
    const first = await world.gql(viewer, ProcessRequestsDocument, {
      clientId: partner.id,
      page: 1,
      limit: 2,
    });
    expect(first.errors).toBeUndefined();
    expect(first.data?.processRequests).toMatchObject({ page: 1, limit: 2, total: 5, totalPages: 3 });
    expect(first.data?.processRequests.items.map((i) => i.id)).toEqual([ids[4], ids[3]]);
    expect(first.data?.processRequests.items[0].requestedAmount).toBe('5.00');

    const last = await world.gql(viewer, ProcessRequestsDocument, {
      clientId: partner.id,
      page: 3,
      limit: 2,
    });
    expect(last.data?.processRequests.items.map((i) => i.id)).toEqual([ids[0]]);
    const beyond = await world.gql(viewer, ProcessRequestsDocument, {
      clientId: partner.id,
      page: 9,
      limit: 2,
    });
    expect(beyond.data?.processRequests).toMatchObject({ items: [], page: 9, total: 5, totalPages: 3 });

    const defaults = await world.gql(viewer, ProcessRequestsDocument, { clientId: partner.id });
    expect(defaults.data?.processRequests).toMatchObject({ page: 1, limit: 10, total: 5, totalPages: 1 });
  });

  test('processRequests filters by status and dates', async () => {
    const pending = await world.gql(viewer, ProcessRequestsDocument, {
      clientId: partner.id,
      status: ['PENDING'],
    });
    expect(pending.data?.processRequests.items.map((i) => i.id)).toEqual([ids[4], ids[3], ids[2]]);
    const decided = await world.gql(viewer, ProcessRequestsDocument, {
      clientId: partner.id,
      status: ['APPROVED', 'REJECTED'],
    });
    expect(decided.data?.processRequests.items.map((i) => i.status)).toEqual(['REJECTED', 'APPROVED']);
    const future = await world.gql(viewer, ProcessRequestsDocument, {
      clientId: partner.id,
      from: '2999-01-01',
    });
    expect(future.data?.processRequests.total).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    const upToToday = await world.gql(viewer, ProcessRequestsDocument, { clientId: partner.id, to: today });
    expect(upToToday.data?.processRequests.total).toBe(5);
  });

  test.each([
    [{ page: 0 }],
    [{ page: -1 }],
    [{ limit: 0 }],
    [{ limit: 101 }],
    [{ from: 'yesterday' }],
    [{ to: '2024-13-45' }],
  ])('processRequests %p is VALIDATION_FAILED', async (bad) => {
    expectError(
      await world.gql(viewer, ProcessRequestsDocument, { clientId: partner.id, ...bad }),
      'VALIDATION_FAILED',
      400,
    );
  });

  test('a limit of 100 is accepted', async () => {
    const result = await world.gql(viewer, ProcessRequestsDocument, { clientId: partner.id, limit: 100 });
    expect(result.data?.processRequests).toMatchObject({ limit: 100, total: 5 });
  });

  test('a non-enum status is refused before the resolver', async () => {
    const result = await world.gql(viewer, ProcessRequestsDocument, {
      clientId: partner.id,
      status: ['DONE' as 'PENDING'],
    });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
  });

  test('allProcessRequests returns every request, newest first, with filters', async () => {
    const all = await world.gql(viewer, AllProcessRequestsDocument, { clientId: partner.id });
    expect(all.errors).toBeUndefined();
    expect(all.data?.allProcessRequests.map((i) => i.id)).toEqual([...ids].reverse());
    const approved = await world.gql(viewer, AllProcessRequestsDocument, {
      clientId: partner.id,
      status: ['APPROVED'],
    });
    expect(approved.data?.allProcessRequests.map((i) => i.id)).toEqual([ids[0]]);
  });

  test('lists follow the scope rules', async () => {
    const outsider = await world.operator(['VIEWER'], [(await world.partner()).id]);
    expectError(
      await world.gql(outsider, ProcessRequestsDocument, { clientId: partner.id }),
      'PARTNER_FORBIDDEN',
      403,
    );
    expectError(
      await world.gql(outsider, AllProcessRequestsDocument, { clientId: partner.id }),
      'PARTNER_FORBIDDEN',
      403,
    );
    expectError(await world.gql(viewer, AllProcessRequestsDocument, { clientId: 'x' }), 'INVALID_ID', 400);
  });
});

describe('processRequest and evidenceDownloadUrl', () => {
  test('one request with its history: who did what, when', async () => {
    const { partner, maker, checker } = await setup();
    const created = await create(maker, partner.id, '250.75');
    const approved = await world.gql(checker, ApproveProcessRequestDocument, {
      clientId: partner.id,
      id: created.id,
      reason: 'receipt matches',
    });
    expect(approved.errors).toBeUndefined();

    const result = await world.gql(maker, ProcessRequestDocument, { clientId: partner.id, id: created.id });
    expect(result.errors).toBeUndefined();
    const pr = result.data!.processRequest;
    expect(pr).toMatchObject({
      id: created.id,
      status: 'APPROVED',
      requestedAmount: '250.75',
      reviewedBy: checker.id,
      reviewReason: 'receipt matches',
    });
    expect(pr.history).toEqual([
      {
        id: expect.any(String),
        type: 'CREATED',
        actorId: maker.id,
        fromStatus: null,
        toStatus: 'PENDING',
        reason: null,
        at: expect.any(String),
      },
      {
        id: expect.any(String),
        type: 'APPROVED',
        actorId: checker.id,
        fromStatus: 'PENDING',
        toStatus: 'APPROVED',
        reason: 'receipt matches',
        at: expect.any(String),
      },
    ]);
    expect(Date.parse(pr.history[1].at)).toBeGreaterThanOrEqual(Date.parse(pr.history[0].at));
  });

  test("another partner's request is NOT_FOUND, never leaked; a bad id is INVALID_ID", async () => {
    const a = await setup();
    const b = await setup();
    const staff = await world.operator(['ADMIN'], null);
    const ofB = await create(b.maker, b.partner.id);
    expectError(
      await world.gql(staff, ProcessRequestDocument, { clientId: a.partner.id, id: ofB.id }),
      'NOT_FOUND',
      404,
    );
    expectError(
      await world.gql(staff, ProcessRequestDocument, { clientId: a.partner.id, id: randomUUID() }),
      'NOT_FOUND',
      404,
    );
    expectError(
      await world.gql(staff, ProcessRequestDocument, { clientId: a.partner.id, id: 'nope' }),
      'INVALID_ID',
      400,
    );
    expectError(
      await world.gql(staff, EvidenceDownloadUrlDocument, { clientId: a.partner.id, id: ofB.id }),
      'NOT_FOUND',
      404,
    );
    expectError(
      await world.gql(staff, ApproveProcessRequestDocument, { clientId: a.partner.id, id: ofB.id }),
      'NOT_FOUND',
      404,
    );
    expectError(
      await world.gql(staff, CancelProcessRequestDocument, { clientId: a.partner.id, id: ofB.id }),
      'NOT_FOUND',
      404,
    );
    expectError(
      await world.gql(a.maker, ProcessRequestDocument, { clientId: b.partner.id, id: ofB.id }),
      'PARTNER_FORBIDDEN',
      403,
    );
    const still = await world.gql(staff, ProcessRequestDocument, { clientId: b.partner.id, id: ofB.id });
    expect(still.data?.processRequest.status).toBe('PENDING');
  });

  test('evidenceDownloadUrl gives a signed, expiring URL that returns the bytes; the canonical URL does not', async () => {
    const { partner, maker } = await setup();
    const viewer = await world.operator(['VIEWER'], [partner.id]);
    const file = png();
    const created = await create(maker, partner.id, '10', file, 'bank receipt.png');
    const before = Date.now();
    const result = await world.gql(viewer, EvidenceDownloadUrlDocument, {
      clientId: partner.id,
      id: created.id,
    });
    expect(result.errors).toBeUndefined();
    const { url, expiresAt } = result.data!.evidenceDownloadUrl;
    const ttl = Date.parse(expiresAt) - before;
    expect(ttl).toBeGreaterThan(250_000);
    expect(ttl).toBeLessThanOrEqual(301_000);
    const search = new URL(url).searchParams;
    expect(search.get('sp')).toBe('r');
    expect(search.get('sig')).toBeTruthy();

    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(file)).toBe(true);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(download.headers.get('content-disposition')).toMatch(/^attachment;.*bank/);

    const unsigned = await fetch(created.evidenceUrl as string);
    expect(unsigned.status).toBeGreaterThanOrEqual(400);
  });
});

describe('approve, reject, cancel', () => {
  async function balance(operator: Operator, clientId: string) {
    const result = await world.gql(operator, PartnerBalanceDocument, { clientId });
    return result.data!.partnerBalance.available;
  }

  test('approve credits the balance exactly once; a second approval is PROCESS_REQUEST_NOT_PENDING', async () => {
    const { partner, maker, checker } = await setup();
    const created = await create(maker, partner.id, '10000');
    const approved = await world.gql(checker, ApproveProcessRequestDocument, {
      clientId: partner.id,
      id: created.id,
    });
    expect(approved.errors).toBeUndefined();
    expect(approved.data?.approveProcessRequest).toMatchObject({
      id: created.id,
      status: 'APPROVED',
      reviewedBy: checker.id,
      reviewReason: null,
      requestedAmount: '10000.00',
    });
    expect(approved.data?.approveProcessRequest.reviewedAt).toEqual(expect.any(String));
    expect(await balance(checker, partner.id)).toBe('10000.00');

    const again = await world.gql(checker, ApproveProcessRequestDocument, {
      clientId: partner.id,
      id: created.id,
    });
    expectError(again, 'PROCESS_REQUEST_NOT_PENDING', 409);
    const other = await world.operator(['CHECKER'], [partner.id]);
    expectError(
      await world.gql(other, RejectProcessRequestDocument, { clientId: partner.id, id: created.id }),
      'PROCESS_REQUEST_NOT_PENDING',
      409,
    );
    expectError(
      await world.gql(maker, CancelProcessRequestDocument, { clientId: partner.id, id: created.id }),
      'PROCESS_REQUEST_NOT_PENDING',
      409,
    );
    expect(await balance(checker, partner.id)).toBe('10000.00');
    const ledger = await world.sql<{ amount: string; balance_after: string }>(
      'select amount, balance_after from ledger_entry where process_request_id = ?',
      [created.id],
    );
    expect(ledger).toEqual([{ amount: '10000.0000', balance_after: '10000.0000' }]);
  });

  test('of concurrent approvals exactly one succeeds and the balance is credited once', async () => {
    const { partner, maker } = await setup('JPY');
    const checkers = await Promise.all([1, 2, 3, 4, 5].map(() => world.operator(['CHECKER'], [partner.id])));
    const created = await create(maker, partner.id, '5000');
    const results = await Promise.all(
      checkers.map((c) =>
        world.gql(c, ApproveProcessRequestDocument, { clientId: partner.id, id: created.id }),
      ),
    );
    const ok = results.filter((r) => !r.errors);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((x) => x.errors)) expectError(r, 'PROCESS_REQUEST_NOT_PENDING', 409);
    expect(await balance(maker, partner.id)).toBe('5000');
    const [row] = await world.sql<{ n: string }>(
      'select count(*) as n from ledger_entry where process_request_id = ?',
      [created.id],
    );
    expect(Number(row.n)).toBe(1);
  });

  test('four eyes: the creator can never approve or reject, whatever the roles', async () => {
    const { partner } = await setup();
    const admin = await world.operator(['ADMIN'], [partner.id]);
    const created = await create(admin, partner.id);
    expectError(
      await world.gql(admin, ApproveProcessRequestDocument, { clientId: partner.id, id: created.id }),
      'SELF_REVIEW_FORBIDDEN',
      403,
    );
    expectError(
      await world.gql(admin, RejectProcessRequestDocument, { clientId: partner.id, id: created.id }),
      'SELF_REVIEW_FORBIDDEN',
      403,
    );
    expect(await balance(admin, partner.id)).toBe('0.00');
  });

  test('approve and reject need CHECKER (or ADMIN) in scope', async () => {
    const { partner, maker } = await setup();
    const created = await create(maker, partner.id);
    const otherMaker = await world.operator(['MAKER', 'VIEWER'], [partner.id]);
    const outsider = await world.operator(['CHECKER'], [(await world.partner()).id]);
    const vars = { clientId: partner.id, id: created.id };
    expectError(await world.gql(otherMaker, ApproveProcessRequestDocument, vars), 'FORBIDDEN', 403);
    expectError(await world.gql(otherMaker, RejectProcessRequestDocument, vars), 'FORBIDDEN', 403);
    expectError(await world.gql(outsider, ApproveProcessRequestDocument, vars), 'PARTNER_FORBIDDEN', 403);
    const admin = await world.operator(['ADMIN'], [partner.id]);
    const approved = await world.gql(admin, ApproveProcessRequestDocument, vars);
    expect(approved.data?.approveProcessRequest.status).toBe('APPROVED');
  });

  test('reject records the reason and leaves the balance alone; a reason over 500 characters is refused', async () => {
    const { partner, maker, checker } = await setup();
    const created = await create(maker, partner.id, '99.99');
    const tooLong = await world.gql(checker, RejectProcessRequestDocument, {
      clientId: partner.id,
      id: created.id,
      reason: 'x'.repeat(501),
    });
    expectError(tooLong, 'VALIDATION_FAILED', 400);
    const rejected = await world.gql(checker, RejectProcessRequestDocument, {
      clientId: partner.id,
      id: created.id,
      reason: 'amount differs',
    });
    expect(rejected.data?.rejectProcessRequest).toMatchObject({
      status: 'REJECTED',
      reviewedBy: checker.id,
      reviewReason: 'amount differs',
    });
    expect(await balance(checker, partner.id)).toBe('0.00');
    expectError(
      await world.gql(checker, ApproveProcessRequestDocument, { clientId: partner.id, id: created.id }),
      'PROCESS_REQUEST_NOT_PENDING',
      409,
    );
  });

  test('cancel: the creator with MAKER or any ADMIN, only while PENDING', async () => {
    const { partner, maker, checker } = await setup();
    const otherMaker = await world.operator(['MAKER'], [partner.id]);
    const admin = await world.operator(['ADMIN'], [partner.id]);
    const first = await create(maker, partner.id);
    const second = await create(maker, partner.id);

    expectError(
      await world.gql(otherMaker, CancelProcessRequestDocument, { clientId: partner.id, id: first.id }),
      'FORBIDDEN',
      403,
    );
    expectError(
      await world.gql(checker, CancelProcessRequestDocument, { clientId: partner.id, id: first.id }),
      'FORBIDDEN',
      403,
    );

    const own = await world.gql(maker, CancelProcessRequestDocument, {
      clientId: partner.id,
      id: first.id,
      reason: 'duplicate',
    });
    expect(own.errors).toBeUndefined();
    expect(own.data?.cancelProcessRequest).toMatchObject({
      status: 'CANCELLED',
      cancelledBy: maker.id,
      reviewedBy: null,
    });
    expect(own.data?.cancelProcessRequest.cancelledAt).toEqual(expect.any(String));
    expectError(
      await world.gql(maker, CancelProcessRequestDocument, { clientId: partner.id, id: first.id }),
      'PROCESS_REQUEST_NOT_PENDING',
      409,
    );
    expectError(
      await world.gql(checker, ApproveProcessRequestDocument, { clientId: partner.id, id: first.id }),
      'PROCESS_REQUEST_NOT_PENDING',
      409,
    );

    const byAdmin = await world.gql(admin, CancelProcessRequestDocument, {
      clientId: partner.id,
      id: second.id,
    });
    expect(byAdmin.data?.cancelProcessRequest).toMatchObject({ status: 'CANCELLED', cancelledBy: admin.id });

    const history = await world.gql(maker, ProcessRequestDocument, { clientId: partner.id, id: first.id });
    expect(history.data?.processRequest.history.map((h) => [h.type, h.actorId, h.reason])).toEqual([
      ['CREATED', maker.id, null],
      ['CANCELLED', maker.id, 'duplicate'],
    ]);
    expect(await balance(maker, partner.id)).toBe('0.00');
  });

  test('an operator out of the partner scope cannot cancel; a bad id is INVALID_ID', async () => {
    const { partner, maker } = await setup();
    const created = await create(maker, partner.id);
    const outsider = await world.operator(['ADMIN'], [(await world.partner()).id]);
    expectError(
      await world.gql(outsider, CancelProcessRequestDocument, { clientId: partner.id, id: created.id }),
      'PARTNER_FORBIDDEN',
      403,
    );
    expectError(
      await world.gql(maker, CancelProcessRequestDocument, { clientId: partner.id, id: '1' }),
      'INVALID_ID',
      400,
    );
  });
});

describe('request id', () => {
  test('every error of an operation carries the request id of its context', async () => {
    const { partner, maker } = await setup();
    const contextValue = await world.app.graphqlContext({
      credentials: await world.headers(maker),
      requestId: 'req-graphql-1',
    });
    const response = await world.app.apollo.executeOperation(
      { query: PartnerBalanceDocument, variables: { clientId: randomUUID() } },
      { contextValue },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    expect(response.body.singleResult.errors?.[0].extensions).toMatchObject({
      code: 'PARTNER_FORBIDDEN',
      status: 403,
      requestId: 'req-graphql-1',
    });

    // Validation errors (before execution) too.
    const invalid = await world.app.apollo.executeOperation(
      { query: '{ me { nope } }' },
      {
        contextValue: await world.app.graphqlContext({
          credentials: await world.headers(maker),
          requestId: 'req-graphql-2',
        }),
      },
    );
    if (invalid.body.kind !== 'single') throw new Error('expected a single result');
    expect(invalid.body.singleResult.errors?.[0].extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      requestId: 'req-graphql-2',
    });

    // A successful operation has no errors to mark.
    const ok = await world.gql(maker, PartnerBalanceDocument, { clientId: partner.id });
    expect(ok.errors).toBeUndefined();
  });
});

describe('duplicateEvidence is read when asked for', () => {
  const readsDuplicates = (sql: string) => sql.includes('evidence_sha256 =');

  test('the same answers as REST, one statement for a whole page; a query that does not ask pays nothing for it', async () => {
    const { partner, maker } = await setup();
    const viewer = await world.operator(['VIEWER'], [partner.id]);
    const receipt = Buffer.from(`%PDF-1.4 receipt ${randomUUID()}\n%%EOF`);
    const first = await create(maker, partner.id, '10', receipt);
    const second = await create(maker, partner.id, '20', receipt);
    const other = await create(maker, partner.id, '30', Buffer.from(`%PDF-1.4 other ${randomUUID()}\n%%EOF`));
    // A mutation's answer too.
    expect([first.duplicateEvidence, second.duplicateEvidence]).toEqual([[], [first.id]]);

    const page = await statementsOf(world, () =>
      world.gql(viewer, ProcessRequestsDocument, { clientId: partner.id }),
    );
    expect(page.result.errors).toBeUndefined();
    expect(
      Object.fromEntries(page.result.data!.processRequests.items.map((i) => [i.id, i.duplicateEvidence])),
    ).toEqual({ [first.id]: [second.id], [second.id]: [first.id], [other.id]: [] });
    expect(page.sql.filter(readsDuplicates)).toHaveLength(1);
    const rest = await world.http
      .get(`${world.rest(partner.id)}/process-requests`)
      .set(await world.headers(viewer));
    expect(
      Object.fromEntries(
        rest.body.items.map((i: { id: string; duplicateEvidence: string[] }) => [i.id, i.duplicateEvidence]),
      ),
    ).toEqual(
      Object.fromEntries(page.result.data!.processRequests.items.map((i) => [i.id, i.duplicateEvidence])),
    );

    const one = await world.gql(viewer, ProcessRequestDocument, { clientId: partner.id, id: first.id });
    expect(one.data?.processRequest.duplicateEvidence).toEqual([second.id]);

    // Not asked for: no statement reads them (the list, the stream).
    const headers = await world.headers(viewer);
    for (const document of [ProcessRequestsDocument, AllProcessRequestsDocument]) {
      const query = print(document).replace(/^\s*duplicateEvidence$/m, '');
      const { sql, result } = await statementsOf(world, () =>
        world.http
          .post('/graphql')
          .set(headers)
          .send({ query, variables: { clientId: partner.id } }),
      );
      expect(result.body.errors).toBeUndefined();
      expect(sql.filter(readsDuplicates)).toEqual([]);
    }
  });

  test("under the partner it was read with: another partner's reader is refused", async () => {
    const { partner, maker } = await setup();
    const elsewhere = await setup();
    const made = await create(maker, partner.id);
    const ctx = await world.app.graphqlContext({ credentials: await world.headers(elsewhere.maker) });
    await expect(ctx.loaders.duplicates.load({ id: made.id, partnerId: partner.id })).rejects.toMatchObject({
      code: 'PARTNER_FORBIDDEN',
    });
    // Named with a partner it does not belong to: nothing of it.
    const own = await world.app.graphqlContext({ credentials: await world.headers(elsewhere.maker) });
    await expect(
      own.loaders.duplicates.load({ id: made.id, partnerId: elsewhere.partner.id }),
    ).resolves.toEqual([]);
  });
});
