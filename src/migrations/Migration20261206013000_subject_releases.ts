import { Migration } from '@mikro-orm/migrations';

/**
 * Subjects operators gave up, with when: a subject is not given to another operator while tokens issued
 * for the first may still verify (issue 17, point 10).
 */
export class Migration20261206013000_subject_releases extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "operator_subject_release" (
      "id" bigserial primary key,
      "subject" varchar(255) not null,
      "operator_id" uuid not null,
      "released_at" timestamptz(3) not null default now());`);
    this.addSql(
      `create index "operator_subject_release_released_at_index" on "operator_subject_release" ("released_at");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "operator_subject_release";');
  }
}
