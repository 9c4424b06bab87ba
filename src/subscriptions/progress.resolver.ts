// The processRequestProgress subscription: the bus does the checking and the streaming; this only exposes it.
import { Arg, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { DomainError } from '../domain/errors';
import { eventId, id, parseInput } from '../shapes/inputs';
import type { ProgressEventView } from '../shapes/views';
import type { SubscriptionContext } from './context';
import { ProgressEventObject } from './progress-event.type';

const OVER_WEBSOCKET = 'Subscriptions are served over graphql-ws (WebSocket) at /graphql';

@Resolver()
export class ProgressResolver {
  @Subscription(() => ProgressEventObject, {
    description:
      'Live progress events of one partner (scope checked when subscribing); over graphql-ws at /graphql. ' +
      'With lastEventId, the stored events after it come first (resuming, as Last-Event-ID does for SSE).',
    subscribe: ({
      args,
      context,
    }: SubscribeResolverData<
      unknown,
      { clientId: string; lastEventId?: string | null },
      Partial<SubscriptionContext>
    >) => {
      // Apollo over HTTP has no bus in its context: subscriptions only travel over WebSocket.
      if (!context.progress) throw new DomainError('VALIDATION_FAILED', OVER_WEBSOCKET);
      return context.progress.watch(
        context as SubscriptionContext,
        'graphql-ws',
        parseInput(id, args.clientId, 'clientId'),
        // null is no argument; anything else, the empty string included, must be an event id.
        args.lastEventId == null ? undefined : parseInput(eventId, args.lastEventId, 'lastEventId'),
      );
    },
  })
  processRequestProgress(
    @Arg('clientId', () => ID) _clientId: string,
    @Arg('lastEventId', () => ID, {
      nullable: true,
      description:
        'Resume after this stored event id (an event `id`; a whole number up to 9223372036854775807)',
    })
    _lastEventId: string | null | undefined,
    @Root() event: ProgressEventView | undefined,
  ): ProgressEventView {
    // Apollo over HTTP executes a subscription as a one-off operation, with no event to resolve.
    if (!event) throw new DomainError('VALIDATION_FAILED', OVER_WEBSOCKET);
    return event;
  }
}
