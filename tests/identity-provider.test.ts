// Operator tokens from an outside identity provider (docs/configuration.md, "Outside identity providers"): the provider
// signs, the service finds the operator whose `subject` equals USER_TOKEN_SUBJECT_CLAIM's claim, and the
// CLI (operator:create/update --subject, operator:update, operator:deactivate/activate) decides what that
// operator may do on the next call. Real keys, a real JWKS endpoint, real HTTP; the CLI runs in-process.
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mintToken } from '../src/auth/dev-tokens';
import { runCli } from '../src/cli/run';
import { PDF } from './support/files';
import { createWorld, type World } from './support/world';

type Headers = Record<string, string>;
const now = () => Math.floor(Date.now() / 1000);
const email = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}@idp.test`;

/** Runs a CLI command against the world's database; returns the one JSON object it printed. */
async function cli(world: World, ...argv: string[]): Promise<Record<string, unknown>> {
  const result = await runCli(argv, {
    NODE_ENV: 'test',
    DATABASE_URL: world.databaseUrl,
    LOG_LEVEL: 'silent',
  });
  expect({ argv, code: result.code, stderr: result.stderr }).toEqual({ argv, code: 0, stderr: '' });
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

async function cliFails(world: World, ...argv: string[]): Promise<string> {
  const result = await runCli(argv, {
    NODE_ENV: 'test',
    DATABASE_URL: world.databaseUrl,
    LOG_LEVEL: 'silent',
  });
  expect({ argv, failed: result.code !== 0, stdout: result.stdout }).toEqual({
    argv,
    failed: true,
    stdout: '',
  });
  return result.stderr;
}

/** The application token: the development HS256 secret, with the world's issuer and audience. */
async function headers(world: World, userToken: string): Promise<Headers> {
  const app = await mintToken(world.app.config, 'app', 'back-office', 600);
  return { authorization: `Bearer ${app}`, 'x-user-token': `Bearer ${userToken}` };
}

describe('Entra ID style: RS256 through a JWKS URL, USER_TOKEN_SUBJECT_CLAIM=oid', () => {
  const TENANT = randomUUID();
  const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
  const AUDIENCE = 'api://process-requests';
  let world: World;
  let jwks: Server;
  let key: KeyLike;
  let partnerId: string;
  let otherPartnerId: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    key = pair.privateKey;
    const published = {
      keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'entra-1', alg: 'RS256', use: 'sig' }],
    };
    jwks = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published)),
    );
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    world = await createWorld({
      USER_TOKEN_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/${TENANT}/discovery/v2.0/keys`,
      USER_TOKEN_SUBJECT_CLAIM: 'oid',
      TOKEN_ISSUER: ISSUER,
      TOKEN_AUDIENCE: AUDIENCE,
    });
    partnerId = (await cli(world, 'partner:create', '--name', 'Contoso', '--currency', 'USD')).id as string;
    otherPartnerId = (await cli(world, 'partner:create', '--name', 'Fabrikam', '--currency', 'USD'))
      .id as string;
  });
  afterAll(async () => {
    await world?.close();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  /** An access token as Entra ID issues one: pairwise `sub`, the object id in `oid`, no `kind`. */
  const entraToken = (claims: Record<string, unknown>) =>
    new SignJWT({ tid: TENANT, ver: '2.0', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'entra-1', typ: 'JWT' })
      .setSubject(`pairwise-${randomBytes(6).toString('hex')}`)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(now() + 600)
      .sign(key);
  const balance = async (token: string, partner = partnerId) =>
    world.http.get(`${world.rest(partner)}/balance`).set(await headers(world, token));

  test('before operator:update --subject the token is 401; after it, the same token acts as that operator', async () => {
    const address = email('grace');
    const created = await cli(
      world,
      'operator:create',
      '--email',
      address,
      '--name',
      'Grace',
      '--roles',
      'VIEWER',
      '--partners',
      partnerId,
    );
    // Without --subject the subject is the operator id: the provider's oid names nobody yet.
    expect((await cli(world, 'operator:show', '--operator', address)).subject).toBe(created.id);
    const oid = randomUUID();
    const token = await entraToken({ oid, email: address });
    const refused = await balance(token);
    expect({ status: refused.status, code: refused.body.code }).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
    });

    expect(await cli(world, 'operator:update', '--operator', address, '--subject', oid)).toMatchObject({
      id: created.id,
      subject: oid,
      roles: ['VIEWER'],
      partnerIds: [partnerId],
      active: true,
    });
    const accepted = await balance(token);
    expect({ status: accepted.status, clientId: accepted.body.clientId }).toEqual({
      status: 200,
      clientId: partnerId,
    });
    const me = await world.http
      .post('/graphql')
      .set(await headers(world, token))
      .send({ query: '{ me { id email roles } }' });
    expect(me.body).toEqual({ data: { me: { id: created.id, email: address, roles: ['VIEWER'] } } });
  });

  test('operator:create --subject is accepted at once; a token without the claim, or naming another oid, is 401', async () => {
    const oid = randomUUID();
    const created = await cli(
      world,
      'operator:create',
      '--email',
      email('hana'),
      '--name',
      'Hana',
      '--roles',
      'VIEWER',
      '--partners',
      partnerId,
      '--subject',
      oid,
    );
    expect(created.subject).toBe(oid);
    expect((await balance(await entraToken({ oid }))).status).toBe(200);

    // The operator id in `sub` (what the CLI's tokens carry) means nothing when the claim is oid.
    const bySub = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'entra-1' })
      .setSubject(created.id as string)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 600)
      .sign(key);
    const noClaim = await balance(bySub);
    expect({ status: noClaim.status, message: noClaim.body.message, details: noClaim.body.details }).toEqual({
      status: 401,
      message: "The user token (x-user-token) has no usable 'oid' claim (USER_TOKEN_SUBJECT_CLAIM)",
      details: { token: 'user', header: 'x-user-token', reason: 'malformed' },
    });
    const stranger = await balance(await entraToken({ oid: randomUUID() }));
    expect([stranger.status, stranger.body.details?.reason]).toEqual([401, 'unknown_subject']);
    expect((await balance(await entraToken({ oid: oid.toUpperCase() }))).status).toBe(401); // compared exactly
  });

  test('a subject another operator holds is refused by operator:create and operator:update, changing nothing', async () => {
    const oid = randomUUID();
    const holder = await cli(
      world,
      'operator:create',
      '--email',
      email('first'),
      '--name',
      'First',
      '--roles',
      'VIEWER',
      '--partners',
      partnerId,
      '--subject',
      oid,
    );
    const second = email('second');
    expect(
      await cliFails(
        world,
        'operator:create',
        '--email',
        second,
        '--name',
        'Second',
        '--roles',
        'ADMIN',
        '--all-partners',
        '--subject',
        oid,
      ),
    ).toMatch(/VALIDATION_FAILED: .*subject/);
    expect(await world.sql('select count(*)::int as n from operator where email = ?', [second])).toEqual([
      { n: 0 },
    ]);

    const other = await cli(
      world,
      'operator:create',
      '--email',
      email('other'),
      '--name',
      'Other',
      '--roles',
      'VIEWER',
      '--partners',
      partnerId,
    );
    expect(
      await cliFails(world, 'operator:update', '--operator', other.id as string, '--subject', oid),
    ).toMatch(/VALIDATION_FAILED: .*subject/);
    expect((await cli(world, 'operator:show', '--operator', other.id as string)).subject).toBe(other.id);
    // The holder still signs in with it.
    expect((await balance(await entraToken({ oid }))).status).toBe(200);
    expect(holder.subject).toBe(oid);
  });

  test('deactivation, roles, partners and approval limits changed with the CLI act on the next call with the same token', async () => {
    const oid = randomUUID();
    const address = email('ivan');
    await cli(
      world,
      'operator:create',
      '--email',
      address,
      '--name',
      'Ivan',
      '--roles',
      'VIEWER',
      '--partners',
      partnerId,
      '--subject',
      oid,
    );
    const token = await entraToken({ oid });
    expect((await balance(token)).status).toBe(200);

    // Deactivated: 403 on the next call; activated again: back.
    expect(await cli(world, 'operator:deactivate', '--operator', address)).toEqual({
      id: expect.any(String),
      active: false,
    });
    const inactive = await balance(token);
    expect({ status: inactive.status, code: inactive.body.code }).toEqual({
      status: 403,
      code: 'OPERATOR_INACTIVE',
    });
    expect(await cli(world, 'operator:activate', '--operator', address)).toEqual({
      id: expect.any(String),
      active: true,
    });
    expect((await balance(token)).status).toBe(200);

    // Roles: a VIEWER cannot file a request; made a MAKER, it can.
    const create = async () =>
      world.http
        .post(`${world.rest(partnerId)}/process-request`)
        .set(await headers(world, token))
        .field('requestedAmount', '500')
        .attach('evidence', PDF, 'receipt.pdf');
    expect((await create()).body.code).toBe('FORBIDDEN');
    expect(
      (await cli(world, 'operator:update', '--operator', address, '--roles', 'MAKER,VIEWER')).roles,
    ).toEqual(['MAKER', 'VIEWER']);
    const filed = await create();
    expect(filed.status).toBe(201);

    // Partners: moved to another partner, the first is out of scope; every partner, both are in.
    await cli(world, 'operator:update', '--operator', address, '--partners', otherPartnerId);
    const outside = await balance(token);
    expect({ status: outside.status, code: outside.body.code }).toEqual({
      status: 403,
      code: 'PARTNER_FORBIDDEN',
    });
    expect((await balance(token, otherPartnerId)).status).toBe(200);
    expect(
      (await cli(world, 'operator:update', '--operator', address, '--all-partners')).partnerIds,
    ).toBeNull();
    expect((await balance(token)).status).toBe(200);

    // Approval limits: a checker limited to USD 100 cannot approve 500; without a limit it can.
    const checkerOid = randomUUID();
    const checker = email('judy');
    await cli(
      world,
      'operator:create',
      '--email',
      checker,
      '--name',
      'Judy',
      '--roles',
      'CHECKER',
      '--partners',
      partnerId,
      '--subject',
      checkerOid,
    );
    expect(
      (await cli(world, 'operator:update', '--operator', checker, '--approval-limit', 'USD:100'))
        .approvalLimits,
    ).toEqual({ USD: '100' });
    const approve = async () =>
      world.http
        .patch(`${world.rest(partnerId)}/process-request/${filed.body.id}/approve`)
        .set(await headers(world, await entraToken({ oid: checkerOid })));
    expect((await approve()).body.code).toBe('APPROVAL_LIMIT_EXCEEDED');
    expect(
      (await cli(world, 'operator:update', '--operator', checker, '--approval-limit', 'none')).approvalLimits,
    ).toBeNull();
    expect((await approve()).status).toBe(204);
  });
});

describe('a provider naming people by email: ES256 PEM key, USER_TOKEN_SUBJECT_CLAIM=email', () => {
  let world: World;
  let key: KeyLike;
  let partnerId: string;
  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    world = await createWorld({
      USER_TOKEN_PUBLIC_KEY: await exportSPKI(pair.publicKey),
      USER_TOKEN_SUBJECT_CLAIM: 'email',
    });
    partnerId = (await cli(world, 'partner:create', '--name', 'Email partner', '--currency', 'EUR'))
      .id as string;
  });
  afterAll(() => world?.close());

  const token = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuedAt()
      .setExpirationTime(now() + 600)
      .sign(key);
  const balance = async (userToken: string) =>
    world.http.get(`${world.rest(partnerId)}/balance`).set(await headers(world, userToken));

  test("the token's email names the operator whose subject it is; nothing else does", async () => {
    const created = await cli(
      world,
      'operator:create',
      '--email',
      'kim@back-office.test',
      '--name',
      'Kim',
      '--roles',
      'VIEWER',
      '--partners',
      partnerId,
      '--subject',
      'kim@example.com',
    );
    expect((await balance(await token({ email: 'kim@example.com', sub: 'abc' }))).status).toBe(200);
    // E-mail-like subjects are compared without case (issue 17); not the operator's own email, not the
    // operator id in sub.
    expect((await balance(await token({ email: 'Kim@Example.com' }))).status).toBe(200);
    expect((await balance(await token({ email: 'kim@back-office.test' }))).status).toBe(401);
    expect((await balance(await token({ sub: created.id }))).status).toBe(401);
  });
});

describe('the default claim (sub): the subject is the operator id', () => {
  let world: World;
  let partnerId: string;
  beforeAll(async () => {
    world = await createWorld();
    partnerId = (await world.partner('Default claim partner')).id;
  });
  afterAll(() => world?.close());

  test('tokens minted before subjects existed keep working; a new subject moves the operator to it', async () => {
    const operator = await world.operator(['VIEWER'], [partnerId]);
    expect(operator.subject).toBe(operator.id);
    const old = await world.headers(operator.id); // `sub` = the operator id, as every token minted so far
    const balance = (h: Headers) => world.http.get(`${world.rest(partnerId)}/balance`).set(h);
    expect((await balance(old)).status).toBe(200);

    await cli(world, 'operator:update', '--operator', operator.id, '--subject', 'auth0|65f0c1d2e3');
    expect((await balance(old)).status).toBe(401);
    // token:user mints for the subject now stored.
    const { token } = await cli(world, 'token:user', '--operator', operator.id);
    const payload = JSON.parse(Buffer.from((token as string).split('.')[1], 'base64url').toString()) as {
      sub: string;
    };
    expect(payload.sub).toBe('auth0|65f0c1d2e3');
    expect(
      (await balance({ authorization: old.authorization, 'x-user-token': `Bearer ${token as string}` }))
        .status,
    ).toBe(200);
  });
});
