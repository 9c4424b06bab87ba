import { Migration } from '@mikro-orm/migrations';

/**
 * Crash recovery: `upload_intent` names evidence blobs whose create has not committed yet, and
 * `idempotency_key.owner` ties an IN_PROGRESS claim to the liveness lock of the process holding it.
 * Generated with `npm run migration:create`; new objects only, no row changes.
 */
export class Migration20261129194339_upload_intents extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "upload_intent" ("blob_name" varchar(300) not null, "process_request_id" uuid not null, "owner" int not null, "created_at" timestamptz not null default now(), constraint "upload_intent_pkey" primary key ("blob_name"));`,
    );

    this.addSql(`alter table "idempotency_key" add column "owner" int null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "upload_intent" cascade;`);

    this.addSql(`alter table "idempotency_key" drop column "owner";`);
  }
}
