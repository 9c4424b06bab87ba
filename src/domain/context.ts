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
}
