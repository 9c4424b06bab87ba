// Builds the code-first schema, and prints it the one way schema.graphql is written and checked.
import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { AccountResolver } from './account.resolver';
import { ProcessRequestResolver } from './process-request.resolver';

export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [AccountResolver, ProcessRequestResolver],
    validate: false,
  });
}

export function printAppSchema(schema: GraphQLSchema): string {
  return `# Generated from the code by \`npm run schema\`; do not edit.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}
