// SPEC section 7 over graphql-ws: the same events as SSE, the scope checked on subscribe, refusals as errors.
import WebSocket from 'ws';
import type { Operator } from '../src/entities/operator.entity';
import { causeEveryEvent } from './support/progress-events';
import { PROGRESS_SUBSCRIPTION, until, watchProgress } from './support/progress-ws';
import { createWorld, type World } from './support/world';

let world: World;
let partner: { id: string };
let maker: Operator;
let checker: Operator;
let viewer: Operator;

beforeAll(async () => {
  world = await createWorld();
  ({ partner, maker, checker, viewer } = await world.team());
});
afterAll(() => world?.close());

test('delivers CREATED, APPROVED (available as a Decimal string), REJECTED, CANCELLED and FAILED', async () => {
  const watcher = watchProgress(world.baseUrl, await world.headers(viewer), partner.id);
  await until(() => world.app.progress.openStreams === 1);
  const { approved, rejected, cancelled } = await causeEveryEvent(
    world,
    partner.id,
    maker,
    checker,
    'not a receipt',
  );

  const event = await watcher.waitFor({ type: 'APPROVED', processRequestId: approved });
  const [stored] = await world.sql<{ id: string; created_at: Date }>(
    "select id, created_at from process_request_event where process_request_id = ? and type = 'APPROVED'",
    [approved],
  );
  expect(event).toEqual({
    id: String(stored.id),
    clientId: partner.id,
    processRequestId: approved,
    type: 'APPROVED',
    percent: null,
    status: 'APPROVED',
    available: '10000.50',
    code: null,
    at: new Date(stored.created_at).toISOString(),
  });
  await watcher.waitFor({ type: 'REJECTED', processRequestId: rejected, status: 'REJECTED' });
  await watcher.waitFor({ type: 'CANCELLED', processRequestId: cancelled, status: 'CANCELLED' });
  await watcher.waitFor({ type: 'FAILED', code: 'UNSUPPORTED_EVIDENCE_TYPE' });
  const lifecycle = watcher.events.filter((e) => e.id !== null).map((e) => `${e.type}:${e.processRequestId}`);
  expect(lifecycle.slice(0, 6)).toEqual([
    `CREATED:${approved}`,
    `CREATED:${rejected}`,
    `CREATED:${cancelled}`,
    `APPROVED:${approved}`,
    `REJECTED:${rejected}`,
    `CANCELLED:${cancelled}`,
  ]);
  expect(watcher.error).toBeUndefined();
  await watcher.dispose();
  await until(() => world.app.progress.openStreams === 0);
});

test('an operator outside the partner scope gets an error, never an event', async () => {
  const other = await world.partner('Other', 'USD');
  const outsider = await world.operator(['ADMIN'], [other.id]);
  const watcher = watchProgress(world.baseUrl, await world.headers(outsider), partner.id);
  await watcher.settled;
  expect(watcher.error).toEqual([
    expect.objectContaining({
      extensions: expect.objectContaining({ code: 'PARTNER_FORBIDDEN', status: 403 }),
    }),
  ]);
  await world.createRequest(partner.id, maker, '3.00');
  await new Promise((r) => setTimeout(r, 200));
  expect(watcher.events).toEqual([]);
  expect(world.app.progress.openStreams).toBe(0);
  await watcher.dispose();
});

test.each([['not-a-number'], ['9223372036854775808'], ['-1']])(
  'lastEventId %s is refused with VALIDATION_FAILED before any stream',
  async (bad) => {
    const watcher = watchProgress(
      world.baseUrl,
      await world.headers(viewer),
      partner.id,
      PROGRESS_SUBSCRIPTION,
      bad,
    );
    await watcher.settled;
    expect(watcher.error).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'VALIDATION_FAILED', status: 400 }),
      }),
    ]);
    expect(watcher.events).toEqual([]);
    expect(world.app.progress.openStreams).toBe(0);
    await watcher.dispose();
  },
);

test('lastEventId replays the stored events after it, then goes live', async () => {
  const first = await world.createRequest(partner.id, maker, '4.00');
  const [{ id: after }] = await world.sql<{ id: string }>(
    "select id from process_request_event where process_request_id = ? and type = 'CREATED'",
    [first],
  );
  const missed = await world.createRequest(partner.id, maker, '5.00');
  const watcher = watchProgress(
    world.baseUrl,
    await world.headers(viewer),
    partner.id,
    PROGRESS_SUBSCRIPTION,
    String(after),
  );
  await watcher.waitFor({ type: 'CREATED', processRequestId: missed });
  const live = await world.createRequest(partner.id, maker, '6.00');
  await watcher.waitFor({ type: 'CREATED', processRequestId: live });
  expect(watcher.events.some((e) => e.processRequestId === first)).toBe(false);
  await watcher.dispose();
});

test('bad tokens are refused at connection_init (close 4401), before any subscription', async () => {
  const headers = await world.headers(viewer);
  const watcher = watchProgress(
    world.baseUrl,
    { ...headers, 'x-user-token': 'Bearer not.a.token' },
    partner.id,
  );
  await watcher.settled;
  expect(watcher.error).toMatchObject({ code: 4401 });
  expect(watcher.events).toEqual([]);

  const missing = watchProgress(world.baseUrl, {}, partner.id);
  await missing.settled;
  expect(missing.error).toMatchObject({ code: 4401 });
  await watcher.dispose();
  await missing.dispose();
});

test('a deactivated operator is refused on the next subscribe', async () => {
  const soon = await world.operator(['VIEWER'], [partner.id]);
  const headers = await world.headers(soon);
  await world.sql('update operator set active = false where id = ?', [soon.id]);
  const watcher = watchProgress(world.baseUrl, headers, partner.id);
  await watcher.settled;
  expect(watcher.events).toEqual([]);
  expect(watcher.error).toMatchObject({ code: 4403 });
  await watcher.dispose();
});

test('queries are not served over WebSocket, and a subscription over HTTP is refused', async () => {
  const headers = await world.headers(viewer);
  const socket = new WebSocket(`${world.baseUrl.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: Array<Record<string, unknown>> = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise((r) => socket.once('open', r));
  socket.send(JSON.stringify({ type: 'connection_init', payload: headers }));
  await until(() => messages.some((m) => m.type === 'connection_ack'));
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ me { id } }' } }));
  await until(() => messages.some((m) => m.type === 'error'));
  expect(messages.find((m) => m.type === 'error')).toMatchObject({
    id: '1',
    payload: [{ extensions: { code: 'VALIDATION_FAILED', status: 400 } }],
  });
  socket.close();

  const http = await world.http
    .post('/graphql')
    .set(headers)
    .send({ query: `subscription { processRequestProgress(clientId: "${partner.id}") { id } }` });
  expect(http.body).toMatchObject({
    data: null,
    errors: [{ extensions: { code: 'VALIDATION_FAILED', status: 400 } }],
  });
});
