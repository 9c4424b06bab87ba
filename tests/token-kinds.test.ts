// Application and user tokens are told apart (issue 8, "Smaller weaknesses"): a user token is never
// accepted as the application token, nor the reverse, whether the two kinds have their own keys or
// share one (one JWKS, two JWKS URLs publishing the same key, one PEM key). Over REST and GraphQL.
// REPORT=1 prints every answer.
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, DEV_APP_TOKEN_SECRET, DEV_USER_TOKEN_SECRET, loadConfig } from '../src/config';
import { createWorld, type World } from './support/world';

type Headers = Record<string, string>;
const report: string[] = [];
const note = (line: string) => report.push(line);
afterAll(() => {
  if (process.env.REPORT) console.log(report.join('\n'));
});

/** A JWT as an identity provider signs it; `kind` left out when undefined. */
async function sign(key: KeyLike | Uint8Array, alg: string, claims: { sub: string; kind?: unknown }) {
  return new SignJWT(claims.kind === undefined ? {} : { kind: claims.kind })
    .setProtectedHeader({ alg, typ: 'JWT', ...(alg === 'RS256' ? { kid: 'shared-1' } : {}) })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
    .sign(key);
}

const bearer = (app: string, user: string): Headers => ({
  authorization: `Bearer ${app}`,
  'x-user-token': `Bearer ${user}`,
});

/** The same credentials on both doors: REST's status and code, GraphQL's. */
async function call(world: World, partnerId: string, headers: Headers) {
  const rest = await world.http.get(`${world.rest(partnerId)}/balance`).set(headers);
  const gql = await world.http
    .post('/graphql')
    .set(headers)
    .set('content-type', 'application/json')
    .send(JSON.stringify({ query: '{ me { id } }' }));
  return {
    rest: `${rest.status} ${rest.body.code ?? ''}`.trim(),
    graphql: `${gql.status} ${gql.body.errors?.[0]?.extensions?.code ?? ''}`.trim(),
  };
}
const OK = { rest: '200', graphql: '200' };
const REFUSED = { rest: '401 UNAUTHENTICATED', graphql: '401 UNAUTHENTICATED' };

interface Setup {
  world: World;
  partnerId: string;
  operatorId: string;
  app: (claims: { sub: string; kind?: unknown }) => Promise<string>;
  user: (claims: { sub: string; kind?: unknown }) => Promise<string>;
}

/** The cases every configuration must answer alike. */
function commonCases(label: string, setup: () => Setup) {
  const cases: Array<[string, (s: Setup) => Promise<Headers>, typeof OK]> = [
    [
      'tokens that say their kind',
      async (s) =>
        bearer(await s.app({ sub: 'app', kind: 'app' }), await s.user({ sub: s.operatorId, kind: 'user' })),
      OK,
    ],
    [
      'the user token given as the application token too',
      async (s) => {
        const user = await s.user({ sub: s.operatorId, kind: 'user' });
        return bearer(user, user);
      },
      REFUSED,
    ],
    [
      'an application token given as the user token (its sub an operator)',
      async (s) => {
        const app = await s.app({ sub: s.operatorId, kind: 'app' });
        return bearer(app, app);
      },
      REFUSED,
    ],
    [
      'the two tokens swapped',
      async (s) =>
        bearer(
          await s.user({ sub: s.operatorId, kind: 'user' }),
          await s.app({ sub: s.operatorId, kind: 'app' }),
        ),
      REFUSED,
    ],
    [
      'an application-key token saying kind "user" as the application token',
      async (s) =>
        bearer(await s.app({ sub: 'app', kind: 'user' }), await s.user({ sub: s.operatorId, kind: 'user' })),
      REFUSED,
    ],
    [
      'a user-key token saying kind "app" as the user token',
      async (s) =>
        bearer(await s.app({ sub: 'app', kind: 'app' }), await s.user({ sub: s.operatorId, kind: 'app' })),
      REFUSED,
    ],
    [
      'a kind that is neither',
      async (s) =>
        bearer(await s.app({ sub: 'app', kind: 'admin' }), await s.user({ sub: s.operatorId, kind: 'user' })),
      REFUSED,
    ],
    [
      'a kind that is a list',
      async (s) =>
        bearer(await s.app({ sub: 'app', kind: ['app'] }), await s.user({ sub: s.operatorId, kind: 'user' })),
      REFUSED,
    ],
  ];
  test.each(cases)(`${label} · %s`, async (name, headers, expected) => {
    const s = setup();
    const answer = await call(s.world, s.partnerId, await headers(s));
    note(`${label} · ${name}: REST ${answer.rest}, GraphQL ${answer.graphql}`);
    expect(answer).toEqual(expected);
  });
}

async function worldWith(env: Record<string, string>) {
  const world = await createWorld(env);
  const partnerId = (await world.partner('Kinds')).id;
  const operatorId = (await world.operator(['VIEWER'], [partnerId])).id;
  return { world, partnerId, operatorId };
}

describe('HS256: a secret per kind', () => {
  let s: Setup;
  beforeAll(async () => {
    const base = await worldWith({});
    const key = (secret: string) => new TextEncoder().encode(secret);
    s = {
      ...base,
      app: (claims) => sign(key(DEV_APP_TOKEN_SECRET), 'HS256', claims),
      user: (claims) => sign(key(DEV_USER_TOKEN_SECRET), 'HS256', claims),
    };
  });
  afterAll(() => s?.world.close());
  commonCases('HS256', () => s);

  test('HS256 · tokens without a kind are still accepted: the two secrets already tell them apart', async () => {
    const answer = await call(
      s.world,
      s.partnerId,
      bearer(await s.app({ sub: 'app' }), await s.user({ sub: s.operatorId })),
    );
    note(`HS256 · tokens without a kind: REST ${answer.rest}, GraphQL ${answer.graphql}`);
    expect(answer).toEqual(OK);
  });

  test('HS256 · the same secret for both kinds is refused at start-up', () => {
    const secret = 'x'.repeat(40);
    let problems: string[] = [];
    try {
      loadConfig({ APP_TOKEN_SECRET: secret, USER_TOKEN_SECRET: secret });
    } catch (e) {
      problems = (e as ConfigError).problems;
    }
    note(
      `HS256 · APP_TOKEN_SECRET = USER_TOKEN_SECRET: ${problems.length ? problems.join('; ') : 'accepted'}`,
    );
    expect(problems).toEqual([
      'USER_TOKEN_SECRET: must differ from APP_TOKEN_SECRET (a user token would pass as the application token)',
    ]);
    expect(() => loadConfig({ APP_TOKEN_SECRET: secret, USER_TOKEN_SECRET: 'y'.repeat(40) })).not.toThrow();
  });
});

/** A JWKS server publishing one RS256 key at two addresses. */
async function jwksServer(publicKey: KeyLike): Promise<{ server: Server; urls: [string, string] }> {
  const keys = [{ ...(await exportJWK(publicKey)), kid: 'shared-1', alg: 'RS256', use: 'sig' }];
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, urls: [`${base}/app/jwks.json`, `${base}/user/jwks.json`] };
}

describe.each([
  ['one JWKS URL for both kinds', 'jwks-same'],
  ['two JWKS URLs publishing the same key', 'jwks-two'],
  ['one PEM key for both kinds', 'pem'],
] as const)('a key shared by both kinds: %s', (label, mode) => {
  let s: Setup;
  let server: Server | undefined;
  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    let env: Record<string, string>;
    if (mode === 'pem') {
      const pem = await exportSPKI(publicKey);
      env = { APP_TOKEN_PUBLIC_KEY: pem, USER_TOKEN_PUBLIC_KEY: pem };
    } else {
      const jwks = await jwksServer(publicKey);
      server = jwks.server;
      env = {
        APP_TOKEN_JWKS_URL: jwks.urls[0],
        USER_TOKEN_JWKS_URL: mode === 'jwks-same' ? jwks.urls[0] : jwks.urls[1],
      };
    }
    const base = await worldWith(env);
    const rs = (claims: { sub: string; kind?: unknown }) => sign(privateKey, 'RS256', claims);
    s = { ...base, app: rs, user: rs };
  });
  afterAll(async () => {
    await s?.world.close();
    if (server) await new Promise((resolve) => server!.close(resolve));
  });
  commonCases(label, () => s);

  test(`${label} · tokens without a kind are refused: nothing else tells them apart`, async () => {
    const answer = await call(
      s.world,
      s.partnerId,
      bearer(await s.app({ sub: 'app' }), await s.user({ sub: s.operatorId })),
    );
    note(`${label} · tokens without a kind: REST ${answer.rest}, GraphQL ${answer.graphql}`);
    expect(answer).toEqual(REFUSED);
  });
});
