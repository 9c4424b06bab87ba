// OTP time steps only move forward per operator, and a lockout says when it ends (issue 8, "Smaller
// weaknesses"): over real HTTP, REST and GraphQL, with codes computed from the secret the CLI printed.
// REPORT=1 prints every answer.
import {
  codeAt,
  count,
  enrollWithCli,
  gqlHttp,
  validCodes,
  wrongCode,
  type Enrolled,
} from './support/step-up';
import { createWorld, type World } from './support/world';

let world: World;
let partnerId: string;
let makerHeaders: Record<string, string>;
const report: string[] = [];
const note = (line: string) => report.push(line);

beforeAll(async () => {
  world = await createWorld();
  const partner = await world.partner('OTP steps');
  partnerId = partner.id;
  makerHeaders = await world.headers(await world.operator(['MAKER'], [partnerId]));
});
afterAll(async () => {
  if (process.env.REPORT) console.log(report.join('\n'));
  await world?.close();
});

const pending = () => world.createRequest(partnerId, makerHeaders);

function approveRest(id: string, checker: Enrolled, otp: string) {
  return world.http
    .patch(`${world.rest(partnerId)}/process-request/${id}/approve`)
    .set(checker.headers)
    .set('content-type', 'application/json')
    .send(JSON.stringify({ otp }));
}

const APPROVE = `mutation($c: ID!, $id: ID!, $otp: String) { approveProcessRequest(clientId: $c, id: $id, otp: $otp) { id status } }`;
const approveGql = (id: string, checker: Enrolled, otp: string) =>
  gqlHttp(world, checker.headers, APPROVE, { c: partnerId, id, otp });

const failures = (operatorId: string) =>
  count(world, 'otp_attempt', 'operator_id = ? and success = false', [operatorId]);

describe('time steps only move forward per operator', () => {
  test('REST: after the current step is used, an unused code of the previous step is refused and counted', async () => {
    const checker = await enrollWithCli(world, 'CHECKER', [partnerId]);
    const [previous, current, next] = await validCodes(checker.otpSecret);
    expect((await approveRest(await pending(), checker, current)).status).toBe(204);
    const stale = await approveRest(await pending(), checker, previous);
    note(`steps · REST · previous step after the current one: ${stale.status} ${stale.body.code}`);
    expect([stale.status, stale.body.code]).toEqual([403, 'OTP_INVALID']);
    expect(await failures(checker.id)).toBe(1);
    // The next step is still ahead: accepted.
    expect((await approveRest(await pending(), checker, next)).status).toBe(204);
  });

  test('REST: after the next step is used, neither the current nor the previous step is accepted', async () => {
    const checker = await enrollWithCli(world, 'CHECKER', [partnerId]);
    const [previous, current, next] = await validCodes(checker.otpSecret);
    expect((await approveRest(await pending(), checker, next)).status).toBe(204);
    for (const [label, code] of [
      ['current', current],
      ['previous', previous],
      ['the same (replay)', next],
    ]) {
      const res = await approveRest(await pending(), checker, code);
      note(`steps · REST · ${label} step after the next one: ${res.status} ${res.body.code}`);
      expect([res.status, res.body.code]).toEqual([403, 'OTP_INVALID']);
    }
    expect(await failures(checker.id)).toBe(3);
  });

  test('GraphQL aliases in one operation: a later alias with an earlier step is refused', async () => {
    const checker = await enrollWithCli(world, 'CHECKER', [partnerId]);
    const [previous, current] = await validCodes(checker.otpSecret);
    const [a, b] = [await pending(), await pending()];
    const res = await gqlHttp(
      world,
      checker.headers,
      `mutation($c: ID!, $a: ID!, $b: ID!, $o1: String, $o2: String) {
        first: approveProcessRequest(clientId: $c, id: $a, otp: $o1) { id status }
        second: approveProcessRequest(clientId: $c, id: $b, otp: $o2) { id status }
      }`,
      { c: partnerId, a, b, o1: current, o2: previous },
    );
    note(`steps · GraphQL aliases · previous after current: ${res.errors?.[0]?.extensions?.code}`);
    expect(res.errors?.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([['second', 'OTP_INVALID']]);
  });

  test('GraphQL: the previous step after the current one is refused; the order of steps is per operator', async () => {
    const first = await enrollWithCli(world, 'CHECKER', [partnerId]);
    const second = await enrollWithCli(world, 'CHECKER', [partnerId]);
    const [previous, current] = await validCodes(first.otpSecret);
    expect((await approveGql(await pending(), first, current)).errors).toBeUndefined();
    const stale = await approveGql(await pending(), first, previous);
    note(`steps · GraphQL · previous step after the current one: ${stale.errors?.[0]?.extensions?.code}`);
    expect(stale.errors?.[0].extensions).toMatchObject({ code: 'OTP_INVALID', status: 403 });
    // Another operator's steps are their own: their previous step is still good.
    const [otherPrevious] = await validCodes(second.otpSecret);
    expect((await approveGql(await pending(), second, otherPrevious)).errors).toBeUndefined();
  });
});

describe('a lockout says when it ends', () => {
  async function lockOut(checker: Enrolled, id: string): Promise<void> {
    const bad = await wrongCode(checker.otpSecret);
    for (let i = 0; i < 5; i++) expect((await approveRest(id, checker, bad)).body.code).toBe('OTP_INVALID');
  }
  /** Moves the operator's failures back in time: the nth oldest (0-based) by the nth of `ages`, in seconds. */
  async function ageFailures(operatorId: string, ages: number[]): Promise<void> {
    const rows = await world.sql<{ id: string }>(
      'select id from otp_attempt where operator_id = ? and success = false order by at, id',
      [operatorId],
    );
    for (const [i, row] of rows.entries())
      await world.sql(`update otp_attempt set at = now() - make_interval(secs => ?) where id = ?`, [
        ages[i],
        row.id,
      ]);
  }

  test('REST: 429 OTP_LOCKED with Retry-After (and retryAfter in the body) = seconds until the oldest failure leaves the 15-minute window', async () => {
    const checker = await enrollWithCli(world, 'CHECKER', [partnerId]);
    const id = await pending();
    await lockOut(checker, id);
    const fresh = await approveRest(id, checker, await codeAt(checker.otpSecret));
    note(
      `lockout · REST · just locked: ${fresh.status} ${fresh.body.code} Retry-After: ${fresh.headers['retry-after'] ?? '-'}`,
    );
    expect([fresh.status, fresh.body.code]).toEqual([429, 'OTP_LOCKED']);
    expect(Number(fresh.headers['retry-after'])).toBeGreaterThan(885);
    expect(Number(fresh.headers['retry-after'])).toBeLessThanOrEqual(900);
    expect(fresh.body.retryAfter).toBe(Number(fresh.headers['retry-after']));

    // The oldest failure 14 minutes old, the others younger: the lock ends in about a minute.
    await ageFailures(checker.id, [840, 600, 300, 60, 0]);
    const later = await approveRest(id, checker, await codeAt(checker.otpSecret));
    expect(later.status).toBe(429);
    const wait = Number(later.headers['retry-after']);
    expect(wait).toBeGreaterThanOrEqual(59);
    expect(wait).toBeLessThanOrEqual(61);
    // Once that much time has passed (the failures move back by it), a right code is accepted.
    await ageFailures(checker.id, [840 + wait, 600 + wait, 300 + wait, 60 + wait, wait]);
    expect((await approveRest(id, checker, await codeAt(checker.otpSecret))).status).toBe(204);
  });

  test('more failures than the maximum (counted before a lock): the lock ends when the surplus has left too', async () => {
    const checker = await enrollWithCli(world, 'CHECKER', [partnerId]);
    const id = await pending();
    await lockOut(checker, id);
    // Seven failures in the window (checks are serialized, so only rows written by hand get here): the lock
    // ends when three have left and four remain. The third oldest is 10 minutes old: 5 minutes to wait.
    await world.sql(
      `insert into otp_attempt (operator_id, success, at) values (?, false, now()), (?, false, now())`,
      [checker.id, checker.id],
    );
    await ageFailures(checker.id, [880, 700, 600, 120, 60, 0, 0]);
    const res = await approveRest(id, checker, await codeAt(checker.otpSecret));
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(290); // seconds pass between ageing the rows and the check on a loaded machine
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(301);
  });

  test('GraphQL: extensions.retryAfter holds the same seconds', async () => {
    const checker = await enrollWithCli(world, 'CHECKER', [partnerId]);
    const id = await pending();
    await lockOut(checker, id);
    await ageFailures(checker.id, [600, 500, 400, 300, 200]);
    const res = await approveGql(id, checker, await codeAt(checker.otpSecret));
    note(`lockout · GraphQL · extensions: ${JSON.stringify(res.errors?.[0]?.extensions)}`);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'OTP_LOCKED', status: 429 });
    const wait = res.errors?.[0].extensions?.retryAfter as number;
    expect(wait).toBeGreaterThanOrEqual(290); // seconds pass between ageing the rows and the check on a loaded machine
    expect(wait).toBeLessThanOrEqual(301);
  });

  test('a refusal that is not a lock carries no Retry-After', async () => {
    const checker = await enrollWithCli(world, 'CHECKER', [partnerId]);
    const res = await approveRest(await pending(), checker, await wrongCode(checker.otpSecret));
    expect([res.status, res.headers['retry-after'], res.body.retryAfter]).toEqual([
      403,
      undefined,
      undefined,
    ]);
    const gql = await approveGql(await pending(), checker, await wrongCode(checker.otpSecret));
    expect(gql.errors?.[0].extensions?.retryAfter).toBeUndefined();
  });
});
