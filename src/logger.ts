import pino, { type Logger } from 'pino';

export type { Logger };

interface DatabaseError {
  name?: unknown;
  code?: unknown;
  severity?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
  routine?: unknown;
  statement?: unknown;
  stack?: unknown;
}

/** An error PostgreSQL answered (pg's, or the ORM's wrapping of it, which copies its fields). */
function isDatabaseError(error: unknown): error is DatabaseError {
  const e = error as DatabaseError | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.severity === 'string' &&
    typeof e.code === 'string' &&
    /^[0-9A-Z]{5}$/.test(e.code)
  );
}

/**
 * An error in a log line as pino writes it, except one PostgreSQL answered: its message (and the stack's
 * first line, which repeats it) holds the failed statement with its values written in, and its detail
 * may quote a value. It is written as its SQLSTATE, constraint, table and column, and the statement's
 * text with placeholders where it was noted (`statement`, src/infra/failures.ts): never a value.
 */
function serializeError(error: unknown): unknown {
  if (!isDatabaseError(error)) return pino.stdSerializers.err(error as Error);
  const fields = ['constraint', 'table', 'column', 'routine', 'statement'] as const;
  return {
    type: typeof error.name === 'string' ? error.name : 'DatabaseError',
    code: error.code,
    severity: error.severity,
    ...Object.fromEntries(fields.filter((f) => typeof error[f] === 'string').map((f) => [f, error[f]])),
    stack:
      typeof error.stack === 'string'
        ? error.stack
            .split('\n')
            .filter((line) => line.trim().startsWith('at '))
            .join('\n')
        : undefined,
  };
}

/** JSON logs; credentials never reach them, whichever field they hide in. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'process-requests' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-user-token"]',
          'req.headers.cookie',
          'headers.authorization',
          'headers["x-user-token"]',
          '*.otp',
          'otp',
          '*.token',
          'token',
          '*.otpSecret',
          'connectionParams.authorization',
          'connectionParams["x-user-token"]',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
