// Deciding a pending request (approve, reject, cancel). Who may decide it and when is written once, as
// SQL over the request's row: it guards the conditional UPDATE that decides (which is what makes a race
// safe: concurrent deciders serialize on the row, and each is judged on what the others left), and the
// same expression explains a refusal.
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { Operator } from '../entities/operator.entity';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { ProcessRequest, ProcessRequestStatus } from '../entities/process-request.entity';
import { BALANCE_REVERSAL_PROCESS_TYPE_ID } from '../entities/process-type.entity';
import { violatedConstraint } from '../infra/failures';
import { can } from '../domain/access';
import type { ServiceContext } from '../domain/context';
import { DomainError, type ErrorCode } from '../domain/errors';
import { expire } from '../runtime/expiry';
import { type EventData, type NewEvent, type ProgressEvent, recordEvents } from '../sql/progress';
import { decideAtOnce, type Guard, type Outcome, updateOf, updateParams } from '../sql/decision-sql';
import type { ApprovalView } from '../shapes/views';

export type { Outcome };

/** The refusal a guard reports for a request past its deadline: it is expired, then refused as not pending. */
const EXPIRED = 'EXPIRED';
type Refusal = ErrorCode | typeof EXPIRED;

const REFUSAL_MESSAGES: Partial<Record<ErrorCode, string>> = {
  FORBIDDEN: 'Only the creator (MAKER) or an ADMIN can cancel a request',
  REASON_REQUIRED: 'A reason is required to reject a request that already has approvals',
};

/** The database's guard that an operator approves a request once (approval's unique pair). */
const ONE_APPROVAL_PER_OPERATOR = 'approval_process_request_id_operator_id_unique';

export interface Decision {
  partnerId: string;
  id: string;
  outcome: Outcome;
  reason: string | null;
  /** The highest amount the operator may approve in the partner's currency; null: no limit. */
  limit: string | null;
  /** A step-up check (OTP) to pass before deciding; runs only once the guard allows the decision. */
  elevate?: () => Promise<void>;
  /** Told of every event recorded, once committed (the decision's, or the expiry it caused). */
  recorded: (events: ProgressEvent[]) => void;
}

export interface Decided {
  request: ProcessRequest;
  /** The request's approvals, oldest first, when the decision read them with it. */
  approvals?: ApprovalView[];
  /** The events the decision recorded (a reversal's approval records two). */
  events: ProgressEvent[];
}

/**
 * The rules of SPEC sections 2, 4, 12 and 13 for one operator and outcome, in the order their errors
 * answer: cancel is the creator's (with MAKER) or an ADMIN's; nobody reviews a request they created
 * (four eyes); only a PENDING request before its deadline is decided; an operator approves a request
 * once and never above their limit; rejecting a request that has approvals takes a reason.
 */
function guardOf(operator: Operator, decision: Pick<Decision, 'outcome' | 'reason' | 'limit'>): Guard {
  const open = `when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then '${EXPIRED}'`;
  switch (decision.outcome) {
    case ProcessRequestStatus.CANCELLED:
      return {
        sql: `case when not (?::boolean or (created_by = ? and ?::boolean)) then 'FORBIDDEN' ${open} end`,
        params: [can(operator, 'cancel-any'), operator.id, can(operator, 'cancel-own')],
      };
    case ProcessRequestStatus.REJECTED:
      return {
        sql: `case when created_by = ? then 'SELF_REVIEW_FORBIDDEN' ${open}
                   when approval_count > 0 and ?::text is null then 'REASON_REQUIRED' end`,
        params: [operator.id, decision.reason],
      };
    case ProcessRequestStatus.APPROVED:
      return {
        sql: `case when created_by = ? then 'SELF_REVIEW_FORBIDDEN' ${open}
                   when exists (select 1 from approval a where a.process_request_id = process_request.id and a.operator_id = ?)
                     then 'ALREADY_APPROVED_BY_OPERATOR'
                   when requested_amount > ?::numeric then 'APPROVAL_LIMIT_EXCEEDED' end`,
        params: [operator.id, operator.id, decision.limit],
      };
  }
}

/**
 * The approval guard of this operator as SQL over a process_request row: null where an approval would be
 * allowed now. The console's "Pending my decision" filters with it, so the inbox and the decision agree.
 */
export function approvalGuard(operator: Operator, limit: string | null): Guard {
  return guardOf(operator, { outcome: ProcessRequestStatus.APPROVED, reason: null, limit });
}

/** Why the guard refuses this request now: NOT_FOUND when it is not the partner's, null when it does not. */
async function refusalOf(em: EntityManager, decision: Decision, guard: Guard): Promise<Refusal | null> {
  const [row] = await em.execute<{ refusal: Refusal | null }[]>(
    `select (${guard.sql}) as refusal from process_request where id = ? and client_id = ?`,
    [...guard.params, decision.id, decision.partnerId],
  );
  return row ? row.refusal : 'NOT_FOUND';
}

/** Turns a refusal into its error; a request past its deadline is expired first (SPEC section 13). */
async function refuse(ctx: ServiceContext, decision: Decision, refusal: Refusal): Promise<never> {
  if (refusal === EXPIRED) {
    decision.recorded(await expire(ctx.em, { partnerId: decision.partnerId, id: decision.id }));
    throw new DomainError('PROCESS_REQUEST_NOT_PENDING', 'The process request expired before it was decided');
  }
  if (refusal === 'NOT_FOUND') throw new DomainError('NOT_FOUND', 'Process request not found');
  throw new DomainError(refusal, REFUSAL_MESSAGES[refusal]);
}

/**
 * Decides the request: the guard first when a step-up is needed (a refused request costs no OTP attempt),
 * then one transaction: the guarded UPDATE, the approval record, the money movement of a final approval,
 * and the events.
 */
export async function decide(ctx: ServiceContext, decision: Decision): Promise<Decided> {
  const guard = guardOf(ctx.operator, decision);
  if (decision.elevate) {
    const refusal = await refusalOf(ctx.em, decision, guard);
    if (refusal) await refuse(ctx, decision, refusal);
    await decision.elevate();
  }
  let decided: Decided | Refusal;
  try {
    // One statement decides it, unless it moves money the statement does not (a reversal's final approval)
    // or another decider changed the row meanwhile: then the transaction below, which judges it again.
    const once = await decideAtOnce(ctx.em, ctx.operator, decision, guard);
    if (once.kind === 'refused') decided = once.refusal as Refusal;
    else if (once.kind === 'decided') decided = once;
    else
      decided = await ctx.em.transactional(async (em) => {
        const rows = await em.execute<Record<string, unknown>[]>(updateOf(decision.outcome, guard.sql), [
          ...updateParams(ctx.operator, decision.outcome, decision.reason),
          decision.id,
          decision.partnerId,
          ...guard.params,
        ]);
        // Refused: the same guard says why (another decider may have just changed the row).
        if (rows.length === 0) return (await refusalOf(em, decision, guard)) ?? 'PROCESS_REQUEST_NOT_PENDING';
        const request = em.map(ProcessRequest, rows[0]);
        return { request, events: await consequences(em, ctx.operator, decision, request) };
      });
  } catch (error) {
    if (violatedConstraint(error) === ONE_APPROVAL_PER_OPERATOR)
      throw new DomainError('ALREADY_APPROVED_BY_OPERATOR');
    throw error;
  }
  if (typeof decided === 'string') return refuse(ctx, decision, decided);
  decision.recorded(decided.events);
  return decided;
}

/** What follows a decided UPDATE, in its transaction: the approval, the money, the events. */
async function consequences(
  em: EntityManager,
  operator: Operator,
  decision: Decision,
  request: ProcessRequest,
): Promise<ProgressEvent[]> {
  const { reason, partnerId } = decision;
  const base = {
    processRequestId: request.id,
    partnerId,
    actorId: operator.id,
    fromStatus: ProcessRequestStatus.PENDING,
  };
  const data: EventData = reason ? { reason } : {};
  if (decision.outcome !== ProcessRequestStatus.APPROVED) {
    const type =
      decision.outcome === ProcessRequestStatus.REJECTED
        ? ProgressEventType.REJECTED
        : ProgressEventType.CANCELLED;
    return recordEvents(em, [{ ...base, type, toStatus: request.status, data }]);
  }
  await em.execute(`insert into approval (id, process_request_id, operator_id, reason) values (?, ?, ?, ?)`, [
    randomUUID(),
    request.id,
    operator.id,
    reason,
  ]);
  if (request.status === ProcessRequestStatus.PENDING) {
    return recordEvents(em, [
      {
        ...base,
        type: ProgressEventType.APPROVAL_RECORDED,
        toStatus: ProcessRequestStatus.PENDING,
        data: { ...data, approvals: request.approvalCount, requiredApprovals: request.requiredApprovals },
      },
    ]);
  }
  if (request.processTypeId === BALANCE_REVERSAL_PROCESS_TYPE_ID) return reverse(em, base, data, request);
  const available = await move(em, request, request.requestedAmount);
  return recordEvents(em, [
    {
      ...base,
      type: ProgressEventType.APPROVED,
      toStatus: ProcessRequestStatus.APPROVED,
      data: { ...data, available },
    },
  ]);
}

/** A reversal's final approval: debit the balance, mark the original REVERSED, record both events. */
async function reverse(
  em: EntityManager,
  base: Omit<NewEvent, 'type'>,
  data: EventData,
  reversal: ProcessRequest,
): Promise<ProgressEvent[]> {
  const available = await move(em, reversal, `-${reversal.requestedAmount}`);
  const originals = await em.execute<{ id: string }[]>(
    `update process_request set status = 'REVERSED', reversed_by = ?, updated_at = now()
      where id = ? and client_id = ? and status = 'APPROVED' returning id`,
    [reversal.id, reversal.reversalOf, reversal.partnerId],
  );
  // The original cannot leave APPROVED while this reversal is live (the one-live-reversal index).
  if (originals.length !== 1)
    throw new Error(`reversal ${reversal.id}: original ${reversal.reversalOf} is not APPROVED`);
  return recordEvents(em, [
    {
      ...base,
      type: ProgressEventType.APPROVED,
      toStatus: ProcessRequestStatus.APPROVED,
      data: { ...data, available, reversalId: reversal.reversalOf as string },
    },
    {
      ...base,
      processRequestId: reversal.reversalOf as string,
      type: ProgressEventType.REVERSED,
      fromStatus: ProcessRequestStatus.APPROVED,
      toStatus: ProcessRequestStatus.REVERSED,
      data: { ...data, available, reversalId: reversal.id },
    },
  ]);
}

/**
 * Moves money by a signed amount, in SQL, with its ledger entry; returns the balance after. A debit that
 * would take the balance below zero moves nothing: 409 INSUFFICIENT_BALANCE (the decision rolls back).
 */
async function move(em: EntityManager, request: ProcessRequest, amount: string): Promise<string> {
  const [balance] = await em.execute<{ available: string }[]>(
    `update client_balance set available = available + ?::numeric, updated_at = now()
      where id = ? and available + ?::numeric >= 0 returning available`,
    [amount, request.clientBalanceId, amount],
  );
  if (!balance) throw new DomainError('INSUFFICIENT_BALANCE');
  await em.execute(
    `insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after) values (?, ?, ?, ?::numeric, ?::numeric)`,
    [randomUUID(), request.clientBalanceId, request.id, amount, balance.available],
  );
  return balance.available;
}
