import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** One per partner. `available` only ever changes by SQL inside the approval transaction. */
@Entity({ tableName: 'client_balance' })
export class ClientBalance {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'available';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** The partner id; unique. */
  @Property({ type: 'uuid', unique: true })
  clientId!: string;

  /** NUMERIC(19,4) kept as a string: never a JavaScript float. */
  @Property({ type: 'decimal', precision: 19, scale: 4 })
  available: string = '0';

  @Property({ type: 'string', length: 3 })
  currency!: string;

  @Property({ type: 'Date', columnType: 'timestamptz(3)' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz(3)' })
  updatedAt: Date = new Date();
}
