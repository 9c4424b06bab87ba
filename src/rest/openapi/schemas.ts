// The OpenAPI document's schemas: request bodies and parameters derived from the zod declarations of
// src/shapes/inputs.ts, the error shape and its codes from the catalogue, and the response shapes,
// written here once (src/shapes/views.ts is what builds them).
import { z } from 'zod';
import { ProgressEventType } from '../../entities/process-request-event.entity';
import { ProcessRequestStatus } from '../../entities/process-request.entity';
import { ERRORS, type ErrorCode } from '../../domain/errors';

export type Schema = Record<string, unknown>;

/** A zod input declaration as JSON Schema: what a caller may send (transforms and refinements aside). */
export function fromInput(schema: z.ZodType, description?: string): Schema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return description ? { ...json, description } : json;
}

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

/** Codes REST can answer with: the catalogue less those only GraphQL uses. */
export const REST_ERROR_CODES = (Object.keys(ERRORS) as ErrorCode[]).filter(
  (code) => !('door' in ERRORS[code]),
);

/** The statuses of REST errors, each with its codes, from the catalogue. */
export function restErrorCodesByStatus(): Map<number, ErrorCode[]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of REST_ERROR_CODES) {
    const { status } = ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

const PROCESS_REQUEST_EXAMPLE = {
  id: 'c2f4168d-d5c4-4a28-8b38-b2423dcf3c51',
  processTypeId: 1,
  clientBalanceId: '135691ae-ac9d-417c-ad1b-d160e25b8b39',
  clientId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  requestedAmount: 10000.0,
  currency: 'USD',
  observations: 'Wire transfer received on 2026-03-01',
  evidenceUrl:
    'http://127.0.0.1:10000/devstoreaccount1/evidence/7c9e6679-7425-40de-944b-e07fc1f90ae7/c2f4168d-d5c4-4a28-8b38-b2423dcf3c51/evidence.pdf',
  evidence: {
    fileName: 'receipt.pdf',
    contentType: 'application/pdf',
    size: 15,
    sha256: 'a8ea9f63' + '0'.repeat(56),
  },
  status: 'PENDING',
  createdBy: '9ae73380-c585-4003-8155-9889556c0f97',
  createdAt: '2026-03-01T10:00:00.000Z',
  updatedAt: '2026-03-01T10:00:00.000Z',
  reviewedBy: null,
  reviewedAt: null,
  reviewReason: null,
  cancelledBy: null,
  cancelledAt: null,
  requiredApprovals: 1,
  approvals: [],
  expiresAt: '2026-03-08T10:00:00.000Z',
  reversalOf: null,
  reversedBy: null,
};

const tiers = {
  type: 'array',
  items: object({ from: { type: 'string', examples: ['0'] }, approvals: { type: 'integer' } }),
};
const policyState = object({ tiers, pendingTtlSeconds: { type: 'integer' } });

const processRequestProperties: Record<string, Schema> = {
  id: uuid,
  processTypeId: {
    type: 'integer',
    enum: [1, 2],
    description: '1 BALANCE_INCREASE (top-up), 2 BALANCE_REVERSAL',
  },
  clientBalanceId: uuid,
  clientId: uuid,
  requestedAmount: ref('Money'),
  currency: { type: 'string', pattern: '^[A-Z]{3}$' },
  observations: nullable({ type: 'string' }),
  evidenceUrl: {
    ...nullable({ type: 'string', format: 'uri' }),
    description:
      "The blob's canonical URL (private: read it through …/evidence/download); null for a reversal",
  },
  evidence: nullable(ref('Evidence')),
  status: { type: 'string', enum: Object.values(ProcessRequestStatus) },
  createdBy: uuid,
  createdAt: dateTime,
  updatedAt: dateTime,
  reviewedBy: nullable(uuid),
  reviewedAt: nullable(dateTime),
  reviewReason: nullable({ type: 'string' }),
  cancelledBy: nullable(uuid),
  cancelledAt: nullable(dateTime),
  requiredApprovals: { type: 'integer', minimum: 1 },
  approvals: { type: 'array', items: ref('Approval') },
  expiresAt: dateTime,
  reversalOf: nullable(uuid),
  reversedBy: nullable(uuid),
};

export const SCHEMAS: Record<string, Schema> = {
  Money: {
    type: 'number',
    description:
      "An exact decimal written as a JSON number with the currency's minor digits (10000.00 for USD); never computed through a float",
    examples: [10000.0],
  },
  Error: {
    ...object(
      {
        statusCode: { type: 'integer', description: 'The HTTP status, repeated' },
        code: { type: 'string', enum: REST_ERROR_CODES },
        message: { type: 'string' },
        requestId: {
          type: 'string',
          description:
            'The request id, also sent as the X-Request-Id header; the log lines of the request carry it',
        },
        details: {
          type: 'object',
          description:
            'Validation errors: the field (`{"field":"requestedAmount"}`); stream limits: the limit',
        },
        retryAfter: {
          type: 'integer',
          description: 'With OTP_LOCKED: seconds until trying again can succeed',
        },
      },
      ['details', 'retryAfter'],
    ),
    examples: [
      {
        statusCode: 409,
        code: 'PROCESS_REQUEST_NOT_PENDING',
        message: 'The process request is not pending',
        requestId: '7921115b-2c1f-4f0e-9d55-8f0b3b2f8a61',
      },
    ],
  },
  Evidence: object({
    fileName: { type: 'string', description: 'The uploaded file name, without path or control characters' },
    contentType: { type: 'string', enum: ['application/pdf', 'image/jpeg', 'image/png', 'image/webp'] },
    size: { type: 'integer' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  }),
  Approval: object({ operatorId: uuid, at: dateTime }),
  ProcessRequest: { ...object(processRequestProperties), examples: [PROCESS_REQUEST_EXAMPLE] },
  HistoryEntry: object({
    id: { type: 'string', pattern: '^\\d+$' },
    type: { type: 'string', enum: Object.values(ProgressEventType) },
    actorId: { ...nullable(uuid), description: 'null when the service itself acted (expiry)' },
    fromStatus: nullable({ type: 'string', enum: Object.values(ProcessRequestStatus) }),
    toStatus: nullable({ type: 'string', enum: Object.values(ProcessRequestStatus) }),
    reason: nullable({ type: 'string' }),
    at: dateTime,
  }),
  ProcessRequestDetails: object({
    ...processRequestProperties,
    history: { type: 'array', items: ref('HistoryEntry'), description: 'Its stored events, oldest first' },
  }),
  ProcessRequestPage: object({
    items: { type: 'array', items: ref('ProcessRequest') },
    page: { type: 'integer', minimum: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
    total: { type: 'integer', minimum: 0 },
    totalPages: { type: 'integer', minimum: 0 },
  }),
  Balance: {
    ...object({
      id: uuid,
      clientId: uuid,
      available: ref('Money'),
      pending: { ...ref('Money'), description: 'The sum of PENDING top-ups not past their deadline' },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      updatedAt: dateTime,
      createdAt: dateTime,
    }),
  },
  DownloadLink: object({
    url: { type: 'string', format: 'uri', description: 'A read-only SAS URL for the one blob' },
    expiresAt: dateTime,
  }),
  BulkResults: object({
    results: {
      type: 'array',
      items: object(
        {
          id: { type: 'string', description: 'The id as given (JSON text for a value that is not a string)' },
          statusCode: { type: 'integer', description: "The single call's status: 204 when decided" },
          code: { type: 'string', enum: REST_ERROR_CODES },
        },
        ['code'],
      ),
    },
  }),
  ApprovalPolicy: object({
    clientId: uuid,
    tiers,
    pendingTtlSeconds: { type: 'integer' },
    updatedAt: {
      ...dateTime,
      description: 'The epoch (1970-01-01T00:00:00.000Z) for a policy never changed',
    },
    updatedBy: { ...nullable(uuid), description: 'null: the default, or a change made with the CLI' },
    historyTotal: { type: 'integer', minimum: 0, description: 'How many changes there are in all' },
    history: {
      type: 'array',
      description:
        'One page of the changes, newest first: the newest 10 unless historyPage / historyLimit ask otherwise',
      items: object({
        id: { type: 'string' },
        actorId: nullable(uuid),
        at: dateTime,
        before: policyState,
        after: policyState,
      }),
    },
  }),
  ProgressEvent: {
    ...object(
      {
        id: {
          ...nullable({ type: 'string', pattern: '^\\d+$' }),
          description: 'null for EVIDENCE_UPLOADING (not stored)',
        },
        clientId: uuid,
        processRequestId: uuid,
        type: { type: 'string', enum: Object.values(ProgressEventType) },
        status: nullable({ type: 'string', enum: Object.values(ProcessRequestStatus) }),
        percent: { type: 'integer', minimum: 0, maximum: 100 },
        available: ref('Money'),
        code: { type: 'string' },
        approvals: { type: 'integer' },
        requiredApprovals: { type: 'integer' },
        at: dateTime,
      },
      ['percent', 'available', 'code', 'approvals', 'requiredApprovals'],
    ),
    description: "The JSON of an SSE frame's `data:` line",
  },
  Health: object({ status: { const: 'ok' } }),
  Readiness: object({
    status: { type: 'string', enum: ['ready', 'unavailable'] },
    database: { type: 'string', enum: ['up', 'down'] },
    storage: { type: 'string', enum: ['up', 'down'] },
  }),
};
