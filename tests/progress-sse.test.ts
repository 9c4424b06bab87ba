// SPEC section 7 over SSE: frames, headers, scope, every event type, heartbeat, resume, slow clients, the cap, shutdown.
import type { Operator } from '../src/entities/operator.entity';
import { pdfOfSize } from './support/files';
import { causeEveryEvent } from './support/progress-events';
import { until } from './support/progress-ws';
import { SseClient } from './support/sse';
import { createWorld, type World } from './support/world';

let world: World;
let partner: { id: string };
let maker: Operator;
let checker: Operator;
let viewer: Operator;

beforeAll(async () => {
  // Bursts of creates from one maker: the per-operator cap on calls in flight is not the subject here.
  world = await createWorld({ SSE_HEARTBEAT_SECONDS: '1', MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: '100' });
  ({ partner, maker, checker, viewer } = await world.team());
});
afterAll(() => world?.close());

// Every test starts with no stream open on the main world, whatever the previous one left behind.
const opened: SseClient[] = [];
afterEach(async () => {
  for (const sse of opened.splice(0)) sse.close();
  await until(() => world.app.progress.openStreams === 0);
});

const progressUrl = (partnerId: string) =>
  `${world.baseUrl}${world.rest(partnerId)}/process-request/progress`;

async function watch(
  operator: Operator = viewer,
  extra: Record<string, string> = {},
  read = true,
): Promise<SseClient> {
  const sse = await SseClient.open(
    progressUrl(partner.id),
    { ...(await world.headers(operator)), ...extra },
    { read },
  );
  opened.push(sse);
  expect(sse.status).toBe(200);
  return sse;
}

describe('refusals', () => {
  test('401 without tokens, as JSON, before any stream starts', async () => {
    const sse = await SseClient.open(progressUrl(partner.id), {});
    expect(sse.status).toBe(401);
    expect(JSON.parse(await sse.body())).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
  });

  test("403 PARTNER_FORBIDDEN for another partner's operator", async () => {
    const other = await world.partner('Other', 'USD');
    const outsider = await world.operator(['VIEWER'], [other.id]);
    const sse = await SseClient.open(progressUrl(partner.id), await world.headers(outsider));
    expect(sse.status).toBe(403);
    expect(JSON.parse(await sse.body())).toMatchObject({ code: 'PARTNER_FORBIDDEN' });
  });

  test('400 for a Last-Event-ID that is not an event id', async () => {
    const sse = await SseClient.open(progressUrl(partner.id), {
      ...(await world.headers(viewer)),
      'last-event-id': 'abc',
    });
    expect(sse.status).toBe(400);
    await sse.body();
  });
});

test('headers suit proxies and frames are unnamed: an id line and a data line, nothing else', async () => {
  const sse = await watch(viewer, { 'accept-encoding': 'gzip, br' });
  expect(sse.response.headers['content-type']).toBe('text/event-stream');
  expect(sse.response.headers['cache-control']).toBe('no-cache');
  expect(sse.response.headers['x-accel-buffering']).toBe('no');
  expect(sse.response.headers['content-encoding']).toBeUndefined();
  const id = await world.createRequest(partner.id, maker, '12.34');
  const frame = await sse.waitForEvent({ type: 'CREATED', processRequestId: id });
  expect(frame.raw).toMatch(/^id: \d+\ndata: \{[^\n]*\}$/);
  expect(sse.raw).not.toMatch(/^event:/m);
  const [stored] = await world.sql<{ id: string; created_at: Date }>(
    "select id, created_at from process_request_event where process_request_id = ? and type = 'CREATED'",
    [id],
  );
  expect(frame.id).toBe(String(stored.id));
  expect(frame.data).toEqual({
    id: String(stored.id),
    clientId: partner.id,
    processRequestId: id,
    type: 'CREATED',
    status: 'PENDING',
    at: new Date(stored.created_at).toISOString(),
  });
  sse.close();
});

test('CREATED, APPROVED with the balance after the credit, REJECTED, CANCELLED and FAILED with its code', async () => {
  const sse = await watch();
  const [before] = await world.sql<{ available: string }>(
    'select available from client_balance where client_id = ?',
    [partner.id],
  );
  const { approved, rejected, cancelled } = await causeEveryEvent(
    world,
    partner.id,
    maker,
    checker,
    'plain text, not a receipt',
  );

  const approval = await sse.waitForEvent({ type: 'APPROVED', processRequestId: approved });
  const expected = (Number(before.available) + 10000.5).toFixed(2);
  expect(approval.data).toMatchObject({ status: 'APPROVED', available: Number(expected) });
  // Money is written from its exact decimal text, as the rest of the REST facade writes it.
  expect(approval.raw).toContain(`"available":${expected}`);
  expect((await sse.waitForEvent({ type: 'REJECTED', processRequestId: rejected })).data).toMatchObject({
    status: 'REJECTED',
  });
  expect((await sse.waitForEvent({ type: 'CANCELLED', processRequestId: cancelled })).data).toMatchObject({
    status: 'CANCELLED',
  });
  const failure = await sse.waitForEvent({ type: 'FAILED' });
  expect(failure.data).toMatchObject({
    clientId: partner.id,
    code: 'UNSUPPORTED_EVIDENCE_TYPE',
    status: null,
  });
  for (const id of [approved, rejected, cancelled]) {
    expect(
      sse
        .events()
        .filter((e) => e.processRequestId === id)
        .map((e) => e.type),
    ).toEqual(['CREATED', expect.any(String)]);
  }
  sse.close();
});

test('EVIDENCE_UPLOADING with a rising percent while a 2 MiB file streams in, then CREATED', async () => {
  const sse = await watch();
  const id = await world.createRequest(partner.id, maker, '3.00', pdfOfSize(2 * 1024 * 1024));
  await sse.waitForEvent({ type: 'CREATED', processRequestId: id });
  const mine = sse.events().filter((e) => e.processRequestId === id);
  const uploading = mine.filter((e) => e.type === 'EVIDENCE_UPLOADING');
  expect(uploading.length).toBeGreaterThanOrEqual(2);
  expect(uploading.length).toBeLessThanOrEqual(4); // throttled: a handful, not one per chunk
  const percents = uploading.map((e) => e.percent as number);
  expect([...percents].sort((a, b) => a - b)).toEqual(percents);
  expect(percents.every((p) => p > 0 && p < 100)).toBe(true);
  expect(uploading[0]).toMatchObject({ id: null, status: null, clientId: partner.id });
  expect(mine[mine.length - 1].type).toBe('CREATED');
  // Unstored events still carry an id line: the last stored id, so a reconnect resumes from the right place.
  const frames = sse.frames.filter(
    (f) => f.data?.type === 'EVIDENCE_UPLOADING' && f.data.processRequestId === id,
  );
  expect(frames.every((f) => /^id: \d+\n/.test(f.raw))).toBe(true);
  sse.close();
});

test('a ": ping" comment every SSE_HEARTBEAT_SECONDS', async () => {
  const sse = await watch();
  const started = Date.now();
  await sse.waitFor((f) => f.raw === ': ping', 3000);
  await sse.waitFor((f) => f.raw === ': ping', 3000, sse.frames.findIndex((f) => f.raw === ': ping') + 1);
  expect(Date.now() - started).toBeLessThan(3500);
  sse.close();
});

test('Last-Event-ID replays the stored events after it, then goes live: no gap, no duplicate', async () => {
  const first = await watch();
  const a = await world.createRequest(partner.id, maker, '4.00');
  const seen = await first.waitForEvent({ type: 'CREATED', processRequestId: a });
  first.close();

  // Missed while disconnected.
  expect((await world.act(partner.id, a, 'approve', checker)).status).toBe(204);
  const b = await world.createRequest(partner.id, maker, '5.00');

  // Events keep coming while the client reconnects: the replay/live hand-over happens under load.
  const during = Promise.all([
    world.createRequest(partner.id, maker, '6.00'),
    world.createRequest(partner.id, maker, '7.00'),
    world.createRequest(partner.id, maker, '8.00'),
  ]);
  const resumed = await watch(viewer, { 'last-event-id': seen.id as string });
  const c = await world.createRequest(partner.id, maker, '9.00');
  await during;
  await resumed.waitForEvent({ type: 'CREATED', processRequestId: c });
  const stored = await world.sql<{ id: string }>(
    'select id from process_request_event where client_id = ? and id > ? order by id',
    [partner.id, seen.id],
  );
  // c's CREATED is not necessarily the last stored event (a create of `during` may commit after it): the
  // stream is complete once the last stored one has arrived.
  await resumed.waitForEvent({ id: String(stored[stored.length - 1].id) });
  const received = resumed.events().filter((e) => e.id !== null);
  const ids = received.map((e) => e.id as string);
  expect(new Set(ids).size).toBe(ids.length); // no duplicate
  // No gap, and in id order: a partner's events commit in id order, even for concurrent creates.
  expect(ids).toEqual(stored.map((r) => String(r.id)));
  expect(received.slice(0, 2)).toMatchObject([
    { type: 'APPROVED', processRequestId: a },
    { type: 'CREATED', processRequestId: b },
  ]);
  resumed.close();
});

test('concurrent changes of one partner arrive in id order, so a resume point never skips one', async () => {
  const sse = await watch();
  const ids = await Promise.all(
    Array.from({ length: 12 }, (_, i) => world.createRequest(partner.id, maker, `${i + 1}.00`)),
  );
  for (const id of ids) await sse.waitForEvent({ type: 'CREATED', processRequestId: id });
  const received = sse
    .events()
    .filter((e) => e.type === 'CREATED' && ids.includes(e.processRequestId as string))
    .map((e) => Number(e.id));
  expect(received).toHaveLength(12);
  expect(received).toEqual([...received].sort((x, y) => x - y));
});

test('a slow client that stopped reading does not delay a fast one, and is cut off instead of buffering', async () => {
  const base = 0;
  const fast = await watch();
  const slow = await watch(viewer, {}, false);
  await until(() => world.app.progress.openStreams === base + 2);
  const batches = 60;
  const batch = 500;
  const count = batches * batch;
  const started = Date.now();
  let slowestBatchMs = 0;
  // Sustained traffic the fast client keeps up with: ~7 MB of frames, more than the stalled socket and the slow
  // client's bounded buffer hold together.
  for (let i = 0; i < batches; i++) {
    const batchStarted = Date.now();
    await world.sql(
      `select pg_notify('process_request_progress', json_build_object(
         'id', null, 'partnerId', ?::text, 'processRequestId', gen_random_uuid(), 'type', 'EVIDENCE_UPLOADING',
         'actorId', null, 'fromStatus', null, 'toStatus', null, 'data', json_build_object('percent', i % 100),
         'at', now())::text) from generate_series(1, ?) as i`,
      [partner.id, batch],
    );
    await until(() => fast.dataCount >= (i + 1) * batch || fast.ended, 10_000);
    slowestBatchMs = Math.max(slowestBatchMs, Date.now() - batchStarted);
  }
  expect(fast.dataCount).toBe(count);
  const fastMs = Date.now() - started;
  // The server dropped the slow one (its bounded buffer overflowed) rather than hold every event for it.
  await until(() => world.app.progress.openStreams === base + 1, 10_000);
  slow.resume();
  await slow.done;
  console.log(
    `slow client: ${slow.dataCount} of ${count} frames before it was cut off; fast: all in ${fastMs} ms (slowest batch of ${batch}: ${slowestBatchMs} ms)`,
  );
  expect(slow.dataCount).toBeLessThan(count);
  expect(slow.response.complete).toBe(false);
  expect(slowestBatchMs).toBeLessThan(5000);
  // The fast one is still live afterwards.
  const id = await world.createRequest(partner.id, maker, '10.00');
  await fast.waitForEvent({ type: 'CREATED', processRequestId: id });
  fast.close();
  await until(() => world.app.progress.openStreams === base);
});

test('a client that vanishes is forgotten', async () => {
  const base = 0;
  const sse = await watch();
  await until(() => world.app.progress.openStreams === base + 1);
  sse.response.socket?.destroy();
  await until(() => world.app.progress.openStreams === base);
});

describe('with MAX_PROGRESS_STREAMS=2', () => {
  let small: World;
  let smallPartner: { id: string };
  let smallViewer: Operator;
  beforeAll(async () => {
    small = await createWorld({ MAX_PROGRESS_STREAMS: '2' });
    smallPartner = await small.partner('Small', 'USD');
    smallViewer = await small.operator(['VIEWER'], [smallPartner.id]);
  });
  afterAll(() => small?.close());

  const open = async () =>
    SseClient.open(
      `${small.baseUrl}${small.rest(smallPartner.id)}/process-request/progress`,
      await small.headers(smallViewer),
    );

  test('past the cap: 503 TOO_MANY_STREAMS; a closed stream frees its place', async () => {
    const one = await open();
    const two = await open();
    const three = await open();
    expect([one.status, two.status, three.status]).toEqual([200, 200, 503]);
    expect(JSON.parse(await three.body())).toMatchObject({ statusCode: 503, code: 'TOO_MANY_STREAMS' });
    one.close();
    await until(() => small.app.progress.openStreams === 1);
    const four = await open();
    expect(four.status).toBe(200);
    two.close();
    four.close();
    await until(() => small.app.progress.openStreams === 0);
  });

  test('closing the server ends open streams cleanly', async () => {
    const sse = await open();
    expect(sse.status).toBe(200);
    const started = Date.now();
    await small.app.close();
    await sse.done;
    expect(sse.response.complete).toBe(true); // ended by the server, not cut
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
