import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

export enum Role {
  VIEWER = 'VIEWER',
  MAKER = 'MAKER',
  CHECKER = 'CHECKER',
  ADMIN = 'ADMIN',
}

/** A human acting through an application. The database, not the token, says what they may do. */
@Entity({ tableName: 'operator' })
export class Operator {
  [OptionalProps]?:
    | 'createdAt'
    | 'roles'
    | 'partnerIds'
    | 'otpRequired'
    | 'active'
    | 'approvalLimits'
    | 'dailyApprovalLimits';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /**
   * What the user token's subject claim (USER_TOKEN_SUBJECT_CLAIM, `sub` by default) must equal: the
   * identity provider's id for this person. Defaults to the operator id.
   */
  @Property({ type: 'string', length: 255, unique: true })
  subject!: string;

  @Property({ type: 'string', length: 320, unique: true })
  email!: string;

  @Property({ type: 'string', length: 200 })
  name!: string;

  @Property({ type: 'string[]', columnType: 'text[]', defaultRaw: "'{}'" })
  roles: Role[] = [];

  /** null = every partner (internal staff). */
  @Property({ type: 'string[]', columnType: 'uuid[]', nullable: true })
  partnerIds: string[] | null = null;

  @Property({ type: 'boolean' })
  otpRequired = false;

  /** AES-256-GCM ciphertext of the TOTP secret (iv.tag.data, base64). */
  @Property({ type: 'text', nullable: true, hidden: true })
  otpSecretEncrypted?: string | null;

  @Property({ type: 'boolean' })
  active = true;

  /** Highest amount this operator may approve, per currency ({"USD": "50000"}); absent currency = no limit. */
  @Property({ type: 'json', nullable: true })
  approvalLimits: Record<string, string> | null = null;

  /**
   * The total of amounts this operator may approve per UTC day, per currency ({"USD": "100000"}); absent
   * currency = no limit (SPEC section 18). Every approval they record counts, final or not.
   */
  @Property({ type: 'json', nullable: true })
  dailyApprovalLimits: Record<string, string> | null = null;

  @Property({ type: 'Date', columnType: 'timestamptz(3)', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
