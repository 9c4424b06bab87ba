import { Migration } from '@mikro-orm/migrations';

/** One-use progress stream tickets (SPEC section 20). New table only. */
export class Migration20261206010000_stream_tickets extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "stream_ticket" ("id" varchar(64) not null, "operator_id" uuid not null, "client_id" uuid not null, "expires_at" timestamptz not null, "valid_until" timestamptz null, "created_at" timestamptz not null default now(), constraint "stream_ticket_pkey" primary key ("id"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "stream_ticket" cascade;`);
  }
}
