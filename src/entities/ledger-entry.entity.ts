import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** One balance movement. For every balance: available = sum(amount). */
@Entity({ tableName: 'ledger_entry' })
export class LedgerEntry {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  clientBalanceId!: string;

  /** Unique: a request credits the balance at most once. */
  @Property({ type: 'uuid', unique: true })
  processRequestId!: string;

  @Property({ type: 'decimal', precision: 19, scale: 4 })
  amount!: string;

  @Property({ type: 'decimal', precision: 19, scale: 4 })
  balanceAfter!: string;

  @Property({ type: 'Date', columnType: 'timestamptz(3)' })
  createdAt: Date = new Date();
}
