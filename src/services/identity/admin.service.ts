// Setting up partners and operators (CLI and the demo seed). Not reachable from the HTTP doors.
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { ApprovalPolicy } from '../../entities/approval-policy.entity';
import { ClientBalance } from '../../entities/client-balance.entity';
import type { z } from 'zod';
import { Operator } from '../../entities/operator.entity';
import { Partner } from '../../entities/partner.entity';
import { OperatorSubjectRelease } from '../../entities/operator-subject-release.entity';
import { subjectSkeletonSql } from '../../domain/subject';
import { DomainError } from '../../domain/errors';
import { announceOperatorChange } from '../../runtime/operator-change';
import type { newOperator, newPartner, operatorChanges } from '../../shapes/inputs';

export interface SubjectOptions {
  /** How long a subject one operator gave up is refused to others: MAX_TOKEN_LIFETIME_SECONDS. */
  reuseAfterSeconds?: number;
}

/** MAX_TOKEN_LIFETIME_SECONDS's default. */
const DEFAULT_REUSE_AFTER_SECONDS = 86400;

/**
 * Refuses (400, field `subject`) a subject (already normalised by the input) that collides with another
 * operator's after compatibility normalisation and case folding (full-width, ligature and case
 * look-alikes), or that another operator gave up less than a token lifetime ago: that operator's tokens
 * may still verify, and would act as this one.
 */
async function assertSubjectFree(
  em: EntityManager,
  subject: string,
  operatorId: string,
  options: SubjectOptions,
): Promise<void> {
  const [row] = await em.execute<Array<{ taken: boolean; recent: boolean }>>(
    `select exists (select 1 from operator
                     where ${subjectSkeletonSql('subject')} = ${subjectSkeletonSql('?')} and id <> ?) as taken,
            exists (select 1 from operator_subject_release
                     where ${subjectSkeletonSql('subject')} = ${subjectSkeletonSql('?')} and operator_id <> ?
                       and released_at > now() - make_interval(secs => ?)) as recent`,
    [subject, operatorId, subject, operatorId, options.reuseAfterSeconds ?? DEFAULT_REUSE_AFTER_SECONDS],
  );
  if (row.taken)
    throw new DomainError('VALIDATION_FAILED', `another operator has subject ${subject} or one like it`, {
      field: 'subject',
    });
  if (row.recent)
    throw new DomainError(
      'VALIDATION_FAILED',
      `subject ${subject} was given up by another operator less than a token lifetime ago; its tokens may still be alive`,
      { field: 'subject' },
    );
}

/** How many operators have no subject of their own (their id): unreachable with a claim other than `sub`. */
export async function operatorsWithoutSubject(em: EntityManager): Promise<number> {
  const [row] = await em.execute<Array<{ n: string }>>(
    'select count(*) as n from operator where subject = id::text',
  );
  return Number(row.n);
}

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
  options: SubjectOptions = {},
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
  const id = randomUUID();
  if (input.subject !== undefined) await assertSubjectFree(em, input.subject, id, options);
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
  options: SubjectOptions = {},
): Promise<Operator> {
  return em.transactional(async (tx) => {
    const operator = await findOperator(tx, idOrEmail);
    if (changes.partnerIds) {
      const found = await tx.count(Partner, { id: { $in: changes.partnerIds } });
      if (found !== changes.partnerIds.length)
        throw new DomainError('NOT_FOUND', 'One of the partners does not exist');
    }
    if (changes.subject !== undefined && changes.subject !== operator.subject) {
      await assertSubjectFree(tx, changes.subject, operator.id, options);
      // Tokens issued for the old subject may live on: it is not given to anyone else for a while.
      tx.create(OperatorSubjectRelease, { subject: operator.subject, operatorId: operator.id });
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
