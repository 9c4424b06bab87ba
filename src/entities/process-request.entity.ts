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
  /** Still PENDING at its expiresAt (SPEC section 13). */
  EXPIRED = 'EXPIRED',
  /** An APPROVED top-up whose reversal was approved. */
  REVERSED = 'REVERSED',
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
// Expiry sweeps read the PENDING requests past their deadline.
@Index({
  name: 'process_request_pending_expires_at_index',
  expression: (table, columns, name) =>
    `create index "${name}" on "${table.name}" ("${columns.expiresAt}") where "${columns.status}" = 'PENDING'`,
})
// A partner's requests with the same evidence (SPEC section 18, duplicate receipts).
@Index({
  name: 'process_request_client_id_evidence_sha256_index',
  expression: (table, _columns, name) =>
    `create index "${name}" on "${table.name}" ("client_id", "evidence_sha256")`,
})
// One live reversal per original (SPEC section 13): a second one filed at the same time fails here.
@Index({
  name: 'process_request_live_reversal_unique',
  expression: (table, columns, name) =>
    `create unique index "${name}" on "${table.name}" ("${columns.reversalOf}") where "${columns.status}" in ('PENDING', 'APPROVED')`,
})
@Check({
  name: 'process_request_required_approvals_check',
  expression: '"required_approvals" >= 1 and "required_approvals" <= 5',
})
@Check({
  name: 'process_request_approval_count_check',
  expression: '"approval_count" >= 0 and "approval_count" <= "required_approvals"',
})
export class ProcessRequest {
  [OptionalProps]?:
    | 'status'
    | 'createdAt'
    | 'updatedAt'
    | 'requiredApprovals'
    | 'approvalCount'
    | 'reversalOf'
    | 'reversedBy';

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

  /** The evidence blob's canonical URL; null for a reversal, which has no evidence. */
  @Property({ type: 'text', nullable: true })
  evidenceUrl?: string | null;

  @Embedded({ entity: () => Evidence, prefix: 'evidence_', nullable: true })
  evidence?: Evidence | null;

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

  /** Distinct approvals it needs, fixed from the partner's policy when it is filed (1-5). */
  @Property({ type: 'smallint', default: 1 })
  requiredApprovals: number = 1;

  /** Approvals recorded so far; the deciding UPDATE counts here, so concurrent approvals serialize on the row. */
  @Property({ type: 'smallint', default: 0 })
  approvalCount: number = 0;

  /** createdAt + the policy's pendingTtlSeconds when it was filed; a PENDING request past it becomes EXPIRED. */
  @Property({ type: 'Date', columnType: 'timestamptz(3)' })
  expiresAt!: Date;

  /** For a reversal (processTypeId 2): the approved top-up it reverses. */
  @ManyToOne(() => ProcessRequest, referenceTo('reversal_of', { nullable: true }))
  reversalOf?: string | null;

  /** For a REVERSED top-up: the reversal that reversed it. */
  @ManyToOne(() => ProcessRequest, referenceTo('reversed_by', { nullable: true }))
  reversedBy?: string | null;
}
