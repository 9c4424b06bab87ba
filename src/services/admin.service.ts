// Setting up partners and operators (CLI and the demo seed). Not reachable from the HTTP doors.
import type { EntityManager } from '@mikro-orm/postgresql';
import { ClientBalance } from '../entities/client-balance.entity';
import { Operator, Role } from '../entities/operator.entity';
import { Partner } from '../entities/partner.entity';
import { assertUuid } from './access';
import { DomainError } from './errors';
import { isCurrency } from './money';

export interface NewPartner {
  /** A fixed id (the demo partner); random otherwise. */
  id?: string;
  name: string;
  currency: string;
}

export interface NewOperator {
  email: string;
  name: string;
  roles: string[];
  /** null = every partner. */
  partnerIds: string[] | null;
  otpRequired?: boolean;
  otpSecretEncrypted?: string | null;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function requireText(value: string | undefined, field: string, max: number): string {
  const text = value?.trim() ?? '';
  if (text === '' || text.length > max)
    throw new DomainError('VALIDATION_FAILED', `${field} must be 1-${max} characters`, { field });
  return text;
}

export async function createPartner(
  em: EntityManager,
  input: NewPartner,
): Promise<{ partner: Partner; balance: ClientBalance }> {
  const name = requireText(input.name, 'name', 200);
  const currency = input.currency?.trim().toUpperCase() ?? '';
  if (!isCurrency(currency))
    throw new DomainError('VALIDATION_FAILED', 'currency must be an ISO 4217 code such as USD', {
      field: 'currency',
    });
  return em.transactional(async (tx) => {
    const partner = tx.create(Partner, input.id ? { id: assertUuid(input.id, 'id'), name } : { name });
    // The partner row first, so the balance's foreign key holds.
    await tx.flush();
    const balance = tx.create(ClientBalance, { clientId: partner.id, currency, available: '0' });
    await tx.flush();
    return { partner, balance };
  });
}

export async function createOperator(em: EntityManager, input: NewOperator): Promise<Operator> {
  const email = requireText(input.email, 'email', 320).toLowerCase();
  if (!EMAIL.test(email))
    throw new DomainError('VALIDATION_FAILED', 'email is not an email address', { field: 'email' });
  const name = requireText(input.name, 'name', 200);
  const valid = Object.values(Role) as string[];
  const roles = [...new Set(input.roles.map((r) => r.trim().toUpperCase()))];
  if (roles.length === 0 || roles.some((r) => !valid.includes(r))) {
    throw new DomainError('VALIDATION_FAILED', `roles must be one or more of ${valid.join(', ')}`, {
      field: 'roles',
    });
  }
  let partnerIds: string[] | null = null;
  if (input.partnerIds !== null) {
    partnerIds = [...new Set(input.partnerIds.map((id) => assertUuid(id, 'partners')))];
    if (partnerIds.length === 0)
      throw new DomainError('VALIDATION_FAILED', 'give --partners or --all-partners', { field: 'partners' });
    const found = await em.count(Partner, { id: { $in: partnerIds } });
    if (found !== partnerIds.length) throw new DomainError('NOT_FOUND', 'One of the partners does not exist');
  }
  if (await em.count(Operator, { email })) {
    throw new DomainError('VALIDATION_FAILED', `an operator with email ${email} already exists`, {
      field: 'email',
    });
  }
  const operator = em.create(Operator, {
    email,
    name,
    roles: roles as Role[],
    partnerIds,
    otpRequired: input.otpRequired ?? false,
    otpSecretEncrypted: input.otpSecretEncrypted ?? null,
    active: true,
  });
  await em.flush();
  return operator;
}

export async function findOperator(em: EntityManager, idOrEmail: string): Promise<Operator> {
  const key = idOrEmail?.trim() ?? '';
  const operator = /^[0-9a-f-]{36}$/i.test(key)
    ? await em.findOne(Operator, { id: key.toLowerCase() })
    : await em.findOne(Operator, { email: key.toLowerCase() });
  if (!operator) throw new DomainError('NOT_FOUND', `No operator ${key}`);
  return operator;
}

export async function deactivateOperator(em: EntityManager, idOrEmail: string): Promise<Operator> {
  const operator = await findOperator(em, idOrEmail);
  operator.active = false;
  await em.flush();
  return operator;
}
