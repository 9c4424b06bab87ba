import { Check, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * What an operator approved in one UTC day and currency (SPEC section 18), with the daily limit in force at
 * their last approval. The approving statement adds to it under the row's lock; the CHECK refuses the
 * approval that would pass the limit, so the cap holds under any race.
 */
@Entity({ tableName: 'operator_daily_total' })
@Check({
  name: 'operator_daily_total_limit_check',
  expression: '"daily_limit" is null or "total" <= "daily_limit"',
})
export class OperatorDailyTotal {
  @PrimaryKey({ type: 'uuid' })
  operatorId!: string;

  @PrimaryKey({ type: 'date' })
  day!: string;

  @PrimaryKey({ type: 'string', columnType: 'char(3)' })
  currency!: string;

  /**
   * A sum of amounts, not an amount: unbounded NUMERIC, so an operator without a daily limit can approve
   * more in a day than one amount column holds (two approvals of 999,999,999,999,999 JPY).
   */
  @Property({ type: 'decimal', columnType: 'numeric' })
  total!: string;

  @Property({ type: 'decimal', precision: 19, scale: 4, nullable: true })
  dailyLimit?: string | null;
}
