import { Migration } from '@mikro-orm/migrations';

/**
 * Every change to an operator row (update, delete, truncate), however it is made — the service, the CLI,
 * plain SQL — announces the operator's id on `operator_change` when it commits ('*' for a truncate): each
 * server process forgets its cached copy and re-checks the operator's open streams.
 */
export class Migration20261206040000_operator_change_notify extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function operator_change_notify() returns trigger language plpgsql as $$
      begin
        if tg_op = 'TRUNCATE' then
          perform pg_notify('operator_change', '*');
          return null;
        end if;
        perform pg_notify('operator_change', old.id::text);
        if tg_op = 'UPDATE' and new.id is distinct from old.id then
          perform pg_notify('operator_change', new.id::text);
        end if;
        return null;
      end $$;`);
    this.addSql(`create trigger operator_change_notify after update or delete on "operator"
      for each row execute function operator_change_notify();`);
    this.addSql(`create trigger operator_truncate_notify after truncate on "operator"
      for each statement execute function operator_change_notify();`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists operator_truncate_notify on "operator";');
    this.addSql('drop trigger if exists operator_change_notify on "operator";');
    this.addSql('drop function if exists operator_change_notify();');
  }
}
