// A stored event wakes the relay's fan-out only (src/runtime/webhook-relay.ts eventsStored): with no
// endpoint a stream of events costs fan-outs and no claim beyond the timed passes; with an endpoint, what
// the fan-out creates is claimed and sent at once, without waiting for a timed pass.
import type { Operator } from '../src/entities/operator.entity';
import { waitUntil } from './support/crash-storm';
import { registerEndpoint, startReceiver, type Receiver } from './support/webhook-receiver';
import { createWorld, type Team, type World } from './support/world';

jest.setTimeout(60_000);

let world: World;
let team: Team;
let admin: Operator;
let receiver: Receiver | undefined;

beforeAll(async () => {
  world = await createWorld();
  team = await world.team('Wakes');
  admin = await world.operator(['ADMIN'], [team.partner.id]);
});
afterAll(async () => {
  await world.app.services.webhookRelay.stop();
  await receiver?.close();
  await world.close();
});

const counts = () => {
  const { steps } = world.app.services.webhookRelay;
  return { fanOut: steps.fanOut?.count ?? 0, claim: steps.claim?.count ?? 0 };
};

test('with no endpoint, twenty stored events run fan-outs and no claim but the timed ones', async () => {
  const before = counts();
  const started = Date.now();
  for (let i = 0; i < 20; i++) {
    await world.createInProcess(team.partner.id, team.maker);
    // Past the relay's gap, so that each event may wake a pass of its own.
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  expect(await waitUntil(async () => counts().fanOut - before.fanOut >= 10, 5000)).toBe(true);
  const seconds = Math.ceil((Date.now() - started) / 1000);
  const after = counts();
  // One claim per timed pass (each second) at most, and none per event.
  expect(after.claim - before.claim).toBeLessThanOrEqual(seconds + 1);
  expect(after.fanOut - before.fanOut).toBeGreaterThan(after.claim - before.claim);
});

test('with an endpoint, an event is sent at once: its fan-out claims what it created', async () => {
  receiver = await startReceiver();
  await registerEndpoint(world, team.partner.id, admin, receiver);
  const id = await world.createInProcess(team.partner.id, team.maker);
  const started = Date.now();
  expect(await waitUntil(async () => receiver!.received.some((r) => r.body.includes(id)), 5000)).toBe(true);
  // Well within the timed pass's second: the event's own wake sent it.
  expect(Date.now() - started).toBeLessThan(900);
});
