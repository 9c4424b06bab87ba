import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Operator } from './operator.entity';
import { Partner } from './partner.entity';
import { ProcessRequestStatus } from './process-request.entity';
import { referenceTo } from './references';

export enum ProgressEventType {
  EVIDENCE_UPLOADING = 'EVIDENCE_UPLOADING',
  CREATED = 'CREATED',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  CANCELLED = 'CANCELLED',
  FAILED = 'FAILED',
  /** An approval below the required number: the request stays PENDING (SPEC section 12). */
  APPROVAL_RECORDED = 'APPROVAL_RECORDED',
  /** A PENDING request passed its expiresAt (actor null: the service did it). */
  EXPIRED = 'EXPIRED',
  /** An APPROVED top-up's reversal was approved. */
  REVERSED = 'REVERSED',
  /** A download link to the evidence was issued to the actor (SPEC section 18); the status is unchanged. */
  EVIDENCE_VIEWED = 'EVIDENCE_VIEWED',
}

/** The audit trail and the source of the progress stream, written in the same transaction as the change it records. */
@Entity({ tableName: 'process_request_event' })
@Index({ properties: ['partnerId', 'id'] })
@Index({ properties: ['processRequestId', 'id'] })
export class ProcessRequestEvent {
  /** bigserial: monotonic, the SSE event id. */
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /**
   * Deliberately a plain column, not a foreign key: a create that fails (bad file, wrong OTP, upload
   * error) records a FAILED event under the id it had reserved, and no process_request row exists for it.
   */
  @Property({ type: 'uuid' })
  processRequestId!: string;

  @ManyToOne(() => Partner, referenceTo('client_id'))
  partnerId!: string;

  @Enum({ items: () => ProgressEventType, nativeEnumName: 'progress_event_type' })
  type!: ProgressEventType;

  /** Who acted; null when the service itself did (EXPIRED). */
  @ManyToOne(() => Operator, referenceTo('actor_id', { nullable: true }))
  actorId?: string | null;

  @Enum({ items: () => ProcessRequestStatus, nativeEnumName: 'process_request_status', nullable: true })
  fromStatus?: ProcessRequestStatus | null;

  @Enum({ items: () => ProcessRequestStatus, nativeEnumName: 'process_request_status', nullable: true })
  toStatus?: ProcessRequestStatus | null;

  @Property({ type: 'json', nullable: true })
  data?: Record<string, unknown> | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
