import { Migration } from '@mikro-orm/migrations';

/**
 * client_balance.credited_that_day is a sum of the day's credits, not an amount: a reversal does not lower
 * it, so credit, reverse, credit of one large amount overflowed NUMERIC(19,4) and the credit was refused as
 * BALANCE_LIMIT_EXCEEDED though the balance was far from its limit. Unbounded NUMERIC holds any sum; the
 * daily credit limit's CHECK compares it as before (as operator_daily_total.total, Migration20261206060000).
 */
export class Migration20261206070000_credited_unbounded extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "client_balance" alter column "credited_that_day" type numeric;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "client_balance" alter column "credited_that_day" type numeric(19,4);`);
  }
}
