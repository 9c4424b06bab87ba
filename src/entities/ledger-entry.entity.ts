import { Entity, Index, ManyToOne, OneToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { ClientBalance } from './client-balance.entity';
import { ProcessRequest } from './process-request.entity';
import { referenceTo } from './references';

/** One balance movement. For every balance: available = sum(amount). */
@Entity({ tableName: 'ledger_entry' })
export class LedgerEntry {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => ClientBalance, referenceTo('client_balance_id'))
  @Index()
  clientBalanceId!: string;

  /** Unique: a request credits the balance at most once. */
  @OneToOne(() => ProcessRequest, { ...referenceTo('process_request_id'), owner: true })
  processRequestId!: string;

  @Property({ type: 'decimal', precision: 19, scale: 4 })
  amount!: string;

  @Property({ type: 'decimal', precision: 19, scale: 4 })
  balanceAfter!: string;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
