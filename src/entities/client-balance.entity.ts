import { Check, Entity, OneToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Partner } from './partner.entity';
import { referenceTo } from './references';

/** One per partner. `available` only ever changes by SQL inside the approval transaction. */
@Entity({ tableName: 'client_balance' })
@Check({
  name: 'client_balance_max_balance_check',
  expression: '"max_balance" is null or "last_change" <= 0 or "available" <= "max_balance"',
})
@Check({
  name: 'client_balance_daily_credit_limit_check',
  expression:
    '"daily_credit_limit" is null or "last_change" <= 0 or "credited_that_day" <= "daily_credit_limit"',
})
export class ClientBalance {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'available' | 'creditedThatDay' | 'lastChange';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** The partner id; one balance per partner. */
  @OneToOne(() => Partner, { ...referenceTo('client_id'), owner: true })
  partnerId!: string;

  /** NUMERIC(19,4) kept as a string: never a JavaScript float. The database refuses a negative balance. */
  @Property({ type: 'decimal', precision: 19, scale: 4, defaultRaw: '0' })
  @Check({ expression: '"available" >= 0' })
  available: string = '0';

  @Property({ type: 'string', columnType: 'char(3)' })
  currency!: string;

  /**
   * The caps of SPEC section 18, kept on this row so the approving statement decides them under its row
   * lock: the UTC day of the last credit and the total credited that day, the partner's policy's caps
   * (copied when a policy is applied) and the last movement (a debit, ≤ 0, is never refused by a cap).
   */
  @Property({ type: 'date', nullable: true })
  creditedOn?: string | null;

  /** A sum of the day's credits (reversals do not lower it): unbounded NUMERIC, not an amount's column. */
  @Property({ type: 'decimal', columnType: 'numeric', defaultRaw: '0' })
  creditedThatDay: string = '0';

  @Property({ type: 'decimal', precision: 19, scale: 4, defaultRaw: '0' })
  lastChange: string = '0';

  @Property({ type: 'decimal', precision: 19, scale: 4, nullable: true })
  dailyCreditLimit?: string | null;

  @Property({ type: 'decimal', precision: 19, scale: 4, nullable: true })
  maxBalance?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  updatedAt: Date = new Date();
}
