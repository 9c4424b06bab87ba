// Progress streams under attack, over real HTTP and WebSocket: resume ids that lose nothing, one operator's
// streams capped so others still get theirs, a cap per graphql-ws socket, stalled readers cut off, and
// streams closed when their operator is deactivated or loses the partner, or when their tokens expire.
import WebSocket from 'ws';
import type { Operator } from '../src/entities/operator.entity';
import { mintToken } from '../src/auth/dev-tokens';
import { runCli } from '../src/cli/run';
import { announceOperatorChange } from '../src/runtime/operator-change';
import { pdfOfSize } from './support/files';
import { storedEvents } from './support/progress-events';
import {
  openSocket,
  PROGRESS_SUBSCRIPTION,
  until,
  watchProgress,
  type ProgressWatcher,
} from './support/progress-ws';
import { SseClient } from './support/sse';
import { createWorld, type World } from './support/world';

/** performance-free elapsed time, for the figures these tests print. */
const since = (started: number) => Date.now() - started;

const progressUrl = (world: World, partnerId: string) =>
  `${world.baseUrl}${world.rest(partnerId)}/process-request/progress`;

async function openSse(
  world: World,
  partnerId: string,
  operator: Operator,
  extra: Record<string, string> = {},
  read = true,
): Promise<SseClient> {
  return SseClient.open(
    progressUrl(world, partnerId),
    { ...(await world.headers(operator)), ...extra },
    { read },
  );
}

async function storedIdsAfter(world: World, partnerId: string, after: string): Promise<string[]> {
  const rows = await world.sql<{ id: string }>(
    'select id from process_request_event where client_id = ? and id > ? order by id',
    [partnerId, after],
  );
  return rows.map((r) => String(r.id));
}

async function latestId(world: World, partnerId: string): Promise<string> {
  const [row] = await world.sql<{ id: string | null }>(
    'select max(id) as id from process_request_event where client_id = ?',
    [partnerId],
  );
  return String(row.id ?? 0);
}

/** Every raw socket a test opened, closed after each test whatever happened. */
const sockets: WebSocket[] = [];
const closeSockets = () => {
  for (const socket of sockets.splice(0)) socket.terminate();
};
afterEach(closeSockets);

/** A bare graphql-transport-ws socket (closed after the test), with a subscribe and a filter by type. */
async function rawSocket(world: World, headers: Record<string, string>) {
  const { socket, messages, closed } = await openSocket(world.baseUrl, headers);
  sockets.push(socket);
  return {
    socket,
    messages,
    closed,
    subscribe(id: string, clientId: string) {
      socket.send(
        JSON.stringify({
          id,
          type: 'subscribe',
          payload: {
            query:
              'subscription ($c: ID!) { processRequestProgress(clientId: $c) { id type processRequestId } }',
            variables: { c: clientId },
          },
        }),
      );
    },
    of(type: string) {
      return messages.filter((m) => m.type === type);
    },
  };
}

/** Forged EVIDENCE_UPLOADING notifications (not stored), `size` bytes of payload each. */
async function uploadingNotifications(world: World, partnerId: string, count: number, size = 200) {
  await world.sql(
    `select pg_notify('process_request_progress', json_build_object(
       'id', null, 'partnerId', ?::text, 'processRequestId', gen_random_uuid(), 'type', 'EVIDENCE_UPLOADING',
       'actorId', null, 'fromStatus', null, 'toStatus', null,
       'data', json_build_object('percent', i % 100, 'code', repeat('x', ?)), 'at', now())::text)
     from generate_series(1, ?) as i`,
    [partnerId, size, count],
  );
}

describe('with the default limits', () => {
  let world: World;
  let partner: { id: string };
  let maker: Operator;
  let viewer: Operator;
  const opened: SseClient[] = [];
  const watchers: ProgressWatcher[] = [];

  beforeAll(async () => {
    // Operators are re-read only on notification here (the timer is an hour), so a prompt close proves the notification.
    // Tokens may live up to the longest MAX_TOKEN_LIFETIME_SECONDS allows (366 days), past the longest timer.
    world = await createWorld({
      OPERATOR_RECHECK_SECONDS: '3600',
      MAX_TOKEN_LIFETIME_SECONDS: String(366 * 86_400),
    });
    ({ partner, maker, viewer } = await world.team());
  });
  afterAll(() => world?.close());
  afterEach(async () => {
    closeSockets();
    for (const sse of opened.splice(0)) sse.close();
    for (const w of watchers.splice(0)) await w.dispose();
    await until(() => world.app.progress.openStreams === 0, 20_000);
  });

  const sse = async (partnerId: string, operator: Operator, extra: Record<string, string> = {}) => {
    const client = await openSse(world, partnerId, operator, extra);
    opened.push(client);
    return client;
  };

  describe('resume: each frame carries its own id', () => {
    test('a client dropped in the middle of a 1,500-event replay resumes from its last id: nothing lost, nothing twice', async () => {
      const start = await latestId(world, partner.id);
      await storedEvents(world, partner.id, maker, 1500);
      const stored = await storedIdsAfter(world, partner.id, start);
      expect(stored).toHaveLength(1500);

      // First connection: replays from `start` in pages of 500; the client drops after 550 frames or so.
      const first = await sse(partner.id, viewer, { 'last-event-id': start });
      expect(first.status).toBe(200);
      first.response.on('data', () => {
        if (first.dataCount >= 550) {
          first.response.pause();
          first.close();
        }
      });
      await first.done;
      const got = first.frames.filter((f) => f.data);
      // Dropped inside the second replay page, before its last event.
      expect(got.length).toBeGreaterThanOrEqual(550);
      expect(got.length).toBeLessThan(1000);
      for (const frame of got) expect(frame.id).toBe(frame.data?.id);
      const resumeFrom = got[got.length - 1].id as string;
      expect(resumeFrom).toBe(stored[got.length - 1]);

      // Second connection, as a browser does it: Last-Event-ID = the id of the last frame received.
      const second = await sse(partner.id, viewer, { 'last-event-id': resumeFrom });
      await second.waitFor((f) => f.id === stored[stored.length - 1], 20_000);
      const again = second.frames.filter((f) => f.data);
      for (const frame of again) expect(frame.id).toBe(frame.data?.id);

      const all = [...got, ...again].map((f) => f.data?.id as string);
      expect(new Set(all).size).toBe(all.length); // nothing twice
      expect(all).toEqual(stored); // nothing lost, in order
      console.log(
        `resume mid-replay: dropped after ${got.length} of 1500 replayed frames, resumed from id ${resumeFrom}: ` +
          `${again.length} more, ${1500 - new Set(all).size} lost, ${all.length - new Set(all).size} duplicated`,
      );
    });

    test('an upload frame (not stored) carries the id of the last stored event delivered before it', async () => {
      const before = await latestId(world, partner.id);
      const stream = await sse(partner.id, viewer);
      const first = await world.createRequest(partner.id, maker, '1.00', pdfOfSize(2 * 1024 * 1024));
      const created = await stream.waitForEvent({ type: 'CREATED', processRequestId: first });
      const second = await world.createRequest(partner.id, maker, '2.00', pdfOfSize(2 * 1024 * 1024));
      await stream.waitForEvent({ type: 'CREATED', processRequestId: second });

      const uploads = (id: string) =>
        stream.frames.filter((f) => f.data?.type === 'EVIDENCE_UPLOADING' && f.data.processRequestId === id);
      expect(uploads(first).length).toBeGreaterThan(0);
      expect(uploads(second).length).toBeGreaterThan(0);
      // Before any stored event on this stream: the id it started after (the partner's latest at the time).
      for (const f of uploads(first)) expect(f.id).toBe(before);
      for (const f of uploads(second)) expect(f.id).toBe(created.id);
      expect(created.id).toBe(created.data?.id);
    });

    test.each([
      ['Last-Event-ID: 9999999999999999999', { 'last-event-id': '9999999999999999999' }, ''],
      [
        'Last-Event-ID: 9223372036854775808 (largest bigint + 1)',
        { 'last-event-id': '9223372036854775808' },
        '',
      ],
      ['?lastEventId=9999999999999999999', {}, '?lastEventId=9999999999999999999'],
    ])('%s, beyond bigint: a clean 400 before any stream', async (_what, headers, query) => {
      const client = await SseClient.open(`${progressUrl(world, partner.id)}${query}`, {
        ...(await world.headers(viewer)),
        ...headers,
      });
      opened.push(client);
      expect(client.status).toBe(400);
      expect(client.response.headers['content-type']).toMatch(/^application\/json/);
      const body = JSON.parse(await client.body());
      expect(body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      expect(client.response.complete).toBe(true);
      expect(world.app.progress.openStreams).toBe(0);
    });

    test('the largest bigint is a valid Last-Event-ID (nothing to replay), and the stream goes live', async () => {
      const before = await latestId(world, partner.id);
      const client = await sse(partner.id, viewer, { 'last-event-id': '9223372036854775807' });
      expect(client.status).toBe(200);
      const id = await world.createRequest(partner.id, maker, '3.00', pdfOfSize(2 * 1024 * 1024));
      // A live event with a smaller id than the resume point is still delivered (it is not a replay).
      await client.waitForEvent({ type: 'CREATED', processRequestId: id });
      // An id past every stored event names none: the stream starts from the partner's latest, so even an
      // upload frame's id (the last delivered) is one a client can resume from without skipping anything.
      const uploads = client.frames.filter((f) => f.data?.type === 'EVIDENCE_UPLOADING');
      expect(uploads.length).toBeGreaterThan(0);
      for (const f of uploads) expect(f.id).toBe(before);
    });
  });

  describe('fairness', () => {
    test('one VIEWER opening 1,000 SSE streams gets 50 (429 for the rest); another operator still gets 200', async () => {
      const hog = await world.operator(['VIEWER'], [partner.id]);
      const other = await world.partner('Other', 'EUR');
      const bystander = await world.operator(['VIEWER'], [other.id]);
      const headers = await world.headers(hog);
      const statuses: number[] = [];
      const refusals = new Set<string>();
      const started = Date.now();
      for (let batch = 0; batch < 10; batch++) {
        const clients = await Promise.all(
          Array.from({ length: 100 }, () => SseClient.open(progressUrl(world, partner.id), headers)),
        );
        for (const c of clients) {
          statuses.push(c.status);
          if (c.status === 200) opened.push(c);
          else {
            refusals.add(JSON.parse(await c.body()).code);
            c.close();
          }
        }
      }
      const count = (s: number) => statuses.filter((x) => x === s).length;
      expect({ ok: count(200), refused: count(429) }).toEqual({ ok: 50, refused: 950 });
      expect([...refusals]).toEqual(['TOO_MANY_OPERATOR_STREAMS']);
      expect(world.app.progress.openStreamsFor(hog.id)).toBe(50);

      const victim = await sse(other.id, bystander);
      const victimWs = watchProgress(world.baseUrl, await world.headers(bystander), other.id);
      watchers.push(victimWs);
      await until(() => world.app.progress.openStreamsFor(bystander.id) === 2);
      expect(victim.status).toBe(200);
      const otherMaker = await world.operator(['MAKER'], [other.id]);
      const id = await world.createRequest(other.id, otherMaker, '5.00');
      await victim.waitForEvent({ type: 'CREATED', processRequestId: id });
      await victimWs.waitFor({ type: 'CREATED', processRequestId: id });
      console.log(
        `1,000 SSE streams from one VIEWER in ${since(started)} ms: ${count(200)} served, ${count(429)} refused 429, ` +
          `${count(503)} refused 503; another operator: SSE ${victim.status}, subscription live`,
      );
    });

    test('one graphql-ws socket asking for 1,000 subscriptions is served 20; the rest are refused; others unaffected', async () => {
      const hog = await world.operator(['VIEWER'], [partner.id]);
      const ws = await rawSocket(world, await world.headers(hog));
      for (let i = 1; i <= 1000; i++) ws.subscribe(String(i), partner.id);
      await until(() => ws.of('error').length === 980, 20_000);
      await until(() => world.app.progress.openStreamsFor(hog.id) === 20);
      const codes = new Set(
        ws.of('error').map((m) => (m.payload as [{ extensions: { code: string } }])[0].extensions.code),
      );
      expect([...codes]).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
      expect((ws.of('error')[0].payload as [{ extensions: unknown }])[0].extensions).toMatchObject({
        status: 429,
        details: { limit: 20 },
      });
      expect(ws.closed()).toBeUndefined(); // the socket itself stays up

      // The 20 it holds are live; another operator subscribes as usual.
      const other = watchProgress(world.baseUrl, await world.headers(viewer), partner.id);
      watchers.push(other);
      await until(() => world.app.progress.openStreamsFor(viewer.id) === 1);
      const id = await world.createRequest(partner.id, maker, '6.00');
      await other.waitFor({ type: 'CREATED', processRequestId: id });
      await until(() => ws.of('next').length === 20);

      // Completing one frees a place on the socket.
      ws.socket.send(JSON.stringify({ id: '1', type: 'complete' }));
      await until(() => world.app.progress.openStreamsFor(hog.id) === 19);
      ws.subscribe('1001', partner.id);
      await until(() => world.app.progress.openStreamsFor(hog.id) === 20);
      ws.socket.close();
    });

    test('three sockets of one operator: the operator cap (50) applies across them', async () => {
      const hog = await world.operator(['VIEWER'], [partner.id]);
      const headers = await world.headers(hog);
      const sockets = await Promise.all([1, 2, 3].map(() => rawSocket(world, headers)));
      sockets.forEach((ws, n) => {
        for (let i = 1; i <= 20; i++) ws.subscribe(`${n}-${i}`, partner.id);
      });
      await until(() => sockets.reduce((sum, ws) => sum + ws.of('error').length, 0) === 10, 20_000);
      await until(() => world.app.progress.openStreamsFor(hog.id) === 50);
      const codes = sockets.flatMap((ws) =>
        ws.of('error').map((m) => (m.payload as [{ extensions: { code: string } }])[0].extensions.code),
      );
      expect(new Set(codes)).toEqual(new Set(['TOO_MANY_OPERATOR_STREAMS']));
      for (const ws of sockets) ws.socket.close();
    });
  });

  describe('revocation', () => {
    test("operator:deactivate (the CLI) closes the operator's SSE stream and subscription at once, others go on", async () => {
      const doomed = await world.operator(['VIEWER'], [partner.id]);
      const stream = await sse(partner.id, doomed);
      const subscription = watchProgress(world.baseUrl, await world.headers(doomed), partner.id);
      watchers.push(subscription);
      const bystander = await sse(partner.id, viewer);
      await until(() => world.app.progress.openStreamsFor(doomed.id) === 2);
      const before = await world.createRequest(partner.id, maker, '7.00');
      await stream.waitForEvent({ type: 'CREATED', processRequestId: before });
      await subscription.waitFor({ type: 'CREATED', processRequestId: before });

      const started = Date.now();
      const result = await runCli(['operator:deactivate', '--operator', doomed.email], {
        NODE_ENV: 'test',
        DATABASE_URL: world.databaseUrl,
        LOG_LEVEL: 'silent',
      });
      const cliMs = since(started);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      await Promise.all([stream.done, subscription.settled]);
      const closedMs = since(started);

      // SSE: ended by the server (not cut), last a comment naming the reason.
      expect(stream.response.complete).toBe(true);
      expect(stream.raw.endsWith(': OPERATOR_INACTIVE\n\n')).toBe(true);
      // graphql-ws: the subscription ends with an error carrying the code.
      expect(subscription.error).toEqual([
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'OPERATOR_INACTIVE', status: 403 }),
        }),
      ]);
      expect(world.app.progress.openStreamsFor(doomed.id)).toBe(0);
      expect(closedMs).toBeLessThan(cliMs + 2000);

      const after = await world.createRequest(partner.id, maker, '8.00');
      await bystander.waitForEvent({ type: 'CREATED', processRequestId: after });
      expect(stream.events().some((e) => e.processRequestId === after)).toBe(false);
      expect(subscription.events.some((e) => e.processRequestId === after)).toBe(false);
      // And it cannot come back.
      const retry = await SseClient.open(progressUrl(world, partner.id), await world.headers(doomed));
      expect(retry.status).toBe(403);
      expect(JSON.parse(await retry.body())).toMatchObject({ code: 'OPERATOR_INACTIVE' });
      console.log(
        `deactivation via the CLI: command done in ${cliMs} ms; SSE stream and subscription both closed ${closedMs} ms after it started`,
      );
    });

    test('a notification for an operator who still may read closes nothing', async () => {
      const keeper = await world.operator(['VIEWER'], [partner.id]);
      const stream = await sse(partner.id, keeper);
      await until(() => world.app.progress.openStreamsFor(keeper.id) === 1);
      await announceOperatorChange(world.app.orm.em.fork(), keeper.id);
      await new Promise((r) => setTimeout(r, 300));
      expect(stream.ended).toBe(false);
      const id = await world.createRequest(partner.id, maker, '9.00');
      await stream.waitForEvent({ type: 'CREATED', processRequestId: id });
    });

    test('a stream lasts as long as its tokens: both doors end with UNAUTHENTICATED, fresh tokens resume with nothing lost', async () => {
      const op = await world.operator(['VIEWER'], [partner.id]);
      const shortLived = await world.headers(op, 1);
      const exp = expOf(shortLived['x-user-token']);
      const stream = await SseClient.open(progressUrl(world, partner.id), shortLived);
      opened.push(stream);
      const subscription = watchProgress(world.baseUrl, shortLived, partner.id);
      watchers.push(subscription);
      await until(() => world.app.progress.openStreamsFor(op.id) === 2);
      const before = await world.createRequest(partner.id, maker, '10.00');
      await stream.waitForEvent({ type: 'CREATED', processRequestId: before });
      await subscription.waitFor({ type: 'CREATED', processRequestId: before });

      await Promise.all([stream.done, subscription.settled]);
      // Not before the tokens stop verifying (exp plus the 5 s clock tolerance), and promptly after.
      const lateMs = Date.now() - (exp + 5) * 1000;
      expect(lateMs).toBeGreaterThanOrEqual(0);
      expect(lateMs).toBeLessThan(2000);
      expect(stream.response.complete).toBe(true);
      expect(stream.raw.endsWith(': UNAUTHENTICATED\n\n')).toBe(true);
      expect(subscription.error).toEqual([
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'UNAUTHENTICATED', status: 401 }),
        }),
      ]);
      expect(world.app.progress.openStreamsFor(op.id)).toBe(0);

      // What happened while it was away comes first on the resumed stream.
      const missed = await world.createRequest(partner.id, maker, '11.00');
      const lastId = stream.frames.filter((f) => f.id).pop()?.id as string;
      const resumed = await sse(partner.id, op, { 'last-event-id': lastId });
      expect(resumed.status).toBe(200);
      await resumed.waitForEvent({ type: 'CREATED', processRequestId: missed });
      expect(resumed.events().some((e) => e.processRequestId === before)).toBe(false);
      const subscriptionLastId = subscription.events[subscription.events.length - 1].id as string;
      const resubscribed = watchProgress(
        world.baseUrl,
        await world.headers(op),
        partner.id,
        PROGRESS_SUBSCRIPTION,
        subscriptionLastId,
      );
      watchers.push(resubscribed);
      await resubscribed.waitFor({ type: 'CREATED', processRequestId: missed });
      expect(resubscribed.events.some((e) => e.processRequestId === before)).toBe(false);
    });

    test.each([['40 days (past the longest timer, about 24.8 days)', 40 * 86_400]])(
      'tokens valid for %s keep their stream open',
      async (_what, ttlSeconds) => {
        const op = await world.operator(['VIEWER'], [partner.id]);
        const config = world.app.config;
        const headers = {
          authorization: `Bearer ${await mintToken(config, 'app', 'long-lived', ttlSeconds)}`,
          'x-user-token': `Bearer ${await mintToken(config, 'user', op.subject, ttlSeconds)}`,
        };
        const stream = await SseClient.open(progressUrl(world, partner.id), headers);
        opened.push(stream);
        expect(stream.status).toBe(200);
        const id = await world.createRequest(partner.id, maker, '12.00');
        await stream.waitForEvent({ type: 'CREATED', processRequestId: id });
        await new Promise((r) => setTimeout(r, 300));
        expect(stream.ended).toBe(false);
        expect(world.app.progress.openStreamsFor(op.id)).toBe(1);
      },
    );

    test('a token valid beyond the calendar (no date for its exp) opens no stream: past MAX_TOKEN_LIFETIME_SECONDS it is 401', async () => {
      const op = await world.operator(['VIEWER'], [partner.id]);
      const config = world.app.config;
      const headers = {
        authorization: `Bearer ${await mintToken(config, 'app', 'long-lived', 1e13)}`,
        'x-user-token': `Bearer ${await mintToken(config, 'user', op.subject, 1e13)}`,
      };
      const stream = await SseClient.open(progressUrl(world, partner.id), headers);
      opened.push(stream);
      expect(stream.status).toBe(401);
      expect(world.app.progress.openStreamsFor(op.id)).toBe(0);
    });
  });
});

/** The `exp` claim of a `Bearer <jwt>` header value. */
function expOf(header: string): number {
  const payload = header.replace(/^Bearer /, '').split('.')[1];
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp: number }).exp;
}

describe('with MAX_PROGRESS_STREAMS=3 and MAX_PROGRESS_STREAMS_PER_OPERATOR=2', () => {
  let world: World;
  let partner: { id: string };
  let a: Operator;
  let b: Operator;
  beforeAll(async () => {
    world = await createWorld({ MAX_PROGRESS_STREAMS: '3', MAX_PROGRESS_STREAMS_PER_OPERATOR: '2' });
    partner = await world.partner('Small', 'USD');
    a = await world.operator(['VIEWER'], [partner.id]);
    b = await world.operator(['VIEWER'], [partner.id]);
  });
  afterAll(() => world?.close());

  test('SSE and subscriptions count together per operator (429); the process cap stays 503', async () => {
    const a1 = await openSse(world, partner.id, a);
    const a2 = watchProgress(world.baseUrl, await world.headers(a), partner.id);
    await until(() => world.app.progress.openStreamsFor(a.id) === 2);
    const a3 = await openSse(world, partner.id, a);
    expect(a3.status).toBe(429);
    expect(JSON.parse(await a3.body())).toMatchObject({
      statusCode: 429,
      code: 'TOO_MANY_OPERATOR_STREAMS',
      details: { limit: 2 },
    });
    const a4 = watchProgress(world.baseUrl, await world.headers(a), partner.id);
    await a4.settled;
    expect(a4.error).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'TOO_MANY_OPERATOR_STREAMS', status: 429 }),
      }),
    ]);

    const b1 = await openSse(world, partner.id, b);
    expect(b1.status).toBe(200);
    const b2 = await openSse(world, partner.id, b);
    expect(b2.status).toBe(503);
    expect(JSON.parse(await b2.body())).toMatchObject({ code: 'TOO_MANY_STREAMS' });

    a1.close();
    await until(() => world.app.progress.openStreamsFor(a.id) === 1);
    const a5 = await openSse(world, partner.id, a);
    expect(a5.status).toBe(200);
    for (const c of [a5, b1]) c.close();
    await a2.dispose();
    await a4.dispose();
    await until(() => world.app.progress.openStreams === 0);
  });
});

describe('with PROGRESS_STALL_SECONDS=1', () => {
  let world: World;
  let partner: { id: string };
  let viewer: Operator;
  beforeAll(async () => {
    world = await createWorld({ PROGRESS_STALL_SECONDS: '1' });
    partner = await world.partner('Stall', 'USD');
    viewer = await world.operator(['VIEWER'], [partner.id]);
  });
  afterAll(() => world?.close());

  test('an SSE client that stopped reading is cut off once its socket stays full, and its place is free again', async () => {
    const reader = await openSse(world, partner.id, viewer);
    const stalled = await openSse(world, partner.id, viewer, {}, false);
    await until(() => world.app.progress.openStreams === 2);
    // ~7.5 MB in 990 frames: more than the sockets hold, fewer events than the 1,000 a stream may buffer,
    // so only the stall bound can end it.
    for (let i = 0; i < 9; i++) await uploadingNotifications(world, partner.id, 110, 7500);
    await until(() => reader.dataCount === 990, 20_000);
    const sent = Date.now();
    await until(() => world.app.progress.openStreams === 1, 10_000);
    const cutMs = since(sent);
    expect(cutMs).toBeLessThan(5000);
    stalled.resume();
    await stalled.done;
    expect(stalled.response.complete).toBe(false); // dropped, not ended
    expect(stalled.dataCount).toBeLessThan(990);
    expect(reader.ended).toBe(false); // a client that reads is never cut
    const again = await openSse(world, partner.id, viewer);
    expect(again.status).toBe(200);
    console.log(
      `stalled SSE reader: cut ${cutMs} ms after the last frame was sent (bound 1 s), having read ${stalled.dataCount} of 990`,
    );
    reader.close();
    again.close();
    await until(() => world.app.progress.openStreams === 0);
  });

  test('a graphql-ws client that stopped reading is terminated and its subscriptions freed', async () => {
    const ws = await rawSocket(world, await world.headers(viewer));
    ws.subscribe('1', partner.id);
    ws.subscribe('2', partner.id);
    await until(() => world.app.progress.openStreams === 2);
    const healthy = watchProgress(world.baseUrl, await world.headers(viewer), partner.id);
    await until(() => world.app.progress.openStreams === 3);
    const paused = Date.now();
    ws.socket.pause(); // reads nothing more: no pong can come back
    await until(() => world.app.progress.openStreams === 1, 10_000);
    const cutMs = since(paused);
    expect(cutMs).toBeLessThan(3000);
    ws.socket.resume();
    await until(() => ws.closed() !== undefined);
    expect(ws.closed()).toEqual({ code: 1006 }); // terminated, no close frame
    // The reading one is untouched.
    await new Promise((r) => setTimeout(r, 1500));
    expect(world.app.progress.openStreams).toBe(1);
    expect(healthy.error).toBeUndefined();
    console.log(`stalled graphql-ws reader: terminated ${cutMs} ms after it stopped reading (bound 1 s)`);
    await healthy.dispose();
  });
});

describe('with OPERATOR_RECHECK_SECONDS=1 (changes made without a notification)', () => {
  let world: World;
  let partner: { id: string };
  beforeAll(async () => {
    world = await createWorld({ OPERATOR_RECHECK_SECONDS: '1' });
    partner = await world.partner('Timer', 'USD');
  });
  afterAll(() => world?.close());

  test.each([
    ['deactivated', 'active = false', 'OPERATOR_INACTIVE', 403],
    ['partner taken out of scope', "partner_ids = '{}'", 'PARTNER_FORBIDDEN', 403],
    ['every role removed', "roles = '{}'", 'FORBIDDEN', 403],
  ])('%s: both doors close within the re-check period', async (_what, change, code, status) => {
    const op = await world.operator(['VIEWER'], [partner.id]);
    const stream = await openSse(world, partner.id, op);
    const subscription = watchProgress(world.baseUrl, await world.headers(op), partner.id);
    await until(() => world.app.progress.openStreamsFor(op.id) === 2);
    const started = Date.now();
    await world.sql(`update operator set ${change} where id = ?`, [op.id]);
    await Promise.all([stream.done, subscription.settled]);
    const closedMs = since(started);
    expect(closedMs).toBeLessThan(3000);
    expect(stream.response.complete).toBe(true);
    expect(stream.raw.endsWith(`: ${code}\n\n`)).toBe(true);
    expect(subscription.error).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code, status }) }),
    ]);
    expect(world.app.progress.openStreamsFor(op.id)).toBe(0);
    await subscription.dispose();
  });
});
