// SPEC section 7 over graphql-ws: the same events as SSE, the scope checked on subscribe, refusals as errors.
import type { Socket } from 'node:net';
import type { Operator } from '../src/entities/operator.entity';
import { holdTable, waitingOnLocks } from './support/locks';
import { capture } from './support/logs';
import { causeEveryEvent, storedEvents } from './support/progress-events';
import { openSocket, PROGRESS_SUBSCRIPTION, until, watchProgress } from './support/progress-ws';
import { startServer } from './support/server-process';
import { createWorld, type World } from './support/world';

let world: World;
let partner: { id: string };
let maker: Operator;
let checker: Operator;
let viewer: Operator;

// Every line the app logs, so a test can show that what a client does wrong is no server error.
const log = capture('info');
const errorsLogged = () => log.lines.filter((l) => (l.level as number) >= 50);

beforeAll(async () => {
  world = await createWorld({}, { logger: log.logger });
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

test('a subscription counts as open only once it is live: an event committed after that reaches it', async () => {
  // A session of the test's own locks the events table, so the read of where the stream starts waits.
  const table = await holdTable(world, 'process_request_event');
  let watcher: ReturnType<typeof watchProgress>;
  try {
    watcher = watchProgress(world.baseUrl, await world.headers(viewer), partner.id);
    await waitingOnLocks(world, 1, '%max(id)%process_request_event%');
    // Checked, waiting for where it starts: not counted (the gauge and the caps count live streams only).
    expect(world.app.progress.openStreams).toBe(0);
  } finally {
    await table.release();
  }
  await until(() => world.app.progress.openStreams === 1);
  const id = await world.createRequest(partner.id, maker, '4.00');
  await watcher.waitFor({ type: 'CREATED', processRequestId: id });
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

test.each([['not-a-number'], ['9223372036854775808'], ['-1'], ['']])(
  'lastEventId "%s" is refused with VALIDATION_FAILED before any stream',
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

test('variables of the wrong type or missing are BAD_USER_INPUT (400), as over HTTP, and log no error', async () => {
  const { socket, messages } = await openSocket(world.baseUrl, await world.headers(viewer));
  const cases: Array<Record<string, unknown>> = [
    {},
    { clientId: null },
    { clientId: [1] },
    { clientId: { x: 1 } },
    { clientId: partner.id, lastEventId: 1.5 },
    { clientId: partner.id, lastEventId: true },
    { clientId: partner.id, lastEventId: [1] },
  ];
  cases.forEach((variables, i) =>
    socket.send(
      JSON.stringify({
        id: `v${i}`,
        type: 'subscribe',
        payload: { query: PROGRESS_SUBSCRIPTION, variables },
      }),
    ),
  );
  await until(() => messages.filter((m) => m.type === 'error').length === cases.length);
  for (const m of messages.filter((m) => m.type === 'error'))
    expect(m.payload).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', status: 400 }),
      }),
    ]);
  expect(world.app.progress.openStreams).toBe(0);
  expect(errorsLogged()).toEqual([]);
  socket.close();
});

test('an operation name the document does not have is OPERATION_RESOLUTION_FAILURE, as over HTTP', async () => {
  const { socket, messages } = await openSocket(world.baseUrl, await world.headers(viewer));
  socket.send(
    JSON.stringify({
      id: '1',
      type: 'subscribe',
      payload: { query: PROGRESS_SUBSCRIPTION, operationName: 'nope', variables: { clientId: partner.id } },
    }),
  );
  await until(() => messages.some((m) => m.type === 'error'));
  expect(messages.find((m) => m.type === 'error')).toMatchObject({
    id: '1',
    payload: [
      {
        message: 'Unknown operation named "nope"',
        extensions: { code: 'OPERATION_RESOLUTION_FAILURE', status: 400 },
      },
    ],
  });
  socket.close();
  const http = await world.http
    .post('/graphql')
    .set(await world.headers(viewer))
    .send({ query: '{ me { id } }', operationName: 'nope' });
  expect(http.body.errors[0].extensions).toMatchObject({ code: 'OPERATION_RESOLUTION_FAILURE', status: 400 });
});

/** Subscribes from the first stored event on `baseUrl`, then resets the TCP connection at the first event. */
async function resetMidReplay(baseUrl: string, headers: Record<string, string>): Promise<void> {
  const { socket, messages } = await openSocket(baseUrl, headers);
  // A reset, not a close: the server's writes still under way fail (ECONNRESET).
  socket.on('message', (data) => {
    if ((JSON.parse(String(data)) as { type: string }).type === 'next')
      (socket as unknown as { _socket: Socket })._socket.resetAndDestroy();
  });
  socket.send(
    JSON.stringify({
      id: '1',
      type: 'subscribe',
      payload: { query: PROGRESS_SUBSCRIPTION, variables: { clientId: partner.id, lastEventId: '0' } },
    }),
  );
  await until(() => messages.some((m) => m.type === 'next'));
}

describe('connections reset in the middle of a 1,000-event replay', () => {
  beforeAll(() => storedEvents(world, partner.id, maker, 1000));

  test('free their streams', async () => {
    const headers = await world.headers(viewer);
    for (let round = 0; round < 10; round++) await resetMidReplay(world.baseUrl, headers);
    await until(() => world.app.progress.openStreams === 0);
    expect(errorsLogged()).toEqual([]);
  });

  test('are noted at info by a server process, never logged as errors', async () => {
    // Its own process: writes after a reset reach the socket only when client and server do not share a loop.
    const server = await startServer({
      NODE_ENV: 'test',
      DATABASE_URL: world.databaseUrl,
      AZURE_STORAGE_CONNECTION_STRING: process.env.AZURE_STORAGE_CONNECTION_STRING!,
      EVIDENCE_CONTAINER: world.container,
    });
    try {
      const headers = await world.headers(viewer);
      for (let round = 0; round < 10; round++) await resetMidReplay(server.url, headers);
      await server.waitForLog((l) => l.msg === 'subscription cut off: the connection went away');
      await new Promise((r) => setTimeout(r, 500));
      expect(server.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

test('bad tokens are refused at connection_init (close 4401), before any subscription', async () => {
  const headers = await world.headers(viewer);
  const watcher = watchProgress(
    world.baseUrl,
    { ...headers, 'x-user-token': 'Bearer not.a.token' },
    partner.id,
  );
  await watcher.settled;
  // The close reason names the token and why, as an HTTP 401's details do.
  expect(watcher.error).toMatchObject({ code: 4401, reason: 'Unauthorized: user token malformed' });
  expect(watcher.events).toEqual([]);
  expect(log.lines).toContainEqual(
    expect.objectContaining({
      level: 30,
      msg: 'connection refused',
      details: expect.objectContaining({ reason: 'malformed' }),
    }),
  );

  const missing = watchProgress(world.baseUrl, {}, partner.id);
  await missing.settled;
  expect(missing.error).toMatchObject({ code: 4401, reason: 'Unauthorized: app token missing' });
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
  const { socket, messages } = await openSocket(world.baseUrl, headers);
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

test('watchers of one event share its execution only when they sent the same document: each gets its own selection', async () => {
  const narrow = /* GraphQL */ `
    subscription Narrow($clientId: ID!) {
      processRequestProgress(clientId: $clientId) {
        type
        processRequestId
      }
    }
  `;
  const aliased = /* GraphQL */ `
    subscription Aliased($clientId: ID!) {
      processRequestProgress(clientId: $clientId) {
        kind: type
        processRequestId
        available
      }
    }
  `;
  const headers = await world.headers(viewer);
  const watchers = [
    watchProgress(world.baseUrl, headers, partner.id),
    watchProgress(world.baseUrl, headers, partner.id),
    watchProgress(world.baseUrl, headers, partner.id, narrow),
    watchProgress(world.baseUrl, headers, partner.id, aliased),
  ];
  await until(() => world.app.progress.openStreams === 4);
  const id = await world.createRequest(partner.id, maker, '2.00');
  const [full1, full2, short, renamed] = await Promise.all([
    watchers[0].waitFor({ type: 'CREATED', processRequestId: id }),
    watchers[1].waitFor({ type: 'CREATED', processRequestId: id }),
    watchers[2].waitFor({ type: 'CREATED', processRequestId: id }),
    watchers[3].waitFor({ kind: 'CREATED', processRequestId: id }),
  ]);
  expect(full1).toEqual(full2);
  expect(full1).toMatchObject({ clientId: partner.id, status: 'PENDING' });
  expect(short).toEqual({ type: 'CREATED', processRequestId: id });
  expect(renamed).toEqual({ kind: 'CREATED', processRequestId: id, available: null });
  await Promise.all(watchers.map((w) => w.dispose()));
  await until(() => world.app.progress.openStreams === 0);
});
