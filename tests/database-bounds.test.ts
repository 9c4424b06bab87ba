// No call can hang on the database (issue 17.3): every session of the server bounds how long a statement
// waits for a lock (DATABASE_LOCK_TIMEOUT_MS) and runs (DATABASE_STATEMENT_TIMEOUT_MS). A call past either
// is 503 with Retry-After on both doors, its transaction rolled back and nothing half-written; idle
// sessions (LISTEN, liveness) are never ended by them. And the OTP lock no longer shares the liveness class.
import { Client } from 'pg';
import { toDomainError } from '../src/domain/errors';
import { ADVISORY_LOCKS } from '../src/infra/locks';
import {
  balanceOf,
  eventsOf,
  ledgerOf,
  ledgerViolations,
  NO_VIOLATIONS,
  statusOf,
} from './support/lifecycle';
import { codeAt, enrollWithCli } from './support/step-up';
import { SseClient } from './support/sse';
import { createWorld, type Team, type World } from './support/world';

const LOCK_TIMEOUT_MS = 600;
const STATEMENT_TIMEOUT_MS = 1500;

const APPROVE = `mutation Approve($clientId: ID!, $id: ID!) {
  approveProcessRequest(clientId: $clientId, id: $id) { id status }
}`;

let world: World;
let team: Team;
let locker: Client;

beforeAll(async () => {
  world = await createWorld({
    DATABASE_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS),
    DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  });
  team = await world.team('Bounded');
  locker = new Client({ connectionString: world.databaseUrl });
  await locker.connect();
});
afterAll(async () => {
  await locker?.end();
  await world?.close();
});

/** Holds a row lock on the request from another session (as an admin's open transaction would). */
async function holdRow(id: string): Promise<() => Promise<void>> {
  await locker.query('begin');
  await locker.query('select id from process_request where id = $1 for update', [id]);
  return async () => {
    await locker.query('rollback');
  };
}

test('the settings reach every pooled session', async () => {
  const [lock] = await world.sql<{ lock_timeout: string }>('show lock_timeout');
  const [statement] = await world.sql<{ statement_timeout: string }>('show statement_timeout');
  expect([lock.lock_timeout, statement.statement_timeout]).toEqual(['600ms', '1500ms']);
});

test('an approval blocked by a row lock held elsewhere: 503 with Retry-After within the bound on REST and GraphQL, nothing written; once released it approves', async () => {
  const id = await world.createRequest(team.partner.id, team.maker, '25.00');
  const release = await holdRow(id);
  try {
    const started = Date.now();
    const res = await world.act(team.partner.id, id, 'approve', team.checker, { reason: 'blocked' });
    const waited = Date.now() - started;
    console.log(
      `approval blocked by a row lock: 503 after ${waited} ms (DATABASE_LOCK_TIMEOUT_MS=${LOCK_TIMEOUT_MS})`,
    );
    expect({ status: res.status, code: res.body.code, retry: res.headers['retry-after'] }).toEqual({
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      retry: '1',
    });
    expect(res.body.retryAfter).toBe(1);
    expect(waited).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS - 50);
    expect(waited).toBeLessThan(LOCK_TIMEOUT_MS + 3000);

    const gql = await world.http
      .post('/graphql')
      .set(await world.headers(team.checker))
      .set('content-type', 'application/json')
      .send(JSON.stringify({ query: APPROVE, variables: { clientId: team.partner.id, id } }));
    expect(gql.headers['retry-after']).toBe('1');
    expect(gql.body.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 1 });
  } finally {
    await release();
  }
  expect(await statusOf(world, id)).toBe('PENDING');
  expect(await ledgerOf(world, id)).toEqual([]);
  expect((await eventsOf(world, id)).map((e) => e.type)).toEqual(['CREATED']);
  expect(await world.sql('select id from approval where process_request_id = ?', [id])).toEqual([]);
  expect((await balanceOf(world, team.partner.id, team.viewer)).available).toBe('0.00');

  expect((await world.act(team.partner.id, id, 'approve', team.checker)).status).toBe(204);
  expect((await balanceOf(world, team.partner.id, team.viewer)).available).toBe('25.00');
  expect(await ledgerViolations(world)).toEqual(NO_VIOLATIONS);
});

test('a statement running past DATABASE_STATEMENT_TIMEOUT_MS is cancelled and counts as unavailable (503)', async () => {
  const started = Date.now();
  const error = await world.sql('select pg_sleep(10)').catch((e: unknown) => e);
  expect(Date.now() - started).toBeLessThan(STATEMENT_TIMEOUT_MS + 3000);
  expect(toDomainError(error)).toMatchObject({
    status: 503,
    code: 'SERVICE_UNAVAILABLE',
    retryAfterSeconds: 1,
  });
});

test('idle LISTEN and liveness sessions outlive the statement timeout, and events still arrive', async () => {
  const listener = world.app.progress.listenerPid;
  const liveness = world.app.liveness.backendPid;
  const sse = await SseClient.open(
    `${world.baseUrl}${world.rest(team.partner.id)}/process-request/progress`,
    await world.headers(team.viewer),
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, STATEMENT_TIMEOUT_MS + 500));
    expect([world.app.progress.listenerPid, world.app.liveness.backendPid]).toEqual([listener, liveness]);
    const alive = await world.sql('select pid from pg_stat_activity where pid in (?, ?)', [
      listener,
      liveness,
    ]);
    expect(alive).toHaveLength(2);
    expect(world.app.liveness.held).toBe(true);
    const id = await world.createRequest(team.partner.id, team.maker, '1.00');
    await sse.waitForEvent({ processRequestId: id, type: 'CREATED' });
  } finally {
    sse.request.destroy();
  }
});

test('an OTP check is not held up by a liveness lock whose key equals its operator hash (they shared a class)', async () => {
  const otp = await enrollWithCli(world, 'CHECKER', [team.partner.id]);
  const id = await world.createRequest(team.partner.id, team.maker, '5.00');
  // Before the registry, this session's lock was the OTP lock of the operator: the check waited for it.
  await locker.query('select pg_advisory_lock($1, hashtext($2))', [ADVISORY_LOCKS.LIVENESS, otp.id]);
  try {
    const res = await world.act(team.partner.id, id, 'approve', otp.headers, {
      otp: await codeAt(otp.otpSecret),
    });
    expect(res.status).toBe(204);
  } finally {
    await locker.query('select pg_advisory_unlock($1, hashtext($2))', [ADVISORY_LOCKS.LIVENESS, otp.id]);
  }
});
