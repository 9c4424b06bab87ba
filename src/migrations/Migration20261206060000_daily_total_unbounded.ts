import { Migration } from '@mikro-orm/migrations';

/**
 * operator_daily_total.total is a sum of amounts: NUMERIC(19,4) holds one amount (15 integer digits), so a
 * second large approval in a day overflowed it and the approval was refused (as a balance past its column).
 * Unbounded NUMERIC holds any sum; the limit CHECK compares it with daily_limit as before.
 */
export class Migration20261206060000_daily_total_unbounded extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "operator_daily_total" alter column "total" type numeric;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "operator_daily_total" alter column "total" type numeric(19,4);`);
  }
}
