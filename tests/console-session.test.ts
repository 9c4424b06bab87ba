// The console's service side over real HTTP: POST /console/session, the operator-bound application token
// it returns, the page's Content-Security-Policy, the inbox filter `decidableByMe`, and the configuration.
import { decodeJwt, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import { mintToken } from '../src/auth/dev-tokens';
import { ConfigError, DEV_USER_TOKEN_SECRET, loadConfig } from '../src/config';
import { consoleCsp } from '../src/rest/console.routes';
import { CONSOLE_AUDIENCE, CONSOLE_ISSUER } from '../src/services/identity/console-session.service';
import { PRODUCTION_ENV } from './support/production-env';
import { gqlHttp } from './support/step-up';
import { createWorld, type Team, type World } from './support/world';

let world: World;
let team: Team;
/** The console's routes are not part of the REST API document: plain supertest, not world.http. */
let http: ReturnType<typeof supertest>;

beforeAll(async () => {
  world = await createWorld();
  team = await world.team();
  http = supertest(world.baseUrl);
});
afterAll(() => world?.close());

const userToken = (subject: string) => mintToken(world.app.config, 'user', subject, 3600);

async function openSession(subject: string) {
  return http.post('/console/session').set('x-user-token', `Bearer ${await userToken(subject)}`);
}

/** A user token signed with the development secret, with exactly the claims given. */
const signedUser = (claims: Record<string, unknown>) =>
  new SignJWT({ kind: 'user', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(DEV_USER_TOKEN_SECRET));

/** A 401 names the token and the reason, in the body and in RFC 6750's WWW-Authenticate (SPEC section 20). */
function expect401(
  res: { status: number; body: Record<string, unknown>; headers: Record<string, string> },
  token: 'app' | 'user',
  reason: string,
) {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 401,
    body: {
      statusCode: 401,
      code: 'UNAUTHENTICATED',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
      details: { token, header: token === 'app' ? 'Authorization' : 'x-user-token', reason },
    },
  });
  expect(res.headers['www-authenticate']).toBe(
    `Bearer error="invalid_token", error_description="${res.body.message}"`,
  );
}

describe('POST /console/session', () => {
  test('trades a user token for a short-lived application token of audience console, bound to the operator', async () => {
    const res = await openSession(team.checker.subject);
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.operatorId).toBe(team.checker.id);
    const claims = decodeJwt(res.body.token);
    expect(claims).toMatchObject({ aud: CONSOLE_AUDIENCE, iss: CONSOLE_ISSUER, op: team.checker.subject });
    expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(15 * 60);
    expect(Date.parse(res.body.expiresAt)).toBe((claims.exp as number) * 1000);
  });

  test('is 401 without a valid user token, and 403 for a deactivated operator', async () => {
    expect((await http.post('/console/session')).status).toBe(401);
    const forged = await new SignJWT({ kind: 'user' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(team.checker.subject)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'));
    const res = await http.post('/console/session').set('x-user-token', `Bearer ${forged}`);
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    const gone = await world.operator(['CHECKER'], [team.partner.id]);
    await world.sql('update operator set active = false where id = ?', [gone.id]);
    const inactive = await openSession(gone.subject);
    expect({ status: inactive.status, code: inactive.body.code }).toEqual({
      status: 403,
      code: 'OPERATOR_INACTIVE',
    });
  });

  const now = () => Math.floor(Date.now() / 1000);
  const refusals: Array<[string, () => Promise<string | undefined>, string]> = [
    ['no x-user-token', async () => undefined, 'missing'],
    ['an empty Bearer', async () => 'Bearer ', 'missing'],
    ['a lowercase bearer', async () => `bearer ${await userToken(team.checker.subject)}`, 'malformed'],
    ['a token over 8192 characters', async () => `Bearer ${'a'.repeat(8193)}`, 'malformed'],
    [
      'an expired user token',
      async () => `Bearer ${await signedUser({ sub: team.checker.subject, exp: now() - 60 })}`,
      'expired',
    ],
    [
      'a user token naming no operator',
      async () => `Bearer ${await signedUser({ sub: randomUUID(), exp: now() + 600 })}`,
      'unknown_subject',
    ],
  ];
  test.each(refusals)('%s → 401 naming the user token and the reason', async (_name, header, reason) => {
    const value = await header();
    const res = await (value === undefined
      ? http.post('/console/session')
      : http.post('/console/session').set('x-user-token', value));
    expect401(res, 'user', reason);
  });

  test("the console token works only with its own operator's user token", async () => {
    const { token } = (await openSession(team.checker.subject)).body;
    const me = 'query { me { id } }';
    const own = await gqlHttp(
      world,
      { authorization: `Bearer ${token}`, 'x-user-token': `Bearer ${await userToken(team.checker.subject)}` },
      me,
    );
    expect(own.data).toEqual({ me: { id: team.checker.id } });
    const other = await gqlHttp(
      world,
      { authorization: `Bearer ${token}`, 'x-user-token': `Bearer ${await userToken(team.maker.subject)}` },
      me,
    );
    expect({ status: other.status, extensions: other.errors?.[0].extensions }).toMatchObject({
      status: 401,
      extensions: { code: 'UNAUTHENTICATED', details: { token: 'app', reason: 'wrong_audience' } },
    });
    // Over REST as well.
    const rest = await world.http.get(`${world.rest(team.partner.id)}/balance`).set({
      authorization: `Bearer ${token}`,
      'x-user-token': `Bearer ${await userToken(team.maker.subject)}`,
    });
    expect401(rest, 'app', 'wrong_audience');
  });

  test('an expired console token is 401 naming the application token, expired', async () => {
    const expired = await new SignJWT({ kind: 'app', op: team.checker.subject })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(CONSOLE_ISSUER)
      .setAudience(CONSOLE_AUDIENCE)
      .setIssuedAt(now() - 300)
      .setExpirationTime(now() - 60)
      .sign(new TextEncoder().encode(world.app.config.console.sessionSecret));
    const res = await world.http.get(`${world.rest(team.partner.id)}/balance`).set({
      authorization: `Bearer ${expired}`,
      'x-user-token': `Bearer ${await userToken(team.checker.subject)}`,
    });
    expect401(res, 'app', 'expired');
  });

  test('a console token signed with another key is refused', async () => {
    const fake = await new SignJWT({ kind: 'app', op: team.checker.subject })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(CONSOLE_ISSUER)
      .setAudience(CONSOLE_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('not-the-console-secret-but-32-bytes-long'));
    const res = await gqlHttp(
      world,
      { authorization: `Bearer ${fake}`, 'x-user-token': `Bearer ${await userToken(team.checker.subject)}` },
      'query { me { id } }',
    );
    expect({ status: res.status, extensions: res.errors?.[0].extensions }).toMatchObject({
      status: 401,
      extensions: { code: 'UNAUTHENTICATED', details: { token: 'app', reason: 'bad_signature' } },
    });
  });
});

describe('the console page', () => {
  test('is served under a CSP that allows only this service, and the blob origin for the evidence', async () => {
    const res = await http.get('/console');
    const blobOrigin = new URL(world.app.services.store.url('x')).origin;
    expect(res.headers['content-security-policy']).toBe(consoleCsp(blobOrigin));
    expect(res.headers['content-security-policy']).toContain("script-src 'self';");
    expect(res.headers['content-security-policy']).toContain(`img-src 'self' data: ${blobOrigin};`);
    expect(res.headers['content-security-policy']).toContain("connect-src 'self';");
  });

  test('an asset name that is not a built file is 404', async () => {
    expect((await http.get('/console/assets/..%2F..%2Fpackage.json')).status).toBe(404);
    expect((await http.get('/console/assets/nothing.js')).status).toBe(404);
  });

  test("with OpenID Connect configured, the issuer's origin may be called (the code exchange)", () => {
    expect(consoleCsp('http://127.0.0.1:10000', 'http://127.0.0.1:5556/realms/x')).toContain(
      "connect-src 'self' http://127.0.0.1:5556;",
    );
  });
});

describe('processRequests(decidableByMe: true)', () => {
  test('lists what the operator may approve now, with the decision guard', async () => {
    const { partner, maker, checker } = team;
    const mine = await world.createRequest(partner.id, maker, '10.00');
    const big = await world.createRequest(partner.id, maker, '9000.00');
    const done = await world.createRequest(partner.id, maker, '11.00');
    expect((await world.act(partner.id, done, 'cancel', maker)).status).toBe(204);
    await world.sql(`update operator set approval_limits = '{"USD": "5000"}' where id = ?`, [checker.id]);
    const list = `query($c: ID!) { processRequests(clientId: $c, decidableByMe: true, oldestFirst: true) { total items { id } } }`;
    const asChecker = await gqlHttp(world, await world.headers(checker), list, { c: partner.id });
    expect(asChecker.data).toEqual({ processRequests: { total: 1, items: [{ id: mine }] } });
    // The maker may not review: nothing. Amount filters are inclusive.
    const asMaker = await gqlHttp(world, await world.headers(maker), list, { c: partner.id });
    expect(asMaker.data).toEqual({ processRequests: { total: 0, items: [] } });
    const ranged = await gqlHttp(
      world,
      await world.headers(checker),
      `query($c: ID!) { processRequests(clientId: $c, minAmount: "11.00", maxAmount: "9000") { items { id } } }`,
      { c: partner.id },
    );
    // Newest first by default.
    expect(ranged.data).toEqual({ processRequests: { items: [{ id: done }, { id: big }] } });
  });
});

describe('configuration', () => {
  test('production refuses the development console secret while the console is on', () => {
    expect(() => loadConfig({ ...PRODUCTION_ENV, CONSOLE: 'true' })).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([expect.stringMatching(/^CONSOLE_SESSION_SECRET:/)]),
      }),
    );
    expect(loadConfig({ ...PRODUCTION_ENV }).console.enabled).toBe(false);
    const on = loadConfig({ ...PRODUCTION_ENV, CONSOLE: 'true', CONSOLE_SESSION_SECRET: 'x'.repeat(40) });
    expect(on.console).toMatchObject({ enabled: true, sessionSecretIsDevelopment: false });
    expect(loadConfig({ NODE_ENV: 'development' }).console.enabled).toBe(true);
    expect(() => loadConfig({ CONSOLE_OIDC_ISSUER: 'http://127.0.0.1:5556' })).toThrow(ConfigError);
  });
});
