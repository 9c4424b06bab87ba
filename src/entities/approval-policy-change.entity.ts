import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { ApprovalTier } from './approval-policy.entity';
import { Operator } from './operator.entity';
import { Partner } from './partner.entity';
import { referenceTo } from './references';

/** A policy as it was or became. */
export interface PolicyState {
  tiers: ApprovalTier[];
  pendingTtlSeconds: number;
}

/** The audit trail of a partner's approval policy: who changed it, when, from what to what. */
@Entity({ tableName: 'approval_policy_change' })
@Index({ properties: ['partnerId', 'id'] })
export class ApprovalPolicyChange {
  [OptionalProps]?: 'createdAt' | 'actorId';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => Partner, referenceTo('client_id'))
  partnerId!: string;

  /** null: changed with the CLI. */
  @ManyToOne(() => Operator, referenceTo('actor_id', { nullable: true }))
  actorId?: string | null;

  @Property({ type: 'json' })
  before!: PolicyState;

  @Property({ type: 'json' })
  after!: PolicyState;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
