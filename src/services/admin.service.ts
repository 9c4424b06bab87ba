// Setting up partners and operators (CLI and the demo seed). Not reachable from the HTTP doors.
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { ApprovalPolicy } from '../entities/approval-policy.entity';
import { ClientBalance } from '../entities/client-balance.entity';
import type { z } from 'zod';
import { Operator } from '../entities/operator.entity';
import { Partner } from '../entities/partner.entity';
import { DomainError } from '../domain/errors';
import { announceOperatorChange } from '../runtime/operator-change';
import type { newOperator, newPartner, operatorChanges } from '../shapes/inputs';

/** Creates a partner and its balance (input parsed by the door with inputs.newPartner). */
export async function createPartner(
  em: EntityManager,
  input: z.output<typeof newPartner>,
): Promise<{ partner: Partner; balance: ClientBalance }> {
  return em.transactional(async (tx) => {
    const partner = tx.create(Partner, input.id ? { id: input.id, name: input.name } : { name: input.name });
    // The partner row first, so the balance's foreign key holds.
    await tx.flush();
    const balance = tx.create(ClientBalance, {
      partnerId: partner.id,
      currency: input.currency,
      available: '0',
    });
    tx.create(ApprovalPolicy, { partnerId: partner.id });
    await tx.flush();
    return { partner, balance };
  });
}

/** Creates an operator (input parsed by the door with inputs.newOperator); its partners must exist. */
export async function createOperator(
  em: EntityManager,
  input: z.output<typeof newOperator>,
): Promise<Operator> {
  if (input.partnerIds !== null) {
    const found = await em.count(Partner, { id: { $in: input.partnerIds } });
    if (found !== input.partnerIds.length)
      throw new DomainError('NOT_FOUND', 'One of the partners does not exist');
  }
  if (await em.count(Operator, { email: input.email })) {
    throw new DomainError('VALIDATION_FAILED', `an operator with email ${input.email} already exists`, {
      field: 'email',
    });
  }
  if (input.subject !== undefined && (await em.count(Operator, { subject: input.subject }))) {
    throw new DomainError('VALIDATION_FAILED', `another operator has subject ${input.subject}`, {
      field: 'subject',
    });
  }
  const id = randomUUID();
  const operator = em.create(Operator, { ...input, id, subject: input.subject ?? id, active: true });
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

/** Deactivates an operator; every process closes the operator's open progress streams when it commits. */
export async function deactivateOperator(em: EntityManager, idOrEmail: string): Promise<Operator> {
  return em.transactional(async (tx) => {
    const operator = await findOperator(tx, idOrEmail);
    operator.active = false;
    await tx.flush();
    await announceOperatorChange(tx, operator.id);
    return operator;
  });
}

/**
 * Changes what is given of an operator (input parsed by the door with inputs.operatorChanges); every
 * process re-checks the operator's open progress streams when it commits (a narrowed scope closes them).
 */
export async function updateOperator(
  em: EntityManager,
  idOrEmail: string,
  changes: z.output<typeof operatorChanges>,
): Promise<Operator> {
  return em.transactional(async (tx) => {
    const operator = await findOperator(tx, idOrEmail);
    if (changes.partnerIds) {
      const found = await tx.count(Partner, { id: { $in: changes.partnerIds } });
      if (found !== changes.partnerIds.length)
        throw new DomainError('NOT_FOUND', 'One of the partners does not exist');
    }
    if (
      changes.subject !== undefined &&
      (await tx.count(Operator, { subject: changes.subject, id: { $ne: operator.id } }))
    ) {
      throw new DomainError('VALIDATION_FAILED', `another operator has subject ${changes.subject}`, {
        field: 'subject',
      });
    }
    for (const [key, value] of Object.entries(changes)) {
      if (value !== undefined) tx.assign(operator, { [key]: value });
    }
    await tx.flush();
    await announceOperatorChange(tx, operator.id);
    return operator;
  });
}

export async function activateOperator(em: EntityManager, idOrEmail: string): Promise<Operator> {
  return em.transactional(async (tx) => {
    const operator = await findOperator(tx, idOrEmail);
    operator.active = true;
    await tx.flush();
    await announceOperatorChange(tx, operator.id);
    return operator;
  });
}
