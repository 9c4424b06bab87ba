// Identity and authorization (SPEC section 2) over real HTTP: the two tokens (HS256 secrets, RS256 through a
// JWKS URL, ES256 through a PEM key, issuer and audience), and the operator row deciding on every call.
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEV_APP_TOKEN_SECRET, DEV_USER_TOKEN_SECRET } from '../src/config';
import { deactivateOperator } from '../src/services/identity/admin.service';
import { PDF } from './support/files';
import { createWorld, type World } from './support/world';

type Headers = Record<string, string>;
const secret = (s: string) => new TextEncoder().encode(s);
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface SignOptions {
  sub?: string;
  alg?: string;
  kid?: string;
  exp?: number | null;
  iss?: string;
  aud?: string;
  /** The token's kind claim (`app` or `user`); tokens signed with a key both kinds share must carry it. */
  kind?: string;
}

/** Signs a JWT the way an identity provider would; `exp: null` leaves the claim out. */
async function sign(key: KeyLike | Uint8Array, options: SignOptions = {}): Promise<string> {
  let jwt = new SignJWT(options.kind === undefined ? {} : { kind: options.kind })
    .setProtectedHeader({
      alg: options.alg ?? 'HS256',
      typ: 'JWT',
      ...(options.kid ? { kid: options.kid } : {}),
    })
    .setIssuedAt();
  if (options.sub !== undefined) jwt = jwt.setSubject(options.sub);
  if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? now() + 600);
  if (options.iss) jwt = jwt.setIssuer(options.iss);
  if (options.aud) jwt = jwt.setAudience(options.aud);
  return jwt.sign(key);
}

const bearer = (app: string, user: string): Headers => ({
  authorization: `Bearer ${app}`,
  'x-user-token': `Bearer ${user}`,
});

/** A 401 names the token and the reason, in the body and in RFC 6750's WWW-Authenticate. */
function expect401(
  res: { status: number; body: Record<string, unknown>; headers: Record<string, string> },
  token: 'app' | 'user' | RegExp = /^(app|user)$/,
  reason: string | RegExp = /./,
) {
  expect(res.status).toBe(401);
  expect(res.body).toEqual({
    statusCode: 401,
    code: 'UNAUTHENTICATED',
    message: expect.any(String),
    requestId: res.headers['x-request-id'],
    details: {
      token: typeof token === 'string' ? token : expect.stringMatching(token),
      header: expect.stringMatching(/^(Authorization|x-user-token)$/),
      reason: typeof reason === 'string' ? reason : expect.stringMatching(reason),
    },
  });
  expect(res.headers['www-authenticate']).toBe(
    `Bearer error="invalid_token", error_description="${res.body.message}"`,
  );
}

describe('with HS256 secrets', () => {
  let world: World;
  let partner: { id: string };
  let other: { id: string };
  let viewerId: string;
  let good: { app: string; user: string };
  beforeAll(async () => {
    world = await createWorld();
    partner = await world.partner('Auth A');
    other = await world.partner('Auth B');
    viewerId = (await world.operator(['VIEWER'], [partner.id])).id;
    good = {
      app: await sign(secret(DEV_APP_TOKEN_SECRET), { sub: 'admin-app' }),
      user: await sign(secret(DEV_USER_TOKEN_SECRET), { sub: viewerId }),
    };
  });
  afterAll(() => world?.close());

  const balance = (headers: Headers, partnerId = partner.id) =>
    world.http.get(`${world.rest(partnerId)}/balance`).set(headers);

  test('both valid tokens of an operator in scope → 200', async () => {
    expect((await balance(bearer(good.app, good.user))).status).toBe(200);
  });

  const cases: Array<[string, () => Promise<Headers>]> = [
    ['no credentials', async () => ({})],
    ['only the application token', async () => ({ authorization: `Bearer ${good.app}` })],
    ['only the user token', async () => ({ 'x-user-token': `Bearer ${good.user}` })],
    [
      'a Basic authorization',
      async () => ({ authorization: 'Basic dXNlcjpwYXNz', 'x-user-token': `Bearer ${good.user}` }),
    ],
    [
      'a user token without the Bearer scheme',
      async () => ({ authorization: `Bearer ${good.app}`, 'x-user-token': good.user }),
    ],
    ['a garbage token', async () => bearer('abc.def.ghi', good.user)],
    ['an empty Bearer', async () => ({ authorization: 'Bearer ', 'x-user-token': `Bearer ${good.user}` })],
    [
      'an expired user token',
      async () =>
        bearer(good.app, await sign(secret(DEV_USER_TOKEN_SECRET), { sub: viewerId, exp: now() - 60 })),
    ],
    [
      'an expired application token',
      async () => bearer(await sign(secret(DEV_APP_TOKEN_SECRET), { exp: now() - 60 }), good.user),
    ],
    [
      'a user token without exp',
      async () => bearer(good.app, await sign(secret(DEV_USER_TOKEN_SECRET), { sub: viewerId, exp: null })),
    ],
    [
      'a user token signed with the wrong secret',
      async () =>
        bearer(good.app, await sign(secret('some-other-secret-of-at-least-32-bytes!!'), { sub: viewerId })),
    ],
    ['the two tokens swapped', async () => bearer(good.user, good.app)],
    [
      'a user token signed with the application secret',
      async () => bearer(good.app, await sign(secret(DEV_APP_TOKEN_SECRET), { sub: viewerId })),
    ],
    [
      'an HS512 user token with the right secret',
      async () =>
        bearer(good.app, await sign(secret(DEV_USER_TOKEN_SECRET), { sub: viewerId, alg: 'HS512' })),
    ],
    [
      'an alg "none" user token',
      async () =>
        bearer(
          good.app,
          `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: viewerId, exp: now() + 600 })}.`,
        ),
    ],
    [
      'a tampered payload (sub swapped, signature kept)',
      async () => {
        const [h, , s] = good.user.split('.');
        return bearer(good.app, `${h}.${b64url({ sub: randomUUID(), exp: now() + 600 })}.${s}`);
      },
    ],
    [
      'a user token whose sub is not an operator',
      async () => bearer(good.app, await sign(secret(DEV_USER_TOKEN_SECRET), { sub: randomUUID() })),
    ],
    [
      'a user token whose sub is not a UUID',
      async () => bearer(good.app, await sign(secret(DEV_USER_TOKEN_SECRET), { sub: 'alice' })),
    ],
    ['a user token without sub', async () => bearer(good.app, await sign(secret(DEV_USER_TOKEN_SECRET)))],
  ];

  /** Which token each case refuses, and why (SPEC section 20). */
  const REASONS: Record<string, ['app' | 'user', string]> = {
    'no credentials': ['app', 'missing'],
    'only the application token': ['user', 'missing'],
    'only the user token': ['app', 'missing'],
    'a Basic authorization': ['app', 'malformed'],
    'a user token without the Bearer scheme': ['user', 'malformed'],
    'a garbage token': ['app', 'malformed'],
    'an empty Bearer': ['app', 'missing'],
    'an expired user token': ['user', 'expired'],
    'an expired application token': ['app', 'expired'],
    'a user token without exp': ['user', 'malformed'],
    'a user token signed with the wrong secret': ['user', 'bad_signature'],
    'the two tokens swapped': ['app', 'bad_signature'],
    'a user token signed with the application secret': ['user', 'bad_signature'],
    'an HS512 user token with the right secret': ['user', 'bad_signature'],
    'an alg "none" user token': ['user', 'bad_signature'],
    'a tampered payload (sub swapped, signature kept)': ['user', 'bad_signature'],
    'a user token whose sub is not an operator': ['user', 'unknown_subject'],
    'a user token whose sub is not a UUID': ['user', 'unknown_subject'],
    'a user token without sub': ['user', 'malformed'],
  };

  test.each(cases)('%s → 401 UNAUTHENTICATED naming the token and the reason', async (name, headers) => {
    const [token, reason] = REASONS[name];
    expect401(await balance(await headers()), token, reason);
  });

  test('a token not valid yet (nbf in the future) → not_yet_valid', async () => {
    const early = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(viewerId)
      .setNotBefore(now() + 600)
      .setExpirationTime(now() + 1200)
      .sign(secret(DEV_USER_TOKEN_SECRET));
    expect401(await balance(bearer(good.app, early)), 'user', 'not_yet_valid');
  });

  test('a 401 is decided before anything else: a bad partner id or a create body is not looked at', async () => {
    const bad = bearer(
      good.app,
      await sign(secret('some-other-secret-of-at-least-32-bytes!!'), { sub: viewerId }),
    );
    expect401(await world.http.get(`${world.rest('not-a-uuid')}/balance`).set(bad));
    const create = await world.http
      .post(`${world.rest(partner.id)}/process-request`)
      .set(bad)
      .field('requestedAmount', '10.00')
      .attach('evidence', PDF, 'receipt.pdf');
    expect401(create);
    expect(await world.sql('select id from process_request')).toEqual([]);
    expect(await world.sql('select id from process_request_event')).toEqual([]);
    expect(await world.blobNames()).toEqual([]);
  });

  test('error bodies are { statusCode, code, message, requestId } and echo a sane X-Request-Id', async () => {
    const res = await balance({}).set('x-request-id', 'trace-abc_123');
    expect(res.body).toEqual({
      statusCode: 401,
      code: 'UNAUTHENTICATED',
      message: expect.any(String),
      requestId: 'trace-abc_123',
      details: { token: 'app', header: 'Authorization', reason: 'missing' },
    });
    expect(res.headers['x-request-id']).toBe('trace-abc_123');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const insane = await balance({}).set('x-request-id', 'bad id with spaces');
    expect(insane.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('an operator deactivated (admin service) gets 403 OPERATOR_INACTIVE on the next call, with the same token', async () => {
    const op = await world.operator(['MAKER'], [partner.id]);
    const headers = await world.headers(op);
    expect((await balance(headers)).status).toBe(200);
    await deactivateOperator(world.app.orm.em.fork(), op.email);
    const res = await balance(headers);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      statusCode: 403,
      code: 'OPERATOR_INACTIVE',
      message: expect.any(String),
      requestId: expect.any(String),
    });
    const create = await world.http
      .post(`${world.rest(partner.id)}/process-request`)
      .set(headers)
      .field('requestedAmount', '1')
      .attach('evidence', PDF, 'r.pdf');
    expect([create.status, create.body.code]).toEqual([403, 'OPERATOR_INACTIVE']);
  });

  test('roles and scope changed in the database take effect on the next call', async () => {
    const op = await world.operator(['VIEWER'], [partner.id]);
    const headers = await world.headers(op);
    const create = () =>
      world.http
        .post(`${world.rest(partner.id)}/process-request`)
        .set(headers)
        .field('requestedAmount', '3.00')
        .attach('evidence', PDF, 'r.pdf');

    const refused = await create();
    expect([refused.status, refused.body.code]).toEqual([403, 'FORBIDDEN']);
    await world.sql(`update operator set roles = '{MAKER}' where id = ?`, [op.id]);
    expect((await create()).status).toBe(201);
    await world.sql(`update operator set roles = '{VIEWER}' where id = ?`, [op.id]);
    expect((await create()).status).toBe(403);

    await world.sql(`update operator set partner_ids = ? where id = ?`, [`{${other.id}}`, op.id]);
    const outOfScope = await balance(headers);
    expect([outOfScope.status, outOfScope.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
    expect((await balance(headers, other.id)).status).toBe(200);
    await world.sql(`update operator set partner_ids = null where id = ?`, [op.id]);
    expect((await balance(headers)).status).toBe(200);
  });

  test('an operator scoped to partner A asking about partner B → 403 PARTNER_FORBIDDEN on every route', async () => {
    const op = await world.operator(['ADMIN'], [partner.id]);
    const headers = await world.headers(op);
    const id = randomUUID();
    const base = world.rest(other.id);
    const calls: Array<[string, () => ReturnType<typeof world.http.get>]> = [
      ['GET balance', () => world.http.get(`${base}/balance`)],
      ['GET process-requests', () => world.http.get(`${base}/process-requests`)],
      ['GET process-request', () => world.http.get(`${base}/process-request`)],
      ['GET process-request/:id', () => world.http.get(`${base}/process-request/${id}`)],
      ['GET evidence/download', () => world.http.get(`${base}/process-request/${id}/evidence/download`)],
      ['PATCH approve', () => world.http.patch(`${base}/process-request/${id}/approve`)],
      ['PATCH reject', () => world.http.patch(`${base}/process-request/${id}/reject`)],
      ['PATCH cancel', () => world.http.patch(`${base}/process-request/${id}/cancel`)],
      [
        'POST process-request',
        () =>
          world.http
            .post(`${base}/process-request`)
            .field('requestedAmount', '1')
            .attach('evidence', PDF, 'r.pdf'),
      ],
    ];
    for (const [label, call] of calls) {
      const res = await call().set(headers);
      expect([label, res.status, res.body.code]).toEqual([label, 403, 'PARTNER_FORBIDDEN']);
    }
    expect(await world.sql('select id from process_request where client_id = ?', [other.id])).toEqual([]);
  });

  test('an unscoped (all partners) operator reaches every partner; an unknown partner is 404', async () => {
    const staff = await world.headers(await world.operator(['VIEWER'], null));
    expect((await balance(staff, partner.id)).status).toBe(200);
    expect((await balance(staff, other.id)).status).toBe(200);
    const missing = await balance(staff, randomUUID());
    expect([missing.status, missing.body.code]).toEqual([404, 'NOT_FOUND']);
  });
});

describe('with RS256 tokens verified through a JWKS URL', () => {
  let world: World;
  let jwksServer: Server;
  let jwksHits = 0;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let partnerId: string;
  let operatorId: string;
  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    const ec = await generateKeyPair('ES256');
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwksServer = createServer((_req, res) => {
      jwksHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
    // One JWKS for both kinds: the tokens say which kind they are (tests/token-kinds.test.ts).
    world = await createWorld({ APP_TOKEN_JWKS_URL: url, USER_TOKEN_JWKS_URL: url });
    partnerId = (await world.partner('JWKS partner')).id;
    operatorId = (await world.operator(['VIEWER'], [partnerId])).id;
  });
  afterAll(async () => {
    await world?.close();
    await new Promise((resolve) => jwksServer?.close(resolve));
  });

  const balance = (headers: Headers) => world.http.get(`${world.rest(partnerId)}/balance`).set(headers);
  const rs = (options: SignOptions = {}) => sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1', ...options });

  test('RS256 tokens whose keys the JWKS publishes → 200', async () => {
    const res = await balance(
      bearer(await rs({ kind: 'app', sub: 'app' }), await rs({ kind: 'user', sub: operatorId })),
    );
    expect(res.status).toBe(200);
    expect(res.body.clientId).toBe(partnerId);
    expect(jwksHits).toBeGreaterThan(0);
  });

  const JWKS_REASONS: Record<string, ['app' | 'user', string]> = {
    'an RS256 token signed by a key the JWKS does not hold (same kid)': ['user', 'bad_signature'],
    'an HS256 token (the development secret)': ['user', 'bad_signature'],
    'an expired RS256 token': ['user', 'expired'],
    'an RS256 token without exp': ['app', 'malformed'],
    'an unknown kid': ['user', 'bad_signature'],
  };

  test.each<[string, () => Promise<Headers>]>([
    [
      'an RS256 token signed by a key the JWKS does not hold (same kid)',
      async () => {
        const stranger = await generateKeyPair('RS256');
        return bearer(
          await rs({ kind: 'app', sub: 'app' }),
          await sign(stranger.privateKey, { alg: 'RS256', kid: 'rsa-1', kind: 'user', sub: operatorId }),
        );
      },
    ],
    [
      'an HS256 token (the development secret)',
      async () =>
        bearer(
          await rs({ kind: 'app', sub: 'app' }),
          await sign(secret(DEV_USER_TOKEN_SECRET), { sub: operatorId }),
        ),
    ],
    [
      'an expired RS256 token',
      async () =>
        bearer(
          await rs({ kind: 'app', sub: 'app' }),
          await rs({ kind: 'user', sub: operatorId, exp: now() - 60 }),
        ),
    ],
    [
      'an RS256 token without exp',
      async () =>
        bearer(await rs({ kind: 'app', sub: 'app', exp: null }), await rs({ kind: 'user', sub: operatorId })),
    ],
    [
      'an unknown kid',
      async () =>
        bearer(
          await rs({ kind: 'app', sub: 'app' }),
          await rs({ kind: 'user', sub: operatorId, kid: 'nope' }),
        ),
    ],
  ])('%s → 401', async (name, headers) => {
    const [token, reason] = JWKS_REASONS[name];
    expect401(await balance(await headers()), token, reason);
  });

  test('the world cannot mint tokens without a secret', async () => {
    await expect(world.headers(operatorId)).rejects.toThrow(/public keys/);
  });
});

describe('with PEM keys (RS256 application, ES256 user), issuer and audience enforced', () => {
  const ISSUER = 'https://idp.example.test/';
  const AUDIENCE = 'process-requests';
  let world: World;
  let appKey: KeyLike;
  let userKey: KeyLike;
  let partnerId: string;
  let operatorId: string;
  beforeAll(async () => {
    const app = await generateKeyPair('RS256');
    const user = await generateKeyPair('ES256');
    appKey = app.privateKey;
    userKey = user.privateKey;
    world = await createWorld({
      APP_TOKEN_PUBLIC_KEY: await exportSPKI(app.publicKey),
      // As an env file would hold it: one line with escaped newlines.
      USER_TOKEN_PUBLIC_KEY: (await exportSPKI(user.publicKey)).replace(/\n/g, '\\n'),
      TOKEN_ISSUER: ISSUER,
      TOKEN_AUDIENCE: AUDIENCE,
    });
    partnerId = (await world.partner('PEM partner')).id;
    operatorId = (await world.operator(['VIEWER'], [partnerId])).id;
  });
  afterAll(() => world?.close());

  const balance = (headers: Headers) => world.http.get(`${world.rest(partnerId)}/balance`).set(headers);
  const es = (key: KeyLike, options: SignOptions = {}) =>
    sign(key, { alg: 'ES256', iss: ISSUER, aud: AUDIENCE, ...options });
  const rs = (options: SignOptions = {}) =>
    sign(appKey, { alg: 'RS256', iss: ISSUER, aud: AUDIENCE, ...options });
  const appToken = () => rs({ sub: 'app' });

  test('an RS256 application token and an ES256 user token with the right issuer and audience → 200', async () => {
    expect((await balance(bearer(await appToken(), await es(userKey, { sub: operatorId })))).status).toBe(
      200,
    );
  });

  const PEM_REASONS: Record<string, ['app' | 'user', string]> = {
    'a user token without issuer': ['user', 'wrong_issuer'],
    'a user token from another issuer': ['user', 'wrong_issuer'],
    'a user token without audience': ['user', 'wrong_audience'],
    'a user token for another audience': ['user', 'wrong_audience'],
    'an application token for another audience': ['app', 'wrong_audience'],
    'a user token signed with the application key': ['user', 'bad_signature'],
    'an application token signed with the user key': ['app', 'bad_signature'],
    'a user token signed by another P-256 key': ['user', 'bad_signature'],
    'an RS256 user token': ['user', 'bad_signature'],
  };

  test.each<[string, () => Promise<Headers>]>([
    [
      'a user token without issuer',
      async () =>
        bearer(await appToken(), await sign(userKey, { alg: 'ES256', aud: AUDIENCE, sub: operatorId })),
    ],
    [
      'a user token from another issuer',
      async () => bearer(await appToken(), await es(userKey, { sub: operatorId, iss: 'https://evil.test/' })),
    ],
    [
      'a user token without audience',
      async () =>
        bearer(await appToken(), await sign(userKey, { alg: 'ES256', iss: ISSUER, sub: operatorId })),
    ],
    [
      'a user token for another audience',
      async () => bearer(await appToken(), await es(userKey, { sub: operatorId, aud: 'other-api' })),
    ],
    [
      'an application token for another audience',
      async () => bearer(await rs({ aud: 'other-api' }), await es(userKey, { sub: operatorId })),
    ],
    [
      'a user token signed with the application key',
      async () => bearer(await appToken(), await rs({ sub: operatorId })),
    ],
    [
      'an application token signed with the user key',
      async () => bearer(await es(userKey, { sub: 'app' }), await es(userKey, { sub: operatorId })),
    ],
    [
      'a user token signed by another P-256 key',
      async () =>
        bearer(await appToken(), await es((await generateKeyPair('ES256')).privateKey, { sub: operatorId })),
    ],
    [
      'an RS256 user token',
      async () =>
        bearer(
          await appToken(),
          await sign((await generateKeyPair('RS256')).privateKey, {
            alg: 'RS256',
            iss: ISSUER,
            aud: AUDIENCE,
            sub: operatorId,
          }),
        ),
    ],
  ])('%s → 401', async (name, headers) => {
    const [token, reason] = PEM_REASONS[name];
    expect401(await balance(await headers()), token, reason);
  });
});

describe('issuer and audience with HS256 secrets', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld({ TOKEN_ISSUER: 'cms', TOKEN_AUDIENCE: 'payments' });
  });
  afterAll(() => world?.close());

  test('tokens carrying them pass; the same tokens without them do not', async () => {
    const partner = await world.partner('Iss partner');
    const op = await world.operator(['VIEWER'], [partner.id]);
    // mintToken (world.headers) sets iss and aud from the configuration.
    expect(
      (await world.http.get(`${world.rest(partner.id)}/balance`).set(await world.headers(op))).status,
    ).toBe(200);
    const bare = bearer(
      await sign(secret(DEV_APP_TOKEN_SECRET), { sub: 'app' }),
      await sign(secret(DEV_USER_TOKEN_SECRET), { sub: op.id }),
    );
    expect401(await world.http.get(`${world.rest(partner.id)}/balance`).set(bare), 'app', 'wrong_issuer');
  });
});
