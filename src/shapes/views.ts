// The shapes every door returns, declared once as zod schemas (as the inputs are in inputs.ts): the
// TypeScript types are inferred from them, the OpenAPI document's response schemas are generated from them
// (src/rest/openapi/schemas.ts), and the GraphQL object types must match them key for key (src/graphql/shape.ts).
// They are built once from entities; money leaves as a Decimal scaled to its currency.
import { z } from 'zod';
import type { ClientBalance } from '../entities/client-balance.entity';
import type { Operator } from '../entities/operator.entity';
import type { Partner } from '../entities/partner.entity';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { ProcessRequestStatus, type ProcessRequest } from '../entities/process-request.entity';
import { ERRORS, type ErrorCode } from '../domain/errors';
import { Decimal, formatAmount } from '../domain/money';
import type { CreateRequest } from './inputs';
import type { ProgressEvent } from './events';

/**
 * The views the OpenAPI document names as components (`#/components/schemas/<id>`); a view used inside
 * another is referenced, not repeated. Descriptions and examples are the schemas' own `.meta()`.
 */
export const components = z.registry<{ id: string }>();
const named = <S extends z.ZodType>(id: string, schema: S): S => {
  components.add(schema, { id });
  return schema;
};

/** Exact money: a Decimal, written as a JSON number by REST and as a string by GraphQL's Decimal scalar. */
export const money = named(
  'Money',
  z.instanceof(Decimal).meta({
    type: 'number',
    format: 'decimal',
    // NUMERIC(19,4): never more than 4 digits after the point (the currency's minor digits, often fewer).
    // No upper bound: the largest amount is written exactly but a double reads it as 1e15.
    multipleOf: 0.0001,
    minimum: 0,
    description:
      "An exact decimal written as a JSON number with the currency's minor digits (10000.00 for USD); never " +
      'computed through a float. The digits in the body are exact, but a JSON parser that reads numbers as ' +
      'IEEE doubles (JavaScript’s JSON.parse) keeps only about 15-17 significant digits: 999999999999998.99 ' +
      'reads as 999999999999999. To read it exactly, take the number’s source text (JSON.parse with a reviver ' +
      'reading context.source, or a lossless JSON parser) and keep it as a string or a decimal type; or use ' +
      'GraphQL, where money is a Decimal string.',
    examples: [10000.0],
  }),
);
const uuid = z.string().meta({ format: 'uuid' });
const instant = z.date().meta({ type: 'string', format: 'date-time' });
const currency = z.string().regex(/^[A-Z]{3}$/);
const status = z.enum(ProcessRequestStatus);
const eventType = z.enum(ProgressEventType);
/** A stored event id (a bigint, as text). */
const eventId = z.string().regex(/^\d+$/);

/** Codes REST can answer with: the catalogue less those only GraphQL uses. */
export const REST_ERROR_CODES = (Object.keys(ERRORS) as ErrorCode[]).filter(
  (code) => !('door' in ERRORS[code]),
);
const restErrorCode = z.enum(REST_ERROR_CODES as [ErrorCode, ...ErrorCode[]]);

export const balanceView = named(
  'Balance',
  z.strictObject({
    id: uuid,
    clientId: uuid,
    available: money,
    /** What approvals would add: the sum of PENDING top-ups (SPEC section 13). */
    pending: money.meta({ description: 'The sum of PENDING top-ups not past their deadline' }),
    currency,
    updatedAt: instant.meta({ description: 'The last credit or debit (with `at`: the last one by then)' }),
    createdAt: instant,
    /** Only for the balance at an instant (SPEC section 19). */
    at: instant.optional().meta({ description: 'Only with ?at=: the instant the balance is given for' }),
  }),
);
export type BalanceView = z.output<typeof balanceView>;

export const evidenceView = named(
  'Evidence',
  z.strictObject({
    fileName: z.string().meta({ description: 'The uploaded file name, without path or control characters' }),
    contentType: z.string().meta({ enum: ['application/pdf', 'image/jpeg', 'image/png', 'image/webp'] }),
    size: z.number().int(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
);
export type EvidenceView = z.output<typeof evidenceView>;

export const approvalView = named('Approval', z.strictObject({ operatorId: uuid, at: instant }));
export type ApprovalView = z.output<typeof approvalView>;

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
  duplicateEvidence: [],
};

/**
 * At most this many duplicate receipts are listed in `duplicateEvidence`, the oldest: a file filed thousands
 * of times would otherwise make every view of it, and every page of them, list all the others (a page of
 * 100 such requests listing 100 × thousands of ids). The first ones are enough to find the original.
 */
export const MAX_DUPLICATES_LISTED = 10;

const processRequestFields = {
  id: uuid,
  processTypeId: z
    .number()
    .int()
    .meta({ enum: [1, 2], description: '1 BALANCE_INCREASE (top-up), 2 BALANCE_REVERSAL' }),
  clientBalanceId: uuid,
  clientId: uuid,
  requestedAmount: money,
  currency,
  observations: z.string().nullable(),
  /** null for a reversal, which has no evidence. */
  evidenceUrl: z.string().meta({ format: 'uri' }).nullable().meta({
    description:
      "The blob's canonical URL (private: read it through …/evidence/download); null for a reversal",
  }),
  evidence: evidenceView.nullable(),
  status,
  createdBy: uuid,
  createdAt: instant,
  updatedAt: instant,
  reviewedBy: uuid.nullable(),
  reviewedAt: instant.nullable(),
  reviewReason: z.string().nullable(),
  cancelledBy: uuid.nullable(),
  cancelledAt: instant.nullable(),
  requiredApprovals: z.number().int().min(1),
  approvals: z.array(approvalView),
  expiresAt: instant,
  reversalOf: uuid.nullable(),
  /** SPEC section 18: the partner's other requests whose evidence has the same SHA-256. */
  duplicateEvidence: z.array(uuid).meta({
    description: `Ids of the partner's other requests whose evidence has the same SHA-256 (a reused receipt): the ${MAX_DUPLICATES_LISTED} oldest`,
  }),
  reversedBy: uuid.nullable(),
};

export const processRequestView = named(
  'ProcessRequest',
  z.strictObject(processRequestFields).meta({ examples: [PROCESS_REQUEST_EXAMPLE] }),
);
export type ProcessRequestView = z.output<typeof processRequestView>;

/** Every field a create takes is one its answer shows: forgetting it in the view fails here. */
type Missing<A, B> = Exclude<keyof A, keyof B>;
export const CREATE_FIELDS_ARE_SHOWN: [Missing<CreateRequest, ProcessRequestView>] extends [never]
  ? true
  : Missing<CreateRequest, ProcessRequestView> = true;

/** One entry of a request's history (the audit trail). */
export const historyEntryView = named(
  'HistoryEntry',
  z.strictObject({
    id: eventId,
    type: eventType,
    /** null when the service itself acted (expiry). */
    actorId: uuid.nullable().meta({ description: 'null when the service itself acted (expiry)' }),
    fromStatus: status.nullable(),
    toStatus: status.nullable(),
    reason: z.string().nullable(),
    at: instant,
  }),
);
export type HistoryEntryView = z.output<typeof historyEntryView>;

export const processRequestDetailsView = named(
  'ProcessRequestDetails',
  z.strictObject({
    ...processRequestFields,
    history: z.array(historyEntryView).meta({ description: 'Its stored events, oldest first' }),
  }),
);

export const processRequestPageView = named(
  'ProcessRequestPage',
  z.strictObject({
    items: z.array(processRequestView),
    page: z.number().int().min(1),
    limit: z.number().int().min(1).max(100),
    total: z.number().int().min(0),
    totalPages: z.number().int().min(0),
  }),
);
export type ProcessRequestPageView = z.output<typeof processRequestPageView>;

export const downloadLinkView = named(
  'DownloadLink',
  z.strictObject({
    url: z.string().meta({ format: 'uri', description: 'A read-only SAS URL for the one blob' }),
    expiresAt: instant,
  }),
);
export type DownloadLinkView = z.output<typeof downloadLinkView>;

/** A REST bulk decision's answer: one result per id, in the order given. */
export const bulkResultsView = named(
  'BulkResults',
  z.strictObject({
    results: z.array(
      z.strictObject({
        id: z.string().meta({ description: 'The id as given (JSON text for a value that is not a string)' }),
        statusCode: z.number().int().meta({ description: "The single call's status: 204 when decided" }),
        code: restErrorCode.optional(),
      }),
    ),
  }),
);
export type BulkResultsView = z.output<typeof bulkResultsView>;

/** A policy tier: a request of amount >= from (up to the next tier) needs `approvals` approvals. */
export const tierView = z.strictObject({
  from: z.string().meta({ examples: ['0'] }),
  approvals: z.number().int(),
});
export type TierView = z.output<typeof tierView>;

/** A cap of a policy (SPEC section 18): a decimal string in the partner's currency, or null for none. */
const capView = z.string().nullable();

/** The controls of SPEC section 18 a policy holds beside its tiers. */
const controlFields = {
  dailyCreditLimit: capView.meta({ description: 'Total credited to the partner per UTC day; null: none' }),
  maxBalance: capView.meta({ description: 'The highest balance a credit may leave; null: none' }),
  requireAmountConfirmation: z.boolean(),
  requireEvidenceViewed: z.boolean(),
  rejectReasonRequired: z.boolean(),
  refuseDuplicateEvidence: z.boolean(),
};

/** A policy as it was or became. */
export const policyStateView = z.strictObject({
  tiers: z.array(tierView),
  pendingTtlSeconds: z.number().int(),
  ...controlFields,
});
export type PolicyStateView = z.output<typeof policyStateView>;

/**
 * What a pending change would have done over the partner's last 90 days (SPEC section 18), computed in SQL:
 * the requests filed then that would have needed more or fewer approvals under the new tiers, and the
 * top-ups approved then that the new caps would have refused (each judged alone, on the figures of its day).
 */
export const policyImpactView = z.strictObject({
  since: instant,
  requests: z.number().int(),
  moreApprovals: z.number().int(),
  fewerApprovals: z.number().int(),
  approvals: z.number().int(),
  refusedByDailyCreditLimit: z.number().int(),
  refusedByMaxBalance: z.number().int(),
});
export type PolicyImpactView = z.output<typeof policyImpactView>;

export const policyChangeStatus = z.enum(['PENDING', 'APPLIED', 'REJECTED', 'EXPIRED']);

/** One policy change: the history's entries and the pending changes alike (SPEC section 18). */
export const policyChangeView = named(
  'PolicyChange',
  z.strictObject({
    id: z.string(),
    clientId: uuid,
    /** The requester (as requestedBy); null: changed with the CLI. */
    actorId: uuid.nullable(),
    requestedBy: uuid.nullable().meta({ description: 'null: changed with the CLI' }),
    at: instant,
    createdAt: instant,
    before: policyStateView,
    after: policyStateView,
    status: policyChangeStatus,
    decidedBy: uuid
      .nullable()
      .meta({ description: 'The second ADMIN; null while pending, expired, or for the CLI' }),
    reason: z.string().nullable(),
    decidedAt: instant.nullable(),
    expiresAt: instant.nullable().meta({ description: "A pending change's deadline (7 days)" }),
    impact: policyImpactView.nullable().meta({ description: 'On a PENDING change: what it would have done' }),
  }),
);
export type PolicyChangeView = z.output<typeof policyChangeView>;

export const policyView = named(
  'ApprovalPolicy',
  z.strictObject({
    clientId: uuid,
    tiers: z.array(tierView),
    pendingTtlSeconds: z.number().int(),
    ...controlFields,
    updatedAt: instant.meta({
      description: 'The epoch (1970-01-01T00:00:00.000Z) for a policy never changed',
    }),
    updatedBy: uuid.nullable().meta({ description: 'null: the default, or a change made with the CLI' }),
    /** One page of its changes, the last applied first (the latest 10 unless asked otherwise). */
    history: z.array(policyChangeView).meta({
      description:
        'One page of the changes, the last applied first: the latest 10 unless historyPage / historyLimit ask otherwise',
    }),
    /** How many changes there are in all. */
    historyTotal: z.number().int().min(0).meta({ description: 'How many changes there are in all' }),
    pendingChange: policyChangeView
      .nullable()
      .meta({ description: 'The change waiting for a second ADMIN (SPEC section 18), with its impact' }),
  }),
);
export type PolicyView = z.output<typeof policyView>;

/** A progress event as SSE and the subscription deliver it (SPEC section 7). */
export const progressEventView = named(
  'ProgressEvent',
  z
    .strictObject({
      id: eventId.nullable().meta({ description: 'null for EVIDENCE_UPLOADING (not stored)' }),
      clientId: uuid,
      processRequestId: uuid,
      type: eventType,
      status: status.nullable(),
      percent: z.number().int().min(0).max(100).optional(),
      available: money.optional(),
      code: z.string().optional(),
      /** With APPROVAL_RECORDED: the approvals so far and how many the request needs. */
      approvals: z.number().int().optional(),
      requiredApprovals: z.number().int().optional(),
      at: instant,
    })
    .meta({ description: "The JSON of an SSE frame's `data:` line" }),
);
export type ProgressEventView = z.output<typeof progressEventView>;

export const partnerView = z.strictObject({ id: uuid, name: z.string(), currency, createdAt: instant });
export type PartnerView = z.output<typeof partnerView>;

/**
 * An operator as others see them (SPEC section 14): who filed, approved, rejected, cancelled or changed
 * something. Never their roles, scope or OTP settings: those are for the operator themselves (OperatorView).
 */
export const personView = z.strictObject({ id: uuid, name: z.string(), email: z.string() });
export type PersonView = z.output<typeof personView>;

/** The operator acting through a call, as they see themselves. */
export const operatorView = z.strictObject({
  id: uuid,
  email: z.string(),
  name: z.string(),
  roles: z.array(z.string()),
  partnerIds: z.array(uuid).nullable(),
  otpRequired: z.boolean(),
  active: z.boolean(),
});
export type OperatorView = z.output<typeof operatorView>;

/** Every REST error (SPEC section 9); src/http/middleware.ts writes it. */
export const errorView = named(
  'Error',
  z
    .strictObject({
      statusCode: z.number().int().meta({ description: 'The HTTP status, repeated' }),
      code: restErrorCode,
      message: z.string(),
      requestId: z.string().meta({
        description:
          'The request id, also sent as the X-Request-Id header; the log lines of the request carry it',
      }),
      details: z
        .record(z.string(), z.unknown())
        .optional()
        .meta({
          description:
            'Validation errors: the field (`{"field":"requestedAmount"}`); stream limits: the limit; 401: which ' +
            'credential (`token`: app, user or ticket; `header`) and why (`reason`: missing, malformed, expired, ' +
            'not_yet_valid, bad_signature, wrong_issuer, wrong_audience, unknown_subject, or unknown for a ticket)',
        }),
      retryAfter: z.number().int().optional().meta({
        description:
          'With every 429 and 503: seconds until trying again can succeed (also the Retry-After header)',
      }),
    })
    .meta({
      examples: [
        {
          statusCode: 409,
          code: 'PROCESS_REQUEST_NOT_PENDING',
          message: 'The process request is not pending',
          requestId: '7921115b-2c1f-4f0e-9d55-8f0b3b2f8a61',
        },
      ],
    }),
);

/** A one-use progress stream ticket (SPEC section 20), for EventSource. */
export const streamTicketView = named(
  'StreamTicket',
  z.strictObject({
    ticket: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/)
      .meta({ description: 'Pass it as ?ticket= to GET …/process-request/progress, once' }),
    expiresAt: instant.meta({ description: 'Unused after this moment, it opens nothing' }),
  }),
);
export type StreamTicketView = z.output<typeof streamTicketView>;

export const healthView = named('Health', z.strictObject({ status: z.literal('ok') }));
export const readinessView = named(
  'Readiness',
  z.strictObject({
    status: z.enum(['ready', 'unavailable']),
    database: z.enum(['up', 'down']),
    storage: z.enum(['up', 'down']),
  }),
);

/** `pending`: the NUMERIC sum of the partner's PENDING top-ups. */
export function toBalanceView(
  b: Pick<ClientBalance, 'id' | 'partnerId' | 'available' | 'currency' | 'updatedAt' | 'createdAt'>,
  pending: string,
): BalanceView {
  return {
    id: b.id,
    clientId: b.partnerId,
    available: formatAmount(b.available, b.currency),
    pending: formatAmount(pending, b.currency),
    currency: b.currency,
    updatedAt: b.updatedAt,
    createdAt: b.createdAt,
  };
}

/** `approvals`: the request's recorded approvals, oldest first (none for a request just filed). */
export function toProcessRequestView(
  pr: ProcessRequest,
  approvals: ApprovalView[] = [],
  duplicateEvidence: string[] = [],
): ProcessRequestView {
  return {
    id: pr.id,
    processTypeId: pr.processTypeId,
    clientBalanceId: pr.clientBalanceId,
    clientId: pr.partnerId,
    requestedAmount: formatAmount(pr.requestedAmount, pr.currency),
    currency: pr.currency,
    observations: pr.observations ?? null,
    evidenceUrl: pr.evidenceUrl ?? null,
    evidence: pr.evidence
      ? {
          fileName: pr.evidence.fileName,
          contentType: pr.evidence.contentType,
          size: pr.evidence.size,
          sha256: pr.evidence.sha256,
        }
      : null,
    status: pr.status,
    createdBy: pr.createdBy,
    createdAt: pr.createdAt,
    updatedAt: pr.updatedAt,
    reviewedBy: pr.reviewedBy ?? null,
    reviewedAt: pr.reviewedAt ?? null,
    reviewReason: pr.reviewReason ?? null,
    cancelledBy: pr.cancelledBy ?? null,
    cancelledAt: pr.cancelledAt ?? null,
    requiredApprovals: pr.requiredApprovals,
    approvals,
    expiresAt: pr.expiresAt,
    reversalOf: pr.reversalOf ?? null,
    reversedBy: pr.reversedBy ?? null,
    duplicateEvidence,
  };
}

export function toHistoryEntryView(e: ProgressEvent): HistoryEntryView {
  return {
    id: e.id as string,
    type: e.type,
    actorId: e.actorId,
    fromStatus: e.fromStatus,
    toStatus: e.toStatus,
    reason: e.data.reason ?? null,
    at: new Date(e.at),
  };
}

/** An event as SSE and the subscription deliver it; `currency` scales the balance it may carry. */
export function toProgressEventView(e: ProgressEvent, currency: string): ProgressEventView {
  const view: ProgressEventView = {
    id: e.id,
    clientId: e.partnerId,
    processRequestId: e.processRequestId,
    type: e.type,
    status: e.toStatus ?? e.fromStatus,
    at: new Date(e.at),
  };
  if (typeof e.data.percent === 'number') view.percent = e.data.percent;
  if (typeof e.data.available === 'string') view.available = formatAmount(e.data.available, currency);
  if (typeof e.data.code === 'string') view.code = e.data.code;
  if (typeof e.data.approvals === 'number') view.approvals = e.data.approvals;
  if (typeof e.data.requiredApprovals === 'number') view.requiredApprovals = e.data.requiredApprovals;
  return view;
}

export function toPartnerView(p: Partner, b: ClientBalance): PartnerView {
  return { id: p.id, name: p.name, currency: b.currency, createdAt: p.createdAt };
}

export function toOperatorView(o: Operator): OperatorView {
  return {
    id: o.id,
    email: o.email,
    name: o.name,
    roles: [...o.roles],
    partnerIds: o.partnerIds ? [...o.partnerIds] : null,
    otpRequired: o.otpRequired,
    active: o.active,
  };
}

/** A movement of money: as Money, but a debit is negative. */
export const signedMoney = named(
  'SignedMoney',
  z.instanceof(Decimal).meta({
    type: 'number',
    format: 'decimal',
    multipleOf: 0.0001,
    description: 'As Money, with a sign: positive for a credit, negative for a debit (-100.00)',
    examples: [-100.0],
  }),
);

/** One ledger entry on a statement (SPEC section 19): a credit is positive, a debit (a reversal) negative. */
export const statementEntryView = named(
  'StatementEntry',
  z.strictObject({
    at: instant.meta({ description: 'When the entry was booked (UTC)' }),
    amount: signedMoney,
    balanceAfter: money.meta({ description: 'The running balance after this entry' }),
    processRequestId: uuid,
    processTypeId: z
      .number()
      .int()
      .meta({ enum: [1, 2] }),
    direction: z.enum(['CREDIT', 'DEBIT']),
  }),
);
export type StatementEntryView = z.output<typeof statementEntryView>;

const statementHeaderFields = {
  clientId: uuid,
  currency,
  from: z.string().meta({ format: 'date', description: 'The first day (UTC)' }),
  to: z.string().meta({ format: 'date', description: 'The last day (UTC), included' }),
  openingBalance: money.meta({ description: 'The balance at the start of `from`' }),
  closingBalance: money.meta({ description: 'The balance at the end of `to`' }),
};
/** A statement without its entries: opening + Σ entries = closing. */
export type StatementHeaderView = z.output<z.ZodObject<typeof statementHeaderFields>>;

export const statementView = named(
  'Statement',
  z
    .strictObject({
      ...statementHeaderFields,
      entries: z.array(statementEntryView).meta({ description: 'Oldest first' }),
    })
    .meta({ description: 'openingBalance + the sum of the entries = closingBalance' }),
);
export type StatementView = z.output<typeof statementView>;

/** The totals camt.053 summarises (TxsSummry): how many credits and debits, and their sums (unsigned). */
export interface StatementTotalsView {
  credits: { count: number; sum: Decimal };
  debits: { count: number; sum: Decimal };
}

/** One stored history event as the events export writes it: who did what, when. */
export interface EventExportView {
  id: string;
  at: Date;
  processRequestId: string;
  type: ProgressEventType;
  actorId: string | null;
  actorName: string | null;
  actorEmail: string | null;
  fromStatus: ProcessRequestStatus | null;
  toStatus: ProcessRequestStatus | null;
  reason: string | null;
}
