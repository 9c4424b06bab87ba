// Per-operation batching for GraphQL fields resolved once per item of a list: the items of a page ask
// within one tick, and the service answers them in one statement.
import DataLoader from 'dataloader';
import type { Services } from '../services';
import type { ServiceContext } from '../domain/context';
import type { PersonRef, RequestRef } from '../services/process-request-query.service';
import type { HistoryEntryView, PersonView } from '../shapes/views';

/** Most requests whose histories, or most people, read by one statement. */
const MAX_BATCH = 500;

/** A value as GraphQL holds it: with the partner it was read under, so what it names is read under it too. */
export type Seen<T> = T & { partnerId: string };

export interface Loaders {
  /** A request's history, keyed by the request's id (named with its partner, which the service checks). */
  history: DataLoader<RequestRef, Array<Seen<HistoryEntryView>>, string>;
  /** An operator's public face (id, name, email), named with the partner through which it is seen. */
  people: DataLoader<PersonRef, PersonView | null, string>;
  /** A request's `duplicateEvidence`, read only when asked for (named with its partner, which the service checks). */
  duplicates: DataLoader<RequestRef, string[], string>;
}

/**
 * New for every operation: nothing is cached beyond it, and each operation reads as its own operator. Each
 * loader is made when a field first asks for it (most operations use none).
 */
export function createLoaders(services: Services, ctx: ServiceContext): Loaders {
  let history: Loaders['history'] | undefined;
  let people: Loaders['people'] | undefined;
  let duplicates: Loaders['duplicates'] | undefined;
  return {
    get history() {
      return (history ??= new DataLoader(
        async (refs) => {
          const histories = await services.queries.historyOf(ctx, refs);
          return histories.map((entries, i) => entries.map((e) => ({ ...e, partnerId: refs[i].partnerId })));
        },
        { cacheKeyFn: (ref) => ref.id, maxBatchSize: MAX_BATCH },
      ));
    },
    // The same person seen through two partners is asked for once per partner (each is checked) and read once.
    get people() {
      return (people ??= new DataLoader((refs) => services.queries.peopleOf(ctx, refs), {
        cacheKeyFn: (ref) => `${ref.id}/${ref.partnerId}`,
        maxBatchSize: MAX_BATCH,
      }));
    },
    get duplicates() {
      return (duplicates ??= new DataLoader((refs) => services.queries.duplicatesOf(ctx, refs), {
        cacheKeyFn: (ref) => `${ref.id}/${ref.partnerId}`,
        maxBatchSize: MAX_BATCH,
      }));
    },
  };
}
