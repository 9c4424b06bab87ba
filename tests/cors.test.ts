// CORS (SPEC section 15): an allow-list from CORS_ORIGINS, on /graphql and the REST facade, preflight
// included, over real HTTP.
import { CORS_ALLOWED_HEADERS } from '../src/rest/cors';
import { createWorld, type Team, type World } from './support/world';

const ADMIN_APP = 'https://admin.example.com';
const OTHER_APP = 'http://localhost:5173';
const STRANGER = 'https://evil.example.net';

let world: World;
let team: Team;
beforeAll(async () => {
  world = await createWorld({ CORS_ORIGINS: ` ${ADMIN_APP}, ${OTHER_APP} ` });
  team = await world.team();
});
afterAll(() => world?.close());

const corsHeaders = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('access-control-')));

describe('an allowed origin', () => {
  test.each([ADMIN_APP, OTHER_APP])('%s gets the CORS headers on a REST call', async (origin) => {
    const res = await world.http
      .get(`${world.rest(team.partner.id)}/balance`)
      .set(await world.headers(team.viewer))
      .set('Origin', origin);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers['access-control-expose-headers']).toBe('x-request-id,retry-after');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers.vary).toMatch(/Origin/);
  });

  test('gets them on /graphql, and on a refusal too (so the app can read the error)', async () => {
    const ok = await world.http
      .post('/graphql')
      .set(await world.headers(team.viewer))
      .set('Origin', ADMIN_APP)
      .send({ query: '{ me { id } }' });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(ADMIN_APP);

    const refused = await world.http.get(`${world.rest(team.partner.id)}/balance`).set('Origin', ADMIN_APP);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('UNAUTHENTICATED');
    expect(refused.headers['access-control-allow-origin']).toBe(ADMIN_APP);
    expect(refused.headers['access-control-expose-headers']).toBe('x-request-id,retry-after');
  });

  test.each(['/graphql', '/cms/rest/app/partners/7c9e6679-7425-40de-944b-e07fc1f90ae7/process-request'])(
    'a preflight for %s is answered 204 with the methods and every header clients send',
    async (path) => {
      const res = await world.http
        .options(path)
        .set('Origin', ADMIN_APP)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,x-user-token,content-type,idempotency-key');
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(ADMIN_APP);
      expect(res.headers['access-control-allow-methods']).toBe('GET,HEAD,POST,PUT,PATCH');
      expect(res.headers['access-control-allow-headers'].split(',')).toEqual(CORS_ALLOWED_HEADERS);
      expect(res.headers['access-control-max-age']).toBe('600');
      for (const header of [
        'authorization',
        'x-user-token',
        'content-type',
        'idempotency-key',
        'apollo-require-preflight',
        'last-event-id',
        'x-request-id',
      ])
        expect(CORS_ALLOWED_HEADERS).toContain(header);
    },
  );
});

describe('an origin not in the list', () => {
  test('gets no CORS header on a REST call or on /graphql (the browser withholds the answer)', async () => {
    const rest = await world.http
      .get(`${world.rest(team.partner.id)}/balance`)
      .set(await world.headers(team.viewer))
      .set('Origin', STRANGER);
    expect(rest.status).toBe(200);
    expect(corsHeaders(rest.headers)).toEqual({});

    const gql = await world.http
      .post('/graphql')
      .set(await world.headers(team.viewer))
      .set('Origin', STRANGER)
      .send({ query: '{ me { id } }' });
    expect(corsHeaders(gql.headers)).toEqual({});
  });

  test.each([STRANGER, 'https://admin.example.com.evil.net', 'http://admin.example.com', 'null'])(
    'a preflight from %s gets no CORS header',
    async (origin) => {
      const res = await world.http
        .options('/graphql')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST');
      // OPTIONS on a known path is answered (204 with Allow) like any caller's; no CORS header lets a browser use it.
      expect(res.status).toBeLessThan(500);
      expect(corsHeaders(res.headers)).toEqual({});
    },
  );

  test('paths outside /graphql and the REST facade never get CORS headers', async () => {
    const res = await world.http.get('/healthz').set('Origin', ADMIN_APP);
    expect(res.status).toBe(200);
    expect(corsHeaders(res.headers)).toEqual({});
  });
});

test('with CORS_ORIGINS unset nothing is allowed cross-origin', async () => {
  const plain = await createWorld();
  try {
    const res = await plain.http
      .options('/graphql')
      .set('Origin', ADMIN_APP)
      .set('Access-Control-Request-Method', 'POST');
    expect(corsHeaders(res.headers)).toEqual({});
    const post = await plain.http
      .post('/graphql')
      .set('Origin', ADMIN_APP)
      .set('Content-Type', 'application/json')
      .send({ query: '{ __typename }' });
    expect(post.status).toBe(401);
    expect(corsHeaders(post.headers)).toEqual({});
  } finally {
    await plain.close();
  }
});
