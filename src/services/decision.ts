// Deciding a pending request (approve, reject, cancel). Who may decide it and when is written once, as
// SQL over the request's row: it guards the conditional UPDATE that decides (which is what makes a race
// safe: of N concurrent deciders exactly one changes the row), and the same expression explains a refusal.
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { Operator } from '../entities/operator.entity';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { ProcessRequest, ProcessRequestStatus } from '../entities/process-request.entity';
import { can } from './access';
import type { ServiceContext } from './context';
import { DomainError, type ErrorCode } from './errors';
import { type EventData, type ProgressEvent, recordEvent } from './progress';

export type Outcome =
  ProcessRequestStatus.APPROVED | ProcessRequestStatus.REJECTED | ProcessRequestStatus.CANCELLED;

const OUTCOME_EVENT: Record<Outcome, ProgressEventType> = {
  [ProcessRequestStatus.APPROVED]: ProgressEventType.APPROVED,
  [ProcessRequestStatus.REJECTED]: ProgressEventType.REJECTED,
  [ProcessRequestStatus.CANCELLED]: ProgressEventType.CANCELLED,
};

const REFUSAL_MESSAGES: Partial<Record<ErrorCode, string>> = {
  FORBIDDEN: 'Only the creator (MAKER) or an ADMIN can cancel a request',
};

export interface Decision {
  partnerId: string;
  id: string;
  outcome: Outcome;
  reason: string | null;
  /** A step-up check (OTP) to pass before deciding; runs only once the guard allows the decision. */
  elevate?: () => Promise<void>;
}

interface Guard {
  /** A SQL expression over a process_request row: the refusal's error code, or null when allowed. */
  sql: string;
  params: unknown[];
}

/**
 * The rules of SPEC sections 2 and 4 for one operator and outcome, in the order their errors answer:
 * cancel is the creator's (with MAKER) or an ADMIN's; nobody reviews a request they created (four
 * eyes); only a PENDING request is decided.
 */
function guardOf(operator: Operator, outcome: Outcome): Guard {
  const notPending = `when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING'`;
  if (outcome === ProcessRequestStatus.CANCELLED) {
    return {
      sql: `case when not (?::boolean or (created_by = ? and ?::boolean)) then 'FORBIDDEN' ${notPending} end`,
      params: [can(operator, 'cancel-any'), operator.id, can(operator, 'cancel-own')],
    };
  }
  return {
    sql: `case when created_by = ? then 'SELF_REVIEW_FORBIDDEN' ${notPending} end`,
    params: [operator.id],
  };
}

/** Throws the reason the guard refuses this request (404 when it is not the partner's), if any. */
async function explain(em: EntityManager, decision: Decision, guard: Guard): Promise<void> {
  const [row] = await em.execute<{ refusal: ErrorCode | null }[]>(
    `select (${guard.sql}) as refusal from process_request where id = ? and client_id = ?`,
    [...guard.params, decision.id, decision.partnerId],
  );
  if (!row) throw new DomainError('NOT_FOUND', 'Process request not found');
  if (row.refusal) throw new DomainError(row.refusal, REFUSAL_MESSAGES[row.refusal]);
}

/** Decides the request in one transaction: the guarded UPDATE, the credit of an approval, the event. */
export async function decide(
  ctx: ServiceContext,
  decision: Decision,
): Promise<{ request: ProcessRequest; event: ProgressEvent }> {
  const { outcome, reason } = decision;
  const guard = guardOf(ctx.operator, outcome);
  if (decision.elevate) {
    // The guard answers first: a request the operator may not decide costs them no OTP attempt.
    await explain(ctx.em, decision, guard);
    await decision.elevate();
  }
  const actorColumns =
    outcome === ProcessRequestStatus.CANCELLED
      ? 'cancelled_by = ?, cancelled_at = now()'
      : 'reviewed_by = ?, reviewed_at = now()';
  return ctx.em.transactional(async (em) => {
    const rows = await em.execute<Record<string, unknown>[]>(
      `update process_request set status = ?, ${actorColumns}, review_reason = ?, updated_at = now()
       where id = ? and client_id = ? and (${guard.sql}) is null
       returning *`,
      [outcome, ctx.operator.id, reason, decision.id, decision.partnerId, ...guard.params],
    );
    if (rows.length === 0) {
      await explain(em, decision, guard);
      // Allowed now, refused a moment ago: another decision won and was undone meanwhile. Say so plainly.
      throw new DomainError('PROCESS_REQUEST_NOT_PENDING');
    }
    const pr = em.map(ProcessRequest, rows[0]);
    const data: EventData = {};
    if (reason) data.reason = reason;
    if (outcome === ProcessRequestStatus.APPROVED) data.available = await credit(em, pr);
    const event = await recordEvent(em, {
      processRequestId: pr.id,
      partnerId: decision.partnerId,
      type: OUTCOME_EVENT[outcome],
      actorId: ctx.operator.id,
      fromStatus: ProcessRequestStatus.PENDING,
      toStatus: outcome,
      data,
    });
    return { request: pr, event };
  });
}

/** Adds the amount to the balance in SQL and writes its ledger entry; returns the balance after. */
async function credit(em: EntityManager, pr: ProcessRequest): Promise<string> {
  const [balance] = await em.execute<{ available: string }[]>(
    `update client_balance set available = available + ?::numeric, updated_at = now() where id = ? returning available`,
    [pr.requestedAmount, pr.clientBalanceId],
  );
  await em.execute(
    `insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after) values (?, ?, ?, ?::numeric, ?::numeric)`,
    [randomUUID(), pr.clientBalanceId, pr.id, pr.requestedAmount, balance.available],
  );
  return balance.available;
}
