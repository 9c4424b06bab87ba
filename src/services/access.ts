// Permissions and partner scope: the rules of SPEC section 2, written once for every door.
import type { EntityManager } from '@mikro-orm/postgresql';
import { ClientBalance } from '../entities/client-balance.entity';
import { Operator, Role } from '../entities/operator.entity';
import { Partner } from '../entities/partner.entity';
import type { ServiceContext } from './context';
import { DomainError } from './errors';

export type Permission = 'read' | 'create' | 'review' | 'cancel-own' | 'cancel-any';

/** Every role may read what its partners hold: a maker follows their requests, a checker reads what they review. */
const GRANTS: Record<Role, Permission[]> = {
  [Role.VIEWER]: ['read'],
  [Role.MAKER]: ['read', 'create', 'cancel-own'],
  [Role.CHECKER]: ['read', 'review'],
  [Role.ADMIN]: ['read', 'create', 'review', 'cancel-own', 'cancel-any'],
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function assertUuid(value: unknown, field: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new DomainError('INVALID_ID', `${field} must be a UUID`, { field });
  }
  return value.toLowerCase();
}

export function can(operator: Operator, permission: Permission): boolean {
  return operator.roles.some((role) => GRANTS[role]?.includes(permission));
}

export function inScope(operator: Operator, partnerId: string): boolean {
  return operator.partnerIds === null || operator.partnerIds.includes(partnerId);
}

export interface PartnerAccess {
  partner: Partner;
  balance: ClientBalance;
}

/**
 * Resolves the partner of a call: a malformed id is 400, a partner outside the scope 403
 * PARTNER_FORBIDDEN, a missing permission 403 FORBIDDEN, a partner that does not exist 404.
 */
export async function requirePartner(
  ctx: ServiceContext,
  clientId: unknown,
  permission: Permission,
): Promise<PartnerAccess> {
  const id = assertUuid(clientId, 'clientId');
  if (!inScope(ctx.operator, id)) throw new DomainError('PARTNER_FORBIDDEN');
  if (!can(ctx.operator, permission)) throw new DomainError('FORBIDDEN');
  const access = await loadPartner(ctx.em, id);
  if (!access) throw new DomainError('NOT_FOUND', 'Partner not found');
  return access;
}

export async function loadPartner(em: EntityManager, id: string): Promise<PartnerAccess | null> {
  const [partner, balance] = await Promise.all([
    em.findOne(Partner, { id }),
    em.findOne(ClientBalance, { clientId: id }),
  ]);
  return partner && balance ? { partner, balance } : null;
}
