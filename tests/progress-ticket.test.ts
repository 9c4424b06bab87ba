// Browsers can stream (SPEC section 20): EventSource cannot send the two credential headers, so it opens the
// progress stream with a one-use ticket asked for with them. Driven with the `eventsource` package, a
// WHATWG EventSource that, like a browser's, sends no headers of its own choosing.
import { EventSource } from 'eventsource';
import { deactivateOperator } from '../src/services/identity/admin.service';
import { SseClient } from './support/sse';
import { createWorld, type Team, type World } from './support/world';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

async function ticketFor(team: Team, operator = team.viewer, partnerId = team.partner.id) {
  return world.http
    .post(`${world.rest(partnerId)}/process-request/progress/ticket`)
    .set(await world.headers(operator));
}

const streamUrl = (partnerId: string, ticket: string) =>
  `${world.baseUrl}${world.rest(partnerId)}/process-request/progress?ticket=${encodeURIComponent(ticket)}`;

/** The refusal of a stream opened with `ticket` and no headers: its status and JSON body. */
async function refused(partnerId: string, ticket: string) {
  const client = await SseClient.open(streamUrl(partnerId, ticket), {});
  await client.body();
  return {
    status: client.status,
    body: JSON.parse(client.raw) as Record<string, any>,
    headers: client.response.headers,
  };
}

test('a ticket asked for with the two tokens opens the stream in an EventSource, which then receives events', async () => {
  const team = await world.team('Ticketed');
  const res = await ticketFor(team);
  expect(res.status).toBe(201);
  expect(res.body).toEqual({
    ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    expiresAt: expect.any(String),
  });
  const lifetime = Date.parse(res.body.expiresAt) - Date.now();
  expect(lifetime).toBeGreaterThan(50_000);
  expect(lifetime).toBeLessThanOrEqual(61_000);

  const source = new EventSource(streamUrl(team.partner.id, res.body.ticket));
  try {
    await new Promise<void>((resolve, reject) => {
      source.onopen = () => resolve();
      source.onerror = (e) => reject(new Error(`EventSource failed: ${e.message ?? e.code}`));
    });
    const received = new Promise<MessageEvent>((resolve) => {
      source.onmessage = (event) => {
        if (JSON.parse(event.data).type === 'CREATED') resolve(event);
      };
    });
    const id = await world.createRequest(team.partner.id, team.maker, '12.50');
    const event = await received;
    expect(JSON.parse(event.data)).toMatchObject({
      processRequestId: id,
      type: 'CREATED',
      status: 'PENDING',
    });
    expect(event.lastEventId).toMatch(/^\d+$/);
  } finally {
    source.close();
  }
  // Only its hash was stored, and using it spent it.
  expect(await world.sql('select id from stream_ticket where id = ?', [res.body.ticket])).toEqual([]);
});

test('a ticket opens one connection: the second is 401 with reason unknown', async () => {
  const team = await world.team('Once');
  const { ticket } = (await ticketFor(team)).body;
  const first = await SseClient.open(streamUrl(team.partner.id, ticket), {});
  expect(first.status).toBe(200);
  first.close();
  const second = await refused(team.partner.id, ticket);
  expect(second.status).toBe(401);
  expect(second.body.details).toEqual({ token: 'ticket', header: '?ticket=', reason: 'unknown' });
  expect(second.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token", error_description="/);
});

test('a ticket past its 60 seconds is 401 expired', async () => {
  const team = await world.team('Late');
  const { ticket } = (await ticketFor(team)).body;
  await world.sql(`update stream_ticket set expires_at = now() - interval '1 second'`);
  const res = await refused(team.partner.id, ticket);
  expect(res.status).toBe(401);
  expect(res.body.details.reason).toBe('expired');
});

test("a ticket is bound to its partner: on another partner's stream it is 401 wrong_audience", async () => {
  const team = await world.team('Bound');
  const other = await world.partner('Elsewhere');
  const admin = await world.operator(['VIEWER'], null);
  const { ticket } = (await ticketFor(team, admin)).body;
  const res = await refused(other.id, ticket);
  expect(res.status).toBe(401);
  expect(res.body.details.reason).toBe('wrong_audience');
});

test('a malformed ticket is 401 malformed; no ticket and no headers is 401 for the missing app token', async () => {
  const team = await world.team('Malformed');
  const bad = await refused(team.partner.id, 'not-a-ticket');
  expect(bad.status).toBe(401);
  expect(bad.body.details).toMatchObject({ token: 'ticket', reason: 'malformed' });
  const none = await SseClient.open(
    `${world.baseUrl}${world.rest(team.partner.id)}/process-request/progress`,
    {},
  );
  await none.body();
  expect(none.status).toBe(401);
  expect(JSON.parse(none.raw).details).toMatchObject({ token: 'app', reason: 'missing' });
});

test('a ticket is only issued for a partner the operator may read', async () => {
  const team = await world.team('Scoped');
  const other = await world.partner('Not mine');
  const res = await ticketFor(team, team.viewer, other.id);
  expect(res.status).toBe(403);
  expect(res.body.code).toBe('PARTNER_FORBIDDEN');
  const anonymous = await world.http.post(`${world.rest(team.partner.id)}/process-request/progress/ticket`);
  expect(anonymous.status).toBe(401);
});

test('the operator is read again when the ticket is used: deactivated in between is 403 OPERATOR_INACTIVE', async () => {
  const team = await world.team('Deactivated');
  const { ticket } = (await ticketFor(team)).body;
  await deactivateOperator(world.app.orm.em.fork(), team.viewer.email);
  const res = await refused(team.partner.id, ticket);
  expect(res.status).toBe(403);
  expect(res.body.code).toBe('OPERATOR_INACTIVE');
});

test('a HEAD of the stream is judged as its GET and opens nothing: the ticket it names stays usable, no stream is counted', async () => {
  const team = await world.team('Headed');
  const { ticket } = (await ticketFor(team)).body;
  const path = `${world.rest(team.partner.id)}/process-request/progress`;
  const before = world.app.progress.openStreams;
  const head = await world.http.head(`${path}?ticket=${encodeURIComponent(ticket)}`);
  expect([head.status, head.headers['content-type'], head.text]).toEqual([
    200,
    'text/event-stream',
    undefined,
  ]);
  expect(world.app.progress.openStreams).toBe(before);
  expect(await world.sql('select id from stream_ticket where client_id = ?', [team.partner.id])).toHaveLength(
    1,
  );
  // With the two headers, and refused as the GET is: no credentials, another partner, a bad Last-Event-ID.
  const headers = await world.headers(team.viewer);
  expect((await world.http.head(path).set(headers)).status).toBe(200);
  expect((await world.http.head(path)).status).toBe(401);
  const other = await world.partner('Not headed');
  expect(
    (await world.http.head(`${world.rest(other.id)}/process-request/progress`).set(headers)).status,
  ).toBe(403);
  expect((await world.http.head(path).set(headers).set('Last-Event-ID', 'x')).status).toBe(400);
  expect(world.app.progress.openStreams).toBe(before);
  // The ticket still opens its one stream.
  const stream = await SseClient.open(streamUrl(team.partner.id, ticket), {});
  expect(stream.status).toBe(200);
  stream.close();
});
