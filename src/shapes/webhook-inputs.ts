// Inputs of partner webhooks and the events feed (SPEC section 16), declared once for every door.
import { z } from 'zod';
import { WebhookDeliveryStatus } from '../entities/webhook-delivery.entity';
import { WebhookEndpointStatus } from '../entities/webhook-endpoint.entity';
import { WEBHOOK_TYPES } from './webhook-message';
import { bound, eventId, optional, positiveInt, text } from './inputs';

export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const MAX_WEBHOOK_DESCRIPTION_LENGTH = 500;
export const MAX_FEED_LIMIT = 500;
export const DEFAULT_FEED_LIMIT = 100;

/** C0 controls (NUL, tab, line breaks), DEL and C1 controls. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const url = z
  .string({ error: 'must be an http(s) URL' })
  .trim()
  .max(MAX_WEBHOOK_URL_LENGTH, `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`)
  // The URL parser takes a control character inside (drops tabs and line breaks, percent-encodes the
  // rest): stored as sent, it is a value the database cannot hold (NUL) or one no receiver should get.
  .refine((v) => !CONTROL.test(v), 'must not contain control characters')
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http(s) URL');

/** A list (JSON, GraphQL) or a comma list (query string) of webhook types; absent or null: every type. */
const webhookTypes = z.preprocess(
  (v) => (typeof v === 'string' ? (v.trim() === '' ? null : v.split(',').map((t) => t.trim())) : v),
  z
    .array(
      z.enum(WEBHOOK_TYPES as [string, ...string[]], {
        error: `must each be one of ${WEBHOOK_TYPES.join(', ')}`,
      }),
      { error: 'must be a list of webhook types' },
    )
    .min(1, 'must name at least one type (or be null: every type)')
    .max(WEBHOOK_TYPES.length)
    .transform((list) => [...new Set(list)])
    .nullish()
    .transform((v) => v ?? null),
);

export const webhookEndpointInput = z.object({
  url,
  eventTypes: webhookTypes,
  description: text(MAX_WEBHOOK_DESCRIPTION_LENGTH),
});
export type WebhookEndpointInput = z.output<typeof webhookEndpointInput>;

export const webhookEndpointChanges = z.object({
  url: optional(url),
  eventTypes: webhookTypes.optional(),
  description: text(MAX_WEBHOOK_DESCRIPTION_LENGTH).optional(),
  status: optional(z.enum(WebhookEndpointStatus, { error: 'must be ENABLED or DISABLED' })),
});
export type WebhookEndpointChanges = z.output<typeof webhookEndpointChanges>;

export const deliveryQuery = z.object({
  status: optional(z.enum(WebhookDeliveryStatus, { error: 'must be PENDING, SUCCEEDED or FAILED' })),
  page: positiveInt(1_000_000, 1),
  limit: positiveInt(100, 10),
});
export type DeliveryQuery = z.output<typeof deliveryQuery>;

export const recoverInput = z.object({
  since: bound('from').refine((d) => d !== undefined, 'is required: an ISO 8601 date or date-time'),
});

export const eventsQuery = z.object({
  after: optional(eventId).transform((v) => v ?? 0n),
  limit: positiveInt(MAX_FEED_LIMIT, DEFAULT_FEED_LIMIT),
  types: webhookTypes,
});
export type EventsQuery = z.output<typeof eventsQuery>;
