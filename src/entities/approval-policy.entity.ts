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

/** The controls of SPEC section 18 a policy holds beside its tiers. */
export interface PolicyControls {
  dailyCreditLimit: string | null;
  maxBalance: string | null;
  requireAmountConfirmation: boolean;
  requireEvidenceViewed: boolean;
  rejectReasonRequired: boolean;
  refuseDuplicateEvidence: boolean;
}

export const DEFAULT_CONTROLS: PolicyControls = {
  dailyCreditLimit: null,
  maxBalance: null,
  requireAmountConfirmation: false,
  requireEvidenceViewed: false,
  rejectReasonRequired: false,
  refuseDuplicateEvidence: false,
};

export const DEFAULT_TIERS: ApprovalTier[] = [{ from: '0', approvals: 1 }];
export const DEFAULT_PENDING_TTL_SECONDS = 7 * 24 * 3600;

/** A partner's approval policy (SPEC sections 12 and 13): one per partner, created with it. */
@Entity({ tableName: 'approval_policy' })
@Check({ name: 'approval_policy_pending_ttl_seconds_check', expression: '"pending_ttl_seconds" >= 1' })
export class ApprovalPolicy {
  [OptionalProps]?: 'tiers' | 'pendingTtlSeconds' | 'updatedAt' | 'updatedBy' | keyof PolicyControls;

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

  /** SPEC section 18: the partner's credited total per UTC day and its balance's ceiling (null: none). */
  @Property({ type: 'decimal', precision: 19, scale: 4, nullable: true })
  dailyCreditLimit: string | null = null;

  @Property({ type: 'decimal', precision: 19, scale: 4, nullable: true })
  maxBalance: string | null = null;

  @Property({ type: 'boolean', default: false })
  requireAmountConfirmation = false;

  @Property({ type: 'boolean', default: false })
  requireEvidenceViewed = false;

  @Property({ type: 'boolean', default: false })
  rejectReasonRequired = false;

  @Property({ type: 'boolean', default: false })
  refuseDuplicateEvidence = false;

  /** Who last changed it; null for the default and for changes made with the CLI. */
  @ManyToOne(() => Operator, referenceTo('updated_by', { nullable: true }))
  updatedBy?: string | null;
}
