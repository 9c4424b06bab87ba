// The one catalogue of errors. Every door maps these to its own wire format with the same `code`; the
// catalogue of docs/api.md lists every one of them (a test keeps the two equal). `door: 'graphql'` marks the
// codes only GraphQL answers with (over HTTP or graphql-ws); REST's OpenAPI document lists the others.
import { classifyFailure, type Failure } from '../infra/failures';

export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid' },
  INVALID_ID: { status: 400, message: 'The identifier is not a valid UUID' },
  MALFORMED_MULTIPART: { status: 400, message: 'The multipart body is malformed' },
  EVIDENCE_REQUIRED: { status: 400, message: 'Exactly one file part named "evidence" is required' },
  UNEXPECTED_FILE: { status: 400, message: 'Only one file part named "evidence" is accepted' },
  MALFORMED_JSON: { status: 400, message: 'The body is not valid JSON' },
  MALFORMED_REQUEST: { status: 400, message: 'The HTTP request is malformed' },
  WEBHOOK_URL_FORBIDDEN: {
    status: 400,
    message: 'The webhook URL must be https and resolve only to public addresses',
  },
  GRAPHQL_PARSE_FAILED: { status: 400, message: 'The GraphQL document could not be parsed', door: 'graphql' },
  GRAPHQL_VALIDATION_FAILED: {
    status: 400,
    message: 'The GraphQL operation is not valid against the schema',
    door: 'graphql',
  },
  BAD_USER_INPUT: {
    status: 400,
    message: 'A GraphQL variable or argument has the wrong type',
    door: 'graphql',
  },
  OPERATION_RESOLUTION_FAILURE: {
    status: 400,
    message: 'The GraphQL operation to run could not be determined',
    door: 'graphql',
  },
  QUERY_TOO_DEEP: { status: 400, message: 'The GraphQL operation is nested too deeply', door: 'graphql' },
  QUERY_TOO_LARGE: {
    status: 400,
    message: 'The GraphQL document or its variables are too large',
    door: 'graphql',
  },
  QUERY_TOO_COMPLEX: {
    status: 400,
    message: 'The GraphQL operation has too many fields, aliases or directives, or may return too much',
    door: 'graphql',
  },
  BAD_REQUEST: { status: 400, message: 'The GraphQL request is malformed', door: 'graphql' },
  PERSISTED_QUERY_NOT_FOUND: {
    status: 400,
    message: 'The persisted query is not known; send the full query',
    door: 'graphql',
  },
  PERSISTED_QUERY_NOT_SUPPORTED: {
    status: 400,
    message: 'Persisted queries are not supported',
    door: 'graphql',
  },
  UNAUTHENTICATED: { status: 401, message: 'Valid application and user tokens are required' },
  FORBIDDEN: { status: 403, message: 'The operator lacks the permission for this action' },
  OPERATOR_INACTIVE: { status: 403, message: 'The operator is inactive' },
  PARTNER_FORBIDDEN: { status: 403, message: 'The partner is outside the operator scope' },
  SELF_REVIEW_FORBIDDEN: { status: 403, message: 'The creator of a request cannot review it' },
  OTP_REQUIRED: { status: 403, message: 'A one-time password is required for this operator' },
  OTP_INVALID: { status: 403, message: 'The one-time password is not valid' },
  REASON_REQUIRED: { status: 400, message: 'A reason is required' },
  APPROVAL_LIMIT_EXCEEDED: { status: 403, message: "The amount is above the operator's approval limit" },
  AMOUNT_CONFIRMATION_REQUIRED: {
    status: 400,
    message: "The partner's policy requires confirmAmount, the request's amount re-keyed",
  },
  DAILY_LIMIT_EXCEEDED: {
    status: 403,
    message: "The approval would take the operator's approved total of the UTC day above their daily limit",
  },
  NOT_FOUND: { status: 404, message: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'The method is not allowed on this route' },
  PROCESS_REQUEST_NOT_PENDING: { status: 409, message: 'The process request is not pending' },
  ALREADY_APPROVED_BY_OPERATOR: { status: 409, message: 'The operator has already approved this request' },
  PROCESS_REQUEST_NOT_APPROVED: { status: 409, message: 'Only an approved top-up can be reversed' },
  REVERSAL_EXISTS: { status: 409, message: 'The request already has a pending or approved reversal' },
  INSUFFICIENT_BALANCE: { status: 409, message: 'The balance is lower than the amount to debit' },
  AMOUNT_CONFIRMATION_MISMATCH: { status: 409, message: "confirmAmount differs from the request's amount" },
  EVIDENCE_NOT_VIEWED: {
    status: 409,
    message: 'The approver has not opened the evidence (no download link was issued to them)',
  },
  DAILY_CREDIT_LIMIT_EXCEEDED: {
    status: 409,
    message:
      "The credit would take the partner's credited total of the UTC day above the policy's dailyCreditLimit",
  },
  BALANCE_CEILING_EXCEEDED: {
    status: 409,
    message: "The credit would take the balance above the policy's maxBalance",
  },
  CHANGE_PENDING: { status: 409, message: 'The partner already has a pending policy change' },
  CHANGE_NOT_PENDING: {
    status: 409,
    message: 'The policy change is no longer pending (applied, rejected or expired)',
  },
  DUPLICATE_EVIDENCE: {
    status: 409,
    message:
      "The evidence is the same file as another of the partner's requests (the policy refuses duplicates)",
  },
  IDEMPOTENCY_KEY_REUSED: { status: 409, message: 'The idempotency key was used with a different request' },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    message: 'A request with this idempotency key is still in progress',
  },
  BALANCE_LIMIT_EXCEEDED: { status: 409, message: 'The balance would exceed the largest amount it can hold' },
  EVIDENCE_TOO_LARGE: { status: 413, message: 'The evidence file is larger than 10 MiB' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request took too long to arrive' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  UNSUPPORTED_EVIDENCE_TYPE: { status: 415, message: 'The evidence must be a PDF, JPEG, PNG or WEBP file' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request content type is not supported' },
  OTP_LOCKED: { status: 429, message: 'Too many wrong one-time passwords; try again later', retryAfter: 60 },
  TOO_MANY_OPERATIONS: {
    status: 429,
    message: 'The operator has too many calls in flight; retry shortly',
    retryAfter: 1,
  },
  TOO_MANY_OPERATOR_STREAMS: {
    status: 429,
    message: 'The operator already holds as many progress streams as allowed; close one first',
    retryAfter: 5,
  },
  TOO_MANY_SUBSCRIPTIONS: {
    status: 429,
    message: 'This WebSocket connection carries as many subscriptions as allowed; complete one first',
    door: 'graphql',
    retryAfter: 5,
  },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  INTERNAL_ERROR: { status: 500, message: 'An unexpected error occurred' },
  SERVICE_UNAVAILABLE: {
    status: 503,
    message: 'A dependency is unavailable; try again shortly',
    retryAfter: 1,
  },
  TOO_MANY_STREAMS: {
    status: 503,
    message: 'Too many open progress streams; try again shortly',
    retryAfter: 5,
  },
  PROGRESS_STREAM_OVERFLOW: {
    status: 503,
    message: 'The client fell too far behind the progress stream; reconnect to resume',
    door: 'graphql',
    retryAfter: 1,
  },
} as const satisfies Record<
  string,
  // retryAfter: whole seconds a caller is told to wait (Retry-After); every 429 and 503 has one.
  { status: number; message: string; door?: 'graphql'; retryAfter?: number }
>;

export type ErrorCode = keyof typeof ERRORS;

export interface DomainErrorOptions {
  /** Whole seconds until trying again can succeed: REST's Retry-After header, GraphQL's extensions.retryAfter. */
  retryAfterSeconds?: number;
}

export class DomainError extends Error {
  readonly status: number;
  readonly retryAfterSeconds?: number;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: Record<string, unknown>,
    options: DomainErrorOptions = {},
  ) {
    super(message ?? ERRORS[code].message);
    this.name = 'DomainError';
    this.status = ERRORS[code].status;
    const entry = ERRORS[code];
    this.retryAfterSeconds =
      options.retryAfterSeconds ?? ('retryAfter' in entry ? entry.retryAfter : undefined);
  }
}

/** What each kind of dependency failure means to a caller. */
const FAILURE_CODES: Record<Failure, ErrorCode> = {
  unavailable: 'SERVICE_UNAVAILABLE',
  'numeric-out-of-range': 'BALANCE_LIMIT_EXCEEDED',
  'check-violation': 'INTERNAL_ERROR',
  'unique-violation': 'INTERNAL_ERROR',
  'bad-value': 'VALIDATION_FAILED',
};

/** What a caller is told of a 'bad-value' failure (which value is not known here: no field is named). */
const FAILURE_MESSAGES: Partial<Record<Failure, string>> = {
  'bad-value': 'A value is too long or holds a character that cannot be stored',
};

/**
 * Turns any thrown value into a DomainError: domain errors pass through, a dependency failure becomes
 * what it means (a database or storage that is down is 503, a value it cannot hold is 400), everything
 * else is a 500.
 */
export function toDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const failure = classifyFailure(error);
  return failure
    ? new DomainError(FAILURE_CODES[failure], FAILURE_MESSAGES[failure])
    : new DomainError('INTERNAL_ERROR');
}
