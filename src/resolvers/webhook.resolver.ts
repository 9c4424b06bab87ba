// Partner webhooks and the events feed over GraphQL (SPEC section 16): the same service as REST.
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { id, parseInput } from '../shapes/inputs';
import {
  deliveryQuery,
  eventsQuery,
  webhookEndpointChanges,
  webhookEndpointInput,
} from '../shapes/webhook-inputs';
import type { CreatedEndpoint, EventsPage } from '../services/integration/webhook.service';
import type { WebhookDeliveryPage, WebhookEndpointView } from '../shapes/webhook-views';
import { WebhookDeliveryStatus } from '../entities/webhook-delivery.entity';
import {
  CreatedWebhookEndpointType,
  EventPageType,
  WebhookDeliveryPageType,
  WebhookEndpointChangesType,
  WebhookEndpointInputType,
  WebhookEndpointType,
  WebhookSecretType,
} from './types/webhook.type';

const partnerOf = (clientId: string) => parseInput(id, clientId, 'clientId');

@Resolver()
export class WebhookResolver {
  @Query(() => [WebhookEndpointType], { description: "ADMIN: the partner's webhook endpoints" })
  webhookEndpoints(
    @Arg('clientId', () => ID) clientId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookEndpointView[]> {
    return ctx.services.webhooks.listFor(ctx, partnerOf(clientId));
  }

  @Mutation(() => CreatedWebhookEndpointType, { description: 'ADMIN: the secret is shown this once' })
  createWebhookEndpoint(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('input', () => WebhookEndpointInputType) input: WebhookEndpointInputType,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CreatedEndpoint> {
    return ctx.services.webhooks.createFor(
      ctx,
      partnerOf(clientId),
      parseInput(webhookEndpointInput, input, 'input'),
    );
  }

  @Mutation(() => WebhookEndpointType, { description: 'ADMIN; re-enabling clears disabledReason' })
  updateWebhookEndpoint(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) endpointId: string,
    @Arg('input', () => WebhookEndpointChangesType) input: WebhookEndpointChangesType,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookEndpointView> {
    return ctx.services.webhooks.update(
      ctx,
      partnerOf(clientId),
      parseInput(id, endpointId, 'id'),
      parseInput(webhookEndpointChanges, input, 'input'),
    );
  }

  @Mutation(() => Boolean, { description: 'ADMIN: deletes the endpoint and its delivery log' })
  async deleteWebhookEndpoint(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) endpointId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<boolean> {
    await ctx.services.webhooks.removeFor(ctx, partnerOf(clientId), parseInput(id, endpointId, 'id'));
    return true;
  }

  @Mutation(() => WebhookSecretType, {
    description: 'ADMIN: a new secret; the previous one signs beside it for the overlap',
  })
  rotateWebhookSecret(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) endpointId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<{ secret: string }> {
    return ctx.services.webhooks.rotate(ctx, partnerOf(clientId), parseInput(id, endpointId, 'id'));
  }

  @Query(() => WebhookDeliveryPageType, { description: 'ADMIN: the delivery log, newest first' })
  webhookDeliveries(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('endpointId', () => ID) endpointId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('status', () => WebhookDeliveryStatus, { nullable: true }) status?: WebhookDeliveryStatus,
    @Arg('page', () => Int, { nullable: true }) page?: number,
    @Arg('limit', () => Int, { nullable: true }) limit?: number,
  ): Promise<WebhookDeliveryPage> {
    return ctx.services.webhooks.deliveries(
      ctx,
      partnerOf(clientId),
      parseInput(id, endpointId, 'endpointId'),
      parseInput(deliveryQuery, { status, page, limit }),
    );
  }

  @Mutation(() => Boolean, { description: 'ADMIN: sends a delivery again now, with the same webhook-id' })
  async retryWebhookDelivery(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('deliveryId', () => ID) deliveryId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<boolean> {
    await ctx.services.webhooks.retry(
      ctx,
      partnerOf(clientId),
      parseInput(id, endpointId, 'endpointId'),
      parseInput(id, deliveryId, 'deliveryId'),
    );
    return true;
  }

  @Query(() => EventPageType, { description: "The partner's stored events after a cursor, oldest first" })
  events(
    @Arg('clientId', () => ID) clientId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('after', () => ID, { nullable: true }) after?: string,
    @Arg('limit', () => Int, { nullable: true, description: '1-500, default 100' }) limit?: number,
    @Arg('types', () => [String], { nullable: true }) types?: string[],
  ): Promise<EventsPage> {
    return ctx.services.webhooks.events(
      ctx,
      partnerOf(clientId),
      parseInput(eventsQuery, { after, limit, types }),
    );
  }
}
