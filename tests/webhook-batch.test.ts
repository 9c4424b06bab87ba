// Attempts finished together are recorded in one statement (src/sql/webhook-sql.ts finishAttempts): the
// deliveries, their attempts and the endpoint end as if each had been recorded on its own, in order, and
// an attempt whose lease another process has taken is not recorded. The relay's own sessions (not the
// app's pool) send and record.
import type { Operator } from '../src/entities/operator.entity';
import { ormRunner, type SqlRunner } from '../src/infra/sql-pool';
import {
  claimDue,
  fanOut,
  failingReason,
  finishAttempts,
  GONE_REASON,
  type AttemptOutcome,
  type ClaimedDelivery,
} from '../src/sql/webhook-sql';
import { waitUntil } from './support/crash-storm';
import { registerEndpoint, startReceiver, type Receiver } from './support/webhook-receiver';
import { createWorld, type Team, type World } from './support/world';

jest.setTimeout(60_000);

let world: World;
let team: Team;
let admin: Operator;
let db: SqlRunner;
const receivers: Receiver[] = [];
const DISABLE_AFTER = 3600;

beforeAll(async () => {
  world = await createWorld({ WEBHOOK_CONCURRENCY: '10' });
  team = await world.team('Batches');
  admin = await world.operator(['ADMIN'], [team.partner.id]);
  db = ormRunner(world.app.orm);
});
afterAll(async () => {
  await world.app.services.webhookRelay.stop();
  await Promise.all(receivers.map((r) => r.close()));
  await world.close();
});

const ok: AttemptOutcome = {
  statusCode: 204,
  durationMs: 3,
  error: null,
  ok: true,
  retryInSeconds: null,
  gone: false,
};
const failed: AttemptOutcome = {
  statusCode: 500,
  durationMs: 4,
  error: 'answered 500',
  ok: false,
  retryInSeconds: 60,
  gone: false,
};
const gone: AttemptOutcome = {
  ...failed,
  statusCode: 410,
  error: 'answered 410',
  retryInSeconds: null,
  gone: true,
};

async function endpoint(): Promise<string> {
  const r = await startReceiver();
  receivers.push(r);
  return (
    await registerEndpoint(world, team.partner.id, admin, r, { eventTypes: ['process_request.created'] })
  ).id;
}

/** `n` deliveries of a fresh endpoint, claimed by the test (the app's relay is stopped). */
async function claimed(n: number): Promise<{ endpointId: string; deliveries: ClaimedDelivery[] }> {
  const endpointId = await endpoint();
  for (let i = 0; i < n; i += 1) await world.createInProcess(team.partner.id, team.maker);
  await fanOut(db);
  const all = await claimDue(db, {
    concurrency: 10,
    leaseSeconds: 60,
    limit: 100,
    token: crypto.randomUUID(),
  });
  const deliveries = all.filter((d) => d.endpoint_id === endpointId);
  expect(deliveries).toHaveLength(n);
  return { endpointId, deliveries };
}

const endpointRow = async (id: string) =>
  (
    await world.sql<{ status: string; failing_since: string | null; disabled_reason: string | null }>(
      'select status, failing_since, disabled_reason from webhook_endpoint where id = ?',
      [id],
    )
  )[0];

describe('with the app relay stopped', () => {
  beforeAll(async () => world.app.services.webhookRelay.stop());
  afterAll(() => world.app.services.webhookRelay.start());

  test('a batch records every delivery and attempt; a failure after a success starts a streak, a success after a failure ends it', async () => {
    const { endpointId, deliveries } = await claimed(3);
    const first = await finishAttempts(
      db,
      [
        { delivery: deliveries[0], outcome: failed },
        { delivery: deliveries[1], outcome: ok },
        { delivery: deliveries[2], outcome: failed },
      ],
      DISABLE_AFTER,
    );
    expect([...first.recorded].sort()).toEqual(deliveries.map((d) => d.id).sort());
    expect(first.disabled).toEqual([]);
    const rows = await world.sql<{
      id: string;
      status: string;
      attempt_count: number;
      lease_token: string | null;
    }>('select id, status, attempt_count, lease_token from webhook_delivery where endpoint_id = ?', [
      endpointId,
    ]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(deliveries.map((d) => byId.get(d.id)?.status)).toEqual(['PENDING', 'SUCCEEDED', 'PENDING']);
    expect(rows.every((r) => r.attempt_count === 1 && r.lease_token === null)).toBe(true);
    const attempts = await world.sql<{ delivery_id: string; status_code: number }>(
      'select a.delivery_id, a.status_code from webhook_attempt a join webhook_delivery d on d.id = a.delivery_id where d.endpoint_id = ? order by a.id',
      [endpointId],
    );
    expect(attempts.map((a) => [a.delivery_id, a.status_code])).toEqual([
      [deliveries[0].id, 500],
      [deliveries[1].id, 204],
      [deliveries[2].id, 500],
    ]);
    // The last attempt failed after a success: a streak starts now, the endpoint stays enabled.
    expect(await endpointRow(endpointId)).toMatchObject({ status: 'ENABLED', disabled_reason: null });
    expect((await endpointRow(endpointId)).failing_since).not.toBeNull();

    // Claimed again later (the retries are due now): a failure then a success ends the streak.
    await world.sql(
      "update webhook_delivery set next_attempt_at = now() where endpoint_id = ? and status = 'PENDING'",
      [endpointId],
    );
    const again = (
      await claimDue(db, { concurrency: 10, leaseSeconds: 60, limit: 100, token: crypto.randomUUID() })
    ).filter((d) => d.endpoint_id === endpointId);
    expect(again).toHaveLength(2);
    await finishAttempts(
      db,
      [
        { delivery: again[0], outcome: failed },
        { delivery: again[1], outcome: ok },
      ],
      DISABLE_AFTER,
    );
    expect(await endpointRow(endpointId)).toMatchObject({ status: 'ENABLED', failing_since: null });
  });

  test('a streak older than the bound disables the endpoint with its reason; a 410 first names the 410', async () => {
    const streak = await claimed(2);
    await world.sql("update webhook_endpoint set failing_since = now() - interval '2 hours' where id = ?", [
      streak.endpointId,
    ]);
    const timed = await finishAttempts(
      db,
      streak.deliveries.map((delivery) => ({ delivery, outcome: failed })),
      DISABLE_AFTER,
    );
    expect(timed.disabled).toEqual([{ endpointId: streak.endpointId, reason: failingReason(DISABLE_AFTER) }]);
    expect(await endpointRow(streak.endpointId)).toMatchObject({
      status: 'DISABLED',
      disabled_reason: failingReason(DISABLE_AFTER),
    });

    const gone410 = await claimed(2);
    const result = await finishAttempts(
      db,
      [
        { delivery: gone410.deliveries[0], outcome: gone },
        { delivery: gone410.deliveries[1], outcome: ok },
      ],
      DISABLE_AFTER,
    );
    expect(result.disabled).toEqual([{ endpointId: gone410.endpointId, reason: GONE_REASON }]);
    // A success after the 410 in the same batch does not enable it again.
    expect(await endpointRow(gone410.endpointId)).toMatchObject({
      status: 'DISABLED',
      disabled_reason: GONE_REASON,
      failing_since: null,
    });
  });

  test('an attempt whose lease was taken over is not recorded; the others of the batch are', async () => {
    const { deliveries } = await claimed(2);
    await world.sql('update webhook_delivery set lease_token = gen_random_uuid() where id = ?', [
      deliveries[0].id,
    ]);
    const result = await finishAttempts(
      db,
      deliveries.map((delivery) => ({ delivery, outcome: ok })),
      DISABLE_AFTER,
    );
    expect([...result.recorded]).toEqual([deliveries[1].id]);
    const rows = await world.sql<{ id: string; status: string }>(
      'select id, status from webhook_delivery where id in (?, ?)',
      deliveries.map((d) => d.id),
    );
    expect(new Map(rows.map((r) => [r.id, r.status]))).toEqual(
      new Map([
        [deliveries[0].id, 'PENDING'],
        [deliveries[1].id, 'SUCCEEDED'],
      ]),
    );
  });
});

test("the relay sends and records on sessions of its own, not the app's pool", async () => {
  const endpointId = await endpoint();
  await world.createInProcess(team.partner.id, team.maker);
  const delivered = await waitUntil(async () => {
    const rows = await world.sql<{ n: string }>(
      "select count(*) as n from webhook_delivery where endpoint_id = ? and status = 'SUCCEEDED'",
      [endpointId],
    );
    return Number(rows[0].n) === 1;
  }, 15_000);
  expect(delivered).toBe(true);
  const sessions = await world.sql<{ application_name: string }>(
    "select application_name from pg_stat_activity where datname = current_database() and application_name like 'webhook-%'",
  );
  expect(new Set(sessions.map((s) => s.application_name))).toEqual(
    new Set(['webhook-relay', 'webhook-fan-out', 'webhook-recorder']),
  );
});
