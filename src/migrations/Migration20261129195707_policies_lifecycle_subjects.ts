import { Migration } from '@mikro-orm/migrations';

/**
 * Approval policies, approvals and approval limits (SPEC section 12); expiry, reversals and the pending
 * balance (section 13); operator subjects (section 15). Existing rows get today's behaviour.
 */
export class Migration20261129195707_policies_lifecycle_subjects extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "approval_policy_change" ("id" bigserial primary key, "client_id" uuid not null, "actor_id" uuid null, "before" jsonb not null, "after" jsonb not null, "created_at" timestamptz(3) not null default now());`,
    );
    this.addSql(
      `create index "approval_policy_change_client_id_id_index" on "approval_policy_change" ("client_id", "id");`,
    );

    this.addSql(
      `create table "approval_policy" ("id" uuid not null, "client_id" uuid not null, "tiers" jsonb not null default '[{"from":"0","approvals":1}]', "pending_ttl_seconds" int not null default 604800, "updated_at" timestamptz(3) not null default now(), "updated_by" uuid null, constraint "approval_policy_pkey" primary key ("id"), constraint approval_policy_pending_ttl_seconds_check check ("pending_ttl_seconds" >= 1));`,
    );
    this.addSql(
      `alter table "approval_policy" add constraint "approval_policy_client_id_unique" unique ("client_id");`,
    );
    // Every partner gets the default policy: one tier, one approval, 7 days (today's behaviour).
    this.addSql(
      `insert into "approval_policy" ("id", "client_id") select gen_random_uuid(), "id" from "partner";`,
    );

    this.addSql(
      `create table "approval" ("id" uuid not null, "process_request_id" uuid not null, "operator_id" uuid not null, "reason" varchar(500) null, "created_at" timestamptz(3) not null default now(), constraint "approval_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "approval" add constraint "approval_process_request_id_operator_id_unique" unique ("process_request_id", "operator_id");`,
    );

    this.addSql(
      `alter table "approval_policy_change" add constraint "approval_policy_change_client_id_foreign" foreign key ("client_id") references "partner" ("id") on update no action on delete no action;`,
    );
    this.addSql(
      `alter table "approval_policy_change" add constraint "approval_policy_change_actor_id_foreign" foreign key ("actor_id") references "operator" ("id") on update no action on delete no action;`,
    );

    this.addSql(
      `alter table "approval_policy" add constraint "approval_policy_client_id_foreign" foreign key ("client_id") references "partner" ("id") on update no action on delete no action;`,
    );
    this.addSql(
      `alter table "approval_policy" add constraint "approval_policy_updated_by_foreign" foreign key ("updated_by") references "operator" ("id") on update no action on delete no action;`,
    );

    this.addSql(
      `alter table "approval" add constraint "approval_process_request_id_foreign" foreign key ("process_request_id") references "process_request" ("id") on update no action on delete no action;`,
    );
    this.addSql(
      `alter table "approval" add constraint "approval_operator_id_foreign" foreign key ("operator_id") references "operator" ("id") on update no action on delete no action;`,
    );

    // Every operator's subject is its own id until an identity provider's is set (operator:update --subject).
    this.addSql(
      `alter table "operator" add column "subject" varchar(255) null, add column "approval_limits" jsonb null;`,
    );
    this.addSql(`update "operator" set "subject" = "id"::text;`);
    this.addSql(`alter table "operator" alter column "subject" set not null;`);
    this.addSql(`alter table "operator" add constraint "operator_subject_unique" unique ("subject");`);

    this.addSql(
      `alter type "progress_event_type" add value if not exists 'APPROVAL_RECORDED' after 'FAILED';`,
    );

    this.addSql(
      `alter type "progress_event_type" add value if not exists 'EXPIRED' after 'APPROVAL_RECORDED';`,
    );

    this.addSql(`alter type "progress_event_type" add value if not exists 'REVERSED' after 'EXPIRED';`);

    this.addSql(`alter type "process_request_status" add value if not exists 'EXPIRED' after 'CANCELLED';`);

    this.addSql(`alter type "process_request_status" add value if not exists 'REVERSED' after 'EXPIRED';`);

    // Requests filed before policies needed one approval and wait the default 7 days from their creation.
    this.addSql(
      `alter table "process_request" add column "required_approvals" smallint not null default 1, add column "approval_count" smallint not null default 0, add column "expires_at" timestamptz(3) null, add column "reversal_of" uuid null, add column "reversed_by" uuid null;`,
    );
    this.addSql(`update "process_request" set "expires_at" = "created_at" + interval '7 days';`);
    this.addSql(`update "process_request" set "approval_count" = 1 where "status" = 'APPROVED';`);
    this.addSql(`alter table "process_request" alter column "expires_at" set not null;`);
    this.addSql(
      `insert into "process_type" ("id", "code", "name") values (2, 'BALANCE_REVERSAL', 'Balance reversal');`,
    );
    this.addSql(`alter table "process_request" alter column "evidence_url" drop not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_file_name" drop not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_content_type" drop not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_size" drop not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_sha256" drop not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_blob_name" drop not null;`);
    this.addSql(
      `alter table "process_request" add constraint "process_request_reversal_of_foreign" foreign key ("reversal_of") references "process_request" ("id") on update no action on delete no action;`,
    );
    this.addSql(
      `alter table "process_request" add constraint "process_request_reversed_by_foreign" foreign key ("reversed_by") references "process_request" ("id") on update no action on delete no action;`,
    );
    this.addSql(
      `create unique index "process_request_live_reversal_unique" on "process_request" ("reversal_of") where "status" in ('PENDING', 'APPROVED');`,
    );
    this.addSql(
      `create index "process_request_pending_expires_at_index" on "process_request" ("expires_at") where "status" = 'PENDING';`,
    );
    this.addSql(
      `alter table "process_request" add constraint process_request_approval_count_check check("approval_count" >= 0 and "approval_count" <= "required_approvals");`,
    );
    this.addSql(
      `alter table "process_request" add constraint process_request_required_approvals_check check("required_approvals" >= 1 and "required_approvals" <= 5);`,
    );
  }

  override async down(): Promise<void> {
    // PostgreSQL cannot drop enum values: EXPIRED, REVERSED and the new event types stay in their types.
    this.addSql(`delete from "process_type" where "id" = 2;`);
    this.addSql(`drop table if exists "approval_policy_change" cascade;`);

    this.addSql(`drop table if exists "approval_policy" cascade;`);

    this.addSql(`drop table if exists "approval" cascade;`);

    this.addSql(`alter table "process_request" drop constraint "process_request_reversal_of_foreign";`);
    this.addSql(`alter table "process_request" drop constraint "process_request_reversed_by_foreign";`);

    this.addSql(`alter table "operator" drop constraint "operator_subject_unique";`);
    this.addSql(`alter table "operator" drop column "subject", drop column "approval_limits";`);

    this.addSql(`drop index "process_request_live_reversal_unique";`);
    this.addSql(`drop index "process_request_pending_expires_at_index";`);
    this.addSql(`alter table "process_request" drop constraint process_request_approval_count_check;`);
    this.addSql(`alter table "process_request" drop constraint process_request_required_approvals_check;`);
    this.addSql(
      `alter table "process_request" drop column "required_approvals", drop column "approval_count", drop column "expires_at", drop column "reversal_of", drop column "reversed_by";`,
    );

    this.addSql(`alter table "process_request" alter column "evidence_url" set not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_file_name" set not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_content_type" set not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_size" set not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_sha256" set not null;`);
    this.addSql(`alter table "process_request" alter column "evidence_blob_name" set not null;`);
  }
}
