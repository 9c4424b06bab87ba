import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { balanceAt, id, parseInput } from '../shapes/inputs';
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

  @Query(() => ClientBalanceType, {
    description: 'The balance now, or with `at` as it stood at that instant (from the ledger)',
  })
  partnerBalance(
    @Arg('clientId', () => ID) clientId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('at', () => String, {
      nullable: true,
      description: 'An ISO 8601 date-time with its zone, or a date (its last instant, UTC)',
    })
    at?: string,
  ): Promise<BalanceView> {
    const partnerId = parseInput(id, clientId, 'clientId');
    if (at !== undefined && at !== null) {
      const instant = parseInput(balanceAt, { at }).at as Date;
      return ctx.services.statements.balanceAt(ctx, partnerId, instant);
    }
    return ctx.services.queries.balance(ctx, partnerId);
  }
}
