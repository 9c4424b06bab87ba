import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Decimal } from '../../domain/money';
import { DecimalScalar } from '../../graphql/decimal.scalar';
import type { Shape } from '../../graphql/shape';
import type { StatementEntryView, StatementView } from '../../shapes/views';

export enum StatementDirection {
  CREDIT = 'CREDIT',
  DEBIT = 'DEBIT',
}
registerEnumType(StatementDirection, {
  name: 'StatementDirection',
  description: 'CREDIT: the balance went up (a top-up); DEBIT: it went down (a reversal)',
});

@ObjectType('StatementEntry', { description: 'One ledger entry: a credit is positive, a debit negative' })
export class StatementEntryType implements Shape<StatementEntryView, StatementEntryType> {
  @Field(() => Date)
  at!: Date;

  @Field(() => DecimalScalar)
  amount!: Decimal;

  @Field(() => DecimalScalar, { description: 'The running balance after this entry' })
  balanceAfter!: Decimal;

  @Field(() => ID)
  processRequestId!: string;

  @Field(() => Int)
  processTypeId!: number;

  @Field(() => StatementDirection)
  direction!: StatementDirection;
}

@ObjectType('Statement', {
  description:
    'The ledger over whole UTC days from..to (both included): openingBalance + the sum of the entries = closingBalance',
})
export class StatementType implements Shape<StatementView, StatementType> {
  @Field(() => ID)
  clientId!: string;

  @Field(() => String)
  currency!: string;

  @Field(() => String, { description: 'The first day, YYYY-MM-DD (UTC)' })
  from!: string;

  @Field(() => String, { description: 'The last day, YYYY-MM-DD (UTC), included' })
  to!: string;

  @Field(() => DecimalScalar, { description: 'The balance at the start of from' })
  openingBalance!: Decimal;

  @Field(() => DecimalScalar, { description: 'The balance at the end of to' })
  closingBalance!: Decimal;

  @Field(() => [StatementEntryType], { description: 'Oldest first' })
  entries!: StatementEntryType[];
}
