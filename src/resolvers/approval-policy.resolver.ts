// approvalPolicy / setApprovalPolicy (SPEC section 12) and the four eyes on them (section 18): read by any
// role of the partner, changed by an ADMIN, a change through the API applied by another ADMIN.
import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { PolicyChangeStatus } from '../entities/approval-policy-change.entity';
import type { PolicyChangeView, PolicyView } from '../shapes/views';
import { decisionInput, id, parseInput, policyChangesQuery, policyInput } from '../shapes/inputs';
import type { GraphQLContext } from '../graphql/context';
import { ApprovalPolicyInput, ApprovalPolicyType, PolicyChangeType } from './types/approval.type';

@Resolver()
export class ApprovalPolicyResolver {
  @Query(() => ApprovalPolicyType)
  approvalPolicy(
    @Arg('clientId', () => ID) clientId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PolicyView> {
    return ctx.services.policies.get(ctx, parseInput(id, clientId, 'clientId'));
  }

  @Mutation(() => ApprovalPolicyType, {
    description:
      'ADMIN: asks for a change of the policy. With four eyes on the rules (the default) the policy in force is returned unchanged with the change as `pendingChange`; otherwise the change is applied at once',
  })
  async setApprovalPolicy(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('input', () => ApprovalPolicyInput) input: ApprovalPolicyInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PolicyView> {
    const partnerId = parseInput(id, clientId, 'clientId');
    const result = await ctx.services.policies.set(ctx, partnerId, parseInput(policyInput, input, 'input'));
    if ('policy' in result) return result.policy;
    return ctx.services.policies.get(ctx, partnerId);
  }

  @Query(() => [PolicyChangeType], {
    description: "The partner's policy changes, newest first (at most 100)",
  })
  policyChanges(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('status', () => String, { nullable: true, description: 'PENDING, APPLIED, REJECTED or EXPIRED' })
    status: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PolicyChangeView[]> {
    const query = parseInput(policyChangesQuery, { status });
    return ctx.services.policies.changes(
      ctx,
      parseInput(id, clientId, 'clientId'),
      query.status as PolicyChangeStatus | undefined,
    );
  }

  @Mutation(() => ApprovalPolicyType, {
    description: 'A second ADMIN applies a pending change (OTP when enrolled)',
  })
  approvePolicyChange(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) changeId: string,
    @Arg('otp', () => String, { nullable: true }) otp: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PolicyView> {
    return ctx.services.policies.approve(
      ctx,
      parseInput(id, clientId, 'clientId'),
      changeId,
      otp ?? undefined,
    );
  }

  @Mutation(() => PolicyChangeType, { description: 'A second ADMIN rejects a pending change, with a reason' })
  rejectPolicyChange(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) changeId: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PolicyChangeView> {
    const input = parseInput(decisionInput, { reason });
    return ctx.services.policies.reject(ctx, parseInput(id, clientId, 'clientId'), changeId, input.reason);
  }
}
