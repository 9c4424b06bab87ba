// The OpenAPI path items of webhook.routes.ts: partner webhooks and the events feed (SPEC section 16).
import { id } from '../shapes/inputs';
import {
  deliveryQuery,
  eventsQuery,
  recoverInput,
  webhookEndpointChanges,
  webhookEndpointInput,
} from '../shapes/webhook-inputs';
import { WEBHOOK_TYPES } from '../shapes/webhook-message';
import { REST_BASE_PATH } from './openapi/operations';
import { fromInput, type Schema } from './openapi/schemas';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const uuid = { type: 'string', format: 'uuid' };
const dateTime = { type: 'string', format: 'date-time' };
const nullable = (schema: Schema) => ({ anyOf: [schema, { type: 'null' }] });
const object = (properties: Record<string, Schema>, optional: string[] = []): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  additionalProperties: false,
});
const json = (s: Schema) => ({ 'application/json': { schema: s } });
const ok = (description: string, s: Schema) => ({ description, content: json(s) });
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }]));
const AUTHENTICATED = [400, 401, 403, 404, 500, 503];
const JSON_BODY = [413, 415];
const partnerId = { $ref: '#/components/parameters/partnerId' };
const endpointId = {
  name: 'id',
  in: 'path',
  required: true,
  description: "A webhook endpoint of that partner (another partner's is 404)",
  schema: fromInput(id),
};
const query = (name: string, s: Schema, description: string) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: s,
});
const body = (s: Schema, example: unknown) => ({
  required: true,
  content: { 'application/json': { schema: s, example } },
});
const ADMIN = 'ADMIN only.';

const endpointProperties = {
  id: uuid,
  url: { type: 'string' },
  eventTypes: nullable({ type: 'array', items: { type: 'string', enum: WEBHOOK_TYPES } }),
  description: nullable({ type: 'string' }),
  status: { type: 'string', enum: ['ENABLED', 'DISABLED'] },
  disabledReason: nullable({ type: 'string' }),
  createdAt: dateTime,
  updatedAt: dateTime,
};
const secret = { type: 'string', pattern: '^whsec_[A-Za-z0-9+/]{43}=$', description: 'Shown this once' };

export const WEBHOOK_SCHEMAS: Record<string, Schema> = {
  WebhookEndpoint: object(endpointProperties),
  WebhookEndpointCreated: object({ ...endpointProperties, secret }),
  WebhookEndpointList: object({ items: { type: 'array', items: ref('WebhookEndpoint') } }),
  WebhookSecret: object({ secret }),
  WebhookDelivery: object({
    id: { ...uuid, description: 'Also the webhook-id header of every attempt' },
    eventId: { type: 'string', pattern: '^\\d+$' },
    eventType: { type: 'string', enum: WEBHOOK_TYPES },
    status: { type: 'string', enum: ['PENDING', 'SUCCEEDED', 'FAILED'] },
    attempts: {
      type: 'array',
      items: object({
        at: dateTime,
        statusCode: nullable({ type: 'integer' }),
        durationMs: { type: 'integer' },
        error: nullable({ type: 'string' }),
      }),
    },
    nextAttemptAt: nullable(dateTime),
    createdAt: dateTime,
  }),
  WebhookDeliveryPage: object({
    items: { type: 'array', items: ref('WebhookDelivery') },
    page: { type: 'integer' },
    limit: { type: 'integer' },
    total: { type: 'integer' },
    totalPages: { type: 'integer' },
  }),
  Requeued: object({ requeued: { type: 'integer' } }),
  EventItem: object({
    id: { type: 'string', pattern: '^\\d+$' },
    type: { type: 'string', enum: WEBHOOK_TYPES },
    timestamp: dateTime,
    data: object({
      eventId: { type: 'string', pattern: '^\\d+$' },
      partnerId: uuid,
      processRequestId: uuid,
      processTypeId: { type: 'integer' },
      status: { type: 'string' },
      requestedAmount: { type: 'string', pattern: '^\\d+(\\.\\d+)?$' },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      approvals: { type: 'integer' },
      requiredApprovals: { type: 'integer' },
      actorId: nullable(uuid),
    }),
  }),
  EventPage: object({
    items: { type: 'array', items: ref('EventItem') },
    next: { type: 'string', pattern: '^\\d+$', description: 'Give it as `after` in the next call' },
  }),
};

const op = (operationId: string, summary: string, extra: Record<string, unknown>) => ({
  operationId,
  tags: ['Webhooks'],
  summary,
  ...extra,
});

export function webhookPaths(base = REST_BASE_PATH): Record<string, Record<string, unknown>> {
  const endpoints = `${base}/webhook-endpoints`;
  const one = `${endpoints}/{id}`;
  return {
    [endpoints]: {
      post: op('createWebhookEndpoint', 'Register a webhook endpoint; the answer holds its secret, once', {
        description: `${ADMIN} In production the URL must be https and resolve only to public addresses.`,
        parameters: [partnerId],
        requestBody: body(fromInput(webhookEndpointInput), {
          url: 'https://partner.example/webhooks',
          eventTypes: ['process_request.approved', 'process_request.rejected'],
          description: 'Ledger sync',
        }),
        responses: {
          '201': ok('The endpoint and its secret', ref('WebhookEndpointCreated')),
          ...errors(...AUTHENTICATED, ...JSON_BODY),
        },
      }),
      get: op('listWebhookEndpoints', "The partner's webhook endpoints (never a secret)", {
        description: ADMIN,
        parameters: [partnerId],
        responses: { '200': ok('Oldest first', ref('WebhookEndpointList')), ...errors(...AUTHENTICATED) },
      }),
    },
    [one]: {
      get: op('getWebhookEndpoint', 'One webhook endpoint', {
        description: ADMIN,
        parameters: [partnerId, endpointId],
        responses: { '200': ok('The endpoint', ref('WebhookEndpoint')), ...errors(...AUTHENTICATED) },
      }),
      patch: op('updateWebhookEndpoint', 'Change an endpoint; re-enabling clears disabledReason', {
        description: `${ADMIN} Deliveries held while it was disabled are sent once it is enabled again.`,
        parameters: [partnerId, endpointId],
        requestBody: body(fromInput(webhookEndpointChanges), { status: 'ENABLED' }),
        responses: {
          '200': ok('The endpoint', ref('WebhookEndpoint')),
          ...errors(...AUTHENTICATED, ...JSON_BODY),
        },
      }),
      delete: op('deleteWebhookEndpoint', 'Delete an endpoint with its delivery log', {
        description: ADMIN,
        parameters: [partnerId, endpointId],
        responses: { '204': { description: 'Deleted' }, ...errors(...AUTHENTICATED) },
      }),
    },
    [`${one}/secret`]: {
      post: op(
        'rotateWebhookSecret',
        'A new secret; the previous one keeps signing beside it for the overlap',
        {
          description: `${ADMIN} WEBHOOK_SECRET_OVERLAP_SECONDS (default a day): both signatures are sent meanwhile.`,
          parameters: [partnerId, endpointId],
          responses: {
            '200': ok('The new secret, shown this once', ref('WebhookSecret')),
            ...errors(...AUTHENTICATED),
          },
        },
      ),
    },
    [`${one}/deliveries`]: {
      get: op('listWebhookDeliveries', 'The delivery log, newest first, with every attempt', {
        description: ADMIN,
        parameters: [
          partnerId,
          endpointId,
          query('status', fromInput(deliveryQuery.shape.status), 'PENDING, SUCCEEDED or FAILED'),
          query('page', fromInput(deliveryQuery.shape.page), 'Page number, from 1 (default 1)'),
          query('limit', fromInput(deliveryQuery.shape.limit), 'Items per page, 1-100 (default 10)'),
        ],
        responses: {
          '200': ok('A page of deliveries', ref('WebhookDeliveryPage')),
          ...errors(...AUTHENTICATED),
        },
      }),
    },
    [`${one}/deliveries/{deliveryId}/retry`]: {
      post: op('retryWebhookDelivery', 'Send a delivery again now, with the same webhook-id', {
        description: ADMIN,
        parameters: [
          partnerId,
          endpointId,
          {
            name: 'deliveryId',
            in: 'path',
            required: true,
            description: 'A delivery of that endpoint',
            schema: fromInput(id),
          },
        ],
        responses: { '202': ok('Queued', ref('Requeued')), ...errors(...AUTHENTICATED) },
      }),
    },
    [`${one}/recover`]: {
      post: op('recoverWebhookDeliveries', 'Send again every FAILED delivery created since a time', {
        description: ADMIN,
        parameters: [partnerId, endpointId],
        requestBody: body(fromInput(recoverInput), { since: '2026-03-01T00:00:00Z' }),
        responses: {
          '202': ok('How many were queued', ref('Requeued')),
          ...errors(...AUTHENTICATED, ...JSON_BODY),
        },
      }),
    },
    ...eventsPath(base),
  };
}

/** The events feed (any role of the partner). */
function eventsPath(base: string): Record<string, Record<string, unknown>> {
  return {
    [`${base}/events`]: {
      get: op('listEvents', "The partner's stored events after a cursor, oldest first", {
        description:
          'Each item is the webhook body plus `id`. Poll with `after` = the previous `next`: nothing is missed, ' +
          "since a partner's events are stored in id order.",
        parameters: [
          partnerId,
          query(
            'after',
            { type: 'string', pattern: '^\\d{1,19}$' },
            'An event id (default 0: from the start)',
          ),
          query('limit', fromInput(eventsQuery.shape.limit), 'Items, 1-500 (default 100)'),
          query('types', { type: 'string' }, `Comma list of ${WEBHOOK_TYPES.join(', ')}`),
        ],
        responses: { '200': ok('A page of events', ref('EventPage')), ...errors(...AUTHENTICATED) },
      }),
    },
  };
}
