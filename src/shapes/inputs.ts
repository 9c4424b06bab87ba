// Every input the service accepts, declared once. A door parses what it received with these (parseInput)
// and hands the service the typed result; no rule about the shape of an input is written anywhere else.
import { z } from 'zod';
import { Role } from '../entities/operator.entity';
import { ProcessRequestStatus } from '../entities/process-request.entity';
import { PolicyChangeStatus } from '../entities/approval-policy-change.entity';
import {
  BALANCE_INCREASE_PROCESS_TYPE_ID,
  BALANCE_REVERSAL_PROCESS_TYPE_ID,
} from '../entities/process-type.entity';
import { DomainError, type ErrorCode } from '../domain/errors';
import { compareDecimals, isCurrency } from '../domain/money';
import { normaliseSubject } from '../domain/subject';

export const MAX_OBSERVATIONS_LENGTH = 2000;
export const MAX_REASON_LENGTH = 500;
export const MAX_PAGE = 1_000_000;
export const MAX_PAGE_LIMIT = 100;
export const DEFAULT_PAGE_LIMIT = 10;
/** Largest amount a request may ask for: 999,999,999,999,999 (whole units). */
export const MAX_AMOUNT_INTEGER_DIGITS = 15;
/** PostgreSQL bigint: the largest stored event id there can be. */
const MAX_EVENT_ID = 9223372036854775807n;

/**
 * Parses a value with its declaration; the first problem becomes a 400 naming the field (`name` names
 * a bare value, such as a path parameter).
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, name?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = [name, ...issue.path.map(String)].filter(Boolean).join('.');
  const code = (issue as { params?: { code?: ErrorCode } }).params?.code ?? 'VALIDATION_FAILED';
  throw new DomainError(
    code,
    field ? `${field} ${issue.message}` : issue.message,
    field ? { field } : undefined,
  );
}

const absent = (v: unknown) => v === undefined || v === null || v === '';
/** Treats null and '' like a missing value, as forms and JSON bodies send them. */
export const optional = <S extends z.ZodType>(schema: S) =>
  z.preprocess((v) => (absent(v) ? undefined : v), schema.optional());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const id = z
  .custom<string>((v) => typeof v === 'string' && UUID.test(v), {
    error: 'must be a UUID',
    params: { code: 'INVALID_ID' },
  })
  .meta({ type: 'string', format: 'uuid' })
  .transform((v) => v.toLowerCase());

/** Free text: a string of at most `max` characters (code points), without NUL; absent → null. */
export const text = (max: number) =>
  optional(
    z
      .string({ error: 'must be a string' })
      // JSON Schema's maxLength counts code points too: what the refinement below checks.
      .meta({ maxLength: max })
      .refine((s) => [...s].length <= max, `must be at most ${max} characters`)
      .refine((s) => !s.includes('\u0000'), 'must not contain NUL'),
  ).transform((v) => v ?? null);

/**
 * A one-time password as sent. Its format is judged by the OTP check itself (a malformed code is a
 * counted wrong attempt, SPEC section 6), so anything but a string reaches it as a code that cannot match.
 */
export const otp = z
  .unknown()
  // What a caller should send, for the OpenAPI document; anything else is judged (and counted) as a wrong code.
  .meta({ type: 'string', pattern: '^[0-9]{6}$', description: 'The 6-digit TOTP code (SPEC section 6)' })
  .optional()
  .transform((v) => (absent(v) ? undefined : typeof v === 'string' ? v : '?'));

/** The amounts NUMERIC(19,4) holds: at most 15 digits before the point (amounts and tier bounds alike). */
const BELOW_CEILING = [
  (s: string) => s.split('.')[0].length <= MAX_AMOUNT_INTEGER_DIGITS,
  'must be below 1000000000000000 (at most 15 digits before the point)',
] as const;

/**
 * A requested amount: a plain positive decimal ("10000", "250.50"), at most 15 integer digits, returned
 * without leading zeros. The currency's minor digits are checked where the currency is known (money.ts).
 */
export const amount = z
  .string({ error: (issue) => (absent(issue.input) ? 'is required' : 'must be a decimal string') })
  .refine((s) => s !== '', 'is required')
  .regex(/^\d+(\.\d+)?$/, 'must be a plain positive decimal such as 10000 or 10000.50')
  .transform((s) => s.replace(/^0+(?=\d)/, ''))
  .refine(...BELOW_CEILING)
  .refine((s) => /[1-9]/.test(s), 'must be greater than zero');

/** An integer from 1 to max, given as a number (GraphQL) or digits (a query string); absent → fallback. */
export const positiveInt = (max: number, fallback: number) =>
  optional(
    z.union(
      [
        z.number(),
        z
          .string()
          .regex(/^\d{1,9}$/)
          .transform(Number),
      ],
      {
        error: `must be an integer from 1 to ${max}`,
      },
    ),
  )
    .refine((n) => n === undefined || (Number.isInteger(n) && n >= 1 && n <= max), {
      message: `must be an integer from 1 to ${max}`,
    })
    .transform((n) => n ?? fallback);

const STATUSES = Object.values(ProcessRequestStatus) as string[];

/** One status, a comma list (REST) or a list (GraphQL), case-insensitive; absent → every status. */
const statuses = optional(
  z
    .union([z.string().transform((s) => s.split(',')), z.array(z.string())], {
      error: `must be one or more of ${STATUSES.join(', ')}`,
    })
    .transform((list) => [...new Set(list.map((s) => s.trim().toUpperCase()))])
    .refine((list) => list.length > 0 && list.every((s) => STATUSES.includes(s)), {
      message: `must be one or more of ${STATUSES.join(', ')}`,
    })
    .transform((list) => list as ProcessRequestStatus[]),
);

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|([+-])(\d{2}):(\d{2}))$/;

const leapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A real calendar day of the years 1–9999 (no 30 February, no 29 February of 2026, no year 0). */
function realDay(year: number, month: number, day: number): boolean {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  return day <= DAYS_IN_MONTH[month - 1] + (month === 2 && leapYear(year) ? 1 : 0);
}

/**
 * An instant from a date-time of a real day: hours 00–23 (no 24:00), no leap second, an offset of at
 * most ±23:59 (RFC 3339). Stored times have millisecond precision, so digits past the millisecond
 * round the bound inwards: `from` up, `to` down; the rows selected are exactly those the text names.
 */
function instant(s: string, end: 'from' | 'to'): Date | undefined {
  const m = DATE_TIME.exec(s);
  if (!m || !realDay(Number(m[1]), Number(m[2]), Number(m[3]))) return undefined;
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return undefined;
  const fraction = (m[7] ?? '').padEnd(6, '0');
  const offsetMinutes =
    m[9] === undefined ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(hour, minute - offsetMinutes, second, Number(fraction.slice(0, 3)));
  if (end === 'from' && Number(fraction.slice(3)) > 0) d.setTime(d.getTime() + 1);
  return d;
}

function parseBound(s: string, end: 'from' | 'to'): Date | undefined {
  const m = DATE.exec(s);
  if (!m) return instant(s, end);
  if (!realDay(Number(m[1]), Number(m[2]), Number(m[3]))) return undefined;
  return instant(`${s}T${end === 'from' ? '00:00:00.000' : '23:59:59.999'}Z`, end);
}

/**
 * A bound on createdAt: an ISO date or date-time of the years 1–9999 (RFC 3339, with its offset).
 * `from` starts at the instant (or the day's start); `to` ends at the instant, or includes the whole
 * day of a date. An offset may carry the instant just outside those years; the query handles it.
 */
export const bound = (end: 'from' | 'to') =>
  optional(
    z.string({ error: 'must be an ISO 8601 date or date-time' }).transform((s, ctx) => {
      const d = parseBound(s, end);
      if (d) return d;
      ctx.addIssue({
        code: 'custom',
        message: 'must be a real ISO 8601 date (YYYY-MM-DD) or date-time with a zone, in the years 1-9999',
      });
      return z.NEVER;
    }),
  );

const PROCESS_TYPE_IDS = [BALANCE_INCREASE_PROCESS_TYPE_ID, BALANCE_REVERSAL_PROCESS_TYPE_ID];

/** 1 (top-up) or 2 (reversal), as a number (GraphQL) or digits (a query string). */
const processTypeId = optional(
  z.union(
    [
      z.number(),
      z
        .string()
        .regex(/^\d{1,3}$/)
        .transform(Number),
    ],
    {
      error: `must be one of ${PROCESS_TYPE_IDS.join(', ')}`,
    },
  ),
).refine((n) => n === undefined || PROCESS_TYPE_IDS.includes(n), {
  message: `must be one of ${PROCESS_TYPE_IDS.join(', ')}`,
});

export const listFilters = z.object({
  status: statuses,
  from: bound('from'),
  to: bound('to'),
  processTypeId,
});
export type ListFilters = z.output<typeof listFilters>;

export const pageQuery = listFilters.extend({
  page: positiveInt(MAX_PAGE, 1),
  limit: positiveInt(MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT),
});
export type PageQuery = z.output<typeof pageQuery>;

/** One page of a policy's history (newest first): `historyPage` ≥ 1, 1 ≤ `historyLimit` ≤ 100, 10 by default. */
export const policyHistoryQuery = z.object({
  historyPage: positiveInt(MAX_PAGE, 1),
  historyLimit: positiveInt(MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT),
});
export type PolicyHistoryQuery = z.output<typeof policyHistoryQuery>;

/**
 * A page as the checker console asks for it (GraphQL only): besides the list filters, only what this
 * operator may approve now, an amount range (inclusive), and the oldest first.
 */
export const inboxQuery = pageQuery.extend({
  decidableByMe: z.boolean().optional(),
  minAmount: amount.optional(),
  maxAmount: amount.optional(),
  oldestFirst: z.boolean().optional(),
});
export type InboxQuery = z.output<typeof inboxQuery>;

/**
 * What a request is made of when it is filed: the one declaration of a create's fields. A field added
 * here is read by both doors (the REST multipart form accepts exactly these fields and `otp`; GraphQL's
 * input type must match, src/resolvers/create-process-request.input.ts), is part of the idempotency
 * fingerprint (src/services/idempotency.service.ts), must be shown by the request's view (views.ts) and
 * must be decided for reversals (src/sql/reversal.ts); the compiler or a test fails until each is done.
 */
export const createRequest = z.object({
  requestedAmount: amount,
  observations: text(MAX_OBSERVATIONS_LENGTH),
});
export type CreateRequest = z.output<typeof createRequest>;

/** The text fields of a create, whichever door they came through: the request and the OTP that elevates it. */
export const createFields = createRequest.extend({ otp });
export type CreateFields = z.output<typeof createFields>;

/**
 * Why a decision or a reversal was made: free text of at most 500 characters. Only blanks is no reason
 * (null), so a reason that is required cannot be given as spaces.
 */
const reason = text(MAX_REASON_LENGTH).transform((v) => (v !== null && v.trim() === '' ? null : v));

/**
 * The approver's re-keyed amount (SPEC section 18): a plain decimal, compared with the request's amount as
 * a number (1234.5 equals 1234.50); absent or null: none given.
 */
export const confirmAmount = optional(
  z
    .string({ error: 'must be a decimal string such as "1234.50"' })
    .regex(/^\d+(\.\d+)?$/, 'must be a plain decimal such as "1234.50"')
    .refine(...BELOW_CEILING),
).transform((v) => v ?? null);

/** The optional body of approve, reject and cancel (confirmAmount is read by approve only). */
export const decisionInput = z.object({ reason, otp, confirmAmount });
export type DecisionInput = z.output<typeof decisionInput>;

export const MAX_BULK_IDS = 100;

const bulkList = (what: string) =>
  optional(
    z
      .array(z.unknown(), { error: `must be a list of 1-${MAX_BULK_IDS} ${what}` })
      .min(1, `must be a list of 1-${MAX_BULK_IDS} ${what}`)
      .max(MAX_BULK_IDS, `must be a list of 1-${MAX_BULK_IDS} ${what}`),
  );

/** One item of a bulk approval: the request and the amount re-keyed for it (SPEC section 18). */
export const bulkItem = z.object(
  { id: z.unknown(), confirmAmount },
  { error: 'must be an object { id, confirmAmount }' },
);

/**
 * A bulk decision: 1-100 ids, or (approve) 1-100 items `{ id, confirmAmount }` in place of ids (each judged
 * on its own, so a string that is not a UUID is that item's 400), with the reason and OTP that cover them all.
 */
export const bulkDecisionInput = z
  .object({
    // Every item is read before any is decided: one that is not even a string or a number (an object, a
    // list nested thousands deep) makes the whole body 400, and nothing is decided.
    ids: optional(
      z
        .array(z.union([z.string(), z.number()], { error: 'must be an id (a string)' }), {
          error: `must be a list of 1-${MAX_BULK_IDS} ids`,
        })
        .min(1, `must be a list of 1-${MAX_BULK_IDS} ids`)
        .max(MAX_BULK_IDS, `must be a list of 1-${MAX_BULK_IDS} ids`),
    ),
    items: bulkList('items'),
    reason,
    otp,
  })
  .refine((v) => (v.ids === undefined) !== (v.items === undefined), {
    message: `must give either ids or items (a list of 1-${MAX_BULK_IDS})`,
    path: ['ids'],
  });
export type BulkDecisionInput = z.output<typeof bulkDecisionInput>;

/** Filing a reversal: why is required. */
export const reversalInput = z.object({
  reason: reason.refine((v) => v !== null, 'is required').transform((v) => v as string),
  otp,
});
export type ReversalInput = z.output<typeof reversalInput>;

/** A policy tier's lower bound: a plain decimal ≥ 0 (the currency's digits are checked with the partner). */
const tierFrom = z
  .string({ error: 'must be a decimal string such as "50000"' })
  .regex(/^\d+(\.\d+)?$/, 'must be a decimal string such as "50000"')
  .transform((v) => v.replace(/^0+(?=\d)/, ''))
  .refine(...BELOW_CEILING);

export const MAX_TIERS = 10;
export const MAX_APPROVALS = 5;
/** One year: a request waits at most this long. */
export const MAX_PENDING_TTL_SECONDS = 365 * 24 * 3600;

/** A cap of a policy: a decimal string ≥ 0, or null for none; absent: as in force. */
const cap = z
  .union([z.null(), tierFrom], { error: 'must be a decimal string such as "100000", or null' })
  .optional();
const flag = z.boolean({ error: 'must be true or false' }).optional();

/**
 * An approval policy (SPEC section 12): tiers sorted by `from`, the first from "0", each needing 1-5
 * approvals, never fewer for a larger amount; how long a request may stay PENDING (section 13).
 */
export const policyInput = z.object({
  tiers: z
    .array(
      z.object({
        from: tierFrom,
        approvals: z
          .number({ error: `must be an integer from 1 to ${MAX_APPROVALS}` })
          .int(`must be an integer from 1 to ${MAX_APPROVALS}`)
          .min(1, `must be an integer from 1 to ${MAX_APPROVALS}`)
          .max(MAX_APPROVALS, `must be an integer from 1 to ${MAX_APPROVALS}`),
      }),
      { error: 'must be a list of tiers' },
    )
    .min(1, `must hold 1-${MAX_TIERS} tiers`)
    .max(MAX_TIERS, `must hold 1-${MAX_TIERS} tiers`)
    // Refinements run even after `min` failed: an empty list is that one problem, not a crash here.
    .refine(
      (tiers) => tiers.length === 0 || compareDecimals(tiers[0].from, '0') === 0,
      'must start with a tier from "0"',
    )
    .refine(
      (tiers) => tiers.every((t, i) => i === 0 || compareDecimals(tiers[i - 1].from, t.from) < 0),
      'must be sorted by "from", each bound once',
    )
    .refine(
      (tiers) => tiers.every((t, i) => i === 0 || tiers[i - 1].approvals <= t.approvals),
      'must not need fewer approvals for a larger amount',
    ),
  pendingTtlSeconds: z
    .number({ error: `must be an integer from 1 to ${MAX_PENDING_TTL_SECONDS}` })
    .int(`must be an integer from 1 to ${MAX_PENDING_TTL_SECONDS}`)
    .min(1, `must be an integer from 1 to ${MAX_PENDING_TTL_SECONDS}`)
    .max(MAX_PENDING_TTL_SECONDS, `must be an integer from 1 to ${MAX_PENDING_TTL_SECONDS}`),
  // SPEC section 18's controls. Absent: as in force (a client that does not know them keeps them).
  dailyCreditLimit: cap,
  maxBalance: cap,
  requireAmountConfirmation: flag,
  requireEvidenceViewed: flag,
  rejectReasonRequired: flag,
  refuseDuplicateEvidence: flag,
});
export type PolicyInput = z.output<typeof policyInput>;

/** GET /policy-changes?status= (SPEC section 18): one status, or all. */
export const policyChangesQuery = z.object({
  status: optional(
    z.enum(PolicyChangeStatus, {
      error: 'must be PENDING, APPLIED, REJECTED or EXPIRED',
    }),
  ),
});

/** Idempotency-Key: absent, or one value of 1–255 printable ASCII characters (a header sent twice is refused). */
export const idempotencyKey = z
  .preprocess(
    (v) => (Array.isArray(v) && v.length === 1 ? v[0] : v),
    z
      .string({ error: 'must be sent once, as 1-255 printable ASCII characters' })
      .regex(/^[\x20-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters')
      .nullish(),
  )
  .transform((v) => v ?? undefined);

/** A stored event id (a PostgreSQL bigint). */
export const eventId = z
  .string()
  .regex(/^\d{1,19}$/, 'must be an event id')
  .transform((s) => BigInt(s))
  .refine((n) => n <= MAX_EVENT_ID, 'must be an event id');

/** Last-Event-ID: an event id, or absent (an empty header is no header, as EventSource sends it). */
export const lastEventId = optional(eventId);

/** Required text, trimmed: 1 to `max` characters. */
const name = (max: number) =>
  z
    .string({ error: `must be 1-${max} characters` })
    .trim()
    .refine((s) => s.length >= 1 && s.length <= max, `must be 1-${max} characters`);

const ROLES = Object.values(Role) as string[];

/** A token subject: what an identity provider puts in `sub` (or the configured claim). */
const subject = z.string({ error: 'must be 1-255 printable characters' }).transform((raw, ctx) => {
  // One spelling per subject (src/domain/subject.ts): NFC, e-mail-like in lower case, nothing invisible.
  const checked = normaliseSubject(raw);
  if (checked.ok) return checked.subject;
  ctx.addIssue({ code: 'custom', message: checked.problem });
  return z.NEVER;
});

/**
 * Approval limits per currency: {"USD": "50000"}; a currency that is absent has no limit; null: none at
 * all. Each amount is a plain positive decimal.
 */
const approvalLimits = z
  .record(z.string().refine(isCurrency, 'must be keyed by ISO 4217 codes such as USD'), amount, {
    error: 'must map ISO 4217 codes to amounts',
  })
  .nullable();

export const newPartner = z.object({
  /** A fixed id (the demo partner); random otherwise. */
  id: id.optional(),
  name: name(200),
  currency: z
    .string({ error: 'must be an ISO 4217 code such as USD' })
    .transform((s) => s.trim().toUpperCase())
    .refine(isCurrency, 'must be an ISO 4217 code such as USD'),
});
export type NewPartner = z.input<typeof newPartner>;

export const newOperator = z.object({
  email: name(320)
    .transform((s) => s.toLowerCase())
    .refine((s) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s), 'is not an email address'),
  name: name(200),
  roles: z
    .array(z.string(), { error: `must be one or more of ${ROLES.join(', ')}` })
    .transform((list) => [...new Set(list.map((r) => r.trim().toUpperCase()))])
    .refine((list) => list.length > 0 && list.every((r) => ROLES.includes(r)), {
      message: `must be one or more of ${ROLES.join(', ')}`,
    })
    .transform((list) => list as Role[]),
  /** null = every partner. */
  partnerIds: z
    .array(id)
    .min(1, 'give --partners or --all-partners')
    .transform((list) => [...new Set(list)])
    .nullable(),
  otpRequired: z.boolean().default(false),
  otpSecretEncrypted: z.string().nullable().default(null),
  /** The identity provider's subject for this person; absent: the operator's own id. */
  subject: subject.optional(),
  approvalLimits: approvalLimits.default(null),
  dailyApprovalLimits: approvalLimits.default(null),
});
export type NewOperator = z.input<typeof newOperator>;

/** operator:update: only what is given changes. */
export const operatorChanges = z.object({
  roles: newOperator.shape.roles.optional(),
  partnerIds: newOperator.shape.partnerIds.optional(),
  subject: subject.optional(),
  approvalLimits: approvalLimits.optional(),
  dailyApprovalLimits: approvalLimits.optional(),
});
export type OperatorChanges = z.output<typeof operatorChanges>;

/** The longest statement period: a leap year. */
export const MAX_STATEMENT_DAYS = 366;
const DAY_MS = 24 * 3600 * 1000;

/** A calendar day YYYY-MM-DD that exists (no 2026-02-30), as the instant its UTC day starts. */
const day = z.string({ error: 'is required, as a date YYYY-MM-DD' }).transform((s, ctx) => {
  const m = DATE.exec(s);
  if (m && realDay(Number(m[1]), Number(m[2]), Number(m[3])))
    return { text: s, start: parseBound(s, 'from')! };
  ctx.addIssue({ code: 'custom', message: 'must be a real calendar date YYYY-MM-DD (UTC)' });
  return z.NEVER;
});

export const STATEMENT_FORMATS = ['json', 'csv', 'camt053'] as const;
export type StatementFormat = (typeof STATEMENT_FORMATS)[number];

type Days = { from: { text: string; start: Date }; to: { text: string; start: Date } };

/**
 * A statement period (SPEC section 19): whole UTC days, `from` to `to` inclusive, at most 366 of them.
 * `start` is the first instant of `from`, `end` the first instant after `to`.
 */
const period = <S extends z.ZodObject<{ from: typeof day; to: typeof day }>>(shape: S) =>
  shape
    .refine((p: Days) => p.from.start <= p.to.start, { message: 'must not be before from', path: ['to'] })
    .refine((p: Days) => (p.to.start.getTime() - p.from.start.getTime()) / DAY_MS + 1 <= MAX_STATEMENT_DAYS, {
      message: `must be at most ${MAX_STATEMENT_DAYS} days from "from" (both included)`,
      path: ['to'],
    })
    .transform(({ from, to, ...rest }: Days & Record<string, unknown>) => ({
      ...(rest as Omit<z.output<S>, 'from' | 'to'>),
      from: from.text,
      to: to.text,
      start: from.start,
      end: new Date(to.start.getTime() + DAY_MS),
    }));

export const statementPeriod = period(z.object({ from: day, to: day }));
export type StatementPeriod = z.output<typeof statementPeriod>;

/** The days of a statement period, both ends included. */
export const periodDays = (p: StatementPeriod): number =>
  Math.round((p.end.getTime() - p.start.getTime()) / DAY_MS);

/** The query of GET /statement: the period and, optionally, the format (else the Accept header decides). */
export const statementQuery = period(
  z.object({
    from: day,
    to: day,
    format: optional(z.enum(STATEMENT_FORMATS, { error: `must be one of ${STATEMENT_FORMATS.join(', ')}` })),
  }),
);
export type StatementQuery = z.output<typeof statementQuery>;

/** `at` of a point-in-time balance: a date-time with its zone, or a date (its last instant, UTC). */
export const balanceAt = z.object({
  at: bound('to').refine((d) => d !== undefined, 'is required, as an ISO 8601 date-time'),
});

/** GET /events/export: the stored events created within [from, to] (both optional, as the list's bounds). */
export const eventsExportQuery = z.object({ from: bound('from'), to: bound('to') });
export type EventsExportQuery = z.output<typeof eventsExportQuery>;
