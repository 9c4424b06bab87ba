// Async sequences joined into larger chunks, still stoppable at any point.
import { flattened, joined } from '../../src/domain/iterables';

/** A source of the given items (strings, or batches of them) that records whether it was stopped. */
function source<T>(items: T[]) {
  const state = { returned: false, read: 0 };
  const iterable: AsyncIterable<T> = {
    [Symbol.asyncIterator]: () => ({
      next: async () =>
        state.read < items.length
          ? { value: items[state.read++], done: false }
          : { value: undefined, done: true as const },
      return: async () => {
        state.returned = true;
        return { value: undefined, done: true as const };
      },
    }),
  };
  return { iterable, state };
}

async function all(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of iterable) out.push(chunk);
  return out;
}

test('items are joined into chunks of at least `size` characters, the last one shorter', async () => {
  const { iterable } = source(['ab', 'cd', 'e', 'fgh', 'i']);
  expect(await all(joined(iterable, 4))).toEqual(['abcd', 'efgh', 'i']);
});

test('nothing in, nothing out; every item out in order, none lost', async () => {
  expect(await all(joined(source([]).iterable, 4))).toEqual([]);
  const items = Array.from({ length: 1000 }, (_, i) => `${i},`);
  expect((await all(joined(source(items).iterable, 100))).join('')).toBe(items.join(''));
});

test('stopping it stops the source, even before the first read', async () => {
  const { iterable, state } = source(['a', 'b']);
  const it = joined(iterable)[Symbol.asyncIterator]();
  await it.return!();
  expect(state).toEqual({ returned: true, read: 0 });
  const second = source(['aa', 'bb', 'cc']);
  const it2 = joined(second.iterable, 2)[Symbol.asyncIterator]();
  expect(await it2.next()).toEqual({ value: 'aa', done: false });
  await it2.return!();
  expect(second.state.returned).toBe(true);
  expect(await it2.next()).toEqual({ value: undefined, done: true });
});

test('flattened: every item of every batch, mapped, in order; stopping it stops the source', async () => {
  expect(await all(flattened(source([['a', 'b'], [], ['c']]).iterable, (s) => s.toUpperCase()))).toEqual([
    'A',
    'B',
    'C',
  ]);
  const { iterable, state } = source([['a', 'b'], ['c']]);
  const it = flattened(iterable, (s) => s)[Symbol.asyncIterator]();
  expect(await it.next()).toEqual({ value: 'a', done: false });
  await it.return!();
  expect(state).toEqual({ returned: true, read: 1 });
  expect(await it.next()).toEqual({ value: undefined, done: true });
});
