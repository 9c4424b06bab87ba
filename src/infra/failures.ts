// What the drivers and SDKs underneath (PostgreSQL through pg and Knex, Azure Storage) mean by their
// errors, said once: the service's error translation asks here and never reads a driver error itself.

/** What a failure of a dependency amounts to, in the service's terms. */
export type Failure =
  /** The dependency is down, unreachable or out of connections: try again later (503). */
  | 'unavailable'
  /** A number left the range its column holds (PostgreSQL 22003): a balance past NUMERIC(19,4). */
  | 'numeric-out-of-range'
  /** A CHECK constraint refused the row (PostgreSQL 23514), e.g. a balance below zero. */
  | 'check-violation'
  /** A UNIQUE constraint refused the row (PostgreSQL 23505). */
  | 'unique-violation';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);
/** PostgreSQL: admin shutdown, crash shutdown, cannot connect now, too many connections. */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);

interface DriverError {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  statusCode?: unknown;
  constraint?: unknown;
}

export function classifyFailure(error: unknown): Failure | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as DriverError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (NETWORK_CODES.has(code) || PG_UNAVAILABLE.has(code) || code.startsWith('08')))
    return 'unavailable';
  if (code === '22003') return 'numeric-out-of-range';
  if (code === '23514') return 'check-violation';
  if (code === '23505') return 'unique-violation';
  // Azure Storage: a server-side failure, or a request that never got an answer.
  if (e.name === 'RestError' && (typeof e.statusCode !== 'number' || e.statusCode >= 500))
    return 'unavailable';
  // Knex: no pooled connection became free in time.
  if (e.name === 'KnexTimeoutError') return 'unavailable';
  // pg: the server closed the connection under a query (it has no code for this).
  if (typeof e.message === 'string' && e.message.startsWith('Connection terminated')) return 'unavailable';
  return undefined;
}

/** The constraint a PostgreSQL error names, if any. */
export function violatedConstraint(error: unknown): string | undefined {
  const constraint = (error as DriverError | undefined)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
