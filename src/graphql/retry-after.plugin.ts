// An answer over HTTP that carries a 429 or 503 error says when to try again: the Retry-After header, the
// longest of its errors' extensions.retryAfter. Errors raised before execution set it themselves
// (toGraphQLError); this covers those a resolver raised, answered with the partial data.
import type { ApolloServerPlugin } from '@apollo/server';

export function retryAfterPlugin(): ApolloServerPlugin<object> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          const result =
            response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
          const seconds = (result.errors ?? [])
            .map((error) => error.extensions?.retryAfter)
            .filter((value): value is number => typeof value === 'number');
          if (seconds.length > 0) response.http.headers.set('retry-after', String(Math.max(...seconds)));
        },
      };
    },
  };
}
