// The OpenAPI path items of process-request.routes.ts, one per route, in the order the router registers them.
// Bodies and parameters come from the input declarations (src/shapes/inputs.ts), answers from the views
// (src/shapes/views.ts); tests/openapi.test.ts checks that these are exactly the routes registered.
import {
  bulkDecisionInput,
  createFields,
  decisionInput,
  idempotencyKey,
  DEFAULT_PAGE_LIMIT,
  listFilters,
  MAX_PAGE,
  MAX_PAGE_LIMIT,
  policyHistoryQuery,
  policyInput,
  reversalInput,
} from '../shapes/inputs';
import {
  AUTHENTICATED,
  errors,
  json,
  jsonBody,
  JSON_BODY,
  noContent,
  ok,
  OTP,
  param,
  partnerId,
  requestId,
  REST_BASE_PATH as BASE,
  schema,
  type PathItems,
} from './openapi/operations';
import { fromInput, type Schema } from './openapi/schemas';
import { balanceAtParameter } from './statement.paths';
import { ProcessRequestStatus } from '../entities/process-request.entity';

const FILTER_DESCRIPTIONS: Record<keyof typeof listFilters.shape, string> = {
  status: 'One status or a comma list (PENDING,APPROVED), case-insensitive',
  from: 'createdAt ≥ this: an ISO 8601 date (2026-02-28) or an RFC 3339 date-time with its zone',
  to: 'createdAt ≤ this: a date (the whole day) or a date-time with its zone',
  processTypeId: '1 top-ups, 2 reversals',
};
/**
 * The filters as a generated client should send them (the zod declarations also accept what a query
 * string makes of numbers, and lower case): a status list written once, comma-separated.
 */
const FILTER_SCHEMAS: Record<keyof typeof listFilters.shape, Schema> = {
  status: {
    type: 'array',
    items: { type: 'string', enum: Object.values(ProcessRequestStatus) },
    minItems: 1,
  },
  from: {
    anyOf: [
      { type: 'string', format: 'date' },
      { type: 'string', format: 'date-time' },
    ],
  },
  to: {
    anyOf: [
      { type: 'string', format: 'date' },
      { type: 'string', format: 'date-time' },
    ],
  },
  processTypeId: { type: 'integer', enum: [1, 2] },
};
const filters = Object.entries(FILTER_DESCRIPTIONS).map(([name, description]) => ({
  ...param(name, 'query', FILTER_SCHEMAS[name as keyof typeof listFilters.shape], description),
  ...(name === 'status' ? { style: 'form', explode: false } : {}),
}));
const paging = [
  param(
    'page',
    'query',
    { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 1 },
    'Page number, from 1 (default 1)',
  ),
  param(
    'limit',
    'query',
    { type: 'integer', minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT },
    'Items per page, 1-100 (default 10)',
  ),
];

/** The create form: the declared fields (an undeclared one is refused) and the one evidence file. */
const createForm = fromInput(createFields);
const createBody = {
  required: true,
  content: {
    'multipart/form-data': {
      schema: {
        ...createForm,
        properties: {
          ...(createForm.properties as Record<string, Schema>),
          evidence: {
            type: 'string',
            contentMediaType: 'application/octet-stream',
            description:
              'Exactly one file part: PDF, JPEG, PNG or WEBP (recognised by its first bytes), at most 10 MiB',
          },
        },
        required: ['requestedAmount', 'evidence'],
        additionalProperties: false,
      },
      encoding: { evidence: { contentType: 'application/pdf, image/jpeg, image/png, image/webp' } },
    },
  },
};

const listAll = {
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
};

const create = {
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
};

const balance = {
  operationId: 'getBalance',
  tags: ['Balance'],
  summary: "The partner's balance and what PENDING top-ups would add (any role)",
  description: 'With `at`, both as they stood at that instant, read from the ledger (and `at` is echoed).',
  parameters: [partnerId, balanceAtParameter],
  responses: { '200': ok('The balance', schema('Balance')), ...errors(...AUTHENTICATED) },
};

const page = {
  operationId: 'listProcessRequests',
  tags: ['Process requests'],
  summary: 'A page of requests, newest first (any role)',
  parameters: [partnerId, ...paging, ...filters],
  responses: { '200': ok('The page', schema('ProcessRequestPage')), ...errors(...AUTHENTICATED) },
};

const details = {
  operationId: 'getProcessRequest',
  tags: ['Process requests'],
  summary: 'One request with its history (any role)',
  parameters: [partnerId, requestId],
  responses: {
    '200': ok('The request', schema('ProcessRequestDetails')),
    ...errors(...AUTHENTICATED),
  },
};

const download = {
  operationId: 'getEvidenceDownloadUrl',
  tags: ['Process requests'],
  summary: 'A short-lived read-only link to the evidence file (any role)',
  description:
    'Issuing the link records `EVIDENCE_VIEWED` for the caller in the history; a HEAD answers as GET would, ' +
    'without the link, and records nothing. A reversal has no evidence: 404.',
  parameters: [partnerId, requestId],
  responses: { '200': ok('The link', schema('DownloadLink')), ...errors(...AUTHENTICATED) },
};

const DECISIONS = {
  approve: [
    'Approve (CHECKER or ADMIN; never the creator)',
    'Records one approval; the one that reaches requiredApprovals approves and credits (or, for a reversal, debits) the balance. ' +
      'An operator subject to OTP sends `otp`.',
  ],
  reject: [
    'Reject (CHECKER or ADMIN; never the creator)',
    'A request that already has approvals needs a non-blank `reason`.',
  ],
  cancel: ['Cancel (the creator with MAKER, or ADMIN)', 'Only while PENDING.'],
} as const;

const decision = (action: keyof typeof DECISIONS) => ({
  patch: {
    operationId: `${action}ProcessRequest`,
    tags: ['Decisions'],
    summary: DECISIONS[action][0],
    description: DECISIONS[action][1],
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

const reversal = {
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
};

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

const policy = {
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
};

const setPolicy = {
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
    '200': ok(
      'Applied at once (POLICY_CHANGES_NEED_APPROVAL=false): the new policy',
      schema('ApprovalPolicy'),
    ),
    '202': ok('Four eyes on the rules (the default): a pending change another ADMIN applies or rejects', {
      type: 'object',
      required: ['change'],
      properties: { change: schema('PolicyChange') },
    }),
    ...errors(...AUTHENTICATED, 409, ...JSON_BODY),
  },
};

const changeId = param('changeId', 'path', { type: 'string', pattern: '^[0-9]+$' }, 'The policy change');

const policyChanges = {
  operationId: 'listPolicyChanges',
  tags: ['Approval policy'],
  summary: "The partner's policy changes, newest first, at most 100 (any role)",
  parameters: [
    partnerId,
    param(
      'status',
      'query',
      { type: 'string', enum: ['PENDING', 'APPLIED', 'REJECTED', 'EXPIRED'] },
      'Only this status',
    ),
  ],
  responses: {
    '200': ok('The changes', {
      type: 'object',
      required: ['changes'],
      properties: { changes: { type: 'array', items: schema('PolicyChange') } },
    }),
    ...errors(...AUTHENTICATED),
  },
};

const approveChange = {
  operationId: 'approvePolicyChange',
  tags: ['Approval policy'],
  summary: 'Apply a pending policy change (another ADMIN than its requester; OTP when enrolled)',
  parameters: [partnerId, changeId],
  requestBody: jsonBody(fromInput(decisionInput), false, { otp: '123456' }),
  responses: {
    '200': ok('The policy now in force', schema('ApprovalPolicy')),
    ...errors(...AUTHENTICATED, 409, ...JSON_BODY, ...OTP),
  },
};

const rejectChange = {
  operationId: 'rejectPolicyChange',
  tags: ['Approval policy'],
  summary: 'Reject a pending policy change, with a reason (another ADMIN than its requester)',
  parameters: [partnerId, changeId],
  requestBody: jsonBody(fromInput(decisionInput), true, { reason: 'The ceiling would block payroll' }),
  responses: {
    '200': ok('The change, REJECTED', schema('PolicyChange')),
    ...errors(...AUTHENTICATED, 409, ...JSON_BODY),
  },
};

export function processRequestPaths(): PathItems {
  return {
    [`${BASE}/process-request`]: { get: listAll, post: create },
    [`${BASE}/balance`]: { get: balance },
    [`${BASE}/process-requests`]: { get: page },
    [`${BASE}/process-request/{id}`]: { get: details },
    [`${BASE}/process-request/{id}/evidence/download`]: { get: download },
    [`${BASE}/process-request/{id}/approve`]: decision('approve'),
    [`${BASE}/process-request/{id}/reject`]: decision('reject'),
    [`${BASE}/process-request/{id}/cancel`]: decision('cancel'),
    [`${BASE}/process-request/{id}/reversal`]: { post: reversal },
    [`${BASE}/process-requests/approve`]: bulk('approve'),
    [`${BASE}/process-requests/reject`]: bulk('reject'),
    [`${BASE}/approval-policy`]: { get: policy, put: setPolicy },
    [`${BASE}/policy-changes`]: { get: policyChanges },
    [`${BASE}/policy-changes/{changeId}/approve`]: { post: approveChange },
    [`${BASE}/policy-changes/{changeId}/reject`]: { post: rejectChange },
  };
}
