import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

export const BALANCE_INCREASE_PROCESS_TYPE_ID = 1;
/** Undoes an approved top-up (SPEC section 13). */
export const BALANCE_REVERSAL_PROCESS_TYPE_ID = 2;

@Entity({ tableName: 'process_type' })
export class ProcessType {
  @PrimaryKey({ type: 'smallint', autoincrement: false })
  id!: number;

  @Property({ type: 'string', length: 50, unique: true })
  code!: string;

  @Property({ type: 'string', length: 200 })
  name!: string;
}
