import { Migration } from '@mikro-orm/migrations';

/**
 * Controls around approvals (SPEC section 18). The caps are kept on rows the approving statement updates
 * under a row lock, and CHECK constraints refuse a statement that would break one, so they hold under any
 * race: the balance carries its ceiling, its daily credit limit and the day's credited total (copied from
 * the policy when a policy is applied); an operator's approved total per UTC day and currency is a row of
 * operator_daily_total. `last_change` is the balance's last movement: a debit (≤ 0) is never refused by a
 * cap, so a policy lowered below today's figures refuses further credits only.
 */
export class Migration20261206030000_controls extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "approval_policy"
      add column "daily_credit_limit" numeric(19,4) null,
      add column "max_balance" numeric(19,4) null,
      add column "require_amount_confirmation" boolean not null default false,
      add column "require_evidence_viewed" boolean not null default false,
      add column "reject_reason_required" boolean not null default false,
      add column "refuse_duplicate_evidence" boolean not null default false;`);
    this.addSql(`alter table "client_balance"
      add column "credited_on" date null,
      add column "credited_that_day" numeric(19,4) not null default 0,
      add column "last_change" numeric(19,4) not null default 0,
      add column "daily_credit_limit" numeric(19,4) null,
      add column "max_balance" numeric(19,4) null;`);
    this.addSql(`alter table "client_balance" add constraint "client_balance_max_balance_check"
      check ("max_balance" is null or "last_change" <= 0 or "available" <= "max_balance");`);
    this.addSql(`alter table "client_balance" add constraint "client_balance_daily_credit_limit_check"
      check ("daily_credit_limit" is null or "last_change" <= 0 or "credited_that_day" <= "daily_credit_limit");`);
    this.addSql(`alter table "operator" add column "daily_approval_limits" jsonb null;`);
    this.addSql(`create table "operator_daily_total" (
      "operator_id" uuid not null, "day" date not null, "currency" char(3) not null,
      "total" numeric(19,4) not null, "daily_limit" numeric(19,4) null,
      constraint "operator_daily_total_pkey" primary key ("operator_id", "day", "currency"));`);
    this.addSql(`alter table "operator_daily_total" add constraint "operator_daily_total_limit_check"
      check ("daily_limit" is null or "total" <= "daily_limit");`);
    this.addSql(`alter table "approval_policy_change"
      add column "status" text check ("status" in ('PENDING', 'APPLIED', 'REJECTED', 'EXPIRED')) not null default 'APPLIED',
      add column "decided_by" uuid null,
      add column "reason" varchar(500) null,
      add column "decided_at" timestamptz(3) null,
      add column "expires_at" timestamptz(3) null;`);
    this.addSql(`update "approval_policy_change" set "decided_at" = "created_at";`);
    this
      .addSql(`alter table "approval_policy_change" add constraint "approval_policy_change_decided_by_foreign"
      foreign key ("decided_by") references "operator" ("id");`);
    this.addSql(
      `create unique index "approval_policy_change_one_pending" on "approval_policy_change" ("client_id") where "status" = 'PENDING';`,
    );
    this.addSql(
      `create index "process_request_client_id_evidence_sha256_index" on "process_request" ("client_id", "evidence_sha256");`,
    );
    this.addSql(`alter type "progress_event_type" add value if not exists 'EVIDENCE_VIEWED';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "process_request_client_id_evidence_sha256_index";`);
    this.addSql(`drop index "approval_policy_change_one_pending";`);
    this
      .addSql(`alter table "approval_policy_change" drop constraint "approval_policy_change_decided_by_foreign",
      drop column "status", drop column "decided_by", drop column "reason", drop column "decided_at", drop column "expires_at";`);
    this.addSql(`drop table "operator_daily_total";`);
    this.addSql(`alter table "operator" drop column "daily_approval_limits";`);
    this.addSql(`alter table "client_balance" drop constraint "client_balance_max_balance_check",
      drop constraint "client_balance_daily_credit_limit_check",
      drop column "credited_on", drop column "credited_that_day", drop column "last_change",
      drop column "daily_credit_limit", drop column "max_balance";`);
    this.addSql(`alter table "approval_policy" drop column "daily_credit_limit", drop column "max_balance",
      drop column "require_amount_confirmation", drop column "require_evidence_viewed",
      drop column "reject_reason_required", drop column "refuse_duplicate_evidence";`);
  }
}
