// The people behind requests and policies as `Operator` objects (SPEC section 14). Every field asks the
// operation's `people` loader, so the creators, reviewers, approvers and actors of a whole page are read
// in one statement, under the partner the request or policy was read under.
import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { FIRST_HISTORY_PAGE, policyHistory } from '../services/approval-policy.service';
import { pageQuery, parseInput } from '../shapes/inputs';
import type {
  ApprovalView,
  HistoryEntryView,
  PersonView,
  PolicyChangeView,
  PolicyView,
  ProcessRequestView,
} from '../shapes/views';
import type { GraphQLContext } from '../graphql/context';
import type { Seen } from '../graphql/loaders';
import { OperatorType } from './types/account.type';
import { ApprovalPolicyType, PolicyChangeType } from './types/approval.type';
import { ApprovalType, HistoryEntry, ProcessRequestType } from './types/process-request.type';

type Person = Promise<PersonView | null> | null;

function person(ctx: GraphQLContext, id: string | null, partnerId: string): Person {
  return id === null ? null : ctx.loaders.people.load({ id, partnerId });
}

@Resolver(() => ProcessRequestType)
export class ProcessRequestPeopleResolver {
  @FieldResolver(() => OperatorType, { description: 'Who filed it' })
  creator(@Root() pr: ProcessRequestView, @Ctx() ctx: GraphQLContext): Person {
    return person(ctx, pr.createdBy, pr.clientId);
  }

  @FieldResolver(() => OperatorType, {
    nullable: true,
    description: 'Who decided it: the approver whose approval completed it, or who rejected it',
  })
  reviewer(@Root() pr: ProcessRequestView, @Ctx() ctx: GraphQLContext): Person {
    return person(ctx, pr.reviewedBy, pr.clientId);
  }

  @FieldResolver(() => OperatorType, { nullable: true, description: 'Who cancelled it' })
  canceller(@Root() pr: ProcessRequestView, @Ctx() ctx: GraphQLContext): Person {
    return person(ctx, pr.cancelledBy, pr.clientId);
  }

  // Declared on ProcessRequestType; resolved here so each approval knows the partner it was read under.
  @FieldResolver()
  approvals(@Root() pr: ProcessRequestView): Array<Seen<ApprovalView>> {
    return pr.approvals.map((approval) => ({ ...approval, partnerId: pr.clientId }));
  }
}

@Resolver(() => ApprovalType)
export class ApprovalPeopleResolver {
  @FieldResolver(() => OperatorType, { description: 'Who approved' })
  operator(@Root() approval: Seen<ApprovalView>, @Ctx() ctx: GraphQLContext): Person {
    return person(ctx, approval.operatorId, approval.partnerId);
  }
}

@Resolver(() => HistoryEntry)
export class HistoryEntryPeopleResolver {
  @FieldResolver(() => OperatorType, {
    nullable: true,
    description: 'null when the service itself acted (expiry)',
  })
  actor(@Root() entry: Seen<HistoryEntryView>, @Ctx() ctx: GraphQLContext): Person {
    return person(ctx, entry.actorId, entry.partnerId);
  }
}

@Resolver(() => ApprovalPolicyType)
export class ApprovalPolicyPeopleResolver {
  // Resolved here so each change knows the partner it was read under. The first page came with the policy;
  // another is read on asking (the partner was checked when the policy was read).
  @FieldResolver(() => [PolicyChangeType], {
    description: 'One page of the changes, the last applied first; page >= 1, 1 <= limit <= 100 (default 10)',
  })
  async history(
    @Root() policy: PolicyView,
    @Ctx() ctx: GraphQLContext,
    @Arg('page', () => Int, { nullable: true }) page?: number,
    @Arg('limit', () => Int, { nullable: true }) limit?: number,
  ): Promise<Array<Seen<PolicyChangeView>>> {
    const query = parseInput(pageQuery.pick({ page: true, limit: true }), { page, limit });
    const changes =
      query.page === FIRST_HISTORY_PAGE.page && query.limit === FIRST_HISTORY_PAGE.limit
        ? policy.history
        : await policyHistory(ctx.em, policy.clientId, query);
    return changes.map((change) => ({ ...change, partnerId: policy.clientId }));
  }
}

@Resolver(() => PolicyChangeType)
export class PolicyChangePeopleResolver {
  @FieldResolver(() => OperatorType, { nullable: true, description: 'null: changed with the CLI' })
  actor(@Root() change: Seen<PolicyChangeView>, @Ctx() ctx: GraphQLContext): Person {
    return person(ctx, change.actorId, change.partnerId);
  }
}
