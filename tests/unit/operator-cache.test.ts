// The operator cache's bounds and rules, without a database: used only while listening, bounded in size
// and age, only active rows kept, and a row read before a change never kept after it.
import { OperatorCache, EVERY_OPERATOR } from '../../src/runtime/operator-cache';
import { toPositional } from '../../src/sql/statement';

const row = (id: string, active = true) => ({ id, subject: id, active, row_version: '1' });

function listening(max = 3, maxAgeMs = 1000) {
  let now = 0;
  const cache = new OperatorCache(max, maxAgeMs, () => now);
  cache.listen();
  return { cache, tick: (ms: number) => (now += ms) };
}

test('nothing is used or kept before the LISTEN connection is up, nor after it drops', () => {
  const cache = new OperatorCache();
  cache.remember('sub:a', row('a'), cache.mark());
  expect(cache.get('sub:a')).toBeUndefined();
  cache.listen();
  cache.remember('sub:a', row('a'), cache.mark());
  expect(cache.get('sub:a')).toEqual(row('a'));
  cache.deaf();
  expect(cache.get('sub:a')).toBeUndefined();
  expect(cache.size).toBe(0);
  // Up again: empty, whatever was kept before the drop.
  cache.listen();
  expect(cache.get('sub:a')).toBeUndefined();
});

test('a row read before a change is not kept after it', () => {
  const { cache } = listening();
  const since = cache.mark();
  cache.forget('someone-else');
  cache.remember('sub:a', row('a'), since);
  expect(cache.get('sub:a')).toBeUndefined();
});

test('forget removes every key of an operator; * removes all', () => {
  const { cache } = listening();
  cache.remember('sub:a', row('a'), cache.mark());
  cache.remember('other:a', row('a'), cache.mark());
  cache.remember('sub:b', row('b'), cache.mark());
  cache.forget('a');
  expect([cache.get('sub:a'), cache.get('other:a'), cache.get('sub:b')]).toEqual([
    undefined,
    undefined,
    row('b'),
  ]);
  cache.forget(EVERY_OPERATOR);
  expect(cache.size).toBe(0);
});

test('bounded: the oldest entry goes past the size; an entry serves no longer than its age', () => {
  const { cache, tick } = listening(2, 1000);
  cache.remember('sub:a', row('a'), cache.mark());
  cache.remember('sub:b', row('b'), cache.mark());
  cache.remember('sub:c', row('c'), cache.mark());
  expect(cache.size).toBe(2);
  expect(cache.get('sub:a')).toBeUndefined();
  tick(1001);
  expect(cache.get('sub:b')).toBeUndefined();
});

test('an inactive operator is never kept', () => {
  const { cache } = listening();
  cache.remember('sub:a', row('a', false), cache.mark());
  expect(cache.get('sub:a')).toBeUndefined();
});

test('? placeholders become $n outside literals and comments', () => {
  expect(toPositional(`select '?', "a?" from t where a = ? and b = ?::int -- ?\n and c = ?`)).toBe(
    `select '?', "a?" from t where a = $1 and b = $2::int -- ?\n and c = $3`,
  );
});
