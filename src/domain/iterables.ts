// Async sequences read once, mapped and framed without losing the way to stop them early: `return()`
// reaches the source even when nothing was read yet (a Readable.from destroyed before its first read
// calls it), so a source holding a database connection always gives it back.

/** `before`, then `map` of each item of `source`, then `after`; stopping it stops the source. */
export function framed<A, B>(
  source: AsyncIterable<A>,
  map: (a: A) => B,
  before: B[] = [],
  after: B[] = [],
): AsyncIterable<B> {
  return {
    [Symbol.asyncIterator]() {
      const inner = source[Symbol.asyncIterator]();
      const head = [...before];
      const tail = [...after];
      let sourceDone = false;
      return {
        async next(): Promise<IteratorResult<B>> {
          if (head.length > 0) return { value: head.shift() as B, done: false };
          if (!sourceDone) {
            const step = await inner.next();
            if (!step.done) return { value: map(step.value), done: false };
            sourceDone = true;
          }
          if (tail.length > 0) return { value: tail.shift() as B, done: false };
          return { value: undefined, done: true };
        },
        async return(): Promise<IteratorResult<B>> {
          if (!sourceDone) {
            sourceDone = true;
            await inner.return?.();
          }
          return { value: undefined, done: true };
        },
      };
    },
  };
}
