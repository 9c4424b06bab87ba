import {
  Embeddable,
  Embedded,
  Entity,
  Enum,
  Index,
  OptionalProps,
  PrimaryKey,
  Property,
} from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

export enum ProcessRequestStatus {
  PENDING = 'PENDING',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  CANCELLED = 'CANCELLED',
}

/** What the service recorded about the stored evidence blob. */
@Embeddable()
export class Evidence {
  /** The client's file name, cleaned of paths and control characters; metadata only. */
  @Property({ type: 'string', length: 255 })
  fileName!: string;

  @Property({ type: 'string', length: 100 })
  contentType!: string;

  @Property({ type: 'integer' })
  size!: number;

  @Property({ type: 'string', length: 64 })
  sha256!: string;

  /** Blob name inside the evidence container. */
  @Property({ type: 'string', length: 300 })
  blobName!: string;
}

@Entity({ tableName: 'process_request' })
@Index({ properties: ['clientId', 'createdAt', 'id'] })
export class ProcessRequest {
  [OptionalProps]?: 'status' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'smallint' })
  processTypeId!: number;

  @Property({ type: 'uuid' })
  clientBalanceId!: string;

  @Property({ type: 'uuid' })
  clientId!: string;

  @Property({ type: 'decimal', precision: 19, scale: 4 })
  requestedAmount!: string;

  @Property({ type: 'string', length: 3 })
  currency!: string;

  @Property({ type: 'text', nullable: true })
  observations?: string | null;

  @Property({ type: 'text' })
  evidenceUrl!: string;

  @Embedded({ entity: () => Evidence, prefix: 'evidence_' })
  evidence!: Evidence;

  @Enum({ items: () => ProcessRequestStatus, nativeEnumName: 'process_request_status' })
  status: ProcessRequestStatus = ProcessRequestStatus.PENDING;

  @Property({ type: 'uuid' })
  createdBy!: string;

  @Property({ type: 'Date', columnType: 'timestamptz(3)' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz(3)' })
  updatedAt: Date = new Date();

  @Property({ type: 'uuid', nullable: true })
  reviewedBy?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true })
  reviewedAt?: Date | null;

  @Property({ type: 'string', length: 500, nullable: true })
  reviewReason?: string | null;

  @Property({ type: 'uuid', nullable: true })
  cancelledBy?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true })
  cancelledAt?: Date | null;
}
