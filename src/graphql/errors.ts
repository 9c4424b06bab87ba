// The GraphQL doors' one error translation (HTTP and graphql-ws): whatever was thrown becomes a GraphQL
// error with the catalogue's `code` in extensions.code and its REST status in extensions.status.
import { HeaderMap } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logger';
import { DomainError, ERRORS, toDomainError, type ErrorCode } from '../domain/errors';
import { tokenLimitError } from './document-limits';
import { wwwAuthenticate } from '../auth/refusals';

/** extensions.retryAfter: whole seconds until trying again can succeed (REST sends it as Retry-After). */
const retryAfterOf = (error: DomainError) =>
  error.retryAfterSeconds === undefined ? {} : { retryAfter: error.retryAfterSeconds };

/**
 * `withHttpStatus` also sets the HTTP status of the response (errors raised before execution), and its
 * Retry-After header when the error says when to retry.
 */
export function toGraphQLError(error: DomainError, requestId?: string, withHttpStatus = false): GraphQLError {
  const headers = new HeaderMap(
    error.retryAfterSeconds === undefined ? [] : [['retry-after', String(error.retryAfterSeconds)]],
  );
  if (error.code === 'UNAUTHENTICATED') headers.set('www-authenticate', wwwAuthenticate(error));
  return new GraphQLError(error.message, {
    originalError: error,
    extensions: {
      code: error.code,
      status: error.status,
      ...(requestId ? { requestId } : {}),
      ...(error.details && error.status < 500 ? { details: error.details } : {}),
      ...retryAfterOf(error),
      ...(withHttpStatus ? { http: { status: error.status, headers } } : {}),
    },
  });
}

/**
 * graphql-upload-minimal's refusals: HTTP errors with a status (413 for every limit, 400 otherwise) and a
 * message that is the only thing telling its limits apart. A file over the limit surfaces from the file's
 * stream; a body cut short surfaces from busboy, with no status at all.
 */
export function fromUploadError(error: unknown): DomainError | undefined {
  const e = error as { status?: unknown; expose?: unknown; message?: unknown } | undefined;
  if (error instanceof DomainError || !e) return undefined;
  const message = String(e.message);
  if (e.status === 413) {
    if (/max file uploads exceeded/i.test(message)) return new DomainError('UNEXPECTED_FILE');
    if (/^File truncated/i.test(message)) return new DomainError('EVIDENCE_TOO_LARGE');
    return new DomainError('PAYLOAD_TOO_LARGE', message);
  }
  if (e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return /file missing/i.test(message)
      ? new DomainError('EVIDENCE_REQUIRED', 'The evidence file did not arrive')
      : new DomainError('MALFORMED_MULTIPART', message);
  }
  if (/Unexpected end of (form|file)|Malformed part header|Unexpected end of multipart/i.test(message))
    return new DomainError('MALFORMED_MULTIPART');
  return undefined;
}

/**
 * An error raised by GraphQL or Apollo themselves (parse, validation and its rules, variables, CSRF,
 * persisted queries), read from the innermost error that says what it is.
 */
function fromGraphQLError(error: GraphQLError): DomainError | undefined {
  for (let e: unknown = error; e instanceof GraphQLError; e = e.originalError) {
    if (e.originalError instanceof DomainError) return e.originalError;
    const code = e.extensions?.code;
    if (typeof code === 'string' && code !== 'INTERNAL_ERROR' && code in ERRORS) {
      const inner = e.originalError instanceof GraphQLError ? fromGraphQLError(e.originalError) : undefined;
      // A document over the token limit is, to graphql, a syntax error.
      const tokens = code === 'GRAPHQL_PARSE_FAILED' ? tokenLimitError(e.message) : undefined;
      return inner ?? tokens ?? new DomainError(code as ErrorCode, e.message);
    }
  }
  // Refused by Apollo with a 4xx but no code of its own (a persisted query whose hash does not match).
  const status = (error.extensions?.http as { status?: unknown } | undefined)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new DomainError('BAD_REQUEST', error.message);
  return undefined;
}

/** Any thrown value as a DomainError, for the GraphQL doors. */
export function translateGraphQLError(raw: unknown): DomainError {
  const original = unwrapResolverError(raw);
  if (original instanceof DomainError) return original;
  return (
    fromUploadError(original) ??
    (raw instanceof GraphQLError ? fromGraphQLError(raw) : undefined) ??
    toDomainError(original)
  );
}

/** graphql's hint naming fields, arguments, types or enum values close to a wrong one. */
const SUGGESTION = / ?Did you mean .+\?$/;

export interface FormatOptions {
  /**
   * Drops graphql's "Did you mean …?" hints (validation and variable errors), which name parts of the
   * schema: with introspection off, errors must not list what introspection would.
   */
  hideSuggestions: boolean;
}

/**
 * The log of the operation each error arose in (bound to its request id), noted before Apollo formats the
 * errors (formatError is given no context): an error's line is then written with its request's id.
 */
const operationLogs = new WeakMap<object, Logger>();

/** Notes the operation's log for its errors, for formatGraphQLError (Apollo's didEncounterErrors). */
export function noteOperationLog(errors: readonly unknown[], log: Logger): void {
  for (const error of errors) if (error && typeof error === 'object') operationLogs.set(error, log);
}

/** Apollo's (and graphql-ws's) formatError: the catalogue's code and status; unexpected errors are logged, not shown. */
export function formatGraphQLError(log: Logger, options: FormatOptions) {
  return (formatted: GraphQLFormattedError, raw: unknown): GraphQLFormattedError => {
    const error = translateGraphQLError(raw);
    if (error.status >= 500) {
      const requestId = formatted.extensions?.requestId;
      const line =
        (raw && typeof raw === 'object' ? operationLogs.get(raw) : undefined) ??
        (typeof requestId === 'string' ? log.child({ requestId }) : log);
      line.error({ err: unwrapResolverError(raw), path: formatted.path }, 'GraphQL operation failed');
    }
    return {
      message: options.hideSuggestions ? error.message.replace(SUGGESTION, '') : error.message,
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      extensions: {
        code: error.code,
        status: error.status,
        ...(error.details && error.status < 500 ? { details: error.details } : {}),
        ...retryAfterOf(error),
        ...(typeof formatted.extensions?.requestId === 'string'
          ? { requestId: formatted.extensions.requestId }
          : {}),
      },
    };
  };
}
