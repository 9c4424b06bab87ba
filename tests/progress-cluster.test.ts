// Two server processes' worth of app on one database: what one does, the other's watchers see (LISTEN/NOTIFY).
import { performance } from 'node:perf_hooks';
import type { App } from '../src/app';
import type { Operator } from '../src/entities/operator.entity';
import { until, watchProgress } from './support/progress-ws';
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
  await world?.close();
});

/** Approves on the first app; returns performance.now() when the request left and when its 204 arrived. */
async function approveOnFirst(id: string): Promise<{ sent: number; answered: number }> {
  const headers = await world.headers(checker);
  const sent = performance.now();
  const res = await world.act(partner.id, id, 'approve', headers);
  expect(res.status).toBe(204);
  return { sent, answered: performance.now() };
}

const secondProgressUrl = () => `${secondUrl}${world.rest(partner.id)}/process-request/progress`;

test('an approval on app 1 reaches an SSE watcher and a subscriber on app 2; the delay is measured', async () => {
  const sse = await SseClient.open(secondProgressUrl(), await world.headers(viewer));
  expect(sse.status).toBe(200);
  const subscriber = watchProgress(secondUrl, await world.headers(viewer), partner.id);
  await until(() => second.progress.openStreams === 2);

  const sseDelays: number[] = [];
  const wsDelays: number[] = [];
  const fromSent: number[] = [];
  for (let i = 0; i < 20; i++) {
    const id = await world.createRequest(partner.id, maker, `${i + 1}.00`);
    await sse.waitForEvent({ type: 'CREATED', processRequestId: id });
    const { sent, answered } = await approveOnFirst(id);
    const frame = await sse.waitForEvent({ type: 'APPROVED', processRequestId: id });
    await subscriber.waitFor({ type: 'APPROVED', processRequestId: id });
    const event = subscriber.events.findIndex((e) => e.type === 'APPROVED' && e.processRequestId === id);
    sseDelays.push(frame.receivedAt - answered);
    fromSent.push(frame.receivedAt - sent);
    wsDelays.push(subscriber.arrivals[event] - answered);
    expect(frame.data).toMatchObject({ status: 'APPROVED', clientId: partner.id });
  }
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
    return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`;
  };
  // Negative: the event reached the watcher on app 2 before the approver had read its own 204 from app 1.
  console.log(
    `cross-process delay, approve 204 on app 1 -> event at a watcher on app 2 (20 approvals):\n` +
      `  SSE:          ${stats(sseDelays)}\n  subscription: ${stats(wsDelays)}\n` +
      `  SSE, from the approve request being sent: ${stats(fromSent)}`,
  );
  expect(Math.max(...sseDelays)).toBeLessThan(1000);
  sse.close();
  await subscriber.dispose();
});

test('app 2 re-LISTENs after its LISTEN connection is killed, and catches up on what it missed', async () => {
  const sse = await SseClient.open(secondProgressUrl(), await world.headers(viewer));
  expect(sse.status).toBe(200);
  const subscriber = watchProgress(secondUrl, await world.headers(viewer), partner.id);
  await until(() => second.progress.openStreams === 2);
  const first = await world.createRequest(partner.id, maker, '50.00');
  const second1 = await world.createRequest(partner.id, maker, '51.00');
  await sse.waitForEvent({ type: 'CREATED', processRequestId: second1 });

  // Killed, then an approval at once: it may commit while nobody on app 2 listens.
  const killed = second.progress.listenerPid;
  expect(killed).toBeDefined();
  await world.sql('select pg_terminate_backend(?)', [killed]);
  await approveOnFirst(first);
  await sse.waitForEvent({ type: 'APPROVED', processRequestId: first });
  await subscriber.waitFor({ type: 'APPROVED', processRequestId: first });

  await until(() => second.progress.listenerPid !== undefined && second.progress.listenerPid !== killed);
  const [listening] = await world.sql<{ n: string }>(
    "select count(*) as n from pg_stat_activity where pid = ? and query ilike 'LISTEN%'",
    [second.progress.listenerPid],
  );
  expect(Number(listening.n)).toBe(1);
  // Live again after the reconnect.
  await approveOnFirst(second1);
  await sse.waitForEvent({ type: 'APPROVED', processRequestId: second1 });
  await subscriber.waitFor({ type: 'APPROVED', processRequestId: second1 });
  const approvals = sse
    .events()
    .filter((e) => e.type === 'APPROVED')
    .map((e) => e.processRequestId);
  expect(approvals).toEqual([first, second1]); // each once: the catch-up never duplicates a live event
  sse.close();
  await subscriber.dispose();
});
