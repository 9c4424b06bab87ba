// Approval policies (SPEC sections 12, 13 and 18): how many distinct approvals a request needs by its
// amount, how long it may wait, and the controls around approvals. One per partner. A change made through
// the API is a pending change another ADMIN applies (four eyes on the rules, POLICY_CHANGES_NEED_APPROVAL);
// the CLI applies at once. Every change is recorded with its requester, decider, reason, before and after.
import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  ApprovalPolicyChange,
  POLICY_CHANGE_TTL_MS,
  PolicyChangeStatus,
  type PolicyState,
} from '../entities/approval-policy-change.entity';
import {
  ApprovalPolicy,
  DEFAULT_CONTROLS,
  DEFAULT_PENDING_TTL_SECONDS,
  DEFAULT_TIERS,
  type ApprovalTier,
} from '../entities/approval-policy.entity';
import { ClientBalance } from '../entities/client-balance.entity';
import { requirePartner } from '../domain/access';
import type { ServiceContext } from '../domain/context';
import { DomainError } from '../domain/errors';
import { violatedConstraint } from '../infra/failures';
import type { PolicyInput } from '../shapes/inputs';
import type { PolicyChangeView, PolicyImpactView, PolicyStateView, PolicyView } from '../shapes/views';
import { assertCurrencyScale, compareDecimals } from '../domain/money';
import { type ImpactRow, POLICY_IMPACT } from '../sql/policy-impact';
import { run } from '../sql/statement';
import type { OtpService } from './identity/otp.service';
import { DEFAULT_PAGE_LIMIT } from '../shapes/inputs';

/** Which page of the history to show. */
export interface HistoryPage {
  page: number;
  limit: number;
}
export const FIRST_HISTORY_PAGE: HistoryPage = { page: 1, limit: DEFAULT_PAGE_LIMIT };

/** The approvals a request of `amount` needs: the tier with the highest `from` not above it. */
export function requiredApprovals(tiers: ApprovalTier[], amount: string): number {
  let required = 1;
  for (const tier of tiers) if (compareDecimals(amount, tier.from) >= 0) required = tier.approvals;
  return required;
}

/**
 * What a request filed at `now` (the database's clock) is bound to by its partner's policy in force: the
 * approvals it needs and its deadline. `policy` as stored; its columns null when none is (the default policy).
 */
export function filingTerms(
  policy: { tiers: ApprovalTier[] | null; pendingTtlSeconds: number | null },
  amount: string,
  now: Date,
) {
  const ttl = policy.pendingTtlSeconds ?? DEFAULT_PENDING_TTL_SECONDS;
  return {
    requiredApprovals: requiredApprovals(policy.tiers ?? DEFAULT_TIERS, amount),
    createdAt: now,
    updatedAt: now,
    expiresAt: new Date(now.getTime() + ttl * 1000),
  };
}

/** Every field of a policy state (a change recorded before section 18 lacks the controls: their defaults). */
function fullState(state: PolicyState): PolicyStateView {
  return {
    tiers: state.tiers,
    pendingTtlSeconds: state.pendingTtlSeconds,
    dailyCreditLimit: state.dailyCreditLimit ?? DEFAULT_CONTROLS.dailyCreditLimit,
    maxBalance: state.maxBalance ?? DEFAULT_CONTROLS.maxBalance,
    requireAmountConfirmation: state.requireAmountConfirmation ?? false,
    requireEvidenceViewed: state.requireEvidenceViewed ?? false,
    rejectReasonRequired: state.rejectReasonRequired ?? false,
    refuseDuplicateEvidence: state.refuseDuplicateEvidence ?? false,
  };
}

function stateOfPolicy(policy: ApprovalPolicy | null): PolicyStateView {
  if (!policy) return fullState({ tiers: DEFAULT_TIERS, pendingTtlSeconds: DEFAULT_PENDING_TTL_SECONDS });
  const decimal = (v: string | null) => (v === null ? null : trimDecimal(v));
  return fullState({
    tiers: policy.tiers,
    pendingTtlSeconds: policy.pendingTtlSeconds,
    dailyCreditLimit: decimal(policy.dailyCreditLimit),
    maxBalance: decimal(policy.maxBalance),
    requireAmountConfirmation: policy.requireAmountConfirmation,
    requireEvidenceViewed: policy.requireEvidenceViewed,
    rejectReasonRequired: policy.rejectReasonRequired,
    refuseDuplicateEvidence: policy.refuseDuplicateEvidence,
  });
}

/** "100000.0000" → "100000" (NUMERIC's scale is storage, not what the ADMIN wrote). */
function trimDecimal(v: string): string {
  return v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v;
}

/** A partner's policy; the default one when none was ever stored. */
export async function policyOf(em: EntityManager, partnerId: string): Promise<PolicyStateView> {
  return stateOfPolicy(await em.findOne(ApprovalPolicy, { partnerId }));
}

/** The state an input asks for: what it gives, the rest as in force. */
function stateAsked(input: PolicyInput, current: PolicyStateView, currency: string): PolicyStateView {
  input.tiers.forEach((tier, i) => assertCurrencyScale(tier.from, currency, `tiers.${i}.from`));
  for (const cap of ['dailyCreditLimit', 'maxBalance'] as const) {
    const value = input[cap];
    if (typeof value === 'string') assertCurrencyScale(value, currency, cap);
  }
  const pick = <K extends keyof PolicyStateView>(key: K): PolicyStateView[K] =>
    (input as Partial<PolicyStateView>)[key] === undefined
      ? current[key]
      : ((input as Partial<PolicyStateView>)[key] as PolicyStateView[K]);
  return {
    tiers: input.tiers,
    pendingTtlSeconds: input.pendingTtlSeconds,
    dailyCreditLimit: pick('dailyCreditLimit'),
    maxBalance: pick('maxBalance'),
    requireAmountConfirmation: pick('requireAmountConfirmation'),
    requireEvidenceViewed: pick('requireEvidenceViewed'),
    rejectReasonRequired: pick('rejectReasonRequired'),
    refuseDuplicateEvidence: pick('refuseDuplicateEvidence'),
  };
}

/** Two values of one policy field are the same: amounts as decimals ("100" is "100.00"), tiers tier by tier. */
function sameValue<K extends keyof PolicyStateView>(a: PolicyStateView[K], b: PolicyStateView[K]): boolean {
  if (typeof a === 'string' && typeof b === 'string') return compareDecimals(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b))
    return (
      a.length === b.length &&
      a.every((tier, i) => tier.approvals === b[i].approvals && compareDecimals(tier.from, b[i].from) === 0)
    );
  return a === b;
}

/**
 * What a pending change makes of the policy in force `current`: the fields its requester changed (where its
 * `after` differs from its `before`) take their new value, every other field keeps the value in force. So a
 * change applied after it was filed (the CLI's break-glass) is kept, not put back by a stale snapshot, as a
 * PUT that leaves a field out keeps the value in force.
 */
function stateProposed(change: ApprovalPolicyChange, current: PolicyStateView): PolicyStateView {
  const [filedOn, asked] = [fullState(change.before), fullState(change.after)];
  const next: PolicyStateView = { ...current };
  for (const key of Object.keys(asked) as Array<keyof PolicyStateView>)
    if (!sameValue(filedOn[key], asked[key])) Object.assign(next, { [key]: asked[key] });
  return next;
}

/**
 * Puts in force the state `next` makes of the one in force, inside the caller's transaction: the policy
 * row, read under its lock (a change committed meanwhile is what `next` applies to), and the caps copied
 * onto the partner's balance row (where the approving statement's CHECKs read them; `last_change` reset,
 * so a cap lowered below today's figures refuses the next credit, not this change). Returns the state
 * replaced and the state now in force.
 */
async function putInForce(
  tx: EntityManager,
  partnerId: string,
  next: (current: PolicyStateView) => PolicyStateView,
  actorId: string | null,
): Promise<{ before: PolicyStateView; after: PolicyStateView }> {
  let policy = await tx.findOne(ApprovalPolicy, { partnerId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  const before = stateOfPolicy(policy);
  const after = next(before);
  if (!policy) policy = tx.create(ApprovalPolicy, { partnerId });
  tx.assign(policy, { ...after, updatedAt: new Date(), updatedBy: actorId });
  await tx.flush();
  await tx.nativeUpdate(
    ClientBalance,
    { partnerId },
    { dailyCreditLimit: after.dailyCreditLimit, maxBalance: after.maxBalance, lastChange: '0' },
  );
  return { before, after };
}

/**
 * Replaces a partner's policy at once and records the change as APPLIED, in one transaction (the policy
 * row is locked before it is read, so two changes at once apply one after the other: each keeps what the
 * other set that it does not set itself, and has the other's result as its `before`). The amounts must fit the partner's currency. `actorId` null: the CLI, whose reason
 * is mandatory.
 */
export async function replacePolicy(
  em: EntityManager,
  partnerId: string,
  currency: string,
  input: PolicyInput,
  actorId: string | null,
  reason: string | null = null,
): Promise<void> {
  await em.transactional(async (tx) => {
    // The input applies to the policy read under its lock (read before it, a second write would put back
    // what the first had just changed).
    const { before, after } = await putInForce(
      tx,
      partnerId,
      (current) => stateAsked(input, current, currency),
      actorId,
    );
    const now = new Date();
    tx.create(ApprovalPolicyChange, {
      partnerId,
      actorId,
      before,
      after,
      reason,
      status: PolicyChangeStatus.APPLIED,
      decidedBy: actorId,
      decidedAt: now,
      createdAt: now,
    });
    await tx.flush();
  });
}

/** Pending changes past their 7 days become EXPIRED (lazily, whenever the partner's changes are read or decided). */
export async function expireChanges(em: EntityManager, partnerId: string): Promise<void> {
  await em.execute(
    `update approval_policy_change set status = 'EXPIRED', decided_at = expires_at
      where client_id = ? and status = 'PENDING' and expires_at <= now()`,
    [partnerId],
  );
}

async function impactOf(
  em: EntityManager,
  partnerId: string,
  after: PolicyStateView,
): Promise<PolicyImpactView> {
  const [row] = await run<ImpactRow, 'partnerId' | 'tiers' | 'dailyCreditLimit' | 'maxBalance'>(
    em,
    POLICY_IMPACT,
    {
      partnerId,
      tiers: JSON.stringify(after.tiers),
      dailyCreditLimit: after.dailyCreditLimit,
      maxBalance: after.maxBalance,
    },
  );
  return {
    since: new Date(row.since),
    requests: row.requests,
    moreApprovals: row.more_approvals,
    fewerApprovals: row.fewer_approvals,
    approvals: row.approvals,
    refusedByDailyCreditLimit: row.refused_by_daily_credit_limit,
    refusedByMaxBalance: row.refused_by_max_balance,
  };
}

/**
 * A change as its deciders see it. A PENDING one shows what approving it would do now: `before` the policy in
 * force, `after` that policy with the requester's changes (and `impact` of that); a decided one, what was
 * recorded.
 */
export async function changeView(em: EntityManager, c: ApprovalPolicyChange): Promise<PolicyChangeView> {
  const pending = c.status === PolicyChangeStatus.PENDING;
  const before = pending ? await policyOf(em, c.partnerId) : fullState(c.before);
  const after = pending ? stateProposed(c, before) : fullState(c.after);
  return {
    id: String(c.id),
    clientId: c.partnerId,
    actorId: c.actorId ?? null,
    requestedBy: c.actorId ?? null,
    at: c.createdAt,
    createdAt: c.createdAt,
    before,
    after,
    status: c.status,
    decidedBy: c.decidedBy ?? null,
    reason: c.reason ?? null,
    decidedAt: c.decidedAt ?? null,
    expiresAt: c.expiresAt ?? null,
    impact: pending ? await impactOf(em, c.partnerId, after) : null,
  };
}

/**
 * One page of a partner's applied policy changes, the last applied first: a change approved after a later
 * one was applied comes first, so the first entry's `after` is the policy in force.
 */
export async function policyHistory(
  em: EntityManager,
  partnerId: string,
  { page, limit }: HistoryPage,
): Promise<PolicyChangeView[]> {
  const changes = await em.find(
    ApprovalPolicyChange,
    { partnerId, status: PolicyChangeStatus.APPLIED },
    { orderBy: { decidedAt: 'desc', id: 'desc' }, limit, offset: (page - 1) * limit },
  );
  const views: PolicyChangeView[] = [];
  for (const c of changes) views.push(await changeView(em, c));
  return views;
}

export async function describePolicy(
  em: EntityManager,
  partnerId: string,
  page: HistoryPage = FIRST_HISTORY_PAGE,
): Promise<PolicyView> {
  await expireChanges(em, partnerId);
  const [policy, history, historyTotal, pending] = await Promise.all([
    em.findOne(ApprovalPolicy, { partnerId }),
    policyHistory(em, partnerId, page),
    em.count(ApprovalPolicyChange, { partnerId, status: PolicyChangeStatus.APPLIED }),
    em.findOne(ApprovalPolicyChange, { partnerId, status: PolicyChangeStatus.PENDING }),
  ]);
  return {
    clientId: partnerId,
    ...stateOfPolicy(policy),
    updatedAt: policy?.updatedAt ?? new Date(0),
    updatedBy: policy?.updatedBy ?? null,
    history,
    historyTotal,
    pendingChange: pending ? await changeView(em, pending) : null,
  };
}

export class ApprovalPolicyService {
  constructor(
    private readonly otp: OtpService,
    /** POLICY_CHANGES_NEED_APPROVAL: a change through the API waits for a second ADMIN. */
    private readonly needApproval: boolean,
  ) {}

  /** Any role that reads the partner reads its policy. */
  async get(
    ctx: ServiceContext,
    partnerId: string,
    page: HistoryPage = FIRST_HISTORY_PAGE,
  ): Promise<PolicyView> {
    const { partner } = await requirePartner(ctx, partnerId, 'read');
    return describePolicy(ctx.em, partner.id, page);
  }

  /**
   * ADMIN only. With four eyes on the rules, files a pending change (one per partner: 409 CHANGE_PENDING)
   * and answers `{ change }`; without, applies it at once and answers the policy.
   */
  async set(
    ctx: ServiceContext,
    partnerId: string,
    input: PolicyInput,
  ): Promise<{ policy: PolicyView } | { change: PolicyChangeView }> {
    const { partner, balance } = await requirePartner(ctx, partnerId, 'manage-policy');
    if (!this.needApproval) {
      await replacePolicy(ctx.em, partner.id, balance.currency, input, ctx.operator.id);
      ctx.log.info({ partnerId: partner.id, policy: input }, 'approval policy changed');
      return { policy: await describePolicy(ctx.em.fork(), partner.id) };
    }
    await expireChanges(ctx.em, partner.id);
    const before = await policyOf(ctx.em, partner.id);
    const after = stateAsked(input, before, balance.currency);
    const em = ctx.em.fork();
    const change = em.create(ApprovalPolicyChange, {
      partnerId: partner.id,
      actorId: ctx.operator.id,
      before,
      after,
      status: PolicyChangeStatus.PENDING,
      expiresAt: new Date(Date.now() + POLICY_CHANGE_TTL_MS),
    });
    try {
      await em.flush();
    } catch (error) {
      if (violatedConstraint(error) === 'approval_policy_change_one_pending')
        throw new DomainError('CHANGE_PENDING');
      throw error;
    }
    ctx.log.info({ partnerId: partner.id, changeId: change.id }, 'approval policy change requested');
    return { change: await changeView(em, change) };
  }

  /** VIEWER and up: the partner's changes, newest first, of one status or all. */
  async changes(
    ctx: ServiceContext,
    partnerId: string,
    status?: PolicyChangeStatus,
  ): Promise<PolicyChangeView[]> {
    const { partner } = await requirePartner(ctx, partnerId, 'read');
    await expireChanges(ctx.em, partner.id);
    const em = ctx.em.fork();
    const rows = await em.find(
      ApprovalPolicyChange,
      { partnerId: partner.id, ...(status ? { status } : {}) },
      { orderBy: { id: 'desc' }, limit: 100 },
    );
    const views: PolicyChangeView[] = [];
    for (const c of rows) views.push(await changeView(em, c));
    return views;
  }

  /**
   * A second ADMIN applies a pending change (OTP when enrolled): 200 the policy now in force. The change's
   * row is locked and must still be PENDING, so two deciders at once apply it once. Only what its requester
   * changed is applied, onto the policy in force under its lock (stateProposed), and the change records the
   * before and after of that moment.
   */
  async approve(ctx: ServiceContext, partnerId: string, changeId: string, otp: unknown): Promise<PolicyView> {
    const { partner } = await requirePartner(ctx, partnerId, 'manage-policy');
    await this.pendingOf(ctx, partner.id, changeId);
    await this.otp.verify(ctx, otp);
    await ctx.em.fork().transactional(async (tx) => {
      const change = await this.lockPending(tx, partner.id, changeId, ctx.operator.id);
      const { before, after } = await putInForce(
        tx,
        partner.id,
        (current) => stateProposed(change, current),
        ctx.operator.id,
      );
      tx.assign(change, {
        before,
        after,
        status: PolicyChangeStatus.APPLIED,
        decidedBy: ctx.operator.id,
        decidedAt: new Date(),
      });
    });
    ctx.log.info({ partnerId: partner.id, changeId }, 'approval policy change applied');
    return describePolicy(ctx.em.fork(), partner.id);
  }

  /** A second ADMIN rejects a pending change, with a reason (400 REASON_REQUIRED without one). */
  async reject(
    ctx: ServiceContext,
    partnerId: string,
    changeId: string,
    reason: string | null,
  ): Promise<PolicyChangeView> {
    const { partner } = await requirePartner(ctx, partnerId, 'manage-policy');
    await this.pendingOf(ctx, partner.id, changeId);
    if (reason === null)
      throw new DomainError('REASON_REQUIRED', 'A reason is required to reject a policy change');
    const em = ctx.em.fork();
    const change = await em.transactional(async (tx) => {
      const locked = await this.lockPending(tx, partner.id, changeId, ctx.operator.id);
      tx.assign(locked, {
        status: PolicyChangeStatus.REJECTED,
        decidedBy: ctx.operator.id,
        decidedAt: new Date(),
        reason,
      });
      return locked;
    });
    ctx.log.info({ partnerId: partner.id, changeId }, 'approval policy change rejected');
    return changeView(em, change);
  }

  /** The refusals a decision meets before any OTP check: not found, not pending (expired), self-review. */
  private async pendingOf(ctx: ServiceContext, partnerId: string, changeId: string): Promise<void> {
    await expireChanges(ctx.em, partnerId);
    await this.lockPending(ctx.em.fork(), partnerId, changeId, ctx.operator.id, false);
  }

  private async lockPending(
    em: EntityManager,
    partnerId: string,
    changeId: string,
    operatorId: string,
    lock = true,
  ): Promise<ApprovalPolicyChange> {
    if (!/^\d{1,18}$/.test(changeId)) throw new DomainError('NOT_FOUND', 'Policy change not found');
    const change = await em.findOne(
      ApprovalPolicyChange,
      { id: changeId, partnerId },
      lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {},
    );
    if (!change) throw new DomainError('NOT_FOUND', 'Policy change not found');
    if (change.actorId === operatorId)
      throw new DomainError('SELF_REVIEW_FORBIDDEN', 'The requester of a policy change cannot decide it');
    if (change.status !== PolicyChangeStatus.PENDING || (change.expiresAt && change.expiresAt <= new Date()))
      throw new DomainError('CHANGE_NOT_PENDING');
    return change;
  }
}
