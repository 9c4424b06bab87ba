import type { EntityManager } from '@mikro-orm/postgresql';
import type { Operator } from '../entities/operator.entity';
import { withLazyLog, type Logger } from '../logger';
import type { PartnerCache } from './access';

/** What every use case receives: this request's own EntityManager fork, the acting operator, a logger. */
export interface ServiceContext {
  em: EntityManager;
  operator: Operator;
  log: Logger;
  /** This process's cache of partners found (their currency and balance id); absent: read every time. */
  partners?: PartnerCache;
  /** When the call's credentials stop verifying; a progress stream opened with them ends then. */
  validUntil?: Date;
  /** Set when `operator` is a row this process kept rather than one read for this call (see storedRead). */
  kept?: KeptOperator;
  /**
   * The caller never receives the answer's body (an HTTP HEAD, answered as GET without it): a use case that
   * records handing something out (an evidence link, SPEC section 18) does not record it.
   */
  headOnly?: boolean;
}

/** An operator row served from the process's cache: the version it had, and how to read the stored one. */
export interface KeptOperator {
  /** The row's version (its xmin) when it was read: any change to the row changes it. */
  version: string;
  /**
   * Reads the stored row again (forgetting the kept one): 401/403 as authentication would answer. Read once
   * per call: asked again, it answers the same.
   */
  reload(): Promise<Operator>;
}

/**
 * `fields` as a context of type C whose `log` is `makeLog()`, made when first asked for (withLazyLog: the
 * getter on a shared prototype, never the context's own). Fields C adds to ServiceContext may be set afterwards.
 */
export function contextWithLog<C extends ServiceContext>(
  fields: Partial<C> & Omit<ServiceContext, 'log'> & { makeLog: () => Logger },
): C {
  return withLazyLog(fields) as unknown as C;
}
