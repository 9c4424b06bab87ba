// Per-operation batching for GraphQL fields resolved once per item of a list: the items of a page ask
// within one tick, and the service answers them in one statement.
import DataLoader from 'dataloader';
import type { Services } from '../services';
import type { ServiceContext } from '../services/context';
import type { RequestRef } from '../services/process-request-query.service';
import type { HistoryEntryView } from '../services/views';

/** Most requests whose histories are read by one statement. */
const MAX_BATCH = 500;

export interface Loaders {
  /** A request's history, keyed by the request's id (named with its partner, which the service checks). */
  history: DataLoader<RequestRef, HistoryEntryView[], string>;
}

/** New for every operation: nothing is cached beyond it, and each operation reads as its own operator. */
export function createLoaders(services: Services, ctx: ServiceContext): Loaders {
  return {
    history: new DataLoader((refs) => services.queries.historyOf(ctx, refs), {
      cacheKeyFn: (ref) => ref.id,
      maxBatchSize: MAX_BATCH,
    }),
  };
}
