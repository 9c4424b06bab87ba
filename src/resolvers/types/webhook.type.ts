// GraphQL shapes of partner webhooks and the events feed (SPEC section 16).
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { WebhookDeliveryStatus } from '../../entities/webhook-delivery.entity';
import { WebhookEndpointStatus } from '../../entities/webhook-endpoint.entity';
import { registerEnumType } from 'type-graphql';

registerEnumType(WebhookEndpointStatus, { name: 'WebhookEndpointStatus' });
registerEnumType(WebhookDeliveryStatus, { name: 'WebhookDeliveryStatus' });

@ObjectType('WebhookEndpoint', { description: "A partner's webhook endpoint (never its secret)" })
export class WebhookEndpointType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  url!: string;

  @Field(() => [String], { nullable: true, description: 'Webhook types sent to it; null: all' })
  eventTypes!: string[] | null;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => WebhookEndpointStatus)
  status!: WebhookEndpointStatus;

  @Field(() => String, { nullable: true })
  disabledReason!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType('CreatedWebhookEndpoint')
export class CreatedWebhookEndpointType {
  @Field(() => WebhookEndpointType)
  endpoint!: WebhookEndpointType;

  @Field(() => String, { description: 'whsec_…: shown this once' })
  secret!: string;
}

@ObjectType('WebhookSecret')
export class WebhookSecretType {
  @Field(() => String, {
    description: 'The new secret, shown this once; the previous one keeps signing for the overlap',
  })
  secret!: string;
}

@InputType('WebhookEndpointInput')
export class WebhookEndpointInputType {
  @Field(() => String)
  url!: string;

  @Field(() => [String], { nullable: true })
  eventTypes?: string[] | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType('WebhookEndpointChanges')
export class WebhookEndpointChangesType {
  @Field(() => String, { nullable: true })
  url?: string;

  @Field(() => [String], { nullable: true })
  eventTypes?: string[] | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => WebhookEndpointStatus, { nullable: true })
  status?: WebhookEndpointStatus;
}

@ObjectType('WebhookAttempt')
export class WebhookAttemptType {
  @Field(() => Date)
  at!: Date;

  @Field(() => Int, { nullable: true })
  statusCode!: number | null;

  @Field(() => Int)
  durationMs!: number;

  @Field(() => String, { nullable: true })
  error!: string | null;
}

@ObjectType('WebhookDelivery')
export class WebhookDeliveryType {
  @Field(() => ID, { description: 'Also the webhook-id of every attempt' })
  id!: string;

  @Field(() => ID)
  eventId!: string;

  @Field(() => String)
  eventType!: string;

  @Field(() => WebhookDeliveryStatus)
  status!: WebhookDeliveryStatus;

  @Field(() => [WebhookAttemptType])
  attempts!: WebhookAttemptType[];

  @Field(() => Date, { nullable: true })
  nextAttemptAt!: Date | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType('WebhookDeliveryPage')
export class WebhookDeliveryPageType {
  @Field(() => [WebhookDeliveryType])
  items!: WebhookDeliveryType[];

  @Field(() => Int)
  page!: number;

  @Field(() => Int)
  limit!: number;

  @Field(() => Int)
  total!: number;

  @Field(() => Int)
  totalPages!: number;
}

@ObjectType('EventData')
export class EventDataType {
  @Field(() => ID)
  eventId!: string;

  @Field(() => ID)
  partnerId!: string;

  @Field(() => ID)
  processRequestId!: string;

  @Field(() => Int)
  processTypeId!: number;

  @Field(() => String)
  status!: string;

  @Field(() => String, { description: 'Exact decimal' })
  requestedAmount!: string;

  @Field(() => String)
  currency!: string;

  @Field(() => Int)
  approvals!: number;

  @Field(() => Int)
  requiredApprovals!: number;

  @Field(() => ID, { nullable: true })
  actorId!: string | null;
}

@ObjectType('Event', { description: "A stored event in the webhook body's shape, plus its id" })
export class EventType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  type!: string;

  @Field(() => String, { description: 'ISO 8601' })
  timestamp!: string;

  @Field(() => EventDataType)
  data!: EventDataType;
}

@ObjectType('EventPage')
export class EventPageType {
  @Field(() => [EventType])
  items!: EventType[];

  @Field(() => ID, { description: 'Give it as `after` in the next call' })
  next!: string;
}
