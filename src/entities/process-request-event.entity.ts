import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { ProcessRequestStatus } from './process-request.entity';

export enum ProgressEventType {
  EVIDENCE_UPLOADING = 'EVIDENCE_UPLOADING',
  CREATED = 'CREATED',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  CANCELLED = 'CANCELLED',
  FAILED = 'FAILED',
}

/**
 * The audit trail and the source of the progress stream, written in the same transaction as the
 * change it records. `processRequestId` has no foreign key: a FAILED create has no request row.
 */
@Entity({ tableName: 'process_request_event' })
@Index({ properties: ['clientId', 'id'] })
@Index({ properties: ['processRequestId', 'id'] })
export class ProcessRequestEvent {
  /** bigserial: monotonic, the SSE event id. */
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'uuid' })
  processRequestId!: string;

  @Property({ type: 'uuid' })
  clientId!: string;

  @Enum({ items: () => ProgressEventType, nativeEnumName: 'progress_event_type' })
  type!: ProgressEventType;

  @Property({ type: 'uuid' })
  actorId!: string;

  @Enum({ items: () => ProcessRequestStatus, nativeEnumName: 'process_request_status', nullable: true })
  fromStatus?: ProcessRequestStatus | null;

  @Enum({ items: () => ProcessRequestStatus, nativeEnumName: 'process_request_status', nullable: true })
  toStatus?: ProcessRequestStatus | null;

  @Property({ type: 'json', nullable: true })
  data?: Record<string, unknown> | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)' })
  createdAt: Date = new Date();
}
