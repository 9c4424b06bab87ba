// A receiver's Retry-After (SPEC section 16) can put the next attempt later than the schedule, never
// sooner: 0, a negative number or a date already past count as no Retry-After (they would spend every
// attempt in a fraction of a second), and one shorter than the schedule's next delay does not shorten it.
import type { Operator } from '../src/entities/operator.entity';
import { waitUntil } from './support/crash-storm';
import { registerEndpoint, startReceiver, type Receiver } from './support/webhook-receiver';
import { createWorld, type Team, type World } from './support/world';

jest.setTimeout(60_000);

let world: World;
let team: Team;
let admin: Operator;
const receivers: Receiver[] = [];

beforeAll(async () => {
  world = await createWorld({ WEBHOOK_RETRY_SCHEDULE: '30,30', WEBHOOK_TIMEOUT_SECONDS: '1' });
  team = await world.team('Retry-After');
  admin = await world.operator(['ADMIN'], [team.partner.id]);
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await world.close();
});

interface Logged {
  status: string;
  attempts: Array<{ at: string; statusCode: number | null }>;
  nextAttemptAt: string | null;
}

async function delivery(endpointId: string): Promise<Logged | undefined> {
  const res = await world.http
    .get(`${world.rest(team.partner.id)}/webhook-endpoints/${endpointId}/deliveries`)
    .set(await world.headers(admin));
  expect(res.status).toBe(200);
  return (res.body as { items: Logged[] }).items[0];
}

test('Retry-After 0, negative or past falls back to the schedule; a shorter one never brings the retry forward; a longer one is honoured up to an hour', async () => {
  const answers: Array<{ status: number; retryAfter: string; delay: [number, number] }> = [
    // The schedule's first delay is 30 s ±20 %.
    { status: 503, retryAfter: '0', delay: [24, 36] },
    { status: 429, retryAfter: '-5', delay: [24, 36] },
    { status: 503, retryAfter: new Date('2015-10-21T07:28:00Z').toUTCString(), delay: [24, 36] },
    { status: 503, retryAfter: 'soon', delay: [24, 36] },
    { status: 503, retryAfter: '5', delay: [24, 36] },
    { status: 429, retryAfter: '120', delay: [120, 120] },
    { status: 503, retryAfter: '999999', delay: [3600, 3600] },
  ];
  const endpoints: string[] = [];
  for (const answer of answers) {
    const r = await startReceiver();
    receivers.push(r);
    r.fallback = { status: answer.status, headers: { 'retry-after': answer.retryAfter } };
    endpoints.push((await registerEndpoint(world, team.partner.id, admin, r)).id);
  }
  await world.createInProcess(team.partner.id, team.maker);
  expect(
    await waitUntil(async () => {
      const logged = await Promise.all(endpoints.map(delivery));
      return logged.every((d) => (d?.attempts.length ?? 0) >= 1);
    }, 15_000),
  ).toBe(true);
  // Were a retry due at once, it would have been sent by now (the relay claims due work every second).
  await new Promise((resolve) => setTimeout(resolve, 2500));
  expect(receivers.map((r) => r.received.length)).toEqual(answers.map(() => 1));
  const logged = await Promise.all(endpoints.map(async (id) => (await delivery(id))!));
  expect(logged.map((d) => ({ status: d.status, attempts: d.attempts.length }))).toEqual(
    answers.map(() => ({ status: 'PENDING', attempts: 1 })),
  );
  // The attempt and the next one's time are stamped in one statement: their gap is the delay chosen.
  const delays = logged.map((d) => (Date.parse(d.nextAttemptAt!) - Date.parse(d.attempts[0].at)) / 1000);
  const outside = answers
    .map((answer, i) => ({ retryAfter: answer.retryAfter, expected: answer.delay, delay: delays[i] }))
    .filter(({ expected, delay }) => delay < expected[0] - 0.01 || delay > expected[1] + 0.01);
  expect(outside).toEqual([]);
});
