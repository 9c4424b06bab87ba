// Every input the service accepts, declared once. A door parses what it received with these (parseInput)
// and hands the service the typed result; no rule about the shape of an input is written anywhere else.
import { z } from 'zod';
import { Role } from '../entities/operator.entity';
import { ProcessRequestStatus } from '../entities/process-request.entity';
import { DomainError, type ErrorCode } from './errors';
import { isCurrency } from './money';

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
const optional = <S extends z.ZodType>(schema: S) =>
  z.preprocess((v) => (absent(v) ? undefined : v), schema.optional());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const id = z
  .custom<string>((v) => typeof v === 'string' && UUID.test(v), {
    error: 'must be a UUID',
    params: { code: 'INVALID_ID' },
  })
  .transform((v) => v.toLowerCase());

/** Free text: a string of at most `max` characters (code points), without NUL; absent → null. */
export const text = (max: number) =>
  optional(
    z
      .string({ error: 'must be a string' })
      .refine((s) => [...s].length <= max, `must be at most ${max} characters`)
      .refine((s) => !s.includes('\u0000'), 'must not contain NUL'),
  ).transform((v) => v ?? null);

/**
 * A one-time password as sent. Its format is judged by the OTP check itself (a malformed code is a
 * counted wrong attempt, SPEC section 6), so anything but a string reaches it as a code that cannot match.
 */
export const otp = z
  .unknown()
  .optional()
  .transform((v) => (absent(v) ? undefined : typeof v === 'string' ? v : '?'));

/**
 * A requested amount: a plain positive decimal ("10000", "250.50"), at most 15 integer digits, returned
 * without leading zeros. The currency's minor digits are checked where the currency is known (money.ts).
 */
export const amount = z
  .string({ error: (issue) => (absent(issue.input) ? 'is required' : 'must be a decimal string') })
  .refine((s) => s !== '', 'is required')
  .regex(/^\d+(\.\d+)?$/, 'must be a plain positive decimal such as 10000 or 10000.50')
  .transform((s) => s.replace(/^0+(?=\d)/, ''))
  .refine((s) => s.split('.')[0].length <= MAX_AMOUNT_INTEGER_DIGITS, 'must be at most 999999999999999')
  .refine((s) => /[1-9]/.test(s), 'must be greater than zero');

/** An integer from 1 to max, given as a number (GraphQL) or digits (a query string); absent → fallback. */
const positiveInt = (max: number, fallback: number) =>
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
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A real calendar day of the years 1–9999 (no 30 February, no year 0). */
function realDay(year: number, month: number, day: number): boolean {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0-99 as 1900-1999
  return year >= 1 && year <= 9999 && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

function validDate(s: string): boolean {
  const m = DATE.exec(s) ?? DATE_TIME.exec(s);
  if (!m || !realDay(Number(m[1]), Number(m[2]), Number(m[3]))) return false;
  if (m.length > 4 && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return false;
  return !Number.isNaN(Date.parse(s));
}

/**
 * A bound on createdAt: an ISO date or date-time. `from` starts at the instant (or the day's start);
 * `to` ends at the instant, or includes the whole day of a date.
 */
const bound = (end: 'from' | 'to') =>
  optional(
    z
      .string({ error: 'must be an ISO 8601 date or date-time' })
      .refine(validDate, 'must be an ISO 8601 date or date-time')
      .transform((s) =>
        DATE.test(s) ? new Date(`${s}T${end === 'from' ? '00:00:00.000' : '23:59:59.999'}Z`) : new Date(s),
      ),
  );

export const listFilters = z.object({
  status: statuses,
  from: bound('from'),
  to: bound('to'),
});
export type ListFilters = z.output<typeof listFilters>;

export const pageQuery = listFilters.extend({
  page: positiveInt(MAX_PAGE, 1),
  limit: positiveInt(MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT),
});
export type PageQuery = z.output<typeof pageQuery>;

/** The text fields of a create, whichever door they came through. */
export const createFields = z.object({
  requestedAmount: amount,
  observations: text(MAX_OBSERVATIONS_LENGTH),
  otp,
});
export type CreateFields = z.output<typeof createFields>;

/** The optional body of approve, reject and cancel. */
export const decisionInput = z.object({ reason: text(MAX_REASON_LENGTH), otp });
export type DecisionInput = z.output<typeof decisionInput>;

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

/** Last-Event-ID: a stored event id (a PostgreSQL bigint), or absent. */
export const lastEventId = optional(
  z
    .string()
    .regex(/^\d{1,19}$/, 'must be an event id')
    .transform((s) => BigInt(s))
    .refine((n) => n <= MAX_EVENT_ID, 'must be an event id'),
);

/** Required text, trimmed: 1 to `max` characters. */
const name = (max: number) =>
  z
    .string({ error: `must be 1-${max} characters` })
    .trim()
    .refine((s) => s.length >= 1 && s.length <= max, `must be 1-${max} characters`);

const ROLES = Object.values(Role) as string[];

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
});
export type NewOperator = z.input<typeof newOperator>;
