import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { ApprovalTier, PolicyControls } from './approval-policy.entity';
import { Operator } from './operator.entity';
import { Partner } from './partner.entity';
import { referenceTo } from './references';

/** A policy as it was or became (changes recorded before SPEC section 18 hold only the first two). */
export interface PolicyState extends Partial<PolicyControls> {
  tiers: ApprovalTier[];
  pendingTtlSeconds: number;
}

/** A change's life (SPEC section 18): PENDING until a second ADMIN applies or rejects it, or 7 days pass. */
export enum PolicyChangeStatus {
  PENDING = 'PENDING',
  APPLIED = 'APPLIED',
  REJECTED = 'REJECTED',
  EXPIRED = 'EXPIRED',
}

/** A pending change expires after this long. */
export const POLICY_CHANGE_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * The audit trail of a partner's approval policy and its pending changes: who asked (actor), who decided,
 * why, when, from what to what. At most one PENDING change per partner (a partial unique index).
 */
@Entity({ tableName: 'approval_policy_change' })
@Index({ properties: ['partnerId', 'id'] })
@Index({
  name: 'approval_policy_change_one_pending',
  expression: (table, columns, name) =>
    `create unique index "${name}" on "${table.name}" ("${columns.partnerId}") where "${columns.status}" = 'PENDING'`,
})
export class ApprovalPolicyChange {
  [OptionalProps]?: 'createdAt' | 'actorId' | 'status' | 'decidedBy' | 'reason' | 'decidedAt' | 'expiresAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => Partner, referenceTo('client_id'))
  partnerId!: string;

  /** The requester; null: changed with the CLI. */
  @ManyToOne(() => Operator, referenceTo('actor_id', { nullable: true }))
  actorId?: string | null;

  @Property({ type: 'json' })
  before!: PolicyState;

  @Property({ type: 'json' })
  after!: PolicyState;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Enum({ items: () => PolicyChangeStatus, default: PolicyChangeStatus.APPLIED })
  status: PolicyChangeStatus = PolicyChangeStatus.APPLIED;

  /** The second ADMIN who applied or rejected it; null: pending, expired, or applied with the CLI. */
  @ManyToOne(() => Operator, referenceTo('decided_by', { nullable: true }))
  decidedBy?: string | null;

  /** The requester's reason (the CLI's --reason) or, once rejected, the decider's. */
  @Property({ type: 'string', length: 500, nullable: true })
  reason?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true })
  decidedAt?: Date | null;

  /** A PENDING change's deadline; null for a change applied at once. */
  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true })
  expiresAt?: Date | null;
}
