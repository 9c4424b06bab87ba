// Claims of webhook deliveries (src/sql/webhook-sql.ts claimDue, releaseLeases): a claim leases no more
// than it returns, reads each message's row with it, and keeps WEBHOOK_CONCURRENCY per endpoint across
// holders: a holder alone on an endpoint may lease ahead of its sends, but no other holder then leases
// any until the live leases are under the cap, and while leases of two holders are live neither goes
// past the cap. Leases given back are due again at once; a lease another claim took is not given back.
import { randomUUID } from 'node:crypto';
import type { Operator } from '../src/entities/operator.entity';
import { ormRunner, SqlPool, type SqlRunner } from '../src/infra/sql-pool';
import { claimDue, fanOut, releaseLeases, type ClaimOptions } from '../src/sql/webhook-sql';
import { registerEndpoint, startReceiver, type Receiver } from './support/webhook-receiver';
import { createWorld, type Team, type World } from './support/world';

jest.setTimeout(60_000);

const CAP = 2;
let world: World;
let team: Team;
let admin: Operator;
let db: SqlRunner;
const receivers: Receiver[] = [];

beforeAll(async () => {
  world = await createWorld({ WEBHOOK_CONCURRENCY: String(CAP) });
  // The test claims by hand: the app's relay stays out of it.
  await world.app.services.webhookRelay.stop();
  team = await world.team('Claims');
  admin = await world.operator(['ADMIN'], [team.partner.id]);
  db = ormRunner(world.app.orm);
});
afterEach(async () => {
  // Each test has an endpoint of its own; the ones before it claim nothing more.
  await world.sql("update webhook_endpoint set status = 'DISABLED'");
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await world.close();
});

/** A fresh endpoint with `n` due deliveries. */
async function endpointWith(n: number): Promise<string> {
  const r = await startReceiver();
  receivers.push(r);
  const { id } = await registerEndpoint(world, team.partner.id, admin, r, {
    eventTypes: ['process_request.created'],
  });
  for (let i = 0; i < n; i += 1) await world.createInProcess(team.partner.id, team.maker);
  await fanOut(db);
  return id;
}

const holder = () => randomUUID().slice(0, 18);
/** A claim as holder `h` (on `runner`, the app's pool by default). */
const claim = (h: string, opts: Partial<ClaimOptions> = {}, runner: SqlRunner = db) =>
  claimDue(runner, {
    concurrency: CAP,
    ahead: CAP * 2,
    holder: h,
    leaseSeconds: 60,
    limit: 100,
    token: h + randomUUID().slice(18),
    ...opts,
  });
const leased = async (endpointId: string) =>
  Number(
    (
      await world.sql<{ n: string }>(
        "select count(*) as n from webhook_delivery where endpoint_id = ? and status = 'PENDING' and lease_until > now()",
        [endpointId],
      )
    )[0].n,
  );

test('a claim leases no more than its limit, and each delivery comes with its message row', async () => {
  const endpointId = await endpointWith(4);
  const got = await claim(holder(), { limit: 3 });
  expect(got).toHaveLength(3);
  expect(await leased(endpointId)).toBe(3);
  for (const d of got) {
    expect(d.message).toMatchObject({ id: d.event_id, type: 'CREATED', client_id: team.partner.id });
  }
});

test('one holder leases ahead alone; a second holder waits until the leases are under the cap, then neither passes it', async () => {
  const endpointId = await endpointWith(6);
  const [a, b] = [holder(), holder()];
  const first = await claim(a);
  expect(first).toHaveLength(CAP * 2);
  expect(await claim(b)).toHaveLength(0);
  // Without a holder, a claim sees every lease as another's: the plain cap.
  expect(
    await claimDue(db, { concurrency: CAP, leaseSeconds: 60, limit: 100, token: randomUUID() }),
  ).toHaveLength(0);

  await releaseLeases(db, first.slice(1));
  expect(await leased(endpointId)).toBe(1);
  const second = await claim(b);
  expect(second).toHaveLength(CAP - 1);
  expect(await leased(endpointId)).toBe(CAP);
  // Both hold leases now: the first may no longer lease ahead.
  expect(await claim(a)).toHaveLength(0);
  expect(await claim(b)).toHaveLength(0);
});

test('leases given back are due again at once; a lease another claim took is not given back', async () => {
  const endpointId = await endpointWith(2);
  const got = await claim(holder());
  expect(got).toHaveLength(2);
  await releaseLeases(db, [{ id: got[0].id, lease_token: randomUUID() }]);
  expect(await leased(endpointId)).toBe(2);
  await releaseLeases(db, got);
  expect(await leased(endpointId)).toBe(0);
  expect((await claim(holder())).map((d) => d.id).sort()).toEqual(got.map((d) => d.id).sort());
});

test('claimers racing on one endpoint never lease a delivery twice, and together stay within the cap', async () => {
  const n = 80;
  const endpointId = await endpointWith(n);
  // Six processes' claim sessions, each its own holder, claiming and finishing as fast as they can.
  const sessions = Array.from(
    { length: 6 },
    (_, i) => new SqlPool({ connectionString: world.databaseUrl }, 1, `claimer-${i}`, world.app.log),
  );
  const returned = new Map<string, number>();
  /** Claimed and not yet being finished, per holder: a subset of the live leases at any claim's commit. */
  const held = new Map<string, Set<string>>();
  const overCap: string[] = [];
  let finished = 0;
  const claimer = async (session: SqlPool) => {
    const h = holder();
    held.set(h, new Set());
    while (finished < n) {
      const got = await claim(h, {}, session);
      for (const d of got) {
        returned.set(d.id, (returned.get(d.id) ?? 0) + 1);
        held.get(h)!.add(d.id);
      }
      const holders = [...held.values()].filter((s) => s.size > 0);
      const total = holders.reduce((sum, s) => sum + s.size, 0);
      if (total > (holders.length > 1 ? CAP : CAP * 2))
        overCap.push(`${holders.length} holders, ${total} leases`);
      if (got.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      for (const d of got) held.get(h)!.delete(d.id);
      // One claim's deliveries share its token: this finishes those the claim still holds.
      const done = await session.execute<unknown[]>(
        "update webhook_delivery set status = 'SUCCEEDED', lease_until = null, lease_token = null where lease_token = ?::uuid returning id",
        [got[0].lease_token],
      );
      finished += done.length;
    }
  };
  try {
    await Promise.all(sessions.map(claimer));
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
  expect([...returned.values()].filter((count) => count > 1)).toEqual([]);
  expect(overCap).toEqual([]);
  expect(await leased(endpointId)).toBe(0);
});
