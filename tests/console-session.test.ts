// The console's service side over real HTTP: POST /console/session, the operator-bound application token
// it returns, the page's Content-Security-Policy, the inbox filter `decidableByMe`, and the configuration.
import { decodeJwt, SignJWT } from 'jose';
import supertest from 'supertest';
import { mintToken } from '../src/auth/dev-tokens';
import { ConfigError, loadConfig } from '../src/config';
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
    expect({ status: other.status, code: other.errors?.[0].extensions?.code }).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    // Over REST as well.
    const rest = await world.http.get(`${world.rest(team.partner.id)}/balance`).set({
      authorization: `Bearer ${token}`,
      'x-user-token': `Bearer ${await userToken(team.maker.subject)}`,
    });
    expect(rest.status).toBe(401);
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
    expect(res.status).toBe(401);
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
