// What the doors answer about webhook endpoints and deliveries (SPEC section 16); never a secret.
import type { WebhookAttempt } from '../entities/webhook-attempt.entity';
import type { WebhookDelivery } from '../entities/webhook-delivery.entity';
import type { WebhookEndpoint } from '../entities/webhook-endpoint.entity';

export interface WebhookEndpointView {
  id: string;
  url: string;
  eventTypes: string[] | null;
  description: string | null;
  status: string;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookAttemptView {
  at: Date;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: WebhookAttemptView[];
  nextAttemptAt: Date | null;
  createdAt: Date;
}

export interface WebhookDeliveryPage {
  items: WebhookDeliveryView[];
  page: number;
  limit: number;
  total: number;
  totalPages: number;
}

export const toWebhookEndpointView = (e: WebhookEndpoint): WebhookEndpointView => ({
  id: e.id,
  url: e.url,
  eventTypes: e.eventTypes ?? null,
  description: e.description ?? null,
  status: e.status,
  disabledReason: e.disabledReason ?? null,
  createdAt: e.createdAt,
  updatedAt: e.updatedAt,
});

export const toWebhookDeliveryView = (
  d: WebhookDelivery,
  attempts: WebhookAttempt[],
): WebhookDeliveryView => ({
  id: d.id,
  eventId: String(d.eventId),
  eventType: d.eventType,
  status: d.status,
  attempts: attempts.map((a) => ({
    at: a.at,
    statusCode: a.statusCode ?? null,
    durationMs: a.durationMs,
    error: a.error ?? null,
  })),
  nextAttemptAt: d.status === 'PENDING' ? (d.nextAttemptAt ?? null) : null,
  createdAt: d.createdAt,
});
