import { Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Operator } from './operator.entity';
import { referenceTo } from './references';

/**
 * One OTP check of an operator (SPEC section 6), written and read by SQL in src/services/identity/otp.service.ts.
 * A used code is a success row with its time step in `counter`: the unique key refuses a replay of that
 * step in any process. Failures keep `counter` null (nulls never clash) and count towards the lockout.
 */
@Entity({ tableName: 'otp_attempt' })
@Unique({ properties: ['operatorId', 'counter'] })
@Index({ properties: ['operatorId', 'at'] })
export class OtpAttempt {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => Operator, referenceTo('operator_id'))
  operatorId!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  at: Date = new Date();

  @Property({ type: 'boolean' })
  success!: boolean;

  /** The TOTP time step of a successful check; null for a failure. */
  @Property({ type: 'bigint', nullable: true })
  counter?: string | null;
}
