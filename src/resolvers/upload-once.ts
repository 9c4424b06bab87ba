// An uploaded file is a stream: it can be read once. A document that hands one Upload variable to two
// fields (two aliased creates, say) would run the first and fail the second after the first committed,
// so it is refused before anything runs.
import { type ASTVisitor, GraphQLError, getNamedType, type ValidationContext } from 'graphql';
import { DomainError } from '../domain/errors';

export function uploadOnceRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      const uses = new Map<string, number>();
      for (const { node, type } of context.getRecursiveVariableUsages(operation)) {
        if (type && getNamedType(type).name === 'Upload')
          uses.set(node.name.value, (uses.get(node.name.value) ?? 0) + 1);
      }
      for (const [name, count] of uses) {
        if (count < 2) continue;
        const error = new DomainError(
          'VALIDATION_FAILED',
          `The file in $${name} is used ${count} times; an uploaded file can be read once, by one field`,
          { field: name },
        );
        context.reportError(new GraphQLError(error.message, { nodes: operation, originalError: error }));
      }
      return false;
    },
  };
}
