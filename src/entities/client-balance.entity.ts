import { Check, Entity, OneToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Partner } from './partner.entity';
import { referenceTo } from './references';

/** One per partner. `available` only ever changes by SQL inside the approval transaction. */
@Entity({ tableName: 'client_balance' })
export class ClientBalance {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'available';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** The partner id; one balance per partner. */
  @OneToOne(() => Partner, { ...referenceTo('client_id'), owner: true })
  partnerId!: string;

  /** NUMERIC(19,4) kept as a string: never a JavaScript float. The database refuses a negative balance. */
  @Property({ type: 'decimal', precision: 19, scale: 4, defaultRaw: '0' })
  @Check({ expression: '"available" >= 0' })
  available: string = '0';

  @Property({ type: 'string', columnType: 'char(3)' })
  currency!: string;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  updatedAt: Date = new Date();
}
