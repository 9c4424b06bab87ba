import { openSync } from 'node:fs';
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

/** Lines are handed to the system in batches of about this many bytes… */
export const LOG_BATCH_BYTES = 4096;
/** …and never later than this after they were logged, however quiet the process. */
export const LOG_FLUSH_MS = 200;

/**
 * Where the lines go (standard output unless told): written asynchronously, in batches. A write per line
 * cost a hot read about a seventh of its main thread (each asynchronous write wakes a thread of libuv's
 * pool and then the event loop). A quiet process's lines wait at most LOG_FLUSH_MS; at exit, even on a
 * crash that reaches the `exit` event, what is buffered is written synchronously (pino registers that for
 * every asynchronous destination).
 */
export function logDestination(dest: number | string = 1): pino.DestinationStream {
  // A file is opened here, synchronously: opened by the stream it would not take a line before it is ready,
  // nor one at an exit that comes first.
  const fd = typeof dest === 'string' ? openSync(dest, 'a') : dest;
  const stream = pino.destination({ dest: fd, sync: false, minLength: LOG_BATCH_BYTES });
  let waiting = false;
  const timer = setInterval(() => {
    if (!waiting) return;
    waiting = false;
    stream.flush();
  }, LOG_FLUSH_MS);
  timer.unref();
  stream.on('close', () => clearInterval(timer));
  return {
    write(line: string) {
      waiting = true;
      stream.write(line);
    },
  };
}

/** JSON logs; credentials never reach them, whichever field they hide in. */
export function createLogger(level: string, destination: pino.DestinationStream = logDestination()): Logger {
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

/** A logger, or how to get it when it is first needed (a lazyChild). */
export type LogSource = Logger | (() => Logger);

/** The logger of a LogSource. */
export const logOf = (source: LogSource): Logger => (typeof source === 'function' ? source() : source);

/**
 * `parent.child(bindings)`, made on its first use (and the parent with it, when it is lazy too). A child
 * serialises its bindings when made, a child's child far more (4.8 µs against 0.6 measured), and most calls
 * log nothing under the child of their operator: a hot read made both for its one access line.
 */
export function lazyChild(parent: LogSource, bindings: pino.Bindings): () => Logger {
  let child: Logger | undefined;
  return () => (child ??= logOf(parent).child(bindings));
}

/**
 * The prototype of the objects made for every call whose `log` is made on first use, by their own `makeLog`
 * (a lazyChild). The getter sits here, never on the object itself. V8 keeps an object's own getter (written
 * in an object literal, or defined) in an accessor pair it allocates in the old generation, and the
 * young-generation collector takes every old-to-young pointer as live: the getter's closure, and the whole
 * call it closes over, survived every scavenge until a full collection freed the pair. Under load that was
 * 3–4 MB copied and promoted per scavenge instead of 0.1, pauses of 5–6 ms instead of 1.3 (bench/RESULTS.md,
 * "Round 12").
 */
const LAZY_LOG_PROTOTYPE: object = Object.create(Object.prototype, {
  log: {
    get(this: { makeLog: () => Logger }) {
      return this.makeLog();
    },
  },
});

/** `fields` over LAZY_LOG_PROTOTYPE: its `log` is `makeLog()`, made when first asked for. */
export function withLazyLog<T extends { makeLog: () => Logger }>(fields: T): T & { readonly log: Logger } {
  return Object.assign(Object.create(LAZY_LOG_PROTOTYPE) as { readonly log: Logger }, fields);
}
