// Operator subjects (issue 17, points 5 and 10): with a subject claim other than `sub` an operator without an
// explicit subject is unreachable by any token (and start-up says how many there are); subjects are
// normalised, look-alikes refused, and a subject freed by one operator is not given to another while
// tokens issued for the first may still be alive.
import { SignJWT } from 'jose';
import { createApp } from '../src/app';
import { DEV_APP_TOKEN_SECRET, DEV_USER_TOKEN_SECRET } from '../src/config';
import type { Operator } from '../src/entities/operator.entity';
import { createOperator, updateOperator } from '../src/services/identity/admin.service';
import { newOperator, operatorChanges, parseInput } from '../src/shapes/inputs';
import { capture } from './support/logs';
import { createWorld, type TestPartner, type World } from './support/world';

const now = () => Math.floor(Date.now() / 1000);
const key = (secret: string) => new TextEncoder().encode(secret);

async function sign(kind: 'app' | 'user', claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ kind, iat: now(), exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(key(kind === 'app' ? DEV_APP_TOKEN_SECRET : DEV_USER_TOKEN_SECRET));
}

async function headersFor(claims: Record<string, unknown>): Promise<Record<string, string>> {
  return {
    authorization: `Bearer ${await sign('app', { sub: 'test-app' })}`,
    'x-user-token': `Bearer ${await sign('user', claims)}`,
  };
}

let counter = 0;
async function newOp(world: World, partner: TestPartner, subject?: string): Promise<Operator> {
  counter += 1;
  return createOperator(
    world.app.orm.em.fork(),
    parseInput(newOperator, {
      email: `subject-${counter}-${Date.now()}@test.local`,
      name: 'Subject test',
      roles: ['VIEWER'],
      partnerIds: [partner.id],
      ...(subject === undefined ? {} : { subject }),
    }),
  );
}

const setSubject = async (world: World, op: Operator, subject: string) =>
  updateOperator(world.app.orm.em.fork(), op.id, parseInput(operatorChanges, { subject }));

describe('USER_TOKEN_SUBJECT_CLAIM=email', () => {
  const { lines, logger } = capture('info');
  let world: World;
  let partner: TestPartner;
  beforeAll(async () => {
    world = await createWorld({ USER_TOKEN_SUBJECT_CLAIM: 'email', LOG_LEVEL: 'info' }, { logger });
    partner = await world.partner('Email claim');
  });
  afterAll(() => world?.close());

  const balance = (headers: Record<string, string>) =>
    world.http.get(`${world.rest(partner.id)}/balance`).set(headers);

  test('an operator never given a subject cannot be reached with its id; one given one can', async () => {
    const plain = await newOp(world, partner);
    const given = await newOp(world, partner, 'Ann@Example.com');
    const byId = await balance(await headersFor({ sub: 'x', email: plain.id }));
    expect([byId.status, byId.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    expect((await balance(await headersFor({ sub: 'x', email: 'ann@example.COM' }))).status).toBe(200);
    expect(given.subject).toBe('ann@example.com');
  });

  test('start-up says how many operators have no subject of their own', async () => {
    const second = await createApp(world.app.config, { logger });
    try {
      await second.listen(0, '127.0.0.1');
    } finally {
      await second.close();
    }
    const said = lines.filter((l) => typeof l.msg === 'string' && /no subject/.test(l.msg));
    expect(said.at(-1)).toMatchObject({ operatorsWithoutSubject: 1, claim: 'email' });
  });
});

describe('subjects are normalised and never reused too soon', () => {
  let world: World;
  let partner: TestPartner;
  beforeAll(async () => {
    world = await createWorld();
    partner = await world.partner('Subjects');
  });
  afterAll(() => world?.close());

  const balance = (headers: Record<string, string>) =>
    world.http.get(`${world.rest(partner.id)}/balance`).set(headers);

  test('NFD is stored as NFC and a token with either form reaches the operator', async () => {
    const op = await newOp(world, partner, 'Jose\u0301');
    expect(op.subject).toBe('Jos\u00e9');
    expect((await balance(await headersFor({ sub: 'Jose\u0301' }))).status).toBe(200);
    expect((await balance(await headersFor({ sub: 'Jos\u00e9' }))).status).toBe(200);
  });

  test.each([
    ['a zero-width space', 'ali\u200bce'],
    ['a zero-width joiner', 'ali\u200dce'],
    ['a byte order mark', '\ufeffalice'],
    ['an unpaired surrogate', 'ali\ud800ce'],
    ['a control character', 'ali\u0085ce'],
  ])('a subject with %s is refused, and so is a token naming it', async (_what, subject) => {
    await expect(newOp(world, partner, subject)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'subject' },
    });
    const res = await balance(await headersFor({ sub: subject }));
    expect(res.status).toBe(401);
  });

  test('look-alikes collide: case, full-width, e-mail case', async () => {
    await newOp(world, partner, 'carol');
    for (const lookAlike of ['Carol', '\uff43\uff41\uff52\uff4f\uff4c', 'CAROL']) {
      await expect(newOp(world, partner, lookAlike)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'subject' },
      });
    }
    await newOp(world, partner, 'dave@example.com');
    await expect(newOp(world, partner, 'Dave@EXAMPLE.com')).rejects.toMatchObject({
      details: { field: 'subject' },
    });
  });

  test('a subject freed by one operator is refused to another within the token lifetime', async () => {
    const first = await newOp(world, partner, 'erin');
    await setSubject(world, first, 'erin-2');
    const second = await newOp(world, partner);
    await expect(setSubject(world, second, 'erin')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'subject' },
    });
    await expect(newOp(world, partner, 'ERIN')).rejects.toMatchObject({ details: { field: 'subject' } });
    // The operator who gave it up may take it back.
    await setSubject(world, first, 'erin');
    expect((await balance(await headersFor({ sub: 'erin' }))).status).toBe(200);
  });
});
