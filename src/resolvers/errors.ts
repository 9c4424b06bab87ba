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

/** Apollo's formatError: domain errors keep their code; unexpected ones become a logged, generic 500. */
export function formatGraphQLError(log: Logger) {
  return (formatted: GraphQLFormattedError, raw: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(raw);
    if (original instanceof DomainError) {
      return {
        message: original.message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: original.code, status: original.status, ...(original.details ? { details: original.details } : {}) },
      };
    }
    // Already ours: raised while building the context (401, 403).
    if (typeof formatted.extensions?.status === 'number') return formatted;
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
      // Apollo's own refusals (parse, validation, bad variables, CSRF): client errors.
      return { ...formatted, extensions: { ...formatted.extensions, status: 400 } };
    }
    const domain = toDomainError(original);
    if (domain.status >= 500) log.error({ err: original, path: formatted.path }, 'GraphQL operation failed');
    return { message: domain.message, path: formatted.path, extensions: { code: domain.code, status: domain.status } };
  };
}
