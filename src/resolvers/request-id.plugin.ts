// Puts the request id into every GraphQL error, so a caller can quote it and it can be found in the log.
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logger';
import { noteOperationLog } from '../graphql/errors';

function withRequestId(
  errors: ReadonlyArray<GraphQLFormattedError>,
  requestId: string,
): GraphQLFormattedError[] {
  return errors.map((error) => ({ ...error, extensions: { ...error.extensions, requestId } }));
}

/**
 * Errors raised while building the context already carry it (see toGraphQLError); this covers parse,
 * validation and execution errors. Refusals Apollo makes before a context exists (CSRF, batching) have
 * none to give; the X-Request-Id response header still names them. The log lines of the operation's
 * errors carry it too: each error is noted with the operation's log before it is formatted (and logged).
 */
export function requestIdPlugin(): ApolloServerPlugin<{ requestId?: string; log?: Logger }> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          if (contextValue.log) noteOperationLog(errors, contextValue.log);
        },
        async willSendResponse({ response, contextValue }) {
          const requestId = contextValue.requestId;
          if (!requestId) return;
          const result =
            response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
          if (result.errors?.length) result.errors = withRequestId(result.errors, requestId);
        },
      };
    },
  };
}

/**
 * For the refusals Apollo answers before any plugin runs (CSRF prevention, a malformed request): adds
 * the request id to each error of a complete JSON error body. Other bodies are returned unchanged.
 */
export function addRequestIdToErrorBody(body: string, requestId: string | undefined): string {
  if (!requestId || !body.includes('"errors"')) return body;
  try {
    const parsed = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(parsed.errors) || parsed.errors.every((e) => e?.extensions?.requestId)) return body;
    return JSON.stringify({
      ...parsed,
      errors: withRequestId(parsed.errors as GraphQLFormattedError[], requestId),
    });
  } catch {
    return body;
  }
}
