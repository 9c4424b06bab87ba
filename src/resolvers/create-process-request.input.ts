import { Field, InputType } from 'type-graphql';
import { DecimalScalar } from '../graphql/decimal.scalar';

@InputType()
export class CreateProcessRequestInput {
  @Field(() => DecimalScalar, { description: 'Plain positive decimal, at most the currency minor digits' })
  requestedAmount!: string;

  @Field(() => String, { nullable: true, description: 'At most 2,000 characters' })
  observations?: string | null;

  @Field(() => String, { nullable: true, description: 'TOTP code, for operators subject to OTP' })
  otp?: string | null;
}
