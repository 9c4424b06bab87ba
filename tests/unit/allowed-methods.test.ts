// allowedMethods: the methods a path accepts, worked out once per shape of path (its ids aside).
import Router from '@koa/router';
import { randomUUID } from 'node:crypto';
import { allowedMethods } from '../../src/rest/methods';

const noop = () => undefined;

function routers() {
  const rest = new Router({ prefix: '/partners/:partnerId' });
  rest.get('/process-request/:id', noop);
  rest.patch('/process-request/:id/approve', noop);
  rest.get('/process-request/progress', noop);
  rest.post('/process-request', noop);
  const health = new Router();
  health.get('/healthz', noop);
  return [rest, health];
}

test('answers every id of a path as the routes do, matching the routes once per shape of path', () => {
  const all = routers();
  const matched = all.map((router) => jest.spyOn(router, 'match'));
  const allowed = allowedMethods(all, { '/graphql': ['GET', 'POST'] });
  const one = (partner: string, rest: string) => allowed(`/partners/${partner}${rest}`);

  const [p1, p2, r1, r2] = [randomUUID(), randomUUID(), randomUUID(), randomUUID().toUpperCase()];
  expect(one(p1, `/process-request/${r1}`)).toEqual(['GET', 'HEAD', 'OPTIONS']);
  expect(one(p2, `/process-request/${r2}`)).toEqual(['GET', 'HEAD', 'OPTIONS']);
  expect(one(p1, `/process-request/${r1}/approve`)).toEqual(['PATCH', 'OPTIONS']);
  expect(one(p2, '/process-request')).toEqual(['POST', 'OPTIONS']);
  expect(one(p1, '/process-request/progress')).toEqual(['GET', 'HEAD', 'OPTIONS']);
  // A segment that is not an id is a path of its own, matched as sent (here by the `:id` route).
  expect(one(p1, '/process-request/not-an-id')).toEqual(['GET', 'HEAD', 'OPTIONS']);
  expect(allowed('/nowhere')).toBeUndefined();
  expect(allowed('/graphql')).toEqual(['GET', 'POST', 'OPTIONS']);
  expect(allowed('/healthz')).toEqual(['GET', 'HEAD', 'OPTIONS']);
  const calls = matched.map((m) => m.mock.calls.length);
  // Eight shapes (the upper-case id is the first's), each matched against both routers once.
  expect(calls).toEqual([8, 8]);

  // The same shapes again, other ids: no router is asked again, and the answers are the same.
  for (let i = 0; i < 20; i++) {
    expect(one(randomUUID(), `/process-request/${randomUUID()}`)).toEqual(['GET', 'HEAD', 'OPTIONS']);
    expect(allowed('/nowhere')).toBeUndefined();
  }
  expect(matched.map((m) => m.mock.calls.length)).toEqual(calls);
});

test('answers stay right past the number of paths it remembers (made-up paths), and it remembers again', () => {
  const all = routers();
  const allowed = allowedMethods(all);
  const matched = jest.spyOn(all[1], 'match');
  for (let i = 0; i < 2_000; i++) expect(allowed(`/made-up/${i}`)).toBeUndefined();
  expect(allowed('/healthz')).toEqual(['GET', 'HEAD', 'OPTIONS']);
  const before = matched.mock.calls.length;
  expect(allowed('/healthz')).toEqual(['GET', 'HEAD', 'OPTIONS']);
  expect(matched.mock.calls.length).toBe(before);
});
