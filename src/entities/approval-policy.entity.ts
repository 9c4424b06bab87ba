import { Check, Entity, ManyToOne, OneToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Operator } from './operator.entity';
import { Partner } from './partner.entity';
import { referenceTo } from './references';

/** One tier of a policy: a request of amount ≥ `from` (up to the next tier) needs `approvals` approvals. */
export interface ApprovalTier {
  /** A decimal string in the partner's currency; the first tier's is "0". */
  from: string;
  approvals: number;
}

export const DEFAULT_TIERS: ApprovalTier[] = [{ from: '0', approvals: 1 }];
export const DEFAULT_PENDING_TTL_SECONDS = 7 * 24 * 3600;

/** A partner's approval policy (SPEC sections 12 and 13): one per partner, created with it. */
@Entity({ tableName: 'approval_policy' })
@Check({ name: 'approval_policy_pending_ttl_seconds_check', expression: '"pending_ttl_seconds" >= 1' })
export class ApprovalPolicy {
  [OptionalProps]?: 'tiers' | 'pendingTtlSeconds' | 'updatedAt' | 'updatedBy';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @OneToOne(() => Partner, { ...referenceTo('client_id'), owner: true })
  partnerId!: string;

  @Property({ type: 'json' })
  tiers: ApprovalTier[] = DEFAULT_TIERS;

  @Property({ type: 'integer' })
  pendingTtlSeconds: number = DEFAULT_PENDING_TTL_SECONDS;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  updatedAt: Date = new Date();

  /** Who last changed it; null for the default and for changes made with the CLI. */
  @ManyToOne(() => Operator, referenceTo('updated_by', { nullable: true }))
  updatedBy?: string | null;
}
