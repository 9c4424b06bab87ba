// GraphQL shapes of approval policies, approvals and bulk decisions (SPEC section 12).
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/decimal.scalar';
import { ProcessRequestType } from './process-request.type';
import type { SameKeys, Shape } from '../../graphql/shape';
import type { PolicyInput } from '../../shapes/inputs';
import type { PolicyChangeView, PolicyStateView, PolicyView, TierView } from '../../shapes/views';

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

@InputType('ApprovalPolicyInput')
export class ApprovalPolicyInput {
  @Field(() => [ApprovalTierInput], { description: 'Sorted by from, the first from 0; 1-10 tiers' })
  tiers!: ApprovalTierInput[];

  @Field(() => Int, { description: 'How long a request may stay PENDING, in seconds' })
  pendingTtlSeconds!: number;
}

@ObjectType('ApprovalPolicyState', { description: 'A policy as it was or became' })
export class PolicyStateType implements Shape<PolicyStateView, PolicyStateType> {
  @Field(() => [ApprovalTierType])
  tiers!: ApprovalTierType[];

  @Field(() => Int)
  pendingTtlSeconds!: number;
}

@ObjectType('ApprovalPolicyChange', { description: 'Who changed the policy, when, from what to what' })
export class PolicyChangeType implements Shape<PolicyChangeView, PolicyChangeType> {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: 'null: changed with the CLI' })
  actorId!: string | null;

  @Field(() => Date)
  at!: Date;

  @Field(() => PolicyStateType)
  before!: PolicyStateType;

  @Field(() => PolicyStateType)
  after!: PolicyStateType;
}

@ObjectType('ApprovalPolicy')
export class ApprovalPolicyType implements Shape<PolicyView, ApprovalPolicyType> {
  @Field(() => ID)
  clientId!: string;

  @Field(() => [ApprovalTierType])
  tiers!: ApprovalTierType[];

  @Field(() => Int)
  pendingTtlSeconds!: number;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => ID, { nullable: true, description: 'Who last changed it; null for the default or the CLI' })
  updatedBy!: string | null;

  @Field(() => [PolicyChangeType], { description: 'Every change, newest first' })
  history!: PolicyChangeType[];
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
