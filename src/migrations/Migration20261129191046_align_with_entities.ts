import { Migration } from '@mikro-orm/migrations';

/**
 * Makes a database built by the first two migrations exactly what the entities declare (src/entities is
 * the schema's one source of truth; `npm run db:check` compares them). Catalog changes only: no table is
 * rebuilt and no row changes. Generated with `npm run migration:create` and then rewritten by hand, because
 * the ORM writes a new name as drop + add (re-checking every row) where a rename is enough.
 */
export class Migration20261129191046_align_with_entities extends Migration {
  override async up(): Promise<void> {
    // MikroORM's names for foreign keys and unique constraints (PostgreSQL's were `_fkey` and `_key`).
    // Renaming a unique constraint renames its index too.
    this.addSql(
      `alter table "client_balance" rename constraint "client_balance_client_id_fkey" to "client_balance_client_id_foreign";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_process_type_id_fkey" to "process_request_process_type_id_foreign";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_client_balance_id_fkey" to "process_request_client_balance_id_foreign";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_client_id_fkey" to "process_request_client_id_foreign";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_created_by_fkey" to "process_request_created_by_foreign";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_reviewed_by_fkey" to "process_request_reviewed_by_foreign";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_cancelled_by_fkey" to "process_request_cancelled_by_foreign";`,
    );
    this.addSql(
      `alter table "ledger_entry" rename constraint "ledger_entry_client_balance_id_fkey" to "ledger_entry_client_balance_id_foreign";`,
    );
    this.addSql(
      `alter table "ledger_entry" rename constraint "ledger_entry_process_request_id_fkey" to "ledger_entry_process_request_id_foreign";`,
    );
    this.addSql(
      `alter table "process_request_event" rename constraint "process_request_event_client_id_fkey" to "process_request_event_client_id_foreign";`,
    );
    this.addSql(
      `alter table "process_request_event" rename constraint "process_request_event_actor_id_fkey" to "process_request_event_actor_id_foreign";`,
    );
    this.addSql(
      `alter table "otp_attempt" rename constraint "otp_attempt_operator_id_fkey" to "otp_attempt_operator_id_foreign";`,
    );
    this.addSql(
      `alter table "idempotency_key" rename constraint "idempotency_key_operator_id_fkey" to "idempotency_key_operator_id_foreign";`,
    );
    this.addSql(
      `alter table "idempotency_key" rename constraint "idempotency_key_process_request_id_fkey" to "idempotency_key_process_request_id_foreign";`,
    );
    this.addSql(`alter table "operator" rename constraint "operator_email_key" to "operator_email_unique";`);
    this.addSql(
      `alter table "client_balance" rename constraint "client_balance_client_id_key" to "client_balance_client_id_unique";`,
    );
    this.addSql(
      `alter table "process_type" rename constraint "process_type_code_key" to "process_type_code_unique";`,
    );
    this.addSql(
      `alter table "ledger_entry" rename constraint "ledger_entry_process_request_id_key" to "ledger_entry_process_request_id_unique";`,
    );

    // The OTP replay guard was a unique index; the entity declares a unique constraint. Same index, now owned by the constraint.
    this.addSql(
      `alter table "otp_attempt" add constraint "otp_attempt_operator_id_counter_unique" unique using index "otp_attempt_operator_id_counter_unique";`,
    );

    // The status of an idempotency key is a MikroORM (non-native) enum: a text column with a CHECK on its values.
    // varchar to text needs no rewrite of the rows.
    this.addSql(`alter table "idempotency_key" drop constraint "idempotency_key_status_check";`);
    this.addSql(`alter table "idempotency_key" alter column "status" type text;`);
    this.addSql(
      `alter table "idempotency_key" add constraint "idempotency_key_status_check" check ("status" in ('IN_PROGRESS', 'COMPLETED'));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "idempotency_key" drop constraint "idempotency_key_status_check";`);
    this.addSql(`alter table "idempotency_key" alter column "status" type varchar(20);`);
    this.addSql(
      `alter table "idempotency_key" add constraint "idempotency_key_status_check" check ("status" in ('IN_PROGRESS', 'COMPLETED'));`,
    );

    // Back to a plain unique index: dropping the constraint drops its index, so the index is built again.
    this.addSql(`alter table "otp_attempt" drop constraint "otp_attempt_operator_id_counter_unique";`);
    this.addSql(
      `create unique index "otp_attempt_operator_id_counter_unique" on "otp_attempt" ("operator_id", "counter");`,
    );

    this.addSql(`alter table "operator" rename constraint "operator_email_unique" to "operator_email_key";`);
    this.addSql(
      `alter table "client_balance" rename constraint "client_balance_client_id_unique" to "client_balance_client_id_key";`,
    );
    this.addSql(
      `alter table "process_type" rename constraint "process_type_code_unique" to "process_type_code_key";`,
    );
    this.addSql(
      `alter table "ledger_entry" rename constraint "ledger_entry_process_request_id_unique" to "ledger_entry_process_request_id_key";`,
    );
    this.addSql(
      `alter table "client_balance" rename constraint "client_balance_client_id_foreign" to "client_balance_client_id_fkey";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_process_type_id_foreign" to "process_request_process_type_id_fkey";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_client_balance_id_foreign" to "process_request_client_balance_id_fkey";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_client_id_foreign" to "process_request_client_id_fkey";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_created_by_foreign" to "process_request_created_by_fkey";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_reviewed_by_foreign" to "process_request_reviewed_by_fkey";`,
    );
    this.addSql(
      `alter table "process_request" rename constraint "process_request_cancelled_by_foreign" to "process_request_cancelled_by_fkey";`,
    );
    this.addSql(
      `alter table "ledger_entry" rename constraint "ledger_entry_client_balance_id_foreign" to "ledger_entry_client_balance_id_fkey";`,
    );
    this.addSql(
      `alter table "ledger_entry" rename constraint "ledger_entry_process_request_id_foreign" to "ledger_entry_process_request_id_fkey";`,
    );
    this.addSql(
      `alter table "process_request_event" rename constraint "process_request_event_client_id_foreign" to "process_request_event_client_id_fkey";`,
    );
    this.addSql(
      `alter table "process_request_event" rename constraint "process_request_event_actor_id_foreign" to "process_request_event_actor_id_fkey";`,
    );
    this.addSql(
      `alter table "otp_attempt" rename constraint "otp_attempt_operator_id_foreign" to "otp_attempt_operator_id_fkey";`,
    );
    this.addSql(
      `alter table "idempotency_key" rename constraint "idempotency_key_operator_id_foreign" to "idempotency_key_operator_id_fkey";`,
    );
    this.addSql(
      `alter table "idempotency_key" rename constraint "idempotency_key_process_request_id_foreign" to "idempotency_key_process_request_id_fkey";`,
    );
  }
}
