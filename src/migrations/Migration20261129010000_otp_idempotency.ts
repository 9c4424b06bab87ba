import { Migration } from '@mikro-orm/migrations';

/** OTP attempts (lockout window, used codes) and idempotency keys of creates (SPEC sections 4 and 6). */
export class Migration20261129010000_otp_idempotency extends Migration {
  override async up(): Promise<void> {
    // One row per OTP attempt. A used code is a success row with its time step in `counter`: the unique
    // index refuses a replay of that step in any process. Failures keep `counter` null (nulls never clash).
    this.addSql(`create table "otp_attempt" (
      "id" bigserial primary key,
      "operator_id" uuid not null references "operator" ("id"),
      "at" timestamptz not null default now(),
      "success" boolean not null,
      "counter" bigint null);`);
    this.addSql(
      `create unique index "otp_attempt_operator_id_counter_unique" on "otp_attempt" ("operator_id", "counter");`,
    );
    this.addSql(`create index "otp_attempt_operator_id_at_index" on "otp_attempt" ("operator_id", "at");`);
    // One row per (operator, key): IN_PROGRESS while a create runs, COMPLETED with the response to replay.
    this.addSql(`create table "idempotency_key" (
      "id" uuid primary key,
      "operator_id" uuid not null references "operator" ("id"),
      "key" varchar(255) not null,
      "request_hash" char(64) not null,
      "status" varchar(20) not null check ("status" in ('IN_PROGRESS', 'COMPLETED')),
      "response_status" smallint null,
      "response_body" text null,
      "process_request_id" uuid null references "process_request" ("id"),
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "idempotency_key_operator_id_key_unique" unique ("operator_id", "key"));`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "idempotency_key", "otp_attempt";');
  }
}
