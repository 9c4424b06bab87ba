// lazyChild: a child logger made when first used, once, with its parent's bindings and its own.
import { lazyChild } from '../../src/logger';
import { capture } from '../support/logs';

test('makes no child until used, then one, whose lines carry the bindings of both generations', () => {
  const { lines, logger } = capture('info');
  const made = jest.spyOn(logger, 'child');
  const request = lazyChild(logger, { requestId: 'r-1' });
  const operator = lazyChild(request, { operatorId: 'o-1' });
  expect(made).not.toHaveBeenCalled();
  operator().info('first');
  operator().info('second');
  request().info('third');
  // Each child once (a child inherits `child` from its parent, so the spy sees both generations).
  expect(made.mock.calls).toEqual([[{ requestId: 'r-1' }], [{ operatorId: 'o-1' }]]);
  expect(lines.map(({ msg, requestId, operatorId }) => ({ msg, requestId, operatorId }))).toEqual([
    { msg: 'first', requestId: 'r-1', operatorId: 'o-1' },
    { msg: 'second', requestId: 'r-1', operatorId: 'o-1' },
    { msg: 'third', requestId: 'r-1', operatorId: undefined },
  ]);
});
