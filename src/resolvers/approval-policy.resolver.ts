// approvalPolicy / setApprovalPolicy (SPEC section 12): read by any role of the partner, changed by ADMIN.
import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { PolicyView } from '../shapes/views';
import { id, parseInput, policyInput } from '../shapes/inputs';
import type { GraphQLContext } from '../graphql/context';
import { ApprovalPolicyInput, ApprovalPolicyType } from './types/approval.type';

@Resolver()
export class ApprovalPolicyResolver {
  @Query(() => ApprovalPolicyType)
  approvalPolicy(
    @Arg('clientId', () => ID) clientId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PolicyView> {
    return ctx.services.policies.get(ctx, parseInput(id, clientId, 'clientId'));
  }

  @Mutation(() => ApprovalPolicyType, { description: 'ADMIN: replaces the policy; the change is recorded' })
  setApprovalPolicy(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('input', () => ApprovalPolicyInput) input: ApprovalPolicyInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PolicyView> {
    const partnerId = parseInput(id, clientId, 'clientId');
    return ctx.services.policies.set(ctx, partnerId, parseInput(policyInput, input, 'input'));
  }
}
