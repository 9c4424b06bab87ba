// GraphQL over real HTTP, where the HTTP layer matters: multipart uploads (GraphQL multipart request
// spec), CSRF prevention, the 10 MiB limit, depth limit, 401s, introspection, batching, request ids.
import { print } from 'graphql';
import { randomUUID } from 'node:crypto';
import type { Operator } from '../src/entities/operator.entity';
import { CreateProcessRequestDocument, MeDocument, PartnerBalanceDocument } from './generated/graphql';
import { PDF, pdfOfSize, TEN_MIB } from './support/files';
import { createWorld, type World } from './support/world';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

const CREATE = print(CreateProcessRequestDocument);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function setup() {
  const partner = await world.partner('Acme', 'USD');
  const maker = await world.operator(['MAKER'], [partner.id]);
  return { partner, maker };
}

/** A create as a GraphQL multipart request: `operations`, `map`, then the file part. */
async function multipartCreate(
  operator: Operator,
  clientId: string,
  file: Buffer,
  options: { preflight?: boolean; requestedAmount?: string; filename?: string } = {},
) {
  const req = world.http.post('/graphql').set(await world.headers(operator));
  if (options.preflight !== false) req.set('apollo-require-preflight', 'true');
  return req
    .field(
      'operations',
      JSON.stringify({
        query: CREATE,
        operationName: 'CreateProcessRequest',
        variables: {
          clientId,
          input: { requestedAmount: options.requestedAmount ?? '10000' },
          evidence: null,
        },
      }),
    )
    .field('map', JSON.stringify({ 0: ['variables.evidence'] }))
    .attach('0', file, options.filename ?? 'receipt.pdf');
}

async function postJson(body: unknown, headers: Record<string, string> = {}) {
  return world.http
    .post('/graphql')
    .set('content-type', 'application/json')
    .set(headers)
    .send(JSON.stringify(body));
}

describe('multipart create', () => {
  test('with apollo-require-preflight: created, the blob stored, money a Decimal string', async () => {
    const { partner, maker } = await setup();
    const res = await multipartCreate(maker, partner.id, PDF);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const created = res.body.data.createProcessRequest;
    expect(created).toMatchObject({
      clientId: partner.id,
      requestedAmount: '10000.00',
      status: 'PENDING',
      createdBy: maker.id,
      evidence: { fileName: 'receipt.pdf', contentType: 'application/pdf', size: PDF.length },
    });
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(await world.blobsOf(partner.id)).toEqual([`${partner.id}/${created.id}/evidence.pdf`]);
    expect(await world.requestCount(partner.id)).toBe(1);
  });

  test('without the preflight header: refused by CSRF prevention (400), nothing stored', async () => {
    const { partner, maker } = await setup();
    const res = await multipartCreate(maker, partner.id, PDF, { preflight: false });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/CSRF.*apollo-require-preflight/s);
    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'BAD_REQUEST',
      status: 400,
      requestId: res.headers['x-request-id'],
    });
    expect(await world.requestCount(partner.id)).toBe(0);
    expect(await world.blobsOf(partner.id)).toEqual([]);
  });

  test('exactly 10 MiB is accepted', async () => {
    const { partner, maker } = await setup();
    const res = await multipartCreate(maker, partner.id, pdfOfSize(TEN_MIB));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createProcessRequest.evidence.size).toBe(TEN_MIB);
    const id = res.body.data.createProcessRequest.id;
    expect(await world.blobsOf(partner.id)).toEqual([`${partner.id}/${id}/evidence.pdf`]);
  });

  test('10 MiB + 1 byte is EVIDENCE_TOO_LARGE (413), no row and no blob', async () => {
    const { partner, maker } = await setup();
    const res = await multipartCreate(maker, partner.id, pdfOfSize(TEN_MIB + 1));
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'EVIDENCE_TOO_LARGE',
      status: 413,
      requestId: res.headers['x-request-id'],
    });
    expect(await world.requestCount(partner.id)).toBe(0);
    expect(await world.blobsOf(partner.id)).toEqual([]);
    // The server is still fine afterwards.
    const next = await multipartCreate(maker, partner.id, PDF);
    expect(next.body.data.createProcessRequest.status).toBe('PENDING');
  });

  test('a forged file (named .pdf, not a PDF) is UNSUPPORTED_EVIDENCE_TYPE (415), nothing stored', async () => {
    const { partner, maker } = await setup();
    const forged = Buffer.from('<html><script>alert(1)</script></html>');
    const res = await multipartCreate(maker, partner.id, forged, { filename: 'receipt.pdf' });
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'UNSUPPORTED_EVIDENCE_TYPE', status: 415 });
    expect(await world.requestCount(partner.id)).toBe(0);
    expect(await world.blobsOf(partner.id)).toEqual([]);
  });

  test('a bad amount is VALIDATION_FAILED with the request id, nothing stored', async () => {
    const { partner, maker } = await setup();
    const res = await multipartCreate(maker, partner.id, PDF, { requestedAmount: '10.001' });
    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      requestId: res.headers['x-request-id'],
    });
    expect(await world.requestCount(partner.id)).toBe(0);
    expect(await world.blobsOf(partner.id)).toEqual([]);
  });

  test('missing tokens on a multipart create: HTTP 401 UNAUTHENTICATED, nothing stored', async () => {
    const { partner } = await setup();
    const res = await world.http
      .post('/graphql')
      .set('apollo-require-preflight', 'true')
      .field(
        'operations',
        JSON.stringify({
          query: CREATE,
          variables: { clientId: partner.id, input: { requestedAmount: '1' }, evidence: null },
        }),
      )
      .field('map', JSON.stringify({ 0: ['variables.evidence'] }))
      .attach('0', PDF, 'receipt.pdf');
    expect(res.status).toBe(401);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(await world.requestCount(partner.id)).toBe(0);
    expect(await world.blobsOf(partner.id)).toEqual([]);
  });
});

describe('JSON requests', () => {
  test('a query with both tokens works; X-Request-Id is set (and a sane caller id is kept)', async () => {
    const { partner, maker } = await setup();
    const res = await postJson(
      { query: print(PartnerBalanceDocument), variables: { clientId: partner.id } },
      await world.headers(maker),
    );
    expect(res.status).toBe(200);
    expect(res.body.data.partnerBalance).toMatchObject({
      clientId: partner.id,
      available: '0.00',
      currency: 'USD',
    });
    expect(res.headers['x-request-id']).toMatch(UUID);

    const mine = await postJson(
      { query: print(MeDocument) },
      { ...(await world.headers(maker)), 'x-request-id': 'caller-req-42' },
    );
    expect(mine.headers['x-request-id']).toBe('caller-req-42');
  });

  test('missing or invalid tokens: HTTP 401 with errors[0].extensions.code UNAUTHENTICATED', async () => {
    const { maker } = await setup();
    const headers = await world.headers(maker);
    // Each with the token and the reason its 401 names (SPEC section 20).
    const cases: Array<[Record<string, string>, string, string]> = [
      [{}, 'app', 'missing'],
      [{ authorization: headers.authorization }, 'user', 'missing'],
      [{ 'x-user-token': headers['x-user-token'] }, 'app', 'missing'],
      [{ authorization: headers.authorization, 'x-user-token': 'Bearer not.a.jwt' }, 'user', 'malformed'],
      [await world.headers(maker, -60), 'user', 'expired'],
    ];
    for (const [h, token, reason] of cases) {
      const res = await postJson({ query: print(MeDocument) }, h);
      expect(res.status).toBe(401);
      expect(res.body.data).toBeUndefined();
      expect(res.body.errors[0].extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        status: 401,
        requestId: res.headers['x-request-id'],
        details: { token, reason },
      });
      expect(res.headers['www-authenticate']).toBe(
        `Bearer error="invalid_token", error_description="${res.body.errors[0].message}"`,
      );
    }
  });

  test('domain errors carry code, status and the request id of the response', async () => {
    const { maker } = await setup();
    const res = await postJson(
      { query: print(PartnerBalanceDocument), variables: { clientId: randomUUID() } },
      await world.headers(maker),
    );
    expect(res.status).toBe(200);
    expect(res.body.errors[0].extensions).toEqual({
      code: 'PARTNER_FORBIDDEN',
      status: 403,
      requestId: res.headers['x-request-id'],
    });
  });

  test('an over-deep query (fragments nested past the limit) is refused with 400 and a clear error', async () => {
    const { maker } = await setup();
    // Each fragment adds one level; with __schema and types that is 10 levels, over the limit of 8.
    const query = `
      query Deep { __schema { types { ...L1 } } }
      fragment L1 on __Type { ofType { ...L2 } }
      fragment L2 on __Type { ofType { ...L3 } }
      fragment L3 on __Type { ofType { ...L4 } }
      fragment L4 on __Type { ofType { ...L5 } }
      fragment L5 on __Type { ofType { ...L6 } }
      fragment L6 on __Type { ofType { ...L7 } }
      fragment L7 on __Type { ofType { ...L8 } }
      fragment L8 on __Type { ofType { name } }
    `;
    const res = await postJson({ query }, await world.headers(maker));
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors[0].message).toMatch(/nested \d+ levels deep; at most 8/);
    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'QUERY_TOO_DEEP',
      status: 400,
      requestId: res.headers['x-request-id'],
    });
  });

  test('a query at the depth limit passes', async () => {
    const { maker } = await setup();
    const query =
      '{ __schema { types { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } }';
    const res = await postJson({ query }, await world.headers(maker));
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });

  test('an upload body it cannot read (two files) is refused in the GraphQL shape, with its code and status', async () => {
    const { maker } = await setup();
    const res = await world.http
      .post('/graphql')
      .set(await world.headers(maker))
      .set('apollo-require-preflight', 'true')
      .field('operations', JSON.stringify({ query: '{ me { id } }', variables: { a: null, b: null } }))
      .field('map', JSON.stringify({ 0: ['variables.a'], 1: ['variables.b'] }))
      .attach('0', Buffer.from('%PDF-1.4'), 'a.pdf')
      .attach('1', Buffer.from('%PDF-1.4'), 'b.pdf');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({
          code: 'UNEXPECTED_FILE',
          status: 400,
          requestId: res.headers['x-request-id'],
        }),
      }),
    ]);
    expect(res.body.statusCode).toBeUndefined();
  });

  test('a batched array body is refused', async () => {
    const { maker } = await setup();
    const res = await postJson(
      [{ query: print(MeDocument) }, { query: print(MeDocument) }],
      await world.headers(maker),
    );
    expect(res.status).toBe(400);
    // In the shape of every GraphQL answer, as every body /graphql cannot read is refused.
    expect(res.body).toEqual({
      errors: [
        expect.objectContaining({
          extensions: { code: 'VALIDATION_FAILED', status: 400, requestId: res.headers['x-request-id'] },
        }),
      ],
    });
    expect(res.text).not.toContain(maker.email);
  });

  test('a JSON POST without content-type is refused by CSRF prevention', async () => {
    const { maker } = await setup();
    const res = await world.http
      .post('/graphql')
      .set(await world.headers(maker))
      .set('content-type', 'text/plain')
      .send(JSON.stringify({ query: print(MeDocument) }));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'BAD_REQUEST',
      requestId: res.headers['x-request-id'],
    });
    expect(res.text).not.toContain(maker.email);
  });

  test('introspection is on in tests by default', async () => {
    const { maker } = await setup();
    const res = await postJson({ query: '{ __schema { queryType { name } } }' }, await world.headers(maker));
    expect(res.status).toBe(200);
    expect(res.body.data.__schema.queryType.name).toBe('Query');
  });
});

describe('with GRAPHQL_INTROSPECTION=false', () => {
  let closed: World;
  beforeAll(async () => {
    closed = await createWorld({ GRAPHQL_INTROSPECTION: 'false' });
  });
  afterAll(() => closed?.close());

  test('introspection is refused; ordinary queries still work', async () => {
    const partner = await closed.partner('Hidden', 'USD');
    const viewer = await closed.operator(['VIEWER'], [partner.id]);
    const headers = await closed.headers(viewer);
    const res = await closed.http
      .post('/graphql')
      .set(headers)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ query: '{ __schema { types { name } } }' }));
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors[0].message).toMatch(/introspection/i);
    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      requestId: res.headers['x-request-id'],
    });

    const ok = await closed.http
      .post('/graphql')
      .set(headers)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ query: print(PartnerBalanceDocument), variables: { clientId: partner.id } }));
    expect(ok.body.data.partnerBalance.available).toBe('0.00');
  });
});
