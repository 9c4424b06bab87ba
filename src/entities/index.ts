import { ClientBalance } from './client-balance.entity';
import { LedgerEntry } from './ledger-entry.entity';
import { Operator } from './operator.entity';
import { Partner } from './partner.entity';
import { ProcessRequestEvent } from './process-request-event.entity';
import { Evidence, ProcessRequest } from './process-request.entity';
import { ProcessType } from './process-type.entity';

/** Every entity class, handed to MikroORM explicitly (folder discovery breaks under jest). */
export const ENTITIES = [
  Partner,
  ClientBalance,
  ProcessType,
  ProcessRequest,
  Evidence,
  LedgerEntry,
  ProcessRequestEvent,
  Operator,
];
