// Webhook addresses (SPEC section 16) where private networks are not allowed: loopback refused at
// registration and at send (a loopback receiver that must receive nothing); and the events feed paged
// against the stored events, over REST and GraphQL.
import type { Operator } from '../src/entities/operator.entity';
import { WebhookRelay } from '../src/runtime/webhook-relay';
import { replacePolicy } from '../src/services/approval-policy.service';
import { parseInput, policyInput } from '../src/shapes/inputs';
import {
  CreateWebhookEndpointDocument,
  DeleteWebhookEndpointDocument,
  EventsDocument,
  RetryWebhookDeliveryDocument,
  RotateWebhookSecretDocument,
  UpdateWebhookEndpointDocument,
  WebhookDeliveriesDocument,
  WebhookEndpointsDocument,
} from './generated/graphql';
import { waitUntil } from './support/crash-storm';
import { startReceiver, type Receiver } from './support/webhook-receiver';
import { createWorld, type Team, type World } from './support/world';

jest.setTimeout(60_000);

let world: World;
let strict: World;
let team: Team;
let admin: Operator;
let receiver: Receiver;

beforeAll(async () => {
  world = await createWorld({ WEBHOOK_RETRY_SCHEDULE: '1' });
  strict = await createWorld({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' });
  team = await world.team('Feed');
  admin = await world.operator(['ADMIN'], [team.partner.id]);
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await world.close();
  await strict.close();
});

test('without private networks, loopback and http endpoints are refused at registration (400 WEBHOOK_URL_FORBIDDEN)', async () => {
  const partner = await strict.partner('Strict');
  const strictAdmin = await strict.operator(['ADMIN'], [partner.id]);
  for (const url of [
    receiver.url,
    `https://127.0.0.1:${receiver.port}/hooks`,
    `https://localhost:${receiver.port}/hooks`,
    `https://[::1]:${receiver.port}/hooks`,
    `https://2130706433:${receiver.port}/hooks`,
  ]) {
    const res = await strict.http
      .post(`${strict.rest(partner.id)}/webhook-endpoints`)
      .set(await strict.headers(strictAdmin))
      .send({ url });
    expect({ url, status: res.status, code: res.body.code }).toEqual({
      url,
      status: 400,
      code: 'WEBHOOK_URL_FORBIDDEN',
    });
  }
  expect(receiver.received).toHaveLength(0);
});

test('a process that does not allow private networks sends nothing to a loopback endpoint stored earlier', async () => {
  const partner = await world.team('Rebound');
  const partnerAdmin = await world.operator(['ADMIN'], [partner.partner.id]);
  // Registered where private networks are allowed; then this database is served by a process that
  // refuses them: its relay checks again before and while connecting, whatever the host resolves to.
  const ids: string[] = [];
  for (const url of [`https://127.0.0.1:${receiver.port}/a`, `https://localhost:${receiver.port}/b`]) {
    const res = await world.http
      .post(`${world.rest(partner.partner.id)}/webhook-endpoints`)
      .set(await world.headers(partnerAdmin))
      .send({ url });
    expect(res.status).toBe(201);
    ids.push(res.body.id as string);
  }
  await world.app.services.webhookRelay.stop();
  const relay = new WebhookRelay({
    orm: world.app.orm,
    config: { ...world.app.config.webhooks, allowPrivateNetworks: false },
    log: world.app.log,
    openSecret: (sealed) => world.app.services.webhooks.openSecret(sealed),
    pollMs: 200,
  });
  relay.start();
  try {
    await world.createInProcess(partner.partner.id, partner.maker);
    const settled = await waitUntil(async () => {
      const rows = await world.sql<{ n: string }>(
        "select count(*) as n from webhook_delivery where endpoint_id in (?, ?) and status = 'FAILED'",
        ids,
      );
      return Number(rows[0].n) === 2;
    }, 15_000);
    expect(settled).toBe(true);
    const attempts = await world.sql<{ error: string; status_code: number | null }>(
      'select a.error, a.status_code from webhook_attempt a join webhook_delivery d on d.id = a.delivery_id where d.endpoint_id in (?, ?) order by a.id',
      ids,
    );
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.every((a) => a.status_code === null && /refused/.test(a.error))).toBe(true);
    expect(attempts.map((a) => a.error).join('\n')).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
    expect(receiver.received).toHaveLength(0);
  } finally {
    await relay.stop();
    world.app.services.webhookRelay.start();
  }
});

test("the events feed pages every stored event of the partner in order, in the webhook body's shape", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i += 1)
    ids.push(await world.createInProcess(team.partner.id, team.maker, `${i + 1}.25`));
  expect((await world.act(team.partner.id, ids[0], 'approve', team.checker)).status).toBe(204);
  expect((await world.act(team.partner.id, ids[1], 'reject', team.checker)).status).toBe(204);
  expect((await world.act(team.partner.id, ids[2], 'cancel', team.maker)).status).toBe(204);
  const stored = await world.sql<{ id: string; type: string; process_request_id: string }>(
    "select id::text as id, type, process_request_id from process_request_event where client_id = ? and type <> 'FAILED' order by id",
    [team.partner.id],
  );
  expect(stored).toHaveLength(8);

  const seen: Array<{ id: string; type: string; data: { processRequestId: string; status: string } }> = [];
  let after = '0';
  for (let page = 0; page < 10; page += 1) {
    const res = await world.http
      .get(`${world.rest(team.partner.id)}/events?after=${after}&limit=3`)
      .set(await world.headers(team.viewer));
    expect(res.status).toBe(200);
    seen.push(...res.body.items);
    if (res.body.items.length === 0) {
      expect(res.body.next).toBe(after);
      break;
    }
    after = res.body.next as string;
  }
  expect(seen.map((e) => e.id)).toEqual(stored.map((e) => e.id));
  expect(seen.map((e) => e.type)).toEqual(stored.map((e) => `process_request.${e.type.toLowerCase()}`));
  expect(seen.map((e) => e.data.processRequestId)).toEqual(stored.map((e) => e.process_request_id));
  expect(seen[0]).toMatchObject({
    data: { requestedAmount: '1.25', currency: 'USD', status: 'PENDING', approvals: 0 },
  });

  const approvedOnly = await world.http
    .get(`${world.rest(team.partner.id)}/events?types=process_request.approved,process_request.rejected`)
    .set(await world.headers(team.viewer));
  expect(approvedOnly.body.items.map((e: { type: string }) => e.type)).toEqual([
    'process_request.approved',
    'process_request.rejected',
  ]);
  for (const query of ['limit=0', 'limit=501', 'after=-1', 'after=abc', 'types=process_request.nope']) {
    const res = await world.http
      .get(`${world.rest(team.partner.id)}/events?${query}`)
      .set(await world.headers(team.viewer));
    expect({ query, status: res.status, code: res.body.code }).toEqual({
      query,
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  }
  const other = await world.team('Not yours');
  const foreign = await world.http
    .get(`${world.rest(team.partner.id)}/events`)
    .set(await world.headers(other.viewer));
  expect(foreign.body.code).toBe('PARTNER_FORBIDDEN');
});

test('approvals in a message: all of them once the request is decided, whatever the times of the transactions', async () => {
  const desk = await world.team('Feed approvals');
  const second = await world.operator(['CHECKER'], [desk.partner.id]);
  const input = parseInput(policyInput, { tiers: [{ from: '0', approvals: 2 }], pendingTtlSeconds: 3600 });
  await replacePolicy(world.app.orm.em.fork(), desk.partner.id, 'USD', input, null);
  const approved = await world.createInProcess(desk.partner.id, desk.maker, '2.00');
  const rejected = await world.createInProcess(desk.partner.id, desk.maker, '3.00');
  for (const id of [approved, rejected])
    expect((await world.act(desk.partner.id, id, 'approve', desk.checker)).status).toBe(204);
  expect((await world.act(desk.partner.id, approved, 'approve', second)).status).toBe(204);
  expect((await world.act(desk.partner.id, rejected, 'reject', second, { reason: 'no' })).status).toBe(204);
  // What a race leaves: the deciding transaction started before the first approval's, but that one took the
  // row lock first and committed while the decision waited. Each row's created_at is its transaction's
  // start, so the first approval is dated after the decision. Holding the row cannot stage it (deciders
  // queue on it in the order they reach it, and the first to start got there first here): the dates are set.
  await world.sql(
    `update approval a set created_at = e.created_at + interval '1 millisecond' from process_request_event e
      where a.operator_id = ? and a.process_request_id in (?, ?) and e.process_request_id = a.process_request_id
        and e.type in ('APPROVED', 'REJECTED')`,
    [desk.checker.id, approved, rejected],
  );
  const res = await world.http
    .get(`${world.rest(desk.partner.id)}/events?after=0`)
    .set(await world.headers(desk.viewer));
  expect(res.status).toBe(200);
  const counts = (
    res.body.items as Array<{ type: string; data: { processRequestId: string; approvals: number } }>
  ).map((e) => [e.data.processRequestId === approved ? 'approved' : 'rejected', e.type, e.data.approvals]);
  expect(counts).toEqual([
    ['approved', 'process_request.created', 0],
    ['rejected', 'process_request.created', 0],
    ['approved', 'process_request.approval_recorded', 1],
    ['rejected', 'process_request.approval_recorded', 1],
    ['approved', 'process_request.approved', 2],
    ['rejected', 'process_request.rejected', 1],
  ]);
});

test('GraphQL: endpoints, rotation, the delivery log, retry and the events feed, as over REST', async () => {
  const clientId = team.partner.id;
  const created = await world.gql(admin, CreateWebhookEndpointDocument, {
    clientId,
    input: { url: receiver.url, eventTypes: ['process_request.created'] },
  });
  expect(created.errors).toBeUndefined();
  const endpoint = created.data!.createWebhookEndpoint.endpoint;
  expect(created.data!.createWebhookEndpoint.secret).toMatch(/^whsec_/);
  receiver.secrets.push(created.data!.createWebhookEndpoint.secret);
  const refused = await world.gql(team.viewer, WebhookEndpointsDocument, { clientId });
  expect(refused.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  const listed = await world.gql(admin, WebhookEndpointsDocument, { clientId });
  expect(listed.data!.webhookEndpoints.map((e) => e.id)).toContain(endpoint.id);

  const rotated = await world.gql(admin, RotateWebhookSecretDocument, { clientId, id: endpoint.id });
  receiver.secrets.push(rotated.data!.rotateWebhookSecret.secret);
  const before = receiver.received.length;
  await world.createInProcess(clientId, team.maker);
  expect(await waitUntil(async () => receiver.received.length === before + 1, 15_000)).toBe(true);
  expect(receiver.received[before].verifiedBy).toHaveLength(2);

  const succeeded = () =>
    world.gql(admin, WebhookDeliveriesDocument, { clientId, endpointId: endpoint.id, status: 'SUCCEEDED' });
  expect(await waitUntil(async () => (await succeeded()).data?.webhookDeliveries.total === 1, 15_000)).toBe(
    true,
  );
  const log = await succeeded();
  const delivery = log.data!.webhookDeliveries.items[0];
  expect(delivery.id).toBe(receiver.received[before].id);
  const retried = await world.gql(admin, RetryWebhookDeliveryDocument, {
    clientId,
    endpointId: endpoint.id,
    deliveryId: delivery.id,
  });
  expect(retried.data!.retryWebhookDelivery).toBe(true);
  expect(await waitUntil(async () => receiver.received.length === before + 2, 15_000)).toBe(true);
  expect(receiver.received[before + 1].id).toBe(delivery.id);

  const disabled = await world.gql(admin, UpdateWebhookEndpointDocument, {
    clientId,
    id: endpoint.id,
    input: { status: 'DISABLED' },
  });
  expect(disabled.data!.updateWebhookEndpoint).toMatchObject({
    status: 'DISABLED',
    disabledReason: 'Disabled by an operator',
  });

  const rest = await world.http
    .get(`${world.rest(clientId)}/events?limit=500`)
    .set(await world.headers(team.viewer));
  const graph = await world.gql(team.viewer, EventsDocument, { clientId, limit: 500 });
  expect(graph.data!.events.items.map((e) => [e.id, e.type, e.data.requestedAmount])).toEqual(
    rest.body.items.map((e: { id: string; type: string; data: { requestedAmount: string } }) => [
      e.id,
      e.type,
      e.data.requestedAmount,
    ]),
  );
  expect(graph.data!.events.next).toBe(rest.body.next);
  const bad = await world.gql(team.viewer, EventsDocument, { clientId, limit: 0 });
  expect(bad.errors?.[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED' });

  const deleted = await world.gql(admin, DeleteWebhookEndpointDocument, { clientId, id: endpoint.id });
  expect(deleted.data!.deleteWebhookEndpoint).toBe(true);
});
