import { Migration } from '@mikro-orm/migrations';

/**
 * Partner webhooks (SPEC section 16): endpoints (sealed secrets, a cursor into the partner's stored
 * events), one delivery per event and endpoint (its id is the message's webhook-id; a lease for the
 * sender that claimed it), and one row per attempt. Generated with `npm run migration:create`; new objects only.
 */
export class Migration20261206020000_webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "webhook_endpoint" ("id" uuid not null, "client_id" uuid not null, "url" varchar(2048) not null, "event_types" jsonb null, "description" varchar(500) null, "status" text check ("status" in ('ENABLED', 'DISABLED')) not null default 'ENABLED', "disabled_reason" varchar(500) null, "secret_sealed" text not null, "previous_secret_sealed" text null, "previous_secret_until" timestamptz(3) null, "cursor_event_id" bigint not null default 0, "failing_since" timestamptz(3) null, "created_at" timestamptz(3) not null default now(), "updated_at" timestamptz(3) not null default now(), constraint "webhook_endpoint_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "webhook_endpoint_client_id_created_at_index" on "webhook_endpoint" ("client_id", "created_at");`,
    );

    this.addSql(
      `create table "webhook_delivery" ("id" uuid not null, "endpoint_id" uuid not null, "event_id" bigint not null, "event_type" varchar(60) not null, "status" text check ("status" in ('PENDING', 'SUCCEEDED', 'FAILED')) not null default 'PENDING', "attempt_count" int not null default 0, "next_attempt_at" timestamptz(3) null default now(), "lease_until" timestamptz(3) null, "lease_token" uuid null, "created_at" timestamptz(3) not null default now(), "updated_at" timestamptz(3) not null default now(), constraint "webhook_delivery_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "webhook_delivery_status_next_attempt_at_index" on "webhook_delivery" ("status", "next_attempt_at");`,
    );
    this.addSql(
      `create index "webhook_delivery_endpoint_id_created_at_index" on "webhook_delivery" ("endpoint_id", "created_at");`,
    );
    this.addSql(
      `create index "webhook_delivery_endpoint_id_status_next_attempt_at_index" on "webhook_delivery" ("endpoint_id", "status", "next_attempt_at");`,
    );
    this.addSql(
      `alter table "webhook_delivery" add constraint "webhook_delivery_endpoint_id_event_id_unique" unique ("endpoint_id", "event_id");`,
    );

    this.addSql(
      `create table "webhook_attempt" ("id" bigserial primary key, "delivery_id" uuid not null, "at" timestamptz(3) not null default now(), "status_code" int null, "duration_ms" int not null, "error" varchar(500) null);`,
    );
    this.addSql(
      `create index "webhook_attempt_delivery_id_id_index" on "webhook_attempt" ("delivery_id", "id");`,
    );

    this.addSql(
      `alter table "webhook_endpoint" add constraint "webhook_endpoint_client_id_foreign" foreign key ("client_id") references "partner" ("id") on update no action on delete no action;`,
    );

    this.addSql(
      `alter table "webhook_delivery" add constraint "webhook_delivery_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoint" ("id") on update no action on delete no action;`,
    );
    this.addSql(
      `alter table "webhook_delivery" add constraint "webhook_delivery_event_id_foreign" foreign key ("event_id") references "process_request_event" ("id") on update no action on delete no action;`,
    );

    this.addSql(
      `alter table "webhook_attempt" add constraint "webhook_attempt_delivery_id_foreign" foreign key ("delivery_id") references "webhook_delivery" ("id") on update no action on delete no action;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "webhook_delivery" drop constraint "webhook_delivery_endpoint_id_foreign";`);

    this.addSql(`alter table "webhook_attempt" drop constraint "webhook_attempt_delivery_id_foreign";`);

    this.addSql(`drop table if exists "webhook_endpoint" cascade;`);

    this.addSql(`drop table if exists "webhook_delivery" cascade;`);

    this.addSql(`drop table if exists "webhook_attempt" cascade;`);
  }
}
