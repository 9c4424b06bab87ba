// At least once across a crash (SPEC section 16): two real server processes share the database and
// both send webhooks; one is killed with SIGKILL in the middle of a storm of creates and approvals. Every
// event of the partner still reaches the receiver (verified with standardwebhooks), and the only
// duplicates are messages the dead process had in flight (at most WEBHOOK_CONCURRENCY for the endpoint):
// each was first received before it died.
import type { Operator } from '../src/entities/operator.entity';
import { postCreate, waitUntil } from './support/crash-storm';
import { PDF } from './support/files';
import { startServer, type ServerProcess } from './support/server-process';
import { registerEndpoint, startReceiver, type Receiver } from './support/webhook-receiver';
import { createWorld, type Team, type World } from './support/world';

jest.setTimeout(180_000);

const CONCURRENCY = 4;
let world: World;
let receiver: Receiver;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  world = await createWorld();
  // Only the two child processes send: the test's own app stays out of it.
  await world.app.services.webhookRelay.stop();
  receiver = await startReceiver();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await receiver?.close();
  await world?.close();
});

const server = async () => {
  const child = await startServer({
    NODE_ENV: 'test',
    DATABASE_URL: world.databaseUrl,
    AZURE_STORAGE_CONNECTION_STRING: process.env.AZURE_STORAGE_CONNECTION_STRING!,
    EVIDENCE_CONTAINER: world.container,
    WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1',
    WEBHOOK_TIMEOUT_SECONDS: '2',
    WEBHOOK_CONCURRENCY: String(CONCURRENCY),
  });
  servers.push(child);
  return child;
};

test('kill -9 of one of two sending processes mid-storm: every event arrives, duplicates bounded by what was in flight', async () => {
  const [a, b] = await Promise.all([server(), server()]);
  const team: Team = await world.team('Crash hooks');
  const admin: Operator = await world.operator(['ADMIN'], [team.partner.id]);
  await registerEndpoint(world, team.partner.id, admin, receiver);
  // Slow enough answers that the killed process has messages in flight when it dies.
  receiver.fallback = { status: 200, delayMs: 40 };

  const makerHeaders = await world.headers(team.maker);
  const checkerHeaders = await world.headers(team.checker);
  let stop = false;
  let seq = 0;
  const worker = async (w: number) => {
    while (!stop) {
      // Half the calls go to each process until one is dead, then all to the survivor.
      const target = killed || (w + seq) % 2 === 1 ? b : a;
      const res = await postCreate(
        target.url,
        world,
        makerHeaders,
        `k-${w}-${seq++}`,
        { partnerId: team.partner.id, amount: '2.00' },
        PDF,
      );
      if (res.id && seq % 2 === 0) {
        await fetch(`${target.url}${world.rest(team.partner.id)}/process-request/${res.id}/approve`, {
          method: 'PATCH',
          headers: checkerHeaders,
        }).catch(() => undefined);
      }
    }
  };
  let killed = false;
  const storm = Promise.all([0, 1, 2, 3].map(worker));
  expect(await waitUntil(async () => receiver.received.length >= 20, 60_000)).toBe(true);
  const inFlightAtKill = await world.sql<{ n: string }>(
    "select count(*) as n from webhook_delivery where status = 'PENDING' and lease_until > now()",
  );
  killed = true;
  const killedAt = Date.now();
  await a.kill();
  const deadAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  stop = true;
  await storm;

  const stored = await world.sql<{ id: string }>(
    "select id::text as id from process_request_event where client_id = ? and type <> 'FAILED' order by id",
    [team.partner.id],
  );
  const eventIds = () => new Set(receiver.received.map((m) => m.verified?.data.eventId as string));
  const all = await waitUntil(async () => stored.every((e) => eventIds().has(e.id)), 90_000);
  const missing = stored.filter((e) => !eventIds().has(e.id)).map((e) => e.id);
  expect({ all, missing }).toEqual({ all: true, missing: [] });
  expect(receiver.received.every((m) => m.verifiedBy.includes(0))).toBe(true);
  // The dead process's claims expire (2 × timeout + 7 s) and the survivor sends them again: the log
  // ends with every delivery SUCCEEDED.
  const succeeded = async () =>
    Number(
      (
        await world.sql<{ n: string }>(
          "select count(*) as n from webhook_delivery d join webhook_endpoint w on w.id = d.endpoint_id where w.client_id = ? and d.status = 'SUCCEEDED'",
          [team.partner.id],
        )
      )[0].n,
    );
  expect(await waitUntil(async () => (await succeeded()) === stored.length, 60_000)).toBe(true);
  const ids = receiver.received.map((m) => m.id);
  const duplicates = ids.length - new Set(ids).size;
  const twice = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  // What the log says of each message received more than once: when a failure shows, why.
  const attempts = await world.sql<{ delivery_id: string; status_code: number | null; error: string | null }>(
    'select delivery_id::text as delivery_id, status_code, error from webhook_attempt where delivery_id::text in (select jsonb_array_elements_text(?::jsonb)) order by id',
    [JSON.stringify(twice)],
  );
  const figures = {
    events: stored.length,
    received: ids.length,
    duplicates,
    inFlightAtKill: Number(inFlightAtKill[0].n),
    twice: twice.map((id) => ({
      id,
      receivedAt: receiver.received.filter((m) => m.id === id).map((m) => m.at - killedAt),
      attempts: attempts.filter((a) => a.delivery_id === id).map((a) => a.error ?? a.status_code),
    })),
  };
  console.log(`webhook crash: ${JSON.stringify(figures)}`);
  expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
  // Each message received twice was first received before the process died: it was in flight there.
  expect(figures.twice.filter((t) => t.receivedAt[0] > deadAt - killedAt)).toEqual([]);
});
