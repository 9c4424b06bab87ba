import { GraphQLScalarType, Kind } from 'graphql';
import { Decimal } from '../domain/money';

/**
 * Exact money as a string ("10000.00"). Input accepts a string variable, or a literal (read as its
 * exact source text), never a JSON number variable, which has been through a float. The service
 * validates the amount and answers VALIDATION_FAILED with the reason.
 */
export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  description: 'An exact decimal amount, serialized as a string such as "10000.00"',
  serialize(value: unknown): string {
    if (value instanceof Decimal) return value.value;
    if (typeof value === 'string') return value;
    throw new TypeError('Decimal cannot represent a non-decimal value');
  },
  parseValue(value: unknown): string {
    // A JSON number in variables has already been through a float (999999999999999.99 arrives as
    // 999999999999999.9): refuse it rather than store an amount nobody sent.
    if (typeof value === 'string') return value;
    throw new TypeError('Decimal must be a string such as "10000.50"');
  },
  parseLiteral(ast): string {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return ast.value;
    throw new TypeError('Decimal must be a string such as "10000.50"');
  },
});
