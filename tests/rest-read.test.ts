// REST reads (SPEC section 4): balance, the paginated and the streamed lists with their filters, one request
// with its history, and evidence download links — over real HTTP, against what the database holds.
import { randomUUID } from 'node:crypto';
import type { Operator } from '../src/entities/operator.entity';
import { JPEG } from './support/files';
import { createWorld, type World } from './support/world';

let world: World;
afterAll(() => world?.close());
beforeAll(async () => {
  // A larger pool: the streamed-list test creates 500+ requests in parallel batches.
  world = await createWorld({ DB_POOL_SIZE: '30' });
});

interface Actors {
  partner: { id: string; balanceId: string };
  maker: Operator;
  checker: Operator;
  h: { maker: Record<string, string>; checker: Record<string, string>; viewer: Record<string, string> };
}

async function actors(currency = 'USD'): Promise<Actors> {
  const { partner, maker, checker, viewer } = await world.team(`Read ${currency}`, currency);
  return {
    partner,
    maker,
    checker,
    h: {
      maker: await world.headers(maker),
      checker: await world.headers(checker),
      viewer: await world.headers(viewer),
    },
  };
}

/** Ids of the partner's requests as the contract orders them: createdAt, then id, descending. */
async function idsNewestFirst(partnerId: string, where = 'true', params: unknown[] = []): Promise<string[]> {
  const rows = await world.sql<{ id: string }>(
    `select id from process_request where client_id = ? and ${where} order by created_at desc, id desc`,
    [partnerId, ...params],
  );
  return rows.map((r) => r.id);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GET /balance', () => {
  test('the documented shape, available as a JSON number at the currency digits', async () => {
    const a = await actors('USD');
    const res = await world.http.get(`${world.rest(a.partner.id)}/balance`).set(a.h.viewer);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: a.partner.balanceId,
      clientId: a.partner.id,
      available: 0,
      pending: 0,
      currency: 'USD',
      updatedAt: expect.stringMatching(/Z$/),
      createdAt: expect.stringMatching(/Z$/),
    });
    expect(Object.keys(res.body)).toEqual([
      'id',
      'clientId',
      'available',
      'pending',
      'currency',
      'updatedAt',
      'createdAt',
    ]);
    expect(res.text).toContain('"available":0.00');

    const id = await world.createRequest(a.partner.id, a.h.maker, '1500.25');
    expect((await world.act(a.partner.id, id, 'approve', a.h.checker)).status).toBe(204);
    const after = await world.http.get(`${world.rest(a.partner.id)}/balance`).set(a.h.viewer);
    expect(after.body.available).toBe(1500.25);
    expect(typeof after.body.available).toBe('number');
    expect(Date.parse(after.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(after.body.createdAt));
  });
});

describe('GET /process-requests (paginated)', () => {
  let a: Actors;
  let all: string[];
  beforeAll(async () => {
    a = await actors();
    // Sequential, so createdAt differs between rows and "newest first" is observable.
    for (let i = 1; i <= 12; i++) await world.createInProcess(a.partner.id, a.maker, `${i}.00`);
    all = await idsNewestFirst(a.partner.id);
  });
  const page = (query: string) =>
    world.http.get(`${world.rest(a.partner.id)}/process-requests${query}`).set(a.h.viewer);

  test('defaults to page 1, limit 10, newest first, with totals', async () => {
    const res = await page('');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, limit: 10, total: 12, totalPages: 2 });
    expect(res.body.items.map((i: { id: string }) => i.id)).toEqual(all.slice(0, 10));
    // The last one created is the first listed.
    expect(res.body.items[0].requestedAmount).toBe(12);
    expect(res.body.items[0]).toMatchObject({
      clientId: a.partner.id,
      status: 'PENDING',
      evidence: { fileName: 'receipt.pdf' },
    });
  });

  test('pages walk the whole list without overlap', async () => {
    const seen: string[] = [];
    for (let p = 1; p <= 3; p++) {
      const res = await page(`?page=${p}&limit=5`);
      expect(res.body).toMatchObject({ page: p, limit: 5, total: 12, totalPages: 3 });
      seen.push(...res.body.items.map((i: { id: string }) => i.id));
    }
    expect(seen).toEqual(all);
    const beyond = await page('?page=4&limit=5');
    expect(beyond.status).toBe(200);
    expect(beyond.body).toMatchObject({ items: [], page: 4, total: 12 });
    expect((await page('?limit=100')).body.items).toHaveLength(12);
  });

  test.each([
    '?limit=101',
    '?limit=0',
    '?limit=-1',
    '?limit=abc',
    '?limit=2.5',
    '?page=0',
    '?page=-3',
    '?page=x',
  ])('%s → 400 VALIDATION_FAILED', async (query) => {
    const res = await page(query);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
  });
});

describe('status and date filters (both lists)', () => {
  let a: Actors;
  let ids: { approved: string; rejected: string; pending: string; cancelled: string };
  let between: string;
  beforeAll(async () => {
    a = await actors();
    const approved = await world.createInProcess(a.partner.id, a.maker);
    const rejected = await world.createInProcess(a.partner.id, a.maker);
    await sleep(20);
    between = new Date().toISOString();
    await sleep(20);
    const pending = await world.createInProcess(a.partner.id, a.maker);
    const cancelled = await world.createInProcess(a.partner.id, a.maker);
    ids = { approved, rejected, pending, cancelled };
    expect((await world.act(a.partner.id, approved, 'approve', a.h.checker)).status).toBe(204);
    expect((await world.act(a.partner.id, rejected, 'reject', a.h.checker)).status).toBe(204);
    expect((await world.act(a.partner.id, cancelled, 'cancel', a.h.maker)).status).toBe(204);
  });

  const both = async (query: string) => {
    const paged = await world.http
      .get(`${world.rest(a.partner.id)}/process-requests${query}`)
      .set(a.h.viewer);
    const full = await world.http.get(`${world.rest(a.partner.id)}/process-request${query}`).set(a.h.viewer);
    return { paged, full };
  };
  const idsOf = (items: Array<{ id: string }>) => items.map((i) => i.id).sort();

  test.each([
    ['one status', '?status=APPROVED', ['approved']],
    ['one status, lower case', '?status=pending', ['pending']],
    ['a comma list', '?status=APPROVED,REJECTED', ['approved', 'rejected']],
    ['a repeated parameter', '?status=CANCELLED&status=PENDING', ['cancelled', 'pending']],
    ['no filter', '', ['approved', 'rejected', 'pending', 'cancelled']],
  ] as const)('status: %s (%s)', async (_label, query, expected) => {
    const { paged, full } = await both(query);
    const want = expected.map((k) => ids[k]).sort();
    expect(paged.status).toBe(200);
    expect(idsOf(paged.body.items)).toEqual(want);
    expect(paged.body.total).toBe(want.length);
    expect(full.status).toBe(200);
    expect(idsOf(full.body)).toEqual(want);
  });

  test('from / to on createdAt, as date-times and as whole days', async () => {
    const day = (offset: number) =>
      new Date(Date.parse(between) + offset * 86_400_000).toISOString().slice(0, 10);
    const [yesterday, today, tomorrow] = [day(-1), day(0), day(1)];
    const cases: Array<[string, string[]]> = [
      [`?from=${encodeURIComponent(between)}`, [ids.pending, ids.cancelled]],
      [`?to=${encodeURIComponent(between)}`, [ids.approved, ids.rejected]],
      [`?from=${today}&to=${today}`, Object.values(ids)],
      [`?to=${yesterday}`, []],
      [`?from=${tomorrow}`, []],
      [`?from=${encodeURIComponent(between)}&status=CANCELLED`, [ids.cancelled]],
    ];
    for (const [query, expected] of cases) {
      const { paged, full } = await both(query);
      expect({ query, ids: idsOf(paged.body.items) }).toEqual({ query, ids: [...expected].sort() });
      expect({ query, ids: idsOf(full.body) }).toEqual({ query, ids: [...expected].sort() });
    }
  });

  test.each([
    '?status=FOO',
    '?status=APPROVED,NOPE',
    '?status=,',
    '?from=yesterday',
    '?to=2026-13-45',
    '?from=12345',
  ])('%s → 400 VALIDATION_FAILED on both lists', async (query) => {
    const { paged, full } = await both(query);
    expect([paged.status, paged.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect([full.status, full.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('GET /process-request (every request, streamed)', () => {
  test('returns all of more than 500 requests (crossing the keyset batch), newest first, no duplicates', async () => {
    const a = await actors();
    const TOTAL = 510;
    // Written in SQL (the upload path is not the subject here), amounts 1.00 … 510.00 in creation order,
    // ten rows to each millisecond, so the id tie-break of the keyset is exercised on every step.
    const seeded = await world.seedRequests(a.partner.id, a.maker, TOTAL);
    await world.sql(
      `update process_request r
          set requested_amount = s.n, created_at = timestamptz '2026-01-01T00:00:00Z' + ((s.n - 1) / 10) * interval '1 millisecond'
         from unnest(?::uuid[]) with ordinality as s(id, n)
        where r.id = s.id`,
      [`{${seeded.join(',')}}`],
    );
    const res = await world.http.get(`${world.rest(a.partner.id)}/process-request`).set(a.h.viewer);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Array.isArray(res.body)).toBe(true);
    const listed = (res.body as Array<{ id: string }>).map((r) => r.id);
    expect(listed).toHaveLength(TOTAL);
    expect(new Set(listed).size).toBe(TOTAL);
    expect(listed).toEqual(await idsNewestFirst(a.partner.id));
    // Money stays exact in the streamed JSON too.
    expect(res.text).toMatch(/"requestedAmount":510\.00[,}]/);
  }, 180_000);

  test('a partner without requests is an empty array', async () => {
    const a = await actors();
    const res = await world.http.get(`${world.rest(a.partner.id)}/process-request`).set(a.h.viewer);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    expect(res.text).toBe('[]');
  });
});

describe('GET /process-request/{id}', () => {
  test('one request with its history: CREATED then APPROVED, with actor ids', async () => {
    const a = await actors();
    const id = await world.createRequest(a.partner.id, a.h.maker, '42.00');
    const approve = await world.act(a.partner.id, id, 'approve', a.h.checker, {
      reason: 'matches the bank statement',
    });
    expect(approve.status).toBe(204);

    const res = await world.http.get(`${world.rest(a.partner.id)}/process-request/${id}`).set(a.h.viewer);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      clientId: a.partner.id,
      requestedAmount: 42,
      status: 'APPROVED',
      createdBy: a.maker.id,
      reviewedBy: a.checker.id,
      reviewReason: 'matches the bank statement',
    });
    expect(res.body.history).toEqual([
      {
        id: expect.any(String),
        type: 'CREATED',
        actorId: a.maker.id,
        fromStatus: null,
        toStatus: 'PENDING',
        reason: null,
        at: expect.stringMatching(/Z$/),
      },
      {
        id: expect.any(String),
        type: 'APPROVED',
        actorId: a.checker.id,
        fromStatus: 'PENDING',
        toStatus: 'APPROVED',
        reason: 'matches the bank statement',
        at: expect.stringMatching(/Z$/),
      },
    ]);
    expect(Date.parse(res.body.history[1].at)).toBeGreaterThanOrEqual(Date.parse(res.body.history[0].at));
  });
});

describe('ids and partners that do not match', () => {
  let a: Actors;
  let b: Actors;
  let aRequest: string;
  let both: Record<string, string>;
  beforeAll(async () => {
    a = await actors();
    b = await actors();
    aRequest = await world.createInProcess(a.partner.id, a.maker);
    both = await world.headers(await world.operator(['VIEWER'], [a.partner.id, b.partner.id]));
  });

  test.each(['', '/evidence/download'])(
    "partner A's request asked through partner B's path → 404 (GET …%s)",
    async (suffix) => {
      const res = await world.http
        .get(`${world.rest(b.partner.id)}/process-request/${aRequest}${suffix}`)
        .set(both);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
      expect(res.text).not.toContain(a.partner.id);
    },
  );

  test('an unknown request id → 404 NOT_FOUND', async () => {
    for (const suffix of ['', '/evidence/download']) {
      const res = await world.http
        .get(`${world.rest(a.partner.id)}/process-request/${randomUUID()}${suffix}`)
        .set(a.h.viewer);
      expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
    }
  });

  test.each([
    ['request id', () => `${world.rest(a.partner.id)}/process-request/not-a-uuid`],
    ['request id (download)', () => `${world.rest(a.partner.id)}/process-request/1234/evidence/download`],
    [
      'request id with SQL',
      () => `${world.rest(a.partner.id)}/process-request/${encodeURIComponent("' or 1=1 --")}`,
    ],
    ['partner id (balance)', () => `${world.rest('acme')}/balance`],
    ['partner id (list)', () => `${world.rest('00000000-0000-0000-0000-00000000000g')}/process-requests`],
  ])('a %s that is not a UUID → 400 INVALID_ID', async (_name, path) => {
    const res = await world.http.get(path()).set(both);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'INVALID_ID' });
  });
});

describe('GET /process-request/{id}/evidence/download', () => {
  test('a signed link that returns the exact bytes as an attachment named like the upload', async () => {
    const a = await actors();
    const bytes = Buffer.concat([JPEG, Buffer.from('-padding-')]);
    const id = await world.createRequest(a.partner.id, a.h.maker, '9.99', bytes, 'recibo março.jpg');
    const before = Date.now();
    const res = await world.http
      .get(`${world.rest(a.partner.id)}/process-request/${id}/evidence/download`)
      .set(a.h.viewer);
    const after = Date.now();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ url: expect.any(String), expiresAt: expect.stringMatching(/Z$/) });
    // SAS_TTL_SECONDS defaults to 300.
    const expiresAt = Date.parse(res.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 300_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 300_000);
    expect(new URL(res.body.url).searchParams.get('se')).toBe(res.body.expiresAt.replace(/\.\d{3}Z$/, 'Z'));

    const url = new URL(res.body.url);
    expect(url.pathname).toBe(
      `/${url.pathname.split('/')[1]}/${world.container}/${a.partner.id}/${id}/evidence.jpg`,
    );
    expect(url.searchParams.get('sp')).toBe('r');

    const download = await fetch(res.body.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    expect(download.headers.get('content-type')).toBe('image/jpeg');
    const disposition = download.headers.get('content-disposition') ?? '';
    expect(disposition).toMatch(/^attachment;/);
    expect(disposition).toContain(`filename*=UTF-8''${encodeURIComponent('recibo março.jpg')}`);
    expect(disposition).toContain('filename="recibo mar_o.jpg"');

    // Without its signature the same URL is refused; a tampered signature too; and it cannot write.
    const unsigned = await fetch(`${url.origin}${url.pathname}`);
    expect([403, 404]).toContain(unsigned.status);
    const tampered = new URL(res.body.url);
    tampered.searchParams.set('sig', Buffer.alloc(32, 1).toString('base64'));
    expect([403, 404]).toContain((await fetch(tampered)).status);
    const write = await fetch(res.body.url, {
      method: 'PUT',
      body: 'overwrite',
      headers: { 'x-ms-blob-type': 'BlockBlob' },
    });
    expect(write.status).toBe(403);
    expect(Buffer.from(await (await fetch(res.body.url)).arrayBuffer()).equals(bytes)).toBe(true);
  });
});

test('partner data is never cached: Cache-Control no-store on every REST read, the download link included', async () => {
  const { partner, maker, h } = await actors();
  const id = await world.createInProcess(partner.id, maker);
  const base = world.rest(partner.id);
  for (const path of [
    '/balance',
    '/process-requests',
    '/process-request',
    `/process-request/${id}`,
    `/process-request/${id}/evidence/download`,
    '/approval-policy',
  ]) {
    const res = await world.http.get(`${base}${path}`).set(h.viewer);
    expect([path, res.status, res.headers['cache-control']]).toEqual([path, 200, 'no-store']);
  }
  // Refusals too.
  const refused = await world.http.get(`${base}/process-request/not-an-id`).set(h.viewer);
  expect([refused.status, refused.headers['cache-control']]).toEqual([400, 'no-store']);
});
