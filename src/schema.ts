// Builds the code-first schema, and prints it the one way schema.graphql is written and checked.
import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { AccountResolver } from './resolvers/account.resolver';
import { ApprovalPolicyResolver } from './resolvers/approval-policy.resolver';
import {
  ApprovalPeopleResolver,
  ApprovalPolicyPeopleResolver,
  HistoryEntryPeopleResolver,
  PolicyChangePeopleResolver,
  ProcessRequestPeopleResolver,
} from './resolvers/people.resolver';
import { ProcessRequestResolver } from './resolvers/process-request.resolver';
import { StatementResolver } from './resolvers/statement.resolver';
import { ProgressResolver } from './subscriptions/progress.resolver';
import { WebhookResolver } from './resolvers/webhook.resolver';

/**
 * type-graphql refuses a schema with subscriptions unless a pubSub is given, even when every
 * subscription brings its own `subscribe` (ours read the progress bus); this one is never used.
 */
const NO_PUBSUB = {
  publish(): void {
    throw new Error('No pubSub: subscriptions read the progress bus');
  },
  subscribe(): AsyncIterable<unknown> {
    throw new Error('No pubSub: subscriptions read the progress bus');
  },
};

/**
 * No global middlewares and no auth checker: rules live in the services. The hot object types rely on it
 * (`simpleResolvers`, src/resolvers/types/process-request.type.ts); adding either here means removing that.
 */
export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      AccountResolver,
      ApprovalPolicyResolver,
      ProcessRequestResolver,
      ProcessRequestPeopleResolver,
      ApprovalPeopleResolver,
      HistoryEntryPeopleResolver,
      ApprovalPolicyPeopleResolver,
      PolicyChangePeopleResolver,
      ProgressResolver,
      StatementResolver,
      WebhookResolver,
    ],
    validate: false,
    pubSub: NO_PUBSUB,
  });
}

export function printAppSchema(schema: GraphQLSchema): string {
  return `# Generated from the code by \`npm run schema\`; do not edit.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}
