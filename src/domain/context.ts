import type { EntityManager } from '@mikro-orm/postgresql';
import type { Operator } from '../entities/operator.entity';
import type { Logger } from '../logger';
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
 * The prototype of a context whose `log` is made on first use by its own `operatorLog` (a lazyChild). The
 * getter sits here, never on the context itself. V8 keeps an object's own getter (written in an object
 * literal, or defined) in an accessor pair it allocates in the old generation, and the young-generation
 * collector takes every old-to-young pointer as live: the getter's closure, and the whole request it closes
 * over, survived every scavenge until a full collection freed the pair. Under load that was 3–4 MB copied
 * and promoted per scavenge instead of 0.1, pauses of 5–6 ms instead of 1.3 (bench/RESULTS.md, "Round 12").
 */
export const OPERATOR_LOG_PROTOTYPE: object = Object.create(Object.prototype, {
  log: {
    get(this: { operatorLog: () => Logger }) {
      return this.operatorLog();
    },
  },
});

/**
 * `fields` as a context of type C over OPERATOR_LOG_PROTOTYPE: its `log` is `operatorLog()`, made when first
 * asked for. Fields C adds to ServiceContext may be set afterwards.
 */
export function contextWithLog<C extends ServiceContext>(
  fields: Partial<C> & Omit<ServiceContext, 'log'> & { operatorLog: () => Logger },
): C {
  return Object.assign(Object.create(OPERATOR_LOG_PROTOTYPE) as C, fields);
}
