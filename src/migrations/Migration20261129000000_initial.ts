import { Migration } from '@mikro-orm/migrations';

export class Migration20261129000000_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create type "process_request_status" as enum ('PENDING', 'APPROVED', 'REJECTED', 'CANCELLED');`,
    );
    this.addSql(
      `create type "progress_event_type" as enum ('EVIDENCE_UPLOADING', 'CREATED', 'APPROVED', 'REJECTED', 'CANCELLED', 'FAILED');`,
    );
    this.addSql(`create table "partner" (
      "id" uuid primary key,
      "name" varchar(200) not null,
      "created_at" timestamptz(3) not null default now());`);
    this.addSql(`create table "client_balance" (
      "id" uuid primary key,
      "client_id" uuid not null unique references "partner" ("id"),
      "available" numeric(19,4) not null default 0 check ("available" >= 0),
      "currency" char(3) not null,
      "created_at" timestamptz(3) not null default now(),
      "updated_at" timestamptz(3) not null default now());`);
    this.addSql(`create table "process_type" (
      "id" smallint primary key,
      "code" varchar(50) not null unique,
      "name" varchar(200) not null);`);
    this.addSql(
      `insert into "process_type" ("id", "code", "name") values (1, 'BALANCE_INCREASE', 'Balance increase');`,
    );
    this.addSql(`create table "operator" (
      "id" uuid primary key,
      "email" varchar(320) not null unique,
      "name" varchar(200) not null,
      "roles" text[] not null default '{}',
      "partner_ids" uuid[] null,
      "otp_required" boolean not null default false,
      "otp_secret_encrypted" text null,
      "active" boolean not null default true,
      "created_at" timestamptz(3) not null default now());`);
    this.addSql(`create table "process_request" (
      "id" uuid primary key,
      "process_type_id" smallint not null references "process_type" ("id"),
      "client_balance_id" uuid not null references "client_balance" ("id"),
      "client_id" uuid not null references "partner" ("id"),
      "requested_amount" numeric(19,4) not null check ("requested_amount" > 0),
      "currency" char(3) not null,
      "observations" text null,
      "evidence_url" text not null,
      "evidence_file_name" varchar(255) not null,
      "evidence_content_type" varchar(100) not null,
      "evidence_size" integer not null,
      "evidence_sha256" varchar(64) not null,
      "evidence_blob_name" varchar(300) not null,
      "status" "process_request_status" not null default 'PENDING',
      "created_by" uuid not null references "operator" ("id"),
      "created_at" timestamptz(3) not null default now(),
      "updated_at" timestamptz(3) not null default now(),
      "reviewed_by" uuid null references "operator" ("id"),
      "reviewed_at" timestamptz(3) null,
      "review_reason" varchar(500) null,
      "cancelled_by" uuid null references "operator" ("id"),
      "cancelled_at" timestamptz(3) null);`);
    this.addSql(
      `create index "process_request_client_id_created_at_id_index" on "process_request" ("client_id", "created_at" desc, "id" desc);`,
    );
    this.addSql(`create table "ledger_entry" (
      "id" uuid primary key,
      "client_balance_id" uuid not null references "client_balance" ("id"),
      "process_request_id" uuid not null unique references "process_request" ("id"),
      "amount" numeric(19,4) not null,
      "balance_after" numeric(19,4) not null,
      "created_at" timestamptz(3) not null default now());`);
    this.addSql(
      `create index "ledger_entry_client_balance_id_index" on "ledger_entry" ("client_balance_id");`,
    );
    this.addSql(`create table "process_request_event" (
      "id" bigserial primary key,
      "process_request_id" uuid not null,
      "client_id" uuid not null references "partner" ("id"),
      "type" "progress_event_type" not null,
      "actor_id" uuid not null references "operator" ("id"),
      "from_status" "process_request_status" null,
      "to_status" "process_request_status" null,
      "data" jsonb null,
      "created_at" timestamptz(3) not null default now());`);
    this.addSql(
      `create index "process_request_event_client_id_id_index" on "process_request_event" ("client_id", "id");`,
    );
    this.addSql(
      `create index "process_request_event_process_request_id_id_index" on "process_request_event" ("process_request_id", "id");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      'drop table if exists "process_request_event", "ledger_entry", "process_request", "operator", "process_type", "client_balance", "partner";',
    );
    this.addSql('drop type if exists "progress_event_type", "process_request_status";');
  }
}
