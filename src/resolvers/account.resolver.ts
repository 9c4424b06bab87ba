import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { id, parseInput } from '../shapes/inputs';
import { toOperatorView, type BalanceView, type OperatorView, type PartnerView } from '../shapes/views';
import type { GraphQLContext } from '../graphql/context';
import { ClientBalanceType, CurrentOperatorType, PartnerType } from './types/account.type';

@Resolver()
export class AccountResolver {
  @Query(() => CurrentOperatorType, { description: 'The operator acting through this call' })
  me(@Ctx() ctx: GraphQLContext): OperatorView {
    return toOperatorView(ctx.operator);
  }

  @Query(() => [PartnerType], { description: 'The partners in the operator scope' })
  partners(@Ctx() ctx: GraphQLContext): Promise<PartnerView[]> {
    return ctx.services.queries.partners(ctx);
  }

  @Query(() => ClientBalanceType)
  partnerBalance(
    @Arg('clientId', () => ID) clientId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BalanceView> {
    return ctx.services.queries.balance(ctx, parseInput(id, clientId, 'clientId'));
  }
}
