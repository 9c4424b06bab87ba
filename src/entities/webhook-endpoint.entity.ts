import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Partner } from './partner.entity';
import { referenceTo } from './references';

export enum WebhookEndpointStatus {
  ENABLED = 'ENABLED',
  DISABLED = 'DISABLED',
}

/**
 * A partner's webhook endpoint (SPEC section 16). Its secrets are stored sealed (AES-256-GCM, the OTP
 * key); `cursorEventId` is how far the relay has fanned the partner's stored events out to it.
 */
@Entity({ tableName: 'webhook_endpoint' })
@Index({ properties: ['partnerId', 'createdAt'] })
export class WebhookEndpoint {
  [OptionalProps]?:
    'createdAt' | 'updatedAt' | 'status' | 'cursorEventId' | 'description' | 'disabledReason' | 'eventTypes';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Partner, referenceTo('client_id'))
  partnerId!: string;

  @Property({ type: 'string', length: 2048 })
  url!: string;

  /** Webhook types (process_request.approved, …) sent to it; null: all. */
  @Property({ type: 'json', nullable: true })
  eventTypes?: string[] | null;

  @Property({ type: 'string', length: 500, nullable: true })
  description?: string | null;

  @Enum({ items: () => WebhookEndpointStatus })
  status: WebhookEndpointStatus = WebhookEndpointStatus.ENABLED;

  @Property({ type: 'string', length: 500, nullable: true })
  disabledReason?: string | null;

  /** "iv.tag.data" of the secret's text (whsec_…). */
  @Property({ type: 'text' })
  secretSealed!: string;

  /** The secret before the last rotation, still signing until previousSecretUntil. */
  @Property({ type: 'text', nullable: true })
  previousSecretSealed?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true })
  previousSecretUntil?: Date | null;

  /** The last event of the partner the relay has turned into deliveries for this endpoint. */
  @Property({ type: 'bigint', default: 0 })
  cursorEventId: string = '0';

  /** Since when every attempt to it failed; null after a success. */
  @Property({ type: 'Date', columnType: 'timestamptz(3)', nullable: true })
  failingSince?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  updatedAt: Date = new Date();
}
