// The processRequestProgress subscription: the bus does the checking and the streaming; this only exposes it.
import { Arg, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { DomainError } from '../services/errors';
import { id, parseInput } from '../services/inputs';
import type { ProgressEventView } from '../services/views';
import type { SubscriptionContext } from './context';
import { ProgressEventObject } from './progress-event.type';

const OVER_WEBSOCKET = 'Subscriptions are served over graphql-ws (WebSocket) at /graphql';

@Resolver()
export class ProgressResolver {
  @Subscription(() => ProgressEventObject, {
    description:
      'Live progress events of one partner (scope checked when subscribing); over graphql-ws at /graphql',
    subscribe: ({
      args,
      context,
    }: SubscribeResolverData<unknown, { clientId: string }, Partial<SubscriptionContext>>) => {
      // Apollo over HTTP has no bus in its context: subscriptions only travel over WebSocket.
      if (!context.progress) throw new DomainError('VALIDATION_FAILED', OVER_WEBSOCKET);
      return context.progress.watch(
        context as SubscriptionContext,
        'graphql-ws',
        parseInput(id, args.clientId, 'clientId'),
      );
    },
  })
  processRequestProgress(
    @Arg('clientId', () => ID) _clientId: string,
    @Root() event: ProgressEventView | undefined,
  ): ProgressEventView {
    // Apollo over HTTP executes a subscription as a one-off operation, with no event to resolve.
    if (!event) throw new DomainError('VALIDATION_FAILED', OVER_WEBSOCKET);
    return event;
  }
}
