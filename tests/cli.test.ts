// The CLI (SPEC section 11), run in-process against the world's database: what it prints, and that what it
// creates works over REST for a real caller.
import { jwtVerify } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { runCli } from '../src/cli/run';
import { PDF } from './support/files';
import { createWorld, type World } from './support/world';

let world: World;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  world = await createWorld();
  env = { NODE_ENV: 'test', DATABASE_URL: world.databaseUrl, LOG_LEVEL: 'silent' };
});
afterAll(() => world?.close());

/** Runs a command and, when it succeeded, returns the one JSON object it printed. */
async function cli(...argv: string[]): Promise<Record<string, unknown>> {
  const result = await runCli(argv, env);
  expect({ argv, code: result.code, stderr: result.stderr }).toEqual({ argv, code: 0, stderr: '' });
  expect(result.stdout.endsWith('\n')).toBe(true);
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(result.stdout);
}

const email = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}@cli.test`;

/** Both credentials from the CLI itself: token:app and token:user. */
async function cliHeaders(operator: string): Promise<Record<string, string>> {
  const { token: app } = await cli('token:app');
  const { token: user } = await cli('token:user', '--operator', operator);
  return { authorization: `Bearer ${app}`, 'x-user-token': `Bearer ${user}` };
}

test('partner:create prints { id, name, balanceId, currency } and the partner is usable over REST', async () => {
  const partner = await cli('partner:create', '--name', 'Acme Payments', '--currency', 'usd');
  expect(partner).toEqual({
    id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    name: 'Acme Payments',
    balanceId: expect.any(String),
    currency: 'USD',
  });

  const maker = await cli(
    'operator:create',
    '--email',
    email('maker'),
    '--name',
    'Mia Maker',
    '--roles',
    'MAKER',
    '--partners',
    partner.id as string,
  );
  const checker = await cli(
    'operator:create',
    '--email',
    email('checker'),
    '--name',
    'Carl Checker',
    '--roles',
    'checker',
    '--partners',
    partner.id as string,
  );
  const base = world.rest(partner.id as string);
  const created = await world.http
    .post(`${base}/process-request`)
    .set(await cliHeaders(maker.id as string))
    .field('requestedAmount', '75.00')
    .attach('evidence', PDF, 'receipt.pdf');
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    clientId: partner.id,
    clientBalanceId: partner.balanceId,
    currency: 'USD',
    createdBy: maker.id,
  });
  const approved = await world.http
    .patch(`${base}/process-request/${created.body.id}/approve`)
    .set(await cliHeaders(checker.email as string));
  expect(approved.status).toBe(204);
  const balance = await world.http.get(`${base}/balance`).set(await cliHeaders(checker.id as string));
  expect(balance.body).toMatchObject({
    id: partner.balanceId,
    clientId: partner.id,
    available: 75,
    currency: 'USD',
  });
});

test('operator:create with --partners and with --all-partners', async () => {
  const a = await cli('partner:create', '--name', 'A', '--currency', 'EUR');
  const b = await cli('partner:create', '--name', 'B', '--currency', 'JPY');
  const scopedEmail = email('Scoped');
  const scoped = await cli(
    'operator:create',
    '--email',
    scopedEmail,
    '--name',
    'Scoped',
    '--roles',
    'VIEWER,MAKER',
    '--partners',
    `${a.id},${b.id}`,
  );
  expect(scoped).toEqual({
    id: expect.any(String),
    email: scopedEmail.toLowerCase(),
    roles: ['VIEWER', 'MAKER'],
    partnerIds: [a.id, b.id],
    otpRequired: false,
  });
  const staff = await cli(
    'operator:create',
    '--email',
    email('staff'),
    '--name',
    'Staff',
    '--roles',
    'VIEWER',
    '--all-partners',
  );
  expect(staff).toMatchObject({ roles: ['VIEWER'], partnerIds: null, otpRequired: false });

  const [row] = await world.sql<{ roles: string[]; partner_ids: string[] | null; active: boolean }>(
    'select roles, partner_ids, active from operator where id = ?',
    [staff.id],
  );
  expect(row).toEqual({ roles: ['VIEWER'], partner_ids: null, active: true });

  // The stored scope is what REST enforces.
  const other = await world.partner('Outside');
  const scopedHeaders = await cliHeaders(scoped.id as string);
  expect((await world.http.get(`${world.rest(b.id as string)}/balance`).set(scopedHeaders)).status).toBe(200);
  expect((await world.http.get(`${world.rest(other.id)}/balance`).set(scopedHeaders)).body.code).toBe(
    'PARTNER_FORBIDDEN',
  );
  const staffHeaders = await cliHeaders(staff.id as string);
  for (const id of [a.id as string, b.id as string, other.id]) {
    expect((await world.http.get(`${world.rest(id)}/balance`).set(staffHeaders)).status).toBe(200);
  }
});

test('token:user gives a token that works over REST, for --ttl seconds', async () => {
  const partner = await world.partner('Tokens');
  const op = await world.operator(['VIEWER'], [partner.id]);
  const { token: app } = await cli('token:app', '--ttl', '120');
  const { token: user } = await cli('token:user', '--operator', op.email, '--ttl', '120');
  const payload = JSON.parse(Buffer.from((user as string).split('.')[1], 'base64url').toString());
  expect(payload.sub).toBe(op.id);
  // iat and exp are two readings of the clock: a second may tick between them.
  expect(payload.exp - payload.iat).toBeGreaterThanOrEqual(120);
  expect(payload.exp - payload.iat).toBeLessThanOrEqual(121);
  const res = await world.http
    .get(`${world.rest(partner.id)}/balance`)
    .set({ authorization: `Bearer ${app}`, 'x-user-token': `Bearer ${user}` });
  expect(res.status).toBe(200);
});

test('operator:deactivate prints { id, active: false } and the operator gets 403 from then on', async () => {
  const partner = await world.partner('Deactivation');
  const op = await world.operator(['VIEWER'], [partner.id]);
  const headers = await cliHeaders(op.id);
  expect((await world.http.get(`${world.rest(partner.id)}/balance`).set(headers)).status).toBe(200);
  expect(await cli('operator:deactivate', '--operator', op.email)).toEqual({ id: op.id, active: false });
  const res = await world.http.get(`${world.rest(partner.id)}/balance`).set(headers);
  expect([res.status, res.body.code]).toEqual([403, 'OPERATOR_INACTIVE']);
});

test('migrate on a migrated database prints { applied: [] }', async () => {
  expect(await cli('migrate')).toEqual({ applied: [] });
});

describe('failures: non-zero exit, the error on stderr, nothing on stdout', () => {
  test.each([
    ['an unknown command', ['partner:delete', '--name', 'x'], /unknown command "partner:delete"/],
    ['no command at all', [], /usage:/],
    ['partner:create without --currency', ['partner:create', '--name', 'X'], /--currency is required/],
    ['partner:create without --name', ['partner:create', '--currency', 'USD'], /--name is required/],
    [
      'partner:create with a made-up currency',
      ['partner:create', '--name', 'X', '--currency', 'ABC'],
      /VALIDATION_FAILED: currency/,
    ],
    [
      'operator:create without a scope',
      ['operator:create', '--email', 'x@y.test', '--name', 'X', '--roles', 'VIEWER'],
      /--partners ID1,ID2 or --all-partners/,
    ],
    [
      'operator:create with both scopes',
      [
        'operator:create',
        '--email',
        'x@y.test',
        '--name',
        'X',
        '--roles',
        'VIEWER',
        '--partners',
        randomUUID(),
        '--all-partners',
      ],
      /not both/,
    ],
    [
      'operator:create with an unknown role',
      ['operator:create', '--email', 'x@y.test', '--name', 'X', '--roles', 'GOD', '--all-partners'],
      /roles must be/,
    ],
    [
      'operator:create for a partner that does not exist',
      [
        'operator:create',
        '--email',
        'x@y.test',
        '--name',
        'X',
        '--roles',
        'VIEWER',
        '--partners',
        randomUUID(),
      ],
      /NOT_FOUND/,
    ],
    ['operator:deactivate without --operator', ['operator:deactivate'], /--operator is required/],
    ['operator:deactivate of nobody', ['operator:deactivate', '--operator', 'nobody@cli.test'], /NOT_FOUND/],
    ['token:user of nobody', ['token:user', '--operator', randomUUID()], /NOT_FOUND/],
    ['token:app with a bad --ttl', ['token:app', '--ttl', 'soon'], /--ttl/],
    ['a stray argument', ['migrate', 'now'], /unexpected argument "now"/],
  ] as Array<[string, string[], RegExp]>)('%s', async (_name, argv, message) => {
    const result = await runCli(argv, env);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });

  test('an invalid configuration names the variable', async () => {
    const result = await runCli(['migrate'], { ...env, LOG_LEVEL: 'chatty' });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/LOG_LEVEL: /);
  });

  test('a duplicate operator email is refused and nothing is created', async () => {
    const address = email('dup');
    await cli(
      'operator:create',
      '--email',
      address,
      '--name',
      'First',
      '--roles',
      'VIEWER',
      '--all-partners',
    );
    const again = await runCli(
      [
        'operator:create',
        '--email',
        address.toUpperCase(),
        '--name',
        'Second',
        '--roles',
        'ADMIN',
        '--all-partners',
      ],
      env,
    );
    expect([again.code === 0, again.stdout]).toEqual([false, '']);
    expect(again.stderr).toMatch(/already exists/);
    expect(await world.sql('select name from operator where email = ?', [address])).toEqual([
      { name: 'First' },
    ]);
  });

  test('NODE_ENV=production mints application tokens (token:app --name --ttl), never user tokens', async () => {
    const appSecret = randomBytes(32).toString('hex');
    const production: NodeJS.ProcessEnv = {
      NODE_ENV: 'production',
      DATABASE_URL: world.databaseUrl,
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey=${randomBytes(64).toString('base64')};EndpointSuffix=core.windows.net`,
      APP_TOKEN_SECRET: appSecret,
      USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
      OTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      TOKEN_ISSUER: 'https://idp.example.test/',
      TOKEN_AUDIENCE: 'process-requests',
      LOG_LEVEL: 'silent',
    };
    const minted = await runCli(['token:app', '--name', 'back-office', '--ttl', '600'], production);
    expect(minted.code).toBe(0);
    const { token } = JSON.parse(minted.stdout) as { token: string };
    // HS256 over the secret's raw text (not base64-decoded), with the claims docs/integrators.md lists.
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(appSecret), {
      issuer: 'https://idp.example.test/',
      audience: 'process-requests',
    });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'back-office', kind: 'app' });
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);

    const op = await world.operator(['VIEWER'], null);
    const user = await runCli(['token:user', '--operator', op.id], production);
    expect([user.code === 0, user.stdout]).toEqual([false, '']);
    expect(user.stderr).toMatch(/refused in production/);
    // The rest of the CLI works in production.
    const partner = await runCli(
      ['partner:create', '--name', 'Prod partner', '--currency', 'GBP'],
      production,
    );
    expect(partner.code).toBe(0);
    expect(JSON.parse(partner.stdout)).toMatchObject({ name: 'Prod partner', currency: 'GBP' });
  });
});
