import { Field, InputType } from 'type-graphql';
import { DecimalScalar } from '../graphql/decimal.scalar';
import type { SameKeys } from '../graphql/shape';
import type { CreateFields } from '../shapes/inputs';

@InputType()
export class CreateProcessRequestInput {
  @Field(() => DecimalScalar, { description: 'Plain positive decimal, at most the currency minor digits' })
  requestedAmount!: string;

  @Field(() => String, { nullable: true, description: 'At most 2,000 characters' })
  observations?: string | null;

  @Field(() => String, { nullable: true, description: 'TOTP code, for operators subject to OTP' })
  otp?: string | null;
}

/** The input type carries exactly the fields of the create declaration (src/shapes/inputs.ts). */
export const CREATE_INPUT_IS_DECLARED: SameKeys<CreateProcessRequestInput, CreateFields> = true;
