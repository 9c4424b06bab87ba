// Partner webhooks (SPEC section 16) against a real receiver on 127.0.0.1 that verifies every message
// with the Standard Webhooks reference library: delivery, the thin body, scripted failures (500, 503 with
// Retry-After, timeout, redirect, 410), retry and recover, rotation, per-endpoint concurrency, metrics.
import type { Operator } from '../src/entities/operator.entity';
import { waitUntil } from './support/crash-storm';
import { scrape } from './support/metrics';
import { registerEndpoint, startReceiver, type Receiver } from './support/webhook-receiver';
import { createWorld, type Team, type World } from './support/world';

jest.setTimeout(60_000);

let world: World;
let team: Team;
let admin: Operator;
const receivers: Receiver[] = [];

beforeAll(async () => {
  world = await createWorld({
    WEBHOOK_RETRY_SCHEDULE: '1,1',
    WEBHOOK_TIMEOUT_SECONDS: '1',
    WEBHOOK_CONCURRENCY: '2',
  });
  team = await world.team('Hooks');
  admin = await world.operator(['ADMIN'], [team.partner.id]);
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await world.close();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

const register = (r: Receiver, extra: Record<string, unknown> = {}, partnerId = team.partner.id) =>
  registerEndpoint(world, partnerId, admin, r, extra);

async function deliveries(endpointId: string, query = '') {
  const res = await world.http
    .get(`${world.rest(team.partner.id)}/webhook-endpoints/${endpointId}/deliveries${query}`)
    .set(await world.headers(admin));
  expect(res.status).toBe(200);
  return res.body as {
    items: Array<{
      id: string;
      eventId: string;
      status: string;
      attempts: Array<{ statusCode: number | null; error: string | null }>;
    }>;
    total: number;
  };
}

const until = async (check: () => boolean | Promise<boolean>, ms = 15_000) =>
  expect(await waitUntil(async () => check(), ms)).toBe(true);

test("a receiver verifying with standardwebhooks gets every event of its partner, thin, in order, and no other partner's", async () => {
  const r = await receiver();
  const endpoint = await register(r);
  expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  const stored = await world.sql<{ secret_sealed: string }>(
    'select secret_sealed from webhook_endpoint where id = ?',
    [endpoint.id],
  );
  expect(stored[0].secret_sealed).not.toContain(endpoint.secret.slice(6, 20));

  const other = await world.team('Elsewhere');
  const id = await world.createInProcess(team.partner.id, team.maker, '1234.50');
  await world.createInProcess(other.partner.id, other.maker, '9.00');
  expect(
    (await world.act(team.partner.id, id, 'approve', team.checker, { reason: 'see https://x.example' }))
      .status,
  ).toBe(204);

  await until(() => r.received.length >= 2);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(r.received).toHaveLength(2);
  expect(r.received.every((m) => m.verifiedBy.includes(0))).toBe(true);
  const [created, approved] = r.received.map((m) => m.verified!);
  expect(created).toEqual({
    type: 'process_request.created',
    timestamp: expect.any(String),
    data: {
      eventId: expect.stringMatching(/^\d+$/),
      partnerId: team.partner.id,
      processRequestId: id,
      processTypeId: 1,
      status: 'PENDING',
      requestedAmount: '1234.50',
      currency: 'USD',
      approvals: 0,
      requiredApprovals: 1,
      actorId: team.maker.id,
    },
  });
  expect(approved).toMatchObject({
    type: 'process_request.approved',
    data: { status: 'APPROVED', approvals: 1, actorId: team.checker.id, processRequestId: id },
  });
  expect(BigInt(approved.data.eventId as string)).toBeGreaterThan(BigInt(created.data.eventId as string));
  // Thin: no link, no file, no free text (the reason stays behind the API).
  expect(r.received.map((m) => m.body).join()).not.toMatch(/https?:|receipt|reason|x\.example/);
  // webhook-id is the delivery's id; the log shows one successful attempt each.
  const log = await deliveries(endpoint.id);
  expect(log.items.map((d) => d.id).sort()).toEqual(r.received.map((m) => m.id).sort());
  expect(log.items.every((d) => d.status === 'SUCCEEDED' && d.attempts.length === 1)).toBe(true);
  expect(Math.abs(Number(r.received[0].timestamp) - Date.now() / 1000)).toBeLessThan(30);
  await world.http
    .delete(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .expect(204);
});

test('scripted failures: 500, 503 with Retry-After, a timeout and a redirect are retried with the same webhook-id', async () => {
  const r = await receiver();
  const target = await receiver();
  const endpoint = await register(r, { eventTypes: ['process_request.created'] });
  r.script.push(
    { status: 500 },
    { status: 503, headers: { 'retry-after': '3' } },
    { status: 204, delayMs: 2500 },
  );
  const id = await world.createInProcess(team.partner.id, team.maker);
  await world.act(team.partner.id, id, 'cancel', team.maker).then((res) => expect(res.status).toBe(204));
  // 500 → retry after ~1 s; 503 → Retry-After 3 s; the slow answer times out (1 s): after the two
  // scheduled retries the delivery is FAILED. The cancel is not one of this endpoint's types.
  await until(async () => (await deliveries(endpoint.id)).items[0]?.status === 'FAILED', 20_000);
  expect(r.received).toHaveLength(3);
  expect(new Set(r.received.map((m) => m.id)).size).toBe(1);
  expect(r.received[2].at - r.received[1].at).toBeGreaterThanOrEqual(2900);
  const [delivery] = (await deliveries(endpoint.id)).items;
  expect(delivery.attempts.map((a) => a.statusCode)).toEqual([500, 503, null]);
  expect(delivery.attempts[2].error).toMatch(/no answer within 1000 ms/);

  // Recover: every FAILED delivery since then gets one more attempt; this time a redirect, never followed,
  // so it is FAILED again.
  r.script.push({ status: 302, headers: { location: target.url } });
  const recovered = await world.http
    .post(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}/recover`)
    .set(await world.headers(admin))
    .send({ since: new Date(Date.now() - 60_000).toISOString() });
  expect(recovered.status).toBe(202);
  expect(recovered.body).toEqual({ requeued: 1 });
  await until(async () => (await deliveries(endpoint.id)).items[0]?.attempts.length === 4);
  expect(target.received).toHaveLength(0);
  const after = (await deliveries(endpoint.id)).items[0];
  expect(after).toMatchObject({ status: 'FAILED' });
  expect(after.attempts[3]).toMatchObject({ statusCode: 302, error: 'redirect (302) not followed' });

  // Manual retry: sent again at once, same webhook-id; this one is answered 204.
  const retried = await world.http
    .post(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}/deliveries/${after.id}/retry`)
    .set(await world.headers(admin));
  expect(retried.status).toBe(202);
  const before = r.received.length;
  await until(() => r.received.length === before + 1);
  expect(r.received[r.received.length - 1].id).toBe(after.id);
  expect(new Set(r.received.map((m) => m.id)).size).toBe(1);
  await until(async () => (await deliveries(endpoint.id)).items[0]?.status === 'SUCCEEDED');
  await world.http
    .delete(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .expect(204);
});

test('410 Gone disables the endpoint at once; what happens meanwhile is sent once it is enabled again', async () => {
  const r = await receiver();
  const endpoint = await register(r);
  r.script.push({ status: 410 });
  await world.createInProcess(team.partner.id, team.maker);
  await until(async () => {
    const res = await world.http
      .get(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
      .set(await world.headers(admin));
    return res.body.status === 'DISABLED';
  });
  const disabled = await world.http
    .get(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin));
  expect(disabled.body).toMatchObject({
    status: 'DISABLED',
    disabledReason: 'The endpoint answered 410 Gone',
  });
  expect((await deliveries(endpoint.id)).items[0]).toMatchObject({ status: 'FAILED' });

  await world.createInProcess(team.partner.id, team.maker);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(r.received).toHaveLength(1);
  const enabled = await world.http
    .patch(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .send({ status: 'ENABLED' });
  expect(enabled.body).toMatchObject({ status: 'ENABLED', disabledReason: null });
  await until(() => r.received.length === 2);
  expect(r.received[1].verified?.type).toBe('process_request.created');
  await world.http
    .delete(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .expect(204);
});

test('rotation: both signatures while the old secret overlaps, then only the new one', async () => {
  const r = await receiver();
  const endpoint = await register(r, { eventTypes: ['process_request.created'] });
  const rotated = await world.http
    .post(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}/secret`)
    .set(await world.headers(admin));
  expect(rotated.status).toBe(200);
  expect(rotated.body.secret).not.toBe(endpoint.secret);
  r.secrets.push(rotated.body.secret as string);
  await world.createInProcess(team.partner.id, team.maker);
  await until(() => r.received.length === 1);
  expect(r.received[0].signature.split(' ')).toHaveLength(2);
  expect(r.received[0].verifiedBy).toEqual([0, 1]);

  await world.sql(
    "update webhook_endpoint set previous_secret_until = now() - interval '1 second' where id = ?",
    [endpoint.id],
  );
  await world.createInProcess(team.partner.id, team.maker);
  await until(() => r.received.length === 2);
  expect(r.received[1].signature.split(' ')).toHaveLength(1);
  expect(r.received[1].verifiedBy).toEqual([1]);
  await world.http
    .delete(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .expect(204);
});

test('two rotations at once: each is given a secret that signs, the second rotating out the first', async () => {
  const r = await receiver();
  const endpoint = await register(r, { eventTypes: ['process_request.created'] });
  const rotate = async () =>
    world.http
      .post(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}/secret`)
      .set(await world.headers(admin));
  const rotated = await Promise.all([rotate(), rotate()]);
  expect(rotated.map((res) => res.status)).toEqual([200, 200]);
  const secrets = rotated.map((res) => res.body.secret as string);
  expect(new Set([endpoint.secret, ...secrets]).size).toBe(3);
  r.secrets.push(...secrets);
  await world.createInProcess(team.partner.id, team.maker);
  await until(() => r.received.length === 1);
  // Rotations run one after the other: the later one's previous secret is the earlier one's new secret,
  // and only that one previous secret overlaps, so the original stopped signing at the second rotation.
  expect(r.received[0].signature.split(' ')).toHaveLength(2);
  expect(r.received[0].verifiedBy.sort()).toEqual([1, 2]);
  await world.http
    .delete(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .expect(204);
});

test('at most WEBHOOK_CONCURRENCY messages in flight to one endpoint; metrics count the attempts', async () => {
  const r = await receiver();
  r.fallback = { status: 200, delayMs: 300 };
  const endpoint = await register(r, { eventTypes: ['process_request.created'] });
  const before = (await scrape(world.metricsUrl!)).value('webhook_deliveries_total', {
    outcome: 'succeeded',
  });
  await Promise.all(Array.from({ length: 8 }, () => world.createInProcess(team.partner.id, team.maker)));
  await until(() => r.received.length === 8);
  expect(r.maxInFlight).toBe(2);
  await until(async () => (await deliveries(endpoint.id, '?status=SUCCEEDED')).total === 8);
  const metrics = await scrape(world.metricsUrl!);
  expect(metrics.value('webhook_deliveries_total', { outcome: 'succeeded' }) - before).toBe(8);
  expect(metrics.value('webhook_delivery_duration_seconds_count')).toBeGreaterThanOrEqual(8);
  expect(metrics.samples.some((s) => s.name === 'webhook_pending_deliveries')).toBe(true);
  await world.http
    .delete(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .expect(204);
});

test('endpoints are ADMIN only, scoped to the partner, and never show a secret again', async () => {
  const r = await receiver();
  const viewerRes = await world.http
    .post(`${world.rest(team.partner.id)}/webhook-endpoints`)
    .set(await world.headers(team.viewer))
    .send({ url: r.url });
  expect(viewerRes.body.code).toBe('FORBIDDEN');
  const endpoint = await register(r, { description: 'ledger' });
  const list = await world.http
    .get(`${world.rest(team.partner.id)}/webhook-endpoints`)
    .set(await world.headers(admin));
  expect(list.body.items).toEqual([
    expect.objectContaining({ id: endpoint.id, description: 'ledger', eventTypes: null }),
  ]);
  expect(JSON.stringify(list.body)).not.toContain('whsec_');
  const other = await world.team('Other');
  const otherAdmin = await world.operator(['ADMIN'], [other.partner.id]);
  const foreign = await world.http
    .get(`${world.rest(other.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(otherAdmin));
  expect(foreign.status).toBe(404);
  const bad = await world.http
    .post(`${world.rest(team.partner.id)}/webhook-endpoints`)
    .set(await world.headers(admin))
    .send({ url: 'ftp://x.example', eventTypes: ['nope'] });
  expect(bad.status).toBe(400);
  const badType = await world.http
    .post(`${world.rest(team.partner.id)}/webhook-endpoints`)
    .set(await world.headers(admin))
    .send({ url: r.url, eventTypes: ['process_request.nope'] });
  expect(badType.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
  await world.http
    .delete(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .expect(204);
  await world.http
    .delete(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .expect(404);
});

test('an endpoint whose every attempt failed for WEBHOOK_DISABLE_AFTER_SECONDS is disabled; re-enabling starts afresh', async () => {
  const r = await receiver();
  r.fallback = { status: 500 };
  const endpoint = await register(r, { eventTypes: ['process_request.created'] });
  // Failing since before the limit (5 days by default): the next failure disables it.
  await world.sql("update webhook_endpoint set failing_since = now() - interval '6 days' where id = ?", [
    endpoint.id,
  ]);
  await world.createInProcess(team.partner.id, team.maker);
  const read = async () =>
    (
      await world.http
        .get(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
        .set(await world.headers(admin))
    ).body as { status: string; disabledReason: string | null };
  await until(async () => (await read()).status === 'DISABLED');
  expect(await read()).toMatchObject({ disabledReason: 'Every attempt failed for 432000 seconds' });
  expect(r.received).toHaveLength(1);
  r.fallback = { status: 204 };
  await world.http
    .patch(`${world.rest(team.partner.id)}/webhook-endpoints/${endpoint.id}`)
    .set(await world.headers(admin))
    .send({ status: 'ENABLED' })
    .expect(200);
  const [row] = await world.sql<{ failing_since: Date | null }>(
    'select failing_since from webhook_endpoint where id = ?',
    [endpoint.id],
  );
  expect(row.failing_since).toBeNull();
  // The PENDING delivery (one retry left) goes out once enabled again.
  await until(async () => (await deliveries(endpoint.id)).items[0]?.status === 'SUCCEEDED');
});
