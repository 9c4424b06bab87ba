// GraphQL twins of the REST statement (SPEC section 19); partnerBalance(at) lives with partnerBalance.
import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { id, parseInput, statementPeriod } from '../shapes/inputs';
import type { StatementView } from '../shapes/views';
import type { GraphQLContext } from '../graphql/context';
import { StatementType } from './types/statement.type';

@Resolver()
export class StatementResolver {
  @Query(() => StatementType, {
    description: 'The statement of whole UTC days from..to (YYYY-MM-DD, both included, at most 366 days)',
  })
  statement(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('from', () => String) from: string,
    @Arg('to', () => String) to: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<StatementView> {
    const partnerId = parseInput(id, clientId, 'clientId');
    return ctx.services.statements.statement(ctx, partnerId, parseInput(statementPeriod, { from, to }));
  }
}
