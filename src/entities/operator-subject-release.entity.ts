import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A subject an operator gave up (operator:update --subject), kept so that it is not given to another
 * operator while tokens issued for the first may still verify (MAX_TOKEN_LIFETIME_SECONDS).
 */
@Entity({ tableName: 'operator_subject_release' })
@Index({ properties: ['releasedAt'] })
export class OperatorSubjectRelease {
  [OptionalProps]?: 'releasedAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'string', length: 255 })
  subject!: string;

  /** Who held it (no foreign key needed: operators are never deleted, and this outlives nothing). */
  @Property({ type: 'uuid' })
  operatorId!: string;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  releasedAt!: Date;
}
