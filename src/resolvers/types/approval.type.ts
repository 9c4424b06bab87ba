// GraphQL shapes of approval policies, approvals and bulk decisions (SPEC section 12).
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/decimal.scalar';
import { ProcessRequestType } from './process-request.type';
import type { SameKeys, Shape } from '../../graphql/shape';
import type { PolicyInput } from '../../shapes/inputs';
import type {
  PolicyChangeView,
  PolicyImpactView,
  PolicyStateView,
  PolicyView,
  TierView,
} from '../../shapes/views';

@ObjectType({
  description: 'A request of amount >= from (up to the next tier) needs `approvals` distinct approvals',
})
export class ApprovalTierType implements Shape<TierView, ApprovalTierType> {
  @Field(() => DecimalScalar, { description: "In the partner's currency; the first tier's is 0" })
  from!: string;

  @Field(() => Int)
  approvals!: number;
}

@InputType('ApprovalTierInput')
export class ApprovalTierInput {
  @Field(() => DecimalScalar)
  from!: string;

  @Field(() => Int, { description: '1-5' })
  approvals!: number;
}

@InputType('ApprovalItemInput', { description: 'One request of a bulk approval and its amount re-keyed' })
export class ApprovalItemInput {
  @Field(() => ID)
  id!: string;

  @Field(() => DecimalScalar, { nullable: true })
  confirmAmount?: string | null;
}

@InputType('ApprovalPolicyInput')
export class ApprovalPolicyInput {
  @Field(() => [ApprovalTierInput], { description: 'Sorted by from, the first from 0; 1-10 tiers' })
  tiers!: ApprovalTierInput[];

  @Field(() => Int, { description: 'How long a request may stay PENDING, in seconds' })
  pendingTtlSeconds!: number;

  @Field(() => DecimalScalar, { nullable: true, description: 'Per UTC day; null: none; absent: as in force' })
  dailyCreditLimit?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'null: none; absent: as in force' })
  maxBalance?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Absent: as in force' })
  requireAmountConfirmation?: boolean;

  @Field(() => Boolean, { nullable: true, description: 'Absent: as in force' })
  requireEvidenceViewed?: boolean;

  @Field(() => Boolean, { nullable: true, description: 'Absent: as in force' })
  rejectReasonRequired?: boolean;

  @Field(() => Boolean, { nullable: true, description: 'Absent: as in force' })
  refuseDuplicateEvidence?: boolean;
}

@ObjectType('ApprovalPolicyState', { description: 'A policy as it was or became' })
export class PolicyStateType implements Shape<PolicyStateView, PolicyStateType> {
  @Field(() => [ApprovalTierType])
  tiers!: ApprovalTierType[];

  @Field(() => Int)
  pendingTtlSeconds!: number;

  @Field(() => DecimalScalar, { nullable: true, description: 'Total credited per UTC day; null: none' })
  dailyCreditLimit!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'The highest balance a credit may leave' })
  maxBalance!: string | null;

  @Field(() => Boolean)
  requireAmountConfirmation!: boolean;

  @Field(() => Boolean)
  requireEvidenceViewed!: boolean;

  @Field(() => Boolean)
  rejectReasonRequired!: boolean;

  @Field(() => Boolean)
  refuseDuplicateEvidence!: boolean;
}

@ObjectType('PolicyImpact', {
  description: 'What a pending change would have done over the last 90 days (each request judged alone)',
})
export class PolicyImpactType implements Shape<PolicyImpactView, PolicyImpactType> {
  @Field(() => Date)
  since!: Date;

  @Field(() => Int, { description: 'Requests filed in the window' })
  requests!: number;

  @Field(() => Int, { description: 'Requests that would have needed more approvals' })
  moreApprovals!: number;

  @Field(() => Int, { description: 'Requests that would have needed fewer approvals' })
  fewerApprovals!: number;

  @Field(() => Int, { description: 'Top-ups credited in the window' })
  approvals!: number;

  @Field(() => Int, { description: "Credits that took their UTC day's total above the new daily limit" })
  refusedByDailyCreditLimit!: number;

  @Field(() => Int, { description: 'Credits that left the balance above the new ceiling' })
  refusedByMaxBalance!: number;
}

@ObjectType('ApprovalPolicyChange', {
  description: 'A change of the policy: who asked, who decided, why, when, from what to what',
})
export class PolicyChangeType implements Shape<PolicyChangeView, PolicyChangeType> {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  clientId!: string;

  @Field(() => ID, { nullable: true, description: 'The requester; null: changed with the CLI' })
  actorId!: string | null;

  @Field(() => ID, { nullable: true, description: 'null: changed with the CLI' })
  requestedBy!: string | null;

  @Field(() => Date)
  at!: Date;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => PolicyStateType)
  before!: PolicyStateType;

  @Field(() => PolicyStateType)
  after!: PolicyStateType;

  @Field(() => String, { description: 'PENDING, APPLIED, REJECTED or EXPIRED' })
  status!: PolicyChangeView['status'];

  @Field(() => ID, {
    nullable: true,
    description: 'The second ADMIN; null while pending, expired, or for the CLI',
  })
  decidedBy!: string | null;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => Date, { nullable: true })
  decidedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => PolicyImpactType, { nullable: true, description: 'On a PENDING change' })
  impact!: PolicyImpactType | null;
}

@ObjectType('ApprovalPolicy')
// The policy in force is a policy state (its tiers and controls, declared once above) with who changed it when.
export class ApprovalPolicyType extends PolicyStateType implements Shape<PolicyView, ApprovalPolicyType> {
  @Field(() => ID)
  clientId!: string;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => ID, { nullable: true, description: 'Who last changed it; null for the default or the CLI' })
  updatedBy!: string | null;

  // `history(page, limit)` is resolved in people.resolver.ts (one page of the changes, the last applied first).
  history!: PolicyChangeType[];

  @Field(() => Int, { description: 'How many changes the history holds in all' })
  historyTotal!: number;

  @Field(() => PolicyChangeType, {
    nullable: true,
    description: 'The change waiting for a second ADMIN, with its impact',
  })
  pendingChange!: PolicyChangeType | null;
}

@ObjectType('DecisionResult', {
  description: 'One item of a bulk decision, judged as its single call would be',
})
export class DecisionResultType {
  @Field(() => ID)
  id!: string;

  @Field(() => Boolean)
  ok!: boolean;

  @Field(() => String, { nullable: true, description: 'The error code of a refused item' })
  code!: string | null;

  @Field(() => String, { nullable: true })
  message!: string | null;

  @Field(() => ProcessRequestType, { nullable: true, description: 'The request after the decision' })
  request!: ProcessRequestType | null;
}

/** The input types carry exactly the fields of the policy declaration (src/shapes/inputs.ts). */
export const POLICY_INPUT_IS_DECLARED: [
  SameKeys<ApprovalPolicyInput, PolicyInput>,
  SameKeys<ApprovalTierInput, PolicyInput['tiers'][number]>,
] = [true, true];
