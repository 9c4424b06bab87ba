import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Operator } from './operator.entity';
import { ProcessRequest } from './process-request.entity';
import { referenceTo } from './references';

export enum IdempotencyKeyStatus {
  IN_PROGRESS = 'IN_PROGRESS',
  COMPLETED = 'COMPLETED',
}

/**
 * One Idempotency-Key of an operator's creates (SPEC section 4), written and read by SQL in
 * src/services/idempotency.service.ts: IN_PROGRESS while a create runs, COMPLETED with the response to replay.
 */
@Entity({ tableName: 'idempotency_key' })
@Unique({ properties: ['operatorId', 'key'] })
export class IdempotencyKey {
  [OptionalProps]?: 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Operator, referenceTo('operator_id'))
  operatorId!: string;

  @Property({ type: 'string', length: 255 })
  key!: string;

  /** SHA-256 (hex) of what makes two creates the same: a replay must match it. */
  @Property({ type: 'string', columnType: 'char(64)' })
  requestHash!: string;

  /** A text column with a CHECK on its values (not a native enum type). */
  @Enum({ items: () => IdempotencyKeyStatus })
  status!: IdempotencyKeyStatus;

  @Property({ type: 'smallint', nullable: true })
  responseStatus?: number | null;

  @Property({ type: 'text', nullable: true })
  responseBody?: string | null;

  /**
   * Liveness lock id of the process holding an IN_PROGRESS claim (src/runtime/liveness.ts): a claim whose
   * process is gone is taken over at once. Null on claims written before owners were recorded.
   */
  @Property({ type: 'integer', nullable: true })
  owner?: number | null;

  @ManyToOne(() => ProcessRequest, referenceTo('process_request_id', { nullable: true }))
  processRequestId?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  updatedAt: Date = new Date();
}
