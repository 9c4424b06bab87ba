// Approval policies (SPEC section 12): how many distinct approvals a request needs by its amount, and how
// long it may wait (section 13). One per partner; every change is recorded with who, when, before, after.
import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApprovalPolicyChange, type PolicyState } from '../entities/approval-policy-change.entity';
import {
  ApprovalPolicy,
  DEFAULT_PENDING_TTL_SECONDS,
  DEFAULT_TIERS,
  type ApprovalTier,
} from '../entities/approval-policy.entity';
import { requirePartner } from '../domain/access';
import type { ServiceContext } from '../domain/context';
import type { PolicyInput } from '../shapes/inputs';
import type { PolicyView } from '../shapes/views';
import { assertCurrencyScale, compareDecimals } from '../domain/money';

/** The approvals a request of `amount` needs: the tier with the highest `from` not above it. */
export function requiredApprovals(tiers: ApprovalTier[], amount: string): number {
  let required = 1;
  for (const tier of tiers) if (compareDecimals(amount, tier.from) >= 0) required = tier.approvals;
  return required;
}

/** A partner's policy; the default one when none was ever stored. */
export async function policyOf(em: EntityManager, partnerId: string): Promise<PolicyState> {
  const policy = await em.findOne(ApprovalPolicy, { partnerId });
  return policy
    ? { tiers: policy.tiers, pendingTtlSeconds: policy.pendingTtlSeconds }
    : { tiers: DEFAULT_TIERS, pendingTtlSeconds: DEFAULT_PENDING_TTL_SECONDS };
}

/**
 * Replaces a partner's policy and records the change, in one transaction (the policy row is locked, so
 * two changes at once are recorded one after the other, each with the other's result as its `before`).
 * The tiers' amounts must fit the partner's currency. `actorId` null: the CLI.
 */
export async function replacePolicy(
  em: EntityManager,
  partnerId: string,
  currency: string,
  input: PolicyInput,
  actorId: string | null,
): Promise<void> {
  input.tiers.forEach((tier, i) => assertCurrencyScale(tier.from, currency, `tiers.${i}.from`));
  await em.transactional(async (tx) => {
    let policy = await tx.findOne(ApprovalPolicy, { partnerId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!policy) policy = tx.create(ApprovalPolicy, { partnerId });
    const before: PolicyState = { tiers: policy.tiers, pendingTtlSeconds: policy.pendingTtlSeconds };
    const after: PolicyState = { tiers: input.tiers, pendingTtlSeconds: input.pendingTtlSeconds };
    tx.assign(policy, { ...after, updatedAt: new Date(), updatedBy: actorId });
    tx.create(ApprovalPolicyChange, { partnerId, actorId, before, after });
    await tx.flush();
  });
}

export async function describePolicy(em: EntityManager, partnerId: string): Promise<PolicyView> {
  const [policy, changes] = await Promise.all([
    em.findOne(ApprovalPolicy, { partnerId }),
    em.find(ApprovalPolicyChange, { partnerId }, { orderBy: { id: 'desc' } }),
  ]);
  return {
    clientId: partnerId,
    tiers: policy?.tiers ?? DEFAULT_TIERS,
    pendingTtlSeconds: policy?.pendingTtlSeconds ?? DEFAULT_PENDING_TTL_SECONDS,
    updatedAt: policy?.updatedAt ?? new Date(0),
    updatedBy: policy?.updatedBy ?? null,
    history: changes.map((c) => ({
      id: String(c.id),
      actorId: c.actorId ?? null,
      at: c.createdAt,
      before: c.before,
      after: c.after,
    })),
  };
}

export class ApprovalPolicyService {
  /** Any role that reads the partner reads its policy. */
  async get(ctx: ServiceContext, partnerId: string): Promise<PolicyView> {
    const { partner } = await requirePartner(ctx, partnerId, 'read');
    return describePolicy(ctx.em, partner.id);
  }

  /** ADMIN only. */
  async set(ctx: ServiceContext, partnerId: string, input: PolicyInput): Promise<PolicyView> {
    const { partner, balance } = await requirePartner(ctx, partnerId, 'manage-policy');
    await replacePolicy(ctx.em, partner.id, balance.currency, input, ctx.operator.id);
    ctx.log.info({ partnerId: partner.id, policy: input }, 'approval policy changed');
    return describePolicy(ctx.em.fork(), partner.id);
  }
}
