import {
  Check,
  Embeddable,
  Embedded,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
} from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { ClientBalance } from './client-balance.entity';
import { Operator } from './operator.entity';
import { Partner } from './partner.entity';
import { ProcessType } from './process-type.entity';
import { referenceTo } from './references';

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
// A partner's list, newest first, keyset-paged on (created_at, id). MikroORM 6 has no per-column sort order
// for an index, so this one is declared as its SQL: the ORM creates exactly this, but its schema diff
// compares such an index by name only. The sort order is checked by the catalog comparison of
// `npm run db:check` and tests/db-schema.test.ts.
@Index({
  name: 'process_request_client_id_created_at_id_index',
  expression: (table, columns, name) =>
    `create index "${name}" on "${table.name}" ("${columns.partnerId}", "${columns.createdAt}" desc, "${columns.id}" desc)`,
})
export class ProcessRequest {
  [OptionalProps]?: 'status' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => ProcessType, referenceTo('process_type_id'))
  processTypeId!: number;

  @ManyToOne(() => ClientBalance, referenceTo('client_balance_id'))
  clientBalanceId!: string;

  @ManyToOne(() => Partner, referenceTo('client_id'))
  partnerId!: string;

  @Property({ type: 'decimal', precision: 19, scale: 4 })
  @Check({ expression: '"requested_amount" > 0' })
  requestedAmount!: string;

  @Property({ type: 'string', columnType: 'char(3)' })
  currency!: string;

  @Property({ type: 'text', nullable: true })
  observations?: string | null;

  @Property({ type: 'text' })
  evidenceUrl!: string;

  @Embedded({ entity: () => Evidence, prefix: 'evidence_' })
  evidence!: Evidence;

  @Enum({ items: () => ProcessRequestStatus, nativeEnumName: 'process_request_status' })
  status: ProcessRequestStatus = ProcessRequestStatus.PENDING;

  @ManyToOne(() => Operator, referenceTo('created_by'))
  createdBy!: string;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  updatedAt: Date = new Date();

  @ManyToOne(() => Operator, referenceTo('reviewed_by', { nullable: true }))
  reviewedBy?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true })
  reviewedAt?: Date | null;

  @Property({ type: 'string', length: 500, nullable: true })
  reviewReason?: string | null;

  @ManyToOne(() => Operator, referenceTo('cancelled_by', { nullable: true }))
  cancelledBy?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true })
  cancelledAt?: Date | null;
}
