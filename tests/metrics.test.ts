// Prometheus metrics (SPEC section 14): their own listener, labels that are templates, counters that move
// once per committed change, gauges read on scrape, one registry per app.
import { BlobServiceClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { createApp } from '../src/app';
import { until, watchProgress } from './support/progress-ws';
import { PDF } from './support/files';
import { causeEveryEvent } from './support/progress-events';
import { listeningPorts, scrape, scrapeUntil } from './support/metrics';
import { SseClient } from './support/sse';
import { createWorld, type Team, type World } from './support/world';

const BASE = '/cms/rest/app/partners/:partnerId';
const CREATE_ROUTE = `${BASE}/process-request`;
const APPROVE_ROUTE = `${BASE}/process-request/:id/approve`;
const DETAILS_ROUTE = `${BASE}/process-request/:id`;
const PROGRESS_ROUTE = `${BASE}/process-request/progress`;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const TRANSITIONS = ['CREATED', 'APPROVED', 'REJECTED', 'CANCELLED', 'FAILED'];

let world: World;
let team: Team;
/** Ports the world's app started listening on. */
let opened: number[];
beforeAll(async () => {
  const before = listeningPorts();
  world = await createWorld();
  opened = listeningPorts().filter((p) => !before.includes(p));
  team = await world.team();
});
afterAll(() => world?.close());

const metricsUrl = () => world.metricsUrl as string;
const transitions = async () => {
  const s = await scrape(metricsUrl());
  return Object.fromEntries(
    TRANSITIONS.map((type) => [type, s.value('process_request_transitions_total', { type })]),
  );
};

test('GET /metrics on its own port: every metric with HELP text; the public port has no /metrics', async () => {
  const address = world.app.metricsAddress();
  expect(address).toMatchObject({ address: '127.0.0.1' });
  const publicPort = Number(new URL(world.baseUrl).port);
  expect(address?.port).not.toBe(publicPort);
  expect(opened).toEqual([publicPort, address?.port].sort((a, b) => a! - b!));

  const s = await scrape(metricsUrl());
  expect(s.status).toBe(200);
  expect(s.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  for (const name of [
    'http_request_duration_seconds',
    'process_request_transitions_total',
    'progress_streams',
    'db_pool_connections_in_use',
    'db_pool_connections_idle',
    'db_pool_connections_max',
    'db_pool_acquires_waiting',
    'blob_operation_duration_seconds',
    'blob_operation_errors_total',
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
  ]) {
    expect({ name, help: s.help.get(name) }).toEqual({ name, help: expect.stringMatching(/\w{3}/) });
  }
  // Every transition type and every blob operation's errors exist from the start, at 0.
  for (const type of TRANSITIONS) {
    expect(s.samples).toContainEqual({
      name: 'process_request_transitions_total',
      labels: { type },
      value: 0,
    });
  }
  expect(s.value('blob_operation_errors_total', { operation: 'stage_block' })).toBe(0);
  expect(s.value('db_pool_connections_max')).toBe(world.app.config.dbPoolSize);
  // ensure_container ran once at start-up.
  expect(s.value('blob_operation_duration_seconds_count', { operation: 'ensure_container' })).toBe(1);

  const pub = await world.http.get('/metrics');
  expect(pub.status).toBe(404);
  expect(pub.body).toMatchObject({ code: 'NOT_FOUND' });

  expect((await fetch(`${metricsUrl()}/other`)).status).toBe(404);
  const post = await fetch(`${metricsUrl()}/metrics`, { method: 'POST' });
  expect(post.status).toBe(405);
  expect(post.headers.get('allow')).toBe('GET, HEAD');
});

test('a REST create and approve move the transitions counter and the approve route histogram, labelled by template', async () => {
  const { partner, maker, checker } = team;
  const before = await scrape(metricsUrl());
  const approveCount = (s: typeof before) =>
    s.value('http_request_duration_seconds_count', { method: 'PATCH', route: APPROVE_ROUTE, status: '204' });
  const createCount = (s: typeof before) =>
    s.value('http_request_duration_seconds_count', { method: 'POST', route: CREATE_ROUTE, status: '201' });

  const id = await world.createRequest(partner.id, maker, '25.00');
  expect((await world.act(partner.id, id, 'approve', checker)).status).toBe(204);
  const download = await world.http
    .get(`${world.rest(partner.id)}/process-request/${id}/evidence/download`)
    .set(await world.headers(checker));
  expect(download.status).toBe(200);

  const after = await scrapeUntil(metricsUrl(), (s) => approveCount(s) > approveCount(before));
  expect(approveCount(after) - approveCount(before)).toBe(1);
  expect(createCount(after) - createCount(before)).toBe(1);
  const delta = (name: string, labels: Record<string, string>) =>
    after.value(name, labels) - before.value(name, labels);
  expect(TRANSITIONS.map((type) => [type, delta('process_request_transitions_total', { type })])).toEqual([
    ['CREATED', 1],
    ['APPROVED', 1],
    ['REJECTED', 0],
    ['CANCELLED', 0],
    ['FAILED', 0],
  ]);
  // The approve's time is in the histogram's sum, and in a bucket no wider than +Inf.
  expect(delta('http_request_duration_seconds_sum', { route: APPROVE_ROUTE })).toBeGreaterThan(0);
  expect(
    delta('http_request_duration_seconds_bucket', { route: APPROVE_ROUTE, status: '204', le: '+Inf' }),
  ).toBe(1);
  // The small receipt is one write (no block staged, nothing to commit), and the download URL one signature.
  expect(delta('blob_operation_duration_seconds_count', { operation: 'upload' })).toBe(1);
  expect(delta('blob_operation_duration_seconds_count', { operation: 'stage_block' })).toBe(0);
  expect(delta('blob_operation_duration_seconds_count', { operation: 'commit' })).toBe(0);
  expect(delta('blob_operation_duration_seconds_count', { operation: 'sign' })).toBe(1);

  // No id anywhere: not the request's, not the partner's, not any other.
  expect(after.text).not.toContain(id);
  expect(after.text).not.toContain(partner.id);
  expect(after.text).not.toMatch(UUID);
});

test('labels stay templates: unknown paths are "unmatched", a missing request keeps its route, GraphQL and probes have theirs', async () => {
  const { partner, checker, viewer } = team;
  const before = await scrape(metricsUrl());
  const unknown = randomUUID();
  expect((await world.http.get(`/no/such/thing/${unknown}`)).status).toBe(404);
  expect((await world.http.get(`/cms/rest/app/partners/${unknown}`)).status).toBe(404);
  const details = await world.http
    .get(`${world.rest(partner.id)}/process-request/${unknown}`)
    .set(await world.headers(viewer));
  expect(details.status).toBe(404);
  expect((await world.act(partner.id, unknown, 'approve', checker)).status).toBe(404);
  expect((await world.http.get('/healthz')).status).toBe(200);
  const gql = await world.http
    .post('/graphql')
    .set(await world.headers(viewer))
    .send({ query: '{ __typename }' });
  expect(gql.status).toBe(200);

  const s = await scrapeUntil(
    metricsUrl(),
    (m) => m.value('http_request_duration_seconds_count', { route: '/graphql', method: 'POST' }) >= 1,
  );
  const count = (labels: Record<string, string>) =>
    s.value('http_request_duration_seconds_count', labels) -
    before.value('http_request_duration_seconds_count', labels);
  expect(count({ route: 'unmatched', method: 'GET', status: '404' })).toBe(2);
  expect(count({ route: DETAILS_ROUTE, method: 'GET', status: '404' })).toBe(1);
  expect(count({ route: APPROVE_ROUTE, method: 'PATCH', status: '404' })).toBe(1);
  expect(count({ route: '/healthz', method: 'GET', status: '200' })).toBe(1);
  expect(count({ route: '/graphql', method: 'POST', status: '200' })).toBe(1);
  const routes = new Set(
    s.samples.filter((x) => x.name === 'http_request_duration_seconds_count').map((x) => x.labels.route),
  );
  for (const route of routes)
    expect(route).toMatch(/^(unmatched|\/graphql|\/healthz|\/cms\/rest\/app\/partners\/:partnerId\/)/);
  expect(s.text).not.toMatch(UUID);
});

test('the transitions counter equals the stored events by type (REJECTED, CANCELLED, FAILED included)', async () => {
  const { partner, maker, checker } = team;
  const before = await transitions();
  await causeEveryEvent(world, partner.id, maker, checker, 'not a receipt');
  const after = await transitions();
  expect(Object.fromEntries(TRANSITIONS.map((t) => [t, after[t] - before[t]]))).toEqual({
    CREATED: 3,
    APPROVED: 1,
    REJECTED: 1,
    CANCELLED: 1,
    FAILED: 1,
  });
  // This world's database only holds this app's changes: the counter and the audit trail agree (an
  // EVIDENCE_VIEWED event records a download link, not a transition: the counter leaves it out).
  const rows = await world.sql<{ type: string; n: string }>(
    `select type, count(*) as n from process_request_event where type <> 'EVIDENCE_VIEWED' group by type`,
  );
  const stored = Object.fromEntries(TRANSITIONS.map((t) => [t, 0]));
  for (const row of rows) stored[row.type] = Number(row.n);
  expect(after).toEqual(stored);
});

test('progress_streams counts open streams by door and drops back when they close', async () => {
  const { partner, viewer } = team;
  const streams = async () => {
    const s = await scrape(metricsUrl());
    return {
      sse: s.value('progress_streams', { door: 'sse' }),
      ws: s.value('progress_streams', { door: 'graphql-ws' }),
    };
  };
  expect(await streams()).toEqual({ sse: 0, ws: 0 });
  const headers = await world.headers(viewer);
  const sse = await SseClient.open(
    `${world.baseUrl}${world.rest(partner.id)}/process-request/progress`,
    headers,
  );
  expect(sse.status).toBe(200);
  await until(() => world.app.progress.openStreamsOf('sse') === 1);
  expect(await streams()).toEqual({ sse: 1, ws: 0 });

  const watcher = watchProgress(world.baseUrl, headers, partner.id);
  await until(() => world.app.progress.openStreamsOf('graphql-ws') === 1);
  expect(await streams()).toEqual({ sse: 1, ws: 1 });

  sse.close();
  await watcher.dispose();
  await until(() => world.app.progress.openStreams === 0);
  expect(await streams()).toEqual({ sse: 0, ws: 0 });
  // The SSE request is observed when its stream is over, under its template.
  const s = await scrapeUntil(
    metricsUrl(),
    (m) => m.value('http_request_duration_seconds_count', { route: PROGRESS_ROUTE }) === 1,
  );
  expect(s.value('http_request_duration_seconds_count', { route: PROGRESS_ROUTE, method: 'GET' })).toBe(1);
});

test('database pool: connections in use and acquires waiting are read at each scrape', async () => {
  const knex = world.app.orm.em.getConnection().getKnex();
  // The webhook relay's background pass would be a second waiter for a connection: this file sends no webhook.
  await world.app.services.webhookRelay.stop();
  const max = (await scrape(metricsUrl())).value('db_pool_connections_max');
  expect(max).toBe(10);
  const held = [];
  for (let i = 0; i < max; i++) held.push(await knex.transaction());
  // knex builders are lazy: then() sends the query, which waits for a connection.
  const waiting = knex.raw('select 1').then(() => undefined);
  try {
    const s = await scrapeUntil(metricsUrl(), (m) => m.value('db_pool_acquires_waiting') === 1);
    expect(s.value('db_pool_connections_in_use')).toBe(max);
    expect(s.value('db_pool_acquires_waiting')).toBe(1);
    expect(s.value('db_pool_connections_idle')).toBe(0);
  } finally {
    for (const trx of held) await trx.rollback();
    await waiting;
  }
  const s = await scrape(metricsUrl());
  expect(s.value('db_pool_connections_in_use')).toBe(0);
  expect(s.value('db_pool_acquires_waiting')).toBe(0);
  expect(s.value('db_pool_connections_idle')).toBeGreaterThan(0);
});

test('a second app on the same database has its own registry: it hears of an approval but does not count it', async () => {
  const { partner, maker, checker, viewer } = team;
  const second = await createApp(world.app.config);
  try {
    await second.listen(0, '127.0.0.1');
    const secondUrl = `http://127.0.0.1:${second.metricsAddress()!.port}`;
    expect(secondUrl).not.toBe(metricsUrl());
    const secondPublic = `http://127.0.0.1:${(second.server.address() as { port: number }).port}`;
    const watcher = watchProgress(secondPublic, await world.headers(viewer), partner.id);
    await until(() => second.progress.openStreams === 1);

    const before = await transitions();
    const id = await world.createRequest(partner.id, maker, '3.00');
    expect((await world.act(partner.id, id, 'approve', checker)).status).toBe(204);
    await watcher.waitFor({ type: 'APPROVED', processRequestId: id });
    await watcher.dispose();

    const after = await transitions();
    expect(after.APPROVED - before.APPROVED).toBe(1);
    const s = await scrape(secondUrl);
    expect(s.value('process_request_transitions_total', { type: 'APPROVED' })).toBe(0);
    expect(s.value('process_request_transitions_total', { type: 'CREATED' })).toBe(0);
    // The approve went to the first app's public port: the second one's histogram has no such series.
    expect(s.value('http_request_duration_seconds_count', { route: APPROVE_ROUTE })).toBe(0);

    await second.close();
    expect(second.metricsAddress()).toBeNull();
    await expect(fetch(`${secondUrl}/metrics`)).rejects.toThrow();
  } finally {
    await second.close();
  }
});

test('a metrics port that is taken fails listen() naming METRICS_PORT, and leaves the public port closed', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const busy = (blocker.address() as { port: number }).port;
  const app = await createApp({ ...world.app.config, metricsPort: busy });
  try {
    await expect(app.listen(0, '127.0.0.1')).rejects.toThrow(
      `METRICS_PORT: 127.0.0.1:${busy} is already in use by another program; set METRICS_PORT to a free port`,
    );
    expect(app.server.listening).toBe(false);
    expect(app.metricsAddress()).toBeNull();
  } finally {
    await app.close();
    await new Promise((resolve) => blocker.close(resolve));
  }
});

describe('METRICS_PORT=0', () => {
  let off: World;
  let added: number[];
  beforeAll(async () => {
    const before = listeningPorts();
    off = await createWorld({ METRICS_PORT: '0' });
    added = listeningPorts().filter((p) => !before.includes(p));
  });
  afterAll(() => off?.close());

  test('starts no listener; the public port still has no /metrics', async () => {
    expect(off.app.config.metricsPort).toBeNull();
    expect(off.app.metricsAddress()).toBeNull();
    expect(off.metricsUrl).toBeUndefined();
    // Only the public port (the default world above opened two).
    expect(added).toEqual([Number(new URL(off.baseUrl).port)]);
    expect((await off.http.get('/metrics')).status).toBe(404);
  });
});

// Runs last: it takes the evidence container away.
test('blob storage errors are counted by operation', async () => {
  const { partner, maker } = team;
  const before = await scrape(metricsUrl());
  await BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING!)
    .getContainerClient(world.container)
    .delete();
  const res = await world.http
    .post(`${world.rest(partner.id)}/process-request`)
    .set(await world.headers(maker))
    .field('requestedAmount', '1.00')
    .attach('evidence', PDF, 'receipt.pdf');
  expect(res.status).toBeGreaterThanOrEqual(500);
  const after = await scrape(metricsUrl());
  const errors = (operation: string, s: typeof before) =>
    s.value('blob_operation_errors_total', { operation });
  expect(errors('upload', after) - errors('upload', before)).toBe(1);
  expect(errors('commit', after) - errors('commit', before)).toBe(0);
  // A failed operation is still an operation: it is in the duration histogram's count too.
  expect(
    after.value('blob_operation_duration_seconds_count', { operation: 'upload' }) -
      before.value('blob_operation_duration_seconds_count', { operation: 'upload' }),
  ).toBe(1);
});
