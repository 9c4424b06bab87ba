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

/**
 * The strings of `source` joined into chunks of at least `size` characters (the last one shorter): a
 * stream of them is written to its socket once per chunk instead of once per item. Stopping it stops the
 * source.
 */
export function joined(source: AsyncIterable<string>, size = 16 * 1024): AsyncIterable<string> {
  return {
    [Symbol.asyncIterator]() {
      const inner = source[Symbol.asyncIterator]();
      let sourceDone = false;
      return {
        async next(): Promise<IteratorResult<string>> {
          let chunk = '';
          while (!sourceDone && chunk.length < size) {
            const step = await inner.next();
            if (step.done) sourceDone = true;
            else chunk += step.value;
          }
          return chunk === '' ? { value: undefined, done: true } : { value: chunk, done: false };
        },
        async return(): Promise<IteratorResult<string>> {
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

/** The items of each array of `source`, one by one, mapped; stopping it stops the source. */
export function flattened<A, B>(source: AsyncIterable<A[]>, map: (a: A) => B): AsyncIterable<B> {
  return {
    [Symbol.asyncIterator]() {
      const inner = source[Symbol.asyncIterator]();
      let batch: A[] = [];
      let index = 0;
      let sourceDone = false;
      return {
        async next(): Promise<IteratorResult<B>> {
          while (index >= batch.length) {
            if (sourceDone) return { value: undefined, done: true };
            const step = await inner.next();
            if (step.done) sourceDone = true;
            else [batch, index] = [step.value, 0];
          }
          return { value: map(batch[index++]), done: false };
        },
        async return(): Promise<IteratorResult<B>> {
          batch = [];
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
