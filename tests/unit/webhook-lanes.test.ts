// The relay's lanes (src/runtime/webhook-lanes.ts): deliveries claimed ahead wait in their endpoint's
// queue; at most the cap per endpoint is busy (sent or waiting for its record) whatever is queued; a
// queued delivery whose claim went stale is handed back, not sent; a dropped endpoint's queue is handed
// back while its busy ones keep their slots until they finish.
import { EndpointLanes } from '../../src/runtime/webhook-lanes';
import type { ClaimedDelivery } from '../../src/sql/webhook-sql';

const delivery = (endpoint: string, n: number): ClaimedDelivery => ({
  id: `${endpoint}-${n}`,
  endpoint_id: endpoint,
  event_id: String(n),
  attempt_count: 0,
  lease_token: 'token',
  url: 'http://127.0.0.1:1/hook',
  secret_sealed: 'sealed',
  previous_secret_sealed: null,
  previous_secret_until: null,
  message: null,
});
const ids = (ds: ClaimedDelivery[]) => ds.map((d) => d.id);

test('at most the cap per endpoint is busy; a finished slot goes to the next queued delivery, oldest first', () => {
  const lanes = new EndpointLanes(2);
  lanes.add([1, 2, 3, 4, 5].map((n) => delivery('a', n)).concat([delivery('b', 1)]), 10_000);
  expect(lanes.held()).toBe(6);
  const first = lanes.take(64, 0);
  expect(ids(first.start)).toEqual(['a-1', 'a-2', 'b-1']);
  expect(first.stale).toEqual([]);
  expect(lanes.take(64, 0).start).toEqual([]);
  expect(lanes.finish('a')).toBe(3);
  expect(ids(lanes.take(64, 0).start)).toEqual(['a-3']);
  expect(lanes.busy).toBe(3);
  expect(lanes.queued).toBe(2);
});

test('the room over every lane bounds what starts', () => {
  const lanes = new EndpointLanes(4);
  lanes.add([delivery('a', 1), delivery('a', 2), delivery('b', 1)], 10_000);
  expect(lanes.take(2, 0).start).toHaveLength(2);
  expect(lanes.take(0, 0).start).toHaveLength(0);
  expect(lanes.take(5, 0).start).toHaveLength(1);
});

test('a delivery not started by its send-by time is handed back, even behind a full lane', () => {
  const lanes = new EndpointLanes(1);
  lanes.add([delivery('a', 1), delivery('a', 2), delivery('a', 3)], 100);
  expect(ids(lanes.take(64, 50).start)).toEqual(['a-1']);
  const late = lanes.take(64, 101);
  expect(late.start).toEqual([]);
  expect(ids(late.stale)).toEqual(['a-2', 'a-3']);
  expect(lanes.held()).toBe(1);
  lanes.finish('a');
  expect(lanes.held()).toBe(0);
});

test('dropping an endpoint hands back its queue; its busy deliveries keep their slots until they finish', () => {
  const lanes = new EndpointLanes(1);
  lanes.add([delivery('a', 1), delivery('a', 2), delivery('b', 1)], 10_000);
  lanes.take(64, 0);
  expect(ids(lanes.drop('a'))).toEqual(['a-2']);
  expect(lanes.busy).toBe(2);
  lanes.add([delivery('a', 3)], 10_000);
  expect(lanes.take(64, 0).start).toEqual([]);
  lanes.finish('a');
  expect(ids(lanes.take(64, 0).start)).toEqual(['a-3']);
  expect(ids(lanes.dropAll())).toEqual([]);
});
