import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { ProcessRequestEvent } from './process-request-event.entity';
import { referenceTo } from './references';
import { WebhookEndpoint } from './webhook-endpoint.entity';

export enum WebhookDeliveryStatus {
  PENDING = 'PENDING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}

/**
 * One stored event to one endpoint: its `id` is the message's `webhook-id` on every attempt. Claimed by
 * a sender with a lease (`leaseUntil`, `leaseToken`); a claim whose process died expires and is retried.
 */
@Entity({ tableName: 'webhook_delivery' })
@Unique({ properties: ['endpointId', 'eventId'] })
@Index({ properties: ['endpointId', 'createdAt'] })
@Index({ properties: ['status', 'nextAttemptAt'] })
@Index({ properties: ['endpointId', 'status', 'nextAttemptAt'] })
export class WebhookDelivery {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'status' | 'attemptCount' | 'nextAttemptAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => WebhookEndpoint, referenceTo('endpoint_id'))
  endpointId!: string;

  @ManyToOne(() => ProcessRequestEvent, referenceTo('event_id'))
  eventId!: string;

  /** process_request.created, … */
  @Property({ type: 'string', length: 60 })
  eventType!: string;

  @Enum({ items: () => WebhookDeliveryStatus })
  status: WebhookDeliveryStatus = WebhookDeliveryStatus.PENDING;

  @Property({ type: 'integer', default: 0 })
  attemptCount: number = 0;

  /** When it is due (PENDING); null once settled. */
  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true, defaultRaw: 'now()' })
  nextAttemptAt?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true })
  leaseUntil?: Date | null;

  @Property({ type: 'uuid', nullable: true })
  leaseToken?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  updatedAt: Date = new Date();
}
