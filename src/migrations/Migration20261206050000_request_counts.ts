import { Migration } from '@mikro-orm/migrations';
import { ADVISORY_LOCKS } from '../infra/locks';

/**
 * Per partner and status, the number of requests (process_request_count), kept exact by statement-level
 * triggers with transition tables: one upsert per (partner, status) a statement changes, in the same
 * transaction, so a bulk insert costs one upsert and every path that writes process_request (create,
 * decisions, expiry, reversal, SQL seeding) is counted without knowing it.
 *
 * Before touching a partner's counts the trigger takes that partner's event-order lock
 * (ADVISORY_LOCKS.EVENT_ORDER, key hashtext(partner id)), partners in ascending order. A decision takes
 * that lock before its statement ends and a create just after its insert, so without it a create holding
 * the PENDING count and a decision holding the lock would wait for each other; with it, a count row is
 * only ever locked by the holder of its partner's lock, and count rows never take part in a wait cycle.
 * Creates of one partner already commit one at a time under that lock (src/sql/progress.ts); they now
 * hold it from their insert rather than from their event, one statement longer.
 */
/**
 * The functions that keep the counts, as this migration made them: `add` takes the partner locks and upserts;
 * the trigger functions net the rows a statement inserted, deleted or moved. Written as `create or replace`,
 * so Migration20261206080000_pending_amounts's `down` restores them with the same text.
 */
export const COUNT_FUNCTIONS = [
  `create or replace function process_request_count_add(changes process_request_count[]) returns void
      language plpgsql as $$
      declare partner uuid;
      begin
        if cardinality(changes) = 0 then return; end if;
        for partner in select distinct c.client_id from unnest(changes) c order by 1 loop
          perform pg_advisory_xact_lock(${ADVISORY_LOCKS.EVENT_ORDER}, hashtext(partner::text));
        end loop;
        insert into process_request_count as t (client_id, status, n)
          select c.client_id, c.status, c.n from unnest(changes) c order by c.client_id, c.status
          on conflict (client_id, status) do update set n = t.n + excluded.n;
      end $$;`,
  `create or replace function process_request_count_inserted() returns trigger language plpgsql as $$
      begin
        perform process_request_count_add(array(
          select row(client_id, status, count(*))::process_request_count from new_rows group by client_id, status));
        return null;
      end $$;`,
  `create or replace function process_request_count_deleted() returns trigger language plpgsql as $$
      begin
        perform process_request_count_add(array(
          select row(client_id, status, -count(*))::process_request_count from old_rows group by client_id, status));
        return null;
      end $$;`,
  // An UPDATE trigger with transition tables cannot name columns: the moves are netted, and a statement
  // that changes no status or partner (most updates) nets to nothing and locks nothing.
  `create or replace function process_request_count_updated() returns trigger language plpgsql as $$
      begin
        perform process_request_count_add(array(
          select row(client_id, status, sum(d)::bigint)::process_request_count
            from (select client_id, status, 1::bigint as d from new_rows
                  union all select client_id, status, -1::bigint from old_rows) moves
           group by client_id, status having sum(d) <> 0));
        return null;
      end $$;`,
];

export class Migration20261206050000_request_counts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "process_request_count" (
      "client_id" uuid not null, "status" "process_request_status" not null, "n" bigint not null,
      constraint "process_request_count_pkey" primary key ("client_id", "status"));`);
    for (const sql of COUNT_FUNCTIONS) this.addSql(sql);
    this.addSql(`create function process_request_count_truncated() returns trigger language plpgsql as $$
      begin
        delete from process_request_count;
        return null;
      end $$;`);
    this.addSql(`create trigger process_request_count_insert after insert on "process_request"
      referencing new table as new_rows for each statement execute function process_request_count_inserted();`);
    this.addSql(`create trigger process_request_count_update after update on "process_request"
      referencing old table as old_rows new table as new_rows for each statement execute function process_request_count_updated();`);
    this.addSql(`create trigger process_request_count_delete after delete on "process_request"
      referencing old table as old_rows for each statement execute function process_request_count_deleted();`);
    this.addSql(`create trigger process_request_count_truncate after truncate on "process_request"
      for each statement execute function process_request_count_truncated();`);
    // Writes to process_request wait from the first CREATE TRIGGER until this transaction commits, so the
    // backfill counts exactly the rows the triggers will not see.
    this.addSql(`insert into "process_request_count" (client_id, status, n)
      select client_id, status, count(*) from "process_request" group by client_id, status;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists process_request_count_insert on "process_request";`);
    this.addSql(`drop trigger if exists process_request_count_update on "process_request";`);
    this.addSql(`drop trigger if exists process_request_count_delete on "process_request";`);
    this.addSql(`drop trigger if exists process_request_count_truncate on "process_request";`);
    this.addSql(`drop function if exists process_request_count_inserted();`);
    this.addSql(`drop function if exists process_request_count_updated();`);
    this.addSql(`drop function if exists process_request_count_deleted();`);
    this.addSql(`drop function if exists process_request_count_truncated();`);
    this.addSql(`drop function if exists process_request_count_add(process_request_count[]);`);
    this.addSql(`drop table if exists "process_request_count" cascade;`);
  }
}
