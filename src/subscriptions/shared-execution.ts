// A subscription's events executed once per event and document, not once per watcher: every watcher
// of a partner that subscribed with the same document and variables is handed the same result object.
// Sound because the result depends only on the event (the root) and the document: the progress
// resolver returns its root, and no field reads the context.
import {
  createSourceEventStream,
  execute,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLError,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Results by event (held while the event is) and document key. */
const shared = new WeakMap<object, Map<string, Result>>();

/** What makes two subscriptions' results the same for the same event. */
export function documentKey(payload: SubscribePayload): string {
  return JSON.stringify([payload.query, payload.operationName ?? null, payload.variables ?? null]);
}

function executeOnce(args: ExecutionArgs, event: unknown, key: string): Result {
  if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
  let byDocument = shared.get(event);
  if (!byDocument) shared.set(event, (byDocument = new Map()));
  let result = byDocument.get(key);
  if (!result) byDocument.set(key, (result = execute({ ...args, rootValue: event })));
  return result;
}

/**
 * graphql's subscribe(), with each event executed through the shared results; as there, an error of
 * the source (a revocation, an overflow) rejects next(), and a failed execution ends the source.
 */
export async function subscribeShared(
  args: ExecutionArgs,
  key: string,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult<Record<string, unknown>>> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source as ExecutionResult & { errors: GraphQLError[] };
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const close = async () => {
    try {
      await iterator.return?.();
    } catch {
      // Keep the original error when closing the source also fails.
    }
  };
  const map = async (step: IteratorResult<unknown>): Promise<IteratorResult<ExecutionResult>> => {
    if (step.done) return { value: undefined, done: true };
    try {
      return { value: await executeOnce(args, step.value, key), done: false };
    } catch (error) {
      await close();
      throw error;
    }
  };
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    next: async () => map(await iterator.next()),
    return: async () => (iterator.return ? map(await iterator.return()) : { value: undefined, done: true }),
    throw: async (error?: unknown) => {
      if (iterator.throw) return map(await iterator.throw(error));
      await close();
      throw error;
    },
    [Symbol.asyncIterator]: () => mapped,
  };
  return mapped;
}
