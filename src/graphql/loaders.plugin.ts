// Apollo runs each operation on a shallow copy of the context it was given. The resolvers receive that copy,
// and a read that replaces a kept operator row with the stored one (storedRead) replaces it there: the
// operation's loaders are bound to the same copy, so the fields they resolve are judged with that row too.
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from './context';
import { createLoaders } from './loaders';

export function loadersPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      contextValue.loaders = createLoaders(contextValue.services, contextValue);
    },
  };
}
