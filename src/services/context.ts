import type { EntityManager } from '@mikro-orm/postgresql';
import type { Operator } from '../entities/operator.entity';
import type { Logger } from '../logger';

/** What every use case receives: this request's own EntityManager fork, the acting operator, a logger. */
export interface ServiceContext {
  em: EntityManager;
  operator: Operator;
  log: Logger;
}
