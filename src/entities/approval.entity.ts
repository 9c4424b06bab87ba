import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Operator } from './operator.entity';
import { ProcessRequest } from './process-request.entity';
import { referenceTo } from './references';

/**
 * One operator's approval of a request (SPEC section 12). The unique pair is the database's guard
 * that an operator approves a request at most once, whatever races.
 */
@Entity({ tableName: 'approval' })
@Unique({ properties: ['processRequestId', 'operatorId'] })
export class Approval {
  [OptionalProps]?: 'createdAt' | 'reason';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => ProcessRequest, referenceTo('process_request_id'))
  processRequestId!: string;

  @ManyToOne(() => Operator, referenceTo('operator_id'))
  operatorId!: string;

  @Property({ type: 'string', length: 500, nullable: true })
  reason?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
