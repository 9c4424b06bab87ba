// The NOTIFY outside the money transaction: a decision commits without it, the deciding process serves its
// own watchers at once, the others get every event from a hint sent after the commit, and a process that
// never sent its hint (it crashed between its commit and its NOTIFY) loses nobody an event.
import { Client, type Notification } from 'pg';
import type { App } from '../src/app';
import type { Operator } from '../src/entities/operator.entity';
import { until } from './support/progress-ws';
import { SseClient } from './support/sse';
import { createWorld, type World } from './support/world';

let world: World;
let second: App;
let secondUrl: string;
let partner: { id: string };
let maker: Operator;
let checker: Operator;
let viewer: Operator;

beforeAll(async () => {
  world = await createWorld();
  // The same configuration (same database, same blob container) as the first app: a second server process.
  ({ app: second, url: secondUrl } = await world.secondProcess());
  ({ partner, maker, checker, viewer } = await world.team());
});
afterAll(async () => {
  world?.app.progress.notifier.pause(false);
  await world?.close();
});

const progressPath = () => `${world.rest(partner.id)}/process-request/progress`;
const storedAfter = async (after: string) =>
  (
    await world.sql<{ id: string }>(
      'select id from process_request_event where client_id = ? and id > ? order by id',
      [partner.id, after],
    )
  ).map((r) => String(r.id));
/** The stream on app 2 got every stored event after `start`, once each, in id order; then it is closed. */
async function expectEveryEventSince(sse: SseClient, start: string): Promise<void> {
  const received = sse
    .events()
    .filter((e) => e.id !== null)
    .map((e) => String(e.id));
  expect(received).toEqual(await storedAfter(start));
  sse.close();
  await until(() => second.progress.openStreams === 0);
}
const latest = async () =>
  String(
    (
      await world.sql<{ id: string | null }>(
        'select max(id) as id from process_request_event where client_id = ?',
        [partner.id],
      )
    )[0].id ?? 0,
  );

/** A plain LISTEN session on the progress channel: what any process would hear. */
async function listen(): Promise<{ heard: string[]; close: () => Promise<void> }> {
  const client = new Client({ connectionString: world.databaseUrl });
  await client.connect();
  const heard: string[] = [];
  client.on('notification', (n: Notification) => heard.push(n.payload ?? ''));
  await client.query('LISTEN process_request_progress');
  return { heard, close: () => client.end() };
}

test('concurrent approvals on app 1 reach a watcher on app 2 all, once each, in id order', async () => {
  const ids = await world.seedRequests(partner.id, maker, 40, '3.00');
  const start = await latest();
  const sse = await SseClient.open(`${secondUrl}${progressPath()}`, await world.headers(viewer));
  expect(sse.status).toBe(200);
  await until(() => second.progress.openStreams === 1);
  // Four checkers, each approving its share one after the other: four approvals of one partner at a time.
  const checkers = [
    checker,
    ...(await Promise.all([1, 2, 3].map(() => world.operator(['CHECKER'], [partner.id])))),
  ];
  const statuses = await Promise.all(
    checkers.map(async (who, n) => {
      const headers = await world.headers(who);
      const mine: number[] = [];
      for (const id of ids.filter((_, i) => i % checkers.length === n))
        mine.push((await world.act(partner.id, id, 'approve', headers)).status);
      return mine;
    }),
  );
  expect(statuses.flat()).toEqual(ids.map(() => 204));
  for (const id of ids) await sse.waitForEvent({ type: 'APPROVED', processRequestId: id });
  // No gap, no duplicate, in id order: each process reads a partner's stored events after the last it served.
  await expectEveryEventSince(sse, start);
});

test('the decision sends no NOTIFY itself; the deciding process serves its own watcher without one', async () => {
  const [id] = await world.seedRequests(partner.id, maker, 1, '4.00');
  const sse = await SseClient.open(`${world.baseUrl}${progressPath()}`, await world.headers(viewer));
  await until(() => world.app.progress.openStreams === 1);
  const bystander = await listen();
  world.app.progress.notifier.pause(true);
  try {
    expect((await world.act(partner.id, id, 'approve', checker)).status).toBe(204);
    const frame = await sse.waitForEvent({ type: 'APPROVED', processRequestId: id }, 2000);
    expect(frame.data).toMatchObject({ status: 'APPROVED', available: expect.any(Number) });
    // The committed approval announced nothing on the channel: its transaction had no NOTIFY.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bystander.heard).toEqual([]);
  } finally {
    world.app.progress.notifier.pause(false);
  }
  // Once the notifier runs again, the other processes get one coalesced hint: partner → highest id.
  await until(() => bystander.heard.length > 0);
  expect(JSON.parse(bystander.heard[0])).toEqual({ stored: { [partner.id]: await latest() } });
  await bystander.close();
  sse.close();
  await until(() => world.app.progress.openStreams === 0);
});

test('a process that committed but never sent its NOTIFY (a crash in between): other processes catch up', async () => {
  const ids = await world.seedRequests(partner.id, maker, 3, '5.00');
  const start = await latest();
  const sse = await SseClient.open(`${secondUrl}${progressPath()}`, await world.headers(viewer));
  await until(() => second.progress.openStreams === 1);
  // App 1 stands for a process that dies right after each commit: its hints are never sent.
  world.app.progress.notifier.pause(true);
  const bystander = await listen();
  try {
    for (const id of ids) expect((await world.act(partner.id, id, 'approve', checker)).status).toBe(204);
    // App 2's timed catch-up reads the stored events (once a second by default).
    for (const id of ids) await sse.waitForEvent({ type: 'APPROVED', processRequestId: id }, 5000);
    expect(bystander.heard).toEqual([]);
  } finally {
    await bystander.close();
    // The held-back hints go out now; app 2 already read everything they announce.
    world.app.progress.notifier.pause(false);
  }
  await expectEveryEventSince(sse, start);
});

test('a create on app 2 reaches a watcher on app 1: CREATED, once, after its upload frames', async () => {
  const sse = await SseClient.open(`${world.baseUrl}${progressPath()}`, await world.headers(viewer));
  await until(() => world.app.progress.openStreams === 1);
  const res = await fetch(`${secondUrl}${world.rest(partner.id)}/process-request`, {
    method: 'POST',
    headers: await world.headers(maker),
    body: (() => {
      const form = new FormData();
      form.append('requestedAmount', '6.00');
      form.append('evidence', new Blob([Buffer.from('%PDF-1.4\n% test\n%%EOF\n')]), 'r.pdf');
      return form;
    })(),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  await sse.waitForEvent({ type: 'CREATED', processRequestId: id });
  expect(sse.events().filter((e) => e.type === 'CREATED' && e.processRequestId === id)).toHaveLength(1);
  sse.close();
  await until(() => world.app.progress.openStreams === 0);
});
