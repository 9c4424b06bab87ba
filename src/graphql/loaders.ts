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
 * loader is made when a field first asks for it (most operations use none). The getters are the class's,
 * on its prototype: getters written on each object would keep the whole operation alive through
 * young-generation collections (see withLazyLog in src/logger.ts).
 */
class OperationLoaders implements Loaders {
  private historyLoader: Loaders['history'] | undefined = undefined;
  private peopleLoader: Loaders['people'] | undefined = undefined;
  private duplicatesLoader: Loaders['duplicates'] | undefined = undefined;

  constructor(
    private readonly services: Services,
    private readonly ctx: ServiceContext,
  ) {}

  get history(): Loaders['history'] {
    return (this.historyLoader ??= new DataLoader(
      async (refs) => {
        const histories = await this.services.queries.historyOf(this.ctx, refs);
        return histories.map((entries, i) => entries.map((e) => ({ ...e, partnerId: refs[i].partnerId })));
      },
      { cacheKeyFn: (ref) => ref.id, maxBatchSize: MAX_BATCH },
    ));
  }

  // The same person seen through two partners is asked for once per partner (each is checked) and read once.
  get people(): Loaders['people'] {
    return (this.peopleLoader ??= new DataLoader((refs) => this.services.queries.peopleOf(this.ctx, refs), {
      cacheKeyFn: (ref) => `${ref.id}/${ref.partnerId}`,
      maxBatchSize: MAX_BATCH,
    }));
  }

  get duplicates(): Loaders['duplicates'] {
    return (this.duplicatesLoader ??= new DataLoader(
      (refs) => this.services.queries.duplicatesOf(this.ctx, refs),
      { cacheKeyFn: (ref) => `${ref.id}/${ref.partnerId}`, maxBatchSize: MAX_BATCH },
    ));
  }
}

export function createLoaders(services: Services, ctx: ServiceContext): Loaders {
  return new OperationLoaders(services, ctx);
}
