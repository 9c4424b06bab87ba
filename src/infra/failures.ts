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
  | 'unique-violation'
  /**
   * A value the database cannot hold: longer than its column (22001), or holding a character it cannot
   * store (22021, 22P05; a NUL the ORM wrote into its statement's text cuts that text short, 08P01 at
   * severity ERROR, the connection still usable). The caller's value, not the database, is at fault.
   */
  | 'bad-value';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);
/**
 * PostgreSQL: admin shutdown, crash shutdown, cannot connect now, too many connections; a lock not
 * granted within lock_timeout (55P03) and a statement cancelled by statement_timeout (57014). Each ends
 * its statement and rolls its transaction back, so trying again later is safe.
 */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '55P03', '57014']);
/** Data exceptions caused by a value (see 'bad-value'). */
const PG_BAD_VALUE = new Set(['22001', '22021', '22P05']);

/** A message PostgreSQL refused as malformed (08P01 at ERROR): a NUL inside the ORM's statement text. */
const malformedStatement = (e: DriverError) => e.code === '08P01' && e.severity === 'ERROR';

/**
 * pg's own words for a connection that is gone (it gives them no code): the server closed it under a
 * query ("Connection terminated unexpectedly"), or a query was given a client already broken or ended.
 * Knex's "Transaction query already complete" is the same event seen from inside a transaction: its BEGIN
 * failed on a connection that died, knex marked the transaction finished and still ran the callback, whose
 * first statement then fails with these words (nothing of the transaction was written).
 */
const DEAD_CONNECTION =
  /Connection terminated|is not queryable|connection error|Client was closed|Transaction query already complete/i;

interface DriverError {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  statusCode?: unknown;
  constraint?: unknown;
  severity?: unknown;
}

export function classifyFailure(error: unknown): Failure | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as DriverError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (PG_BAD_VALUE.has(code) || malformedStatement(e))) return 'bad-value';
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
  if (deadConnection(error)) return 'unavailable';
  return undefined;
}

/**
 * Whether the failure is a connection that died (or was dead when used), as pg or the ORM wrapping it
 * (MikroORM prefixes the statement to the message and keeps pg's error as `previous`) report it.
 */
export function deadConnection(error: unknown): boolean {
  for (
    let e = error as (DriverError & { previous?: unknown; cause?: unknown }) | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (typeof e.message === 'string' && DEAD_CONNECTION.test(e.message)) return true;
    if (
      typeof e.code === 'string' &&
      (e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.code.startsWith('08')) &&
      !malformedStatement(e)
    )
      return true;
    e = (e.previous ?? e.cause) as typeof e;
  }
  return false;
}

/** The constraint a PostgreSQL error names, if any. */
export function violatedConstraint(error: unknown): string | undefined {
  const constraint = (error as DriverError | undefined)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/**
 * Notes on a failed statement's error the text it ran, with its placeholders (the ORM's `?` or pg's $n):
 * what the log shows of it in place of the message, which holds the values (src/logger.ts).
 */
export function noteStatement(error: unknown, text: string): void {
  if (error && typeof error === 'object' && !('statement' in error))
    Object.defineProperty(error, 'statement', { value: text, enumerable: false, configurable: true });
}
