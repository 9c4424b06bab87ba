// The REST facade's operations, one entry per route the Koa routers register (a test compares the two).
import {
  bulkDecisionInput,
  createFields,
  decisionInput,
  idempotencyKey,
  lastEventId,
  listFilters,
  pageQuery,
  policyInput,
  policyHistoryQuery,
  reversalInput,
} from '../../shapes/inputs';
import { fromInput, type Schema } from './schemas';

export const REST_BASE_PATH = '/cms/rest/app/partners/{partnerId}';

const schema = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (s: Schema, example?: unknown) => ({
  'application/json': example === undefined ? { schema: s } : { schema: s, example },
});
const ok = (description: string, s: Schema) => ({ description, content: json(s) });
const noContent = { description: 'Done; no body' };
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }]));

/** What every call under the partner base can answer besides its own outcomes. */
/** Every authenticated call: 429 when its operator already has as many calls in flight as allowed. */
const AUTHENTICATED = [400, 401, 403, 404, 429, 500, 503];
/** Calls that read a JSON body: too large, not JSON. */
const JSON_BODY = [413, 415];
/** Calls that check an OTP: too many wrong codes. */
const OTP = [429];

const param = (name: string, where: 'path' | 'query' | 'header', s: Schema, description: string) => ({
  name,
  in: where,
  required: where === 'path',
  description,
  schema: s,
});
const partnerId = { $ref: '#/components/parameters/partnerId' };
const requestId = { $ref: '#/components/parameters/id' };

const FILTER_DESCRIPTIONS: Record<keyof typeof listFilters.shape, string> = {
  status: 'One status or a comma list (PENDING,APPROVED), case-insensitive',
  from: 'createdAt ≥ this: an ISO 8601 date (2026-02-28) or an RFC 3339 date-time with its zone',
  to: 'createdAt ≤ this: a date (the whole day) or a date-time with its zone',
  processTypeId: '1 top-ups, 2 reversals',
};
const filters = Object.entries(FILTER_DESCRIPTIONS).map(([name, description]) =>
  param(name, 'query', fromInput(listFilters.shape[name as keyof typeof listFilters.shape]), description),
);
const paging = [
  param('page', 'query', fromInput(pageQuery.shape.page), 'Page number, from 1 (default 1)'),
  param('limit', 'query', fromInput(pageQuery.shape.limit), 'Items per page, 1-100 (default 10)'),
];

const jsonBody = (s: Schema, required: boolean, example: unknown) => ({
  required,
  content: json(s, example),
});

const decision = (action: 'approve' | 'reject' | 'cancel', summary: string, description: string) => ({
  patch: {
    operationId: `${action}ProcessRequest`,
    tags: ['Decisions'],
    summary,
    description,
    parameters: [partnerId, requestId],
    requestBody: jsonBody(fromInput(decisionInput), false, {
      reason: 'Matches the bank statement',
      ...(action === 'approve' ? { otp: '492039' } : {}),
    }),
    responses: {
      '204': noContent,
      ...errors(...AUTHENTICATED, 409, ...JSON_BODY, ...(action === 'approve' ? OTP : [])),
    },
  },
});

const bulk = (action: 'approve' | 'reject') => ({
  post: {
    operationId: `${action}ProcessRequests`,
    tags: ['Decisions'],
    summary: `${action === 'approve' ? 'Approve' : 'Reject'} up to 100 requests (CHECKER or ADMIN)`,
    description:
      'Each id is judged exactly as its single call would be, in the order given, each in its own transaction. ' +
      'The partner, the role and the OTP are checked once for the batch: a refusal of those refuses the whole batch.',
    parameters: [partnerId],
    requestBody: jsonBody(fromInput(bulkDecisionInput), true, {
      ids: ['c2f4168d-d5c4-4a28-8b38-b2423dcf3c51', 'not-a-uuid'],
      reason: 'Batch of 2026-03-01',
    }),
    responses: {
      '200': {
        description: 'One result per id',
        content: json(schema('BulkResults'), {
          results: [
            { id: 'c2f4168d-d5c4-4a28-8b38-b2423dcf3c51', statusCode: 204 },
            { id: 'not-a-uuid', statusCode: 400, code: 'INVALID_ID' },
          ],
        }),
      },
      ...errors(...AUTHENTICATED, ...JSON_BODY, ...(action === 'approve' ? OTP : [])),
    },
  },
});

const createBody = {
  required: true,
  content: {
    'multipart/form-data': {
      schema: {
        ...fromInput(createFields),
        properties: {
          ...(fromInput(createFields).properties as Record<string, Schema>),
          evidence: {
            type: 'string',
            contentMediaType: 'application/octet-stream',
            description:
              'Exactly one file part: PDF, JPEG, PNG or WEBP (recognised by its first bytes), at most 10 MiB',
          },
        },
        required: ['requestedAmount', 'evidence'],
      },
      encoding: { evidence: { contentType: 'application/pdf, image/jpeg, image/png, image/webp' } },
    },
  },
};

export function restPaths(): Record<string, Record<string, unknown>> {
  const base = REST_BASE_PATH;
  return {
    [`${base}/process-request`]: {
      get: {
        operationId: 'listAllProcessRequests',
        tags: ['Process requests'],
        summary: 'Every request of the partner, newest first (any role)',
        description:
          'Streamed from a database cursor. Input, permissions and the first rows are checked before the status is sent.',
        parameters: [partnerId, ...filters],
        responses: {
          '200': ok('The requests, newest first', { type: 'array', items: schema('ProcessRequest') }),
          ...errors(...AUTHENTICATED),
        },
      },
      post: {
        operationId: 'createProcessRequest',
        tags: ['Process requests'],
        summary: 'File a top-up with its evidence file (MAKER or ADMIN)',
        parameters: [
          partnerId,
          param(
            'Idempotency-Key',
            'header',
            fromInput(idempotencyKey),
            'Sent once. The same operator repeating a create with the same key within 24 hours gets the first answer again',
          ),
        ],
        requestBody: createBody,
        responses: {
          '201': { description: 'The created request', content: json(schema('ProcessRequest')) },
          ...errors(...AUTHENTICATED, 409, 413, 415, ...OTP),
        },
      },
    },
    [`${base}/balance`]: {
      get: {
        operationId: 'getBalance',
        tags: ['Balance'],
        summary: "The partner's balance and what PENDING top-ups would add (any role)",
        parameters: [partnerId],
        responses: { '200': ok('The balance', schema('Balance')), ...errors(...AUTHENTICATED) },
      },
    },
    [`${base}/process-requests`]: {
      get: {
        operationId: 'listProcessRequests',
        tags: ['Process requests'],
        summary: 'A page of requests, newest first (any role)',
        parameters: [partnerId, ...paging, ...filters],
        responses: { '200': ok('The page', schema('ProcessRequestPage')), ...errors(...AUTHENTICATED) },
      },
    },
    [`${base}/process-request/progress`]: {
      get: {
        operationId: 'streamProgress',
        tags: ['Progress'],
        summary: "The partner's progress events, live (Server-Sent Events; any role)",
        description:
          'Unnamed frames: an `id:` line and a `data:` line holding a ProgressEvent as JSON; a `: ping` comment ' +
          'every SSE_HEARTBEAT_SECONDS. With Last-Event-ID (or ?lastEventId=) the stored events after it come first. ' +
          'A stream whose operator loses the right to read ends with a comment naming the code (`: OPERATOR_INACTIVE`); ' +
          'one whose tokens expire ends with `: UNAUTHENTICATED` (resume with fresh tokens and Last-Event-ID).',
        parameters: [
          partnerId,
          param('Last-Event-ID', 'header', fromInput(lastEventId), 'Resume after this stored event id'),
          param(
            'lastEventId',
            'query',
            fromInput(lastEventId),
            'The same, for clients that cannot set headers',
          ),
        ],
        responses: {
          '200': {
            description: 'The stream (see ProgressEvent for the data of each frame)',
            content: {
              'text/event-stream': {
                schema: { type: 'string' },
                example:
                  'id: 42\ndata: {"id":"42","clientId":"7c9e6679-…","processRequestId":"60019173-…","type":"CREATED","status":"PENDING","at":"2026-03-01T10:00:00.000Z"}\n\n',
              },
            },
          },
          ...errors(...AUTHENTICATED, 429),
        },
      },
    },
    [`${base}/process-request/{id}`]: {
      get: {
        operationId: 'getProcessRequest',
        tags: ['Process requests'],
        summary: 'One request with its history (any role)',
        parameters: [partnerId, requestId],
        responses: {
          '200': ok('The request', schema('ProcessRequestDetails')),
          ...errors(...AUTHENTICATED),
        },
      },
    },
    [`${base}/process-request/{id}/evidence/download`]: {
      get: {
        operationId: 'getEvidenceDownloadUrl',
        tags: ['Process requests'],
        summary: 'A short-lived read-only link to the evidence file (any role)',
        description: 'A reversal has no evidence: 404.',
        parameters: [partnerId, requestId],
        responses: { '200': ok('The link', schema('DownloadLink')), ...errors(...AUTHENTICATED) },
      },
    },
    [`${base}/process-request/{id}/approve`]: decision(
      'approve',
      'Approve (CHECKER or ADMIN; never the creator)',
      'Records one approval; the one that reaches requiredApprovals approves and credits (or, for a reversal, debits) the balance. ' +
        'An operator subject to OTP sends `otp`.',
    ),
    [`${base}/process-request/{id}/reject`]: decision(
      'reject',
      'Reject (CHECKER or ADMIN; never the creator)',
      'A request that already has approvals needs a non-blank `reason`.',
    ),
    [`${base}/process-request/{id}/cancel`]: decision(
      'cancel',
      'Cancel (the creator with MAKER, or ADMIN)',
      'Only while PENDING.',
    ),
    [`${base}/process-request/{id}/reversal`]: {
      post: {
        operationId: 'reverseProcessRequest',
        tags: ['Process requests'],
        summary: 'File a reversal of an APPROVED top-up (MAKER or ADMIN)',
        parameters: [partnerId, requestId],
        requestBody: jsonBody({ ...fromInput(reversalInput), required: ['reason'] }, true, {
          reason: 'Wire recalled by the sending bank',
        }),
        responses: {
          '201': { description: 'The reversal request', content: json(schema('ProcessRequest')) },
          ...errors(...AUTHENTICATED, 409, ...JSON_BODY, ...OTP),
        },
      },
    },
    [`${base}/process-requests/approve`]: bulk('approve'),
    [`${base}/process-requests/reject`]: bulk('reject'),
    [`${base}/approval-policy`]: {
      get: {
        operationId: 'getApprovalPolicy',
        tags: ['Approval policy'],
        summary: "The partner's approval policy and one page of its history (any role)",
        parameters: [
          partnerId,
          param(
            'historyPage',
            'query',
            fromInput(policyHistoryQuery.shape.historyPage),
            'Page of the history, from 1 (default 1)',
          ),
          param(
            'historyLimit',
            'query',
            fromInput(policyHistoryQuery.shape.historyLimit),
            'Changes per page, 1-100 (default 10)',
          ),
        ],
        responses: { '200': ok('The policy', schema('ApprovalPolicy')), ...errors(...AUTHENTICATED) },
      },
      put: {
        operationId: 'setApprovalPolicy',
        tags: ['Approval policy'],
        summary: 'Replace the approval policy (ADMIN)',
        parameters: [partnerId],
        requestBody: jsonBody(fromInput(policyInput), true, {
          tiers: [
            { from: '0', approvals: 1 },
            { from: '50000', approvals: 2 },
          ],
          pendingTtlSeconds: 86400,
        }),
        responses: {
          '200': ok('The new policy', schema('ApprovalPolicy')),
          ...errors(...AUTHENTICATED, ...JSON_BODY),
        },
      },
    },
  };
}

export function healthPaths(): Record<string, Record<string, unknown>> {
  return {
    '/healthz': {
      get: {
        operationId: 'liveness',
        tags: ['Health'],
        summary: 'The process is up',
        security: [],
        responses: { '200': ok('Up', schema('Health')) },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readiness',
        tags: ['Health'],
        summary: 'The database and blob storage are reachable',
        security: [],
        responses: {
          '200': ok('Ready', schema('Readiness')),
          '503': ok('A dependency is unreachable', schema('Readiness')),
        },
      },
    },
  };
}

export const DOCS_PATH = '/docs';
export const DOCUMENT_PATH = '/openapi.json';

export function documentationPaths(page: boolean): Record<string, Record<string, unknown>> {
  const notFound = { '404': { $ref: `#/components/responses/Error404` } };
  return {
    [DOCUMENT_PATH]: {
      get: {
        operationId: 'openApiDocument',
        tags: ['Documentation'],
        summary: 'This document',
        security: [],
        responses: { '200': ok('OpenAPI 3.1', { type: 'object' }) },
      },
    },
    ...(page
      ? {
          [DOCS_PATH]: {
            get: {
              operationId: 'docsPage',
              tags: ['Documentation'],
              summary: 'This document as a page (API_DOCS)',
              security: [],
              responses: {
                '200': { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } },
              },
            },
          },
          [`${DOCS_PATH}/{asset}`]: {
            get: {
              operationId: 'docsAsset',
              tags: ['Documentation'],
              summary: "A script or style of the docs page, from the service's own files",
              security: [],
              parameters: [param('asset', 'path', { type: 'string' }, 'A file name the page refers to')],
              responses: {
                '200': {
                  description: 'The file',
                  content: {
                    'text/javascript': { schema: { type: 'string' } },
                    'text/css': { schema: { type: 'string' } },
                  },
                },
                ...notFound,
              },
            },
          },
        }
      : {}),
  };
}
