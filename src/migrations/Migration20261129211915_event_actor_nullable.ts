import { Migration } from '@mikro-orm/migrations';

/**
 * An event's actor may be null: the service itself expires a request (SPEC section 13, `EXPIRED` with
 * actor null). Without this every expiry failed on the NOT NULL constraint. Generated with
 * `npm run migration:create`, reduced to the one change.
 */
export class Migration20261129211915_event_actor_nullable extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "process_request_event" alter column "actor_id" drop not null;`);
  }

  override async down(): Promise<void> {
    // Refused by PostgreSQL while EXPIRED events exist: the audit trail is not deleted to go back.
    this.addSql(`alter table "process_request_event" alter column "actor_id" set not null;`);
  }
}
