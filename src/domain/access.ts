// Permissions and partner scope: the rules of SPEC section 2, written once for every door.
import type { EntityManager } from '@mikro-orm/postgresql';
import { ClientBalance } from '../entities/client-balance.entity';
import { Operator, Role } from '../entities/operator.entity';
import { Partner } from '../entities/partner.entity';
import type { ServiceContext } from './context';
import { DomainError } from './errors';

export type Permission =
  'read' | 'create' | 'review' | 'cancel-own' | 'cancel-any' | 'manage-policy' | 'manage-webhooks';

/** Every role may read what its partners hold: a maker follows their requests, a checker reads what they review. */
const GRANTS: Record<Role, Permission[]> = {
  [Role.VIEWER]: ['read'],
  [Role.MAKER]: ['read', 'create', 'cancel-own'],
  [Role.CHECKER]: ['read', 'review'],
  [Role.ADMIN]: ['read', 'create', 'review', 'cancel-own', 'cancel-any', 'manage-policy', 'manage-webhooks'],
};

export function can(operator: Operator, permission: Permission): boolean {
  return operator.roles.some((role) => GRANTS[role]?.includes(permission));
}

export function inScope(operator: Operator, partnerId: string): boolean {
  return operator.partnerIds === null || operator.partnerIds.includes(partnerId);
}

/** What a call needs of its partner: what never changes once the partner exists (its balance's id, currency). */
export interface PartnerAccess {
  partner: Pick<Partner, 'id'>;
  balance: Pick<ClientBalance, 'id' | 'partnerId' | 'currency'>;
}

/**
 * The partners this process has already found, so that a hot path does not read the partner and its
 * balance again on every call: a partner is never deleted, and its currency and balance id never change.
 * Only what exists is kept (a partner created later is found then); the scope and permission checks are
 * not cached, they run on every call against the operator read for it.
 */
export class PartnerCache {
  private readonly known = new Map<string, PartnerAccess>();

  constructor(private readonly max = 10000) {}

  get(id: string): PartnerAccess | undefined {
    return this.known.get(id);
  }

  remember(access: PartnerAccess): void {
    if (this.known.size >= this.max) this.known.clear();
    this.known.set(access.partner.id, {
      partner: { id: access.partner.id },
      balance: {
        id: access.balance.id,
        partnerId: access.balance.partnerId,
        currency: access.balance.currency,
      },
    });
  }
}

/** Why an operator may not act on a partner (scope first, then permission), or undefined when it may. */
export function refusal(
  operator: Operator,
  partnerId: string,
  permission: Permission,
): DomainError | undefined {
  if (!inScope(operator, partnerId)) return new DomainError('PARTNER_FORBIDDEN');
  if (!can(operator, permission)) return new DomainError('FORBIDDEN');
  return undefined;
}

/**
 * Resolves the partner of a call (its id already parsed by the door): a partner outside the scope is
 * 403 PARTNER_FORBIDDEN, a missing permission 403 FORBIDDEN, a partner that does not exist 404.
 */
export async function requirePartner(
  ctx: ServiceContext,
  partnerId: string,
  permission: Permission,
): Promise<PartnerAccess> {
  const refused = refusal(ctx.operator, partnerId, permission);
  if (refused) throw refused;
  const known = ctx.partners?.get(partnerId);
  if (known) return known;
  const access = await loadPartner(ctx.em, partnerId);
  if (!access) throw new DomainError('NOT_FOUND', 'Partner not found');
  ctx.partners?.remember(access);
  return access;
}

/** A partner and its balance (the balance exists only with its partner: one statement reads both). */
export async function loadPartner(
  em: EntityManager,
  id: string,
): Promise<{ partner: Partner; balance: ClientBalance } | null> {
  const [partner, balance] = await Promise.all([
    em.findOne(Partner, { id }),
    em.findOne(ClientBalance, { partnerId: id }),
  ]);
  return partner && balance ? { partner, balance } : null;
}

/** The column a hot read adds to its statement: the acting operator row's version, read with the data. */
export const OPERATOR_VERSION_SQL = (operatorParam: string) =>
  `(select xmin::text from operator where id = ${operatorParam}) as operator_version`;

/**
 * Runs a read whose statement also reports the acting operator row's current version (OPERATOR_VERSION_SQL),
 * so that an operator kept by this process is as good as one read for the call: if the row changed since it
 * was kept (a change not heard yet), or the kept row refused the call, the read runs again with the stored
 * row. A read with a row read for this call runs once.
 *
 * The stored row replaces the kept one in `ctx` itself, so whatever else the call judges with that context
 * afterwards (another root field of a GraphQL operation, the fields its loaders resolve) is judged with the
 * stored row too. A row that matched the version was the stored one when this read's statement ran, after
 * the call began: never older than the row a call reading it afresh would have used throughout.
 */
export async function storedRead<T>(
  ctx: ServiceContext,
  read: (ctx: ServiceContext) => Promise<{ value: T; operatorVersion: string | null }>,
): Promise<T> {
  const kept = ctx.kept;
  if (!kept) return (await read(ctx)).value;
  try {
    const { value, operatorVersion } = await read(ctx);
    if (operatorVersion === kept.version) return value;
  } catch (error) {
    // A refusal or a 404 may come from a row that changed; anything else is the read's own failure.
    if (!(error instanceof DomainError) || error.status >= 500) throw error;
  }
  // The same stored row for every read of the call that finds the kept one changed (reload reads it once).
  await useStoredOperator(ctx);
  return (await read(ctx)).value;
}

/** A write judged with a kept operator row found that row changed (its statement wrote nothing). */
export class KeptOperatorChanged extends Error {
  constructor() {
    super('The operator row changed since it was kept');
  }
}

/**
 * A write that may be judged with the operator row this process kept (`ctx.kept`): its statement writes only
 * while the row's version is still the kept one, and throws KeptOperatorChanged otherwise, having written
 * nothing. A refusal judged with a kept row, or a kept row found changed, is judged again with the stored
 * row, as a call that read it would have been. Without a kept row the write runs once, as it is.
 */
export async function keptWrite<T>(
  ctx: ServiceContext,
  write: (ctx: ServiceContext) => Promise<T>,
): Promise<T> {
  const kept = ctx.kept;
  if (!kept) return write(ctx);
  try {
    return await write(ctx);
  } catch (error) {
    const refused = error instanceof DomainError && error.status < 500;
    if (!refused && !(error instanceof KeptOperatorChanged)) throw error;
  }
  await useStoredOperator(ctx);
  return write(ctx);
}

/**
 * From here on the call acts with the stored operator row instead of the kept one (read again; 401/403
 * as authentication would answer). For a call that cannot simply run again (a create has read its body).
 */
export async function useStoredOperator(ctx: ServiceContext): Promise<void> {
  const kept = ctx.kept;
  if (!kept) return;
  ctx.operator = await kept.reload();
  ctx.kept = undefined;
}
