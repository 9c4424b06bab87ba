import { Field, ID, ObjectType } from 'type-graphql';
import type { Decimal } from '../../domain/money';
import { DecimalScalar } from '../../graphql/decimal.scalar';
import type { Shape } from '../../graphql/shape';
import type { BalanceView, OperatorView, PartnerView, PersonView } from '../../shapes/views';

@ObjectType('ClientBalance')
export class ClientBalanceType implements Shape<BalanceView, ClientBalanceType> {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  clientId!: string;

  @Field(() => DecimalScalar)
  available!: Decimal;

  @Field(() => DecimalScalar, { description: 'What approvals would add: the sum of PENDING top-ups' })
  pending!: Decimal;

  @Field(() => String)
  currency!: string;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, {
    nullable: true,
    description: 'The instant asked for with partnerBalance(at); null: now',
  })
  at?: Date;
}

@ObjectType('Partner')
export class PartnerType implements Shape<PartnerView, PartnerType> {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  currency!: string;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType('Operator', {
  description:
    'A person who acted on a request or policy, as others see them: never their roles, scope or OTP settings',
})
export class OperatorType implements Shape<PersonView, OperatorType> {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  email!: string;
}

@ObjectType('CurrentOperator', {
  description: 'The operator acting through this call, with what only they may see: roles, scope, OTP',
})
export class CurrentOperatorType implements Shape<OperatorView, CurrentOperatorType> {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => String)
  name!: string;

  @Field(() => [String])
  roles!: string[];

  @Field(() => [ID], { nullable: true, description: 'null = every partner' })
  partnerIds!: string[] | null;

  @Field(() => Boolean)
  otpRequired!: boolean;

  @Field(() => Boolean)
  active!: boolean;
}
