// Objects made for every call take their lazy getters from a prototype, never as their own. An own getter
// (written in an object literal, or by defineProperty) on each call's context kept the getter's closure,
// and the whole call behind it, alive through V8's young-generation collections until a full collection:
// 3–4 MB copied and promoted per scavenge under load instead of 0.1, pauses of 5–6 ms instead of 1.3
// (bench/RESULTS.md, "Round 12"). These are the objects made for every call that need a lazy field.
import type { Context } from 'koa';
import { contextWithLog, type ServiceContext } from '../../src/domain/context';
import { createLoaders } from '../../src/graphql/loaders';
import { requestContext } from '../../src/http/middleware';
import { lazyChild } from '../../src/logger';
import type { Services } from '../../src/services';
import { capture } from '../support/logs';

/** The object's own properties that are accessors (none: they come from its prototype). */
const ownAccessors = (o: object) =>
  Object.entries(Object.getOwnPropertyDescriptors(o))
    .filter(([, d]) => d.get !== undefined || d.set !== undefined)
    .map(([name]) => name);

const fields = (operatorId: string, log: ReturnType<typeof capture>['logger']) => ({
  em: {} as ServiceContext['em'],
  operator: { id: operatorId } as ServiceContext['operator'],
  makeLog: lazyChild(log, { operatorId }),
  validUntil: new Date(),
  kept: undefined,
  headOnly: false,
});

test('the check sees an own getter, written in a literal or defined', () => {
  const defined = Object.defineProperty({}, 'log', { get: () => 1 });
  expect(
    ownAccessors({
      n: 1,
      get log() {
        return 1;
      },
    }),
  ).toEqual(['log']);
  expect(ownAccessors(defined)).toEqual(['log']);
  expect(ownAccessors({ n: 1 })).toEqual([]);
});

test("service contexts have no own getter, and each makes its operator's child logger when first asked", () => {
  const { lines, logger } = capture('info');
  const made = jest.spyOn(logger, 'child');
  const [a, b] = [
    contextWithLog<ServiceContext>(fields('op-a', logger)),
    contextWithLog<ServiceContext>(fields('op-b', logger)),
  ];
  expect([...ownAccessors(a), ...ownAccessors(b)]).toEqual([]);
  expect(made).not.toHaveBeenCalled();
  a.log.info('from a');
  a.log.info('again');
  b.log.info('from b');
  expect(made).toHaveBeenCalledTimes(2);
  expect(lines.map(({ msg, operatorId }) => [msg, operatorId])).toEqual([
    ['from a', 'op-a'],
    ['again', 'op-a'],
    ['from b', 'op-b'],
  ]);
});

test("GraphQL operations' loaders have no own getter, and each makes its loaders once", () => {
  const services = { queries: {} } as unknown as Services;
  const ctx = {} as ServiceContext;
  const [a, b] = [createLoaders(services, ctx), createLoaders(services, ctx)];
  expect([...ownAccessors(a), ...ownAccessors(b)]).toEqual([]);
  expect(a.history).toBe(a.history);
  expect(b.people).toBe(b.people);
  expect(a.history).not.toBe(b.history);
});

test("requests' state objects have no own getter, and their log carries the request id", async () => {
  const { lines, logger } = capture('info');
  const middleware = requestContext(logger);
  const states: Array<Context['state']> = [];
  for (const id of ['req-1', 'req-2']) {
    const ctx = {
      state: {},
      path: '/x',
      method: 'GET',
      status: 200,
      get: () => id,
      set: () => undefined,
    } as unknown as Context;
    await middleware(ctx, async () => {
      ctx.state.log.info('inside');
    });
    states.push(ctx.state);
  }
  expect(states.flatMap(ownAccessors)).toEqual([]);
  expect(states.map((s) => s.requestId)).toEqual(['req-1', 'req-2']);
  expect(lines.filter((l) => l.msg === 'inside').map((l) => l.requestId)).toEqual(['req-1', 'req-2']);
});
