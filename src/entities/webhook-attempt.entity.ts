import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { referenceTo } from './references';
import { WebhookDelivery } from './webhook-delivery.entity';

/** The delivery log: one row per attempt that finished (answered, failed or timed out). */
@Entity({ tableName: 'webhook_attempt' })
@Index({ properties: ['deliveryId', 'id'] })
export class WebhookAttempt {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => WebhookDelivery, referenceTo('delivery_id'))
  deliveryId!: string;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  at: Date = new Date();

  /** The answer's status; null when none came (refused, timed out, connection failed). */
  @Property({ type: 'integer', nullable: true })
  statusCode?: number | null;

  @Property({ type: 'integer' })
  durationMs!: number;

  @Property({ type: 'string', length: 500, nullable: true })
  error?: string | null;
}
