// The one mapping from domain errors to GraphQL errors: same `code` as REST, the REST status beside it.
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logger';
import { DomainError, toDomainError } from '../services/errors';

/** `withHttpStatus` also sets the HTTP status of the response (errors raised before execution). */
export function toGraphQLError(error: DomainError, requestId?: string, withHttpStatus = false): GraphQLError {
  return new GraphQLError(error.message, {
    originalError: error,
    extensions: {
      code: error.code,
      status: error.status,
      ...(requestId ? { requestId } : {}),
      ...(error.details && error.status < 500 ? { details: error.details } : {}),
      ...(withHttpStatus ? { http: { status: error.status } } : {}),
    },
  });
}

/**
 * graphql-upload-minimal's own refusals (HTTP errors with `expose`): a file the map names but the body
 * never holds, a body cut short, a file over its limit. type-graphql awaits the Upload argument before
 * the resolver runs, so these reach formatError (or the resolver's stream) untranslated.
 */
export function fromUploadError(error: unknown): DomainError | undefined {
  const e = error as { status?: unknown; expose?: unknown; message?: unknown } | undefined;
  if (error instanceof DomainError || !e) return undefined;
  if (e.status === 413) return new DomainError('EVIDENCE_TOO_LARGE');
  if (e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return /file missing/i.test(String(e.message))
      ? new DomainError('EVIDENCE_REQUIRED', 'The evidence file did not arrive')
      : new DomainError('MALFORMED_MULTIPART');
  }
  // busboy: the multipart body ended before its closing boundary.
  if (
    /Unexpected end of (form|file)|Malformed part header|Unexpected end of multipart/i.test(String(e.message))
  )
    return new DomainError('MALFORMED_MULTIPART');
  return undefined;
}

/** Apollo's formatError: domain errors keep their code; unexpected ones become a logged, generic 500. */
export function formatGraphQLError(log: Logger) {
  return (formatted: GraphQLFormattedError, raw: unknown): GraphQLFormattedError => {
    const unwrapped = unwrapResolverError(raw);
    const original = fromUploadError(unwrapped) ?? unwrapped;
    if (original instanceof DomainError) {
      return {
        message: original.message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: {
          code: original.code,
          status: original.status,
          ...(original.details ? { details: original.details } : {}),
        },
      };
    }
    // Already ours: raised while building the context (401, 403).
    if (typeof formatted.extensions?.status === 'number') return formatted;
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
      // Apollo's own refusals (parse, validation, bad variables, CSRF): client errors. Apollo renames a
      // validation rule's own code (depth-limit's QUERY_TOO_DEEP) to GRAPHQL_VALIDATION_FAILED; keep the rule's.
      const rule =
        code === 'GRAPHQL_VALIDATION_FAILED' ? (raw as { originalError?: unknown }).originalError : undefined;
      const ruleCode =
        rule instanceof GraphQLError && typeof rule.extensions.code === 'string'
          ? rule.extensions.code
          : code;
      return { ...formatted, extensions: { ...formatted.extensions, code: ruleCode, status: 400 } };
    }
    const domain = toDomainError(original);
    if (domain.status >= 500) log.error({ err: original, path: formatted.path }, 'GraphQL operation failed');
    return {
      message: domain.message,
      path: formatted.path,
      extensions: { code: domain.code, status: domain.status },
    };
  };
}
