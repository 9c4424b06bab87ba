import { Migration } from '@mikro-orm/migrations';
import { ADVISORY_LOCKS } from '../infra/locks';
import { BALANCE_INCREASE_PROCESS_TYPE_ID } from '../entities/process-type.entity';
import { COUNT_FUNCTIONS } from './Migration20261206050000_request_counts';

const TOP_UP = `process_type_id = ${BALANCE_INCREASE_PROCESS_TYPE_ID}`;

/** COUNT_FUNCTIONS with each count's top-up amount beside it: every row netted as before, with its amount. */
const AMOUNT_FUNCTIONS = [
  `create or replace function process_request_count_add(changes process_request_count[]) returns void
      language plpgsql as $$
      declare partner uuid;
      begin
        if cardinality(changes) = 0 then return; end if;
        for partner in select distinct c.client_id from unnest(changes) c order by 1 loop
          perform pg_advisory_xact_lock(${ADVISORY_LOCKS.EVENT_ORDER}, hashtext(partner::text));
        end loop;
        insert into process_request_count as t (client_id, status, n, top_up_amount)
          select c.client_id, c.status, c.n, c.top_up_amount from unnest(changes) c order by c.client_id, c.status
          on conflict (client_id, status) do update
            set n = t.n + excluded.n, top_up_amount = t.top_up_amount + excluded.top_up_amount;
      end $$;`,
  `create or replace function process_request_count_inserted() returns trigger language plpgsql as $$
      begin
        perform process_request_count_add(array(
          select row(client_id, status, count(*),
                     coalesce(sum(requested_amount) filter (where ${TOP_UP}), 0))::process_request_count
            from new_rows group by client_id, status));
        return null;
      end $$;`,
  `create or replace function process_request_count_deleted() returns trigger language plpgsql as $$
      begin
        perform process_request_count_add(array(
          select row(client_id, status, -count(*),
                     -coalesce(sum(requested_amount) filter (where ${TOP_UP}), 0))::process_request_count
            from old_rows group by client_id, status));
        return null;
      end $$;`,
  // A statement that changes an amount in place moves the amount, not the count.
  `create or replace function process_request_count_updated() returns trigger language plpgsql as $$
      begin
        perform process_request_count_add(array(
          select row(client_id, status, sum(d)::bigint, sum(a))::process_request_count
            from (select client_id, status, 1::bigint as d,
                         case when ${TOP_UP} then requested_amount else 0 end as a from new_rows
                  union all select client_id, status, -1::bigint,
                         case when ${TOP_UP} then -requested_amount else 0 end from old_rows) moves
           group by client_id, status having sum(d) <> 0 or sum(a) <> 0));
        return null;
      end $$;`,
];

/**
 * Beside each count, the sum of its top-ups' requested amounts (process_request_count.top_up_amount), kept
 * by the same triggers in the same transaction: a partner's `pending` balance is then its PENDING row's
 * amount less the PENDING top-ups already past their deadline and not yet swept, which the expiry sweep
 * keeps few. Before, `pending` summed the partner's PENDING rows through the index of every partner's
 * PENDING rows (process_request_pending_expires_at_index), so a balance cost grew with the whole
 * service's pending requests, a partner with none included.
 *
 * Writes to process_request wait from the table lock until this transaction commits, so the backfill
 * sums exactly the rows the new functions will not see. The old functions cast three columns to the
 * count's row type, so they are replaced in the same transaction as the column is added.
 */
export class Migration20261206080000_pending_amounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`lock table "process_request" in share mode;`);
    this.addSql(`alter table "process_request_count" add column "top_up_amount" numeric not null default 0;`);
    for (const sql of AMOUNT_FUNCTIONS) this.addSql(sql);
    this.addSql(`update "process_request_count" c set top_up_amount = s.amount
      from (select client_id, status, sum(requested_amount) as amount from "process_request"
             where ${TOP_UP} group by client_id, status) s
     where c.client_id = s.client_id and c.status = s.status;`);
  }

  override async down(): Promise<void> {
    this.addSql(`lock table "process_request" in share mode;`);
    this.addSql(`alter table "process_request_count" drop column "top_up_amount";`);
    for (const sql of COUNT_FUNCTIONS) this.addSql(sql);
  }
}
