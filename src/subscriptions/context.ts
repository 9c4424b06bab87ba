// What a subscription operation runs with: the GraphQL context of an HTTP call, plus the progress bus.
import type { GraphQLContext } from '../graphql/context';
import type { ProgressBus } from '../runtime/progress-bus';

export interface SubscriptionContext extends GraphQLContext {
  progress: ProgressBus;
}
