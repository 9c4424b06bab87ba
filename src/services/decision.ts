// Deciding a pending request (approve, reject, cancel). Who may decide it and when is written once, as
// SQL over the request's row (src/sql/decision-sql.ts): it guards the conditional UPDATE that decides
// (which is what makes a race safe: concurrent deciders serialize on the row, and each is judged on what
// the others left), and the same expression explains a refusal. Every decision, a reversal's final
// approval included, is one statement: the money moves in the same transaction as the status, once.
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { Operator } from '../entities/operator.entity';
import { ProcessRequest, type ProcessRequestStatus } from '../entities/process-request.entity';
import { violatedConstraint } from '../infra/failures';
import { ADVISORY_LOCKS } from '../infra/locks';
import { can, KeptOperatorChanged } from '../domain/access';
import type { ServiceContext } from '../domain/context';
import { DomainError, type ErrorCode } from '../domain/errors';
import { expire } from '../runtime/expiry';
import type { ProgressEvent } from '../sql/progress';
import {
  APPROVAL_GUARD,
  DECIDE,
  type DecisionParam,
  EXPIRED,
  OPERATOR_CHANGED,
  type Outcome,
  REFUSAL,
} from '../sql/decision-sql';
import { APPROVALS_OF, approvalViews, type RequestRow } from '../sql/request-rows';
import { run, runSql } from '../sql/statement';
import type { ApprovalView } from '../shapes/views';

export type { Outcome };

type Refusal = ErrorCode | typeof EXPIRED | typeof OPERATOR_CHANGED;

const REFUSAL_MESSAGES: Partial<Record<ErrorCode, string>> = {
  FORBIDDEN: 'Only the creator (MAKER) or an ADMIN can cancel a request',
  REASON_REQUIRED:
    'A reason is required to reject a request that already has approvals, or when the policy requires one',
  AMOUNT_CONFIRMATION_REQUIRED: "The partner's policy requires confirmAmount, the request's amount re-keyed",
  EVIDENCE_NOT_VIEWED:
    "The partner's policy requires opening the evidence (a download link) before approving",
};

/** The database's guards a decision can run into, and what each means to the caller. */
const CONSTRAINT_REFUSALS: Record<string, ErrorCode> = {
  /** An operator approves a request once (approval's unique pair): two approvals by one operator raced. */
  approval_process_request_id_operator_id_unique: 'ALREADY_APPROVED_BY_OPERATOR',
  /** A balance never goes below zero: a reversal's debit raced something that spent the balance. */
  client_balance_available_check: 'INSUFFICIENT_BALANCE',
  /** SPEC section 18's caps, decided on the rows the approving statement locks. */
  client_balance_max_balance_check: 'BALANCE_CEILING_EXCEEDED',
  client_balance_daily_credit_limit_check: 'DAILY_CREDIT_LIMIT_EXCEEDED',
  operator_daily_total_limit_check: 'DAILY_LIMIT_EXCEEDED',
};

/**
 * How many times a decision is tried again when its row changed under it (another decider got there
 * first, and the row it left is judged afresh): each change is a counted approval or the end of the
 * request, so a handful is more than a request can take.
 */
const MAX_ATTEMPTS = 8;

export interface Decision {
  partnerId: string;
  id: string;
  outcome: Outcome;
  reason: string | null;
  /** The highest amount the operator may approve in the partner's currency; null: no limit. */
  limit: string | null;
  /** The partner's currency, and the operator's daily approval limit in it (null: no limit). */
  currency: string;
  dailyLimit: string | null;
  /** The amount re-keyed by the approver; null: none given. */
  confirmAmount: string | null;
  /** A step-up check (OTP) to pass before deciding; runs only once the guard allows the decision. */
  elevate?: () => Promise<void>;
  /** Told of every event recorded, once committed (the decision's, or the expiry it caused). */
  recorded: (events: ProgressEvent[]) => void;
}

export interface Decided {
  /**
   * The decided row as stored (process_request's columns). A door that answers the request makes it an
   * entity (`requestOf`); one that answers 204 does not pay for the mapping.
   */
  row: Record<string, unknown> & { id: string; status: ProcessRequestStatus };
  /** The request's approvals, oldest first: at least those the decided row counts (see `counted`). */
  approvals: ApprovalView[];
  /** The events the decision recorded (a reversal's final approval records two). */
  events: ProgressEvent[];
}

/** One row of a decision statement: the guard's verdict, what it recorded, and the decided row (d.*). */
interface DecisionRow extends Record<string, unknown> {
  decision_refusal: Refusal | null;
  decision_events: ProgressEvent[] | null;
  decision_approvals: Array<{ operatorId: string; at: string }> | null;
  id: string | null;
}

function paramsOf(ctx: ServiceContext, decision: Decision): Record<DecisionParam, unknown> {
  const { operator } = ctx;
  return {
    id: decision.id,
    partnerId: decision.partnerId,
    operatorId: operator.id,
    reason: decision.reason,
    limit: decision.limit,
    confirmAmount: decision.confirmAmount,
    dailyLimit: decision.dailyLimit,
    currency: decision.currency,
    canCancelAny: can(operator, 'cancel-any'),
    canCancelOwn: can(operator, 'cancel-own'),
    approvalId: randomUUID(),
    ledgerId: randomUUID(),
    eventOrderLock: ADVISORY_LOCKS.EVENT_ORDER,
    operatorVersion: ctx.kept?.version ?? null,
  };
}

/**
 * The approval guard of this operator as SQL over a process_request row, with `?` parameters: null where an
 * approval would be allowed now. The console's "Pending my decision" filters with it, so the inbox and the
 * decision agree. The amount the checker will re-key is taken as the request's own (the inbox asks for it
 * when they approve).
 */
export function approvalGuard(operator: Operator, limit: string | null): { sql: string; params: unknown[] } {
  const values: Partial<Record<DecisionParam, unknown>> = {
    operatorId: operator.id,
    limit,
    operatorVersion: null,
  };
  const expressions: Partial<Record<DecisionParam, string>> = {
    confirmAmount: 'process_request.requested_amount',
  };
  const params: unknown[] = [];
  const sql = APPROVAL_GUARD.text.replace(/\$(\d+)(::\w+)?/g, (whole, n: string) => {
    const name = APPROVAL_GUARD.names[Number(n) - 1];
    if (expressions[name]) return expressions[name];
    if (!(name in values)) throw new Error(`approval guard: no value for :${name}`);
    params.push(values[name]);
    return whole.replace(`$${n}`, '?');
  });
  return { sql, params };
}

/** Why the guard refuses this request now: NOT_FOUND when it is not the partner's, null when it does not. */
async function refusalOf(
  em: EntityManager,
  outcome: Outcome,
  params: Record<DecisionParam, unknown>,
): Promise<Refusal | null> {
  const [row] = await run<{ refusal: Refusal | null }, DecisionParam>(em, REFUSAL[outcome], params);
  return row ? row.refusal : 'NOT_FOUND';
}

/** Turns a refusal into its error; a request past its deadline is expired first (SPEC section 13). */
async function refuse(ctx: ServiceContext, decision: Decision, refusal: Refusal): Promise<never> {
  if (refusal === OPERATOR_CHANGED) throw new KeptOperatorChanged();
  if (refusal === EXPIRED) {
    decision.recorded(await expire(ctx.em, { partnerId: decision.partnerId, id: decision.id }));
    throw new DomainError('PROCESS_REQUEST_NOT_PENDING', 'The process request expired before it was decided');
  }
  if (refusal === 'NOT_FOUND') throw new DomainError('NOT_FOUND', 'Process request not found');
  throw new DomainError(refusal, REFUSAL_MESSAGES[refusal]);
}

/** Runs the decision's one statement; a refusal, or what it decided; undefined when the row changed under it. */
async function attempt(
  em: EntityManager,
  outcome: Outcome,
  params: Record<DecisionParam, unknown>,
): Promise<Refusal | Decided | undefined> {
  let rows: DecisionRow[];
  try {
    rows = await run<DecisionRow, DecisionParam>(em, DECIDE[outcome], params);
  } catch (error) {
    const refusal = CONSTRAINT_REFUSALS[violatedConstraint(error) ?? ''];
    if (refusal) return refusal;
    throw error;
  }
  const [row] = rows;
  if (!row) return 'NOT_FOUND';
  const {
    decision_refusal: refusal,
    decision_events: events,
    decision_approvals: approvals,
    ...request
  } = row;
  if (request.id === null) return refusal ?? undefined;
  return {
    row: request as Decided['row'],
    approvals: await counted(em, request as Decided['row'], approvalViews(approvals)),
    events: events ?? [],
  };
}

/**
 * The approvals the decided row counts. The decision's statement lists them from its snapshot, taken before
 * it waited on the row lock: a decider that committed meanwhile left the row the statement decided (its
 * approval in approval_count) but not its approval in that list, which is then one short. Only then are
 * they read again, by a new statement with a new snapshot, so a decision stays one statement when the two
 * agree (nearly always). That read sees the request as stored now: should yet another approval have come
 * in since (this decision left the request PENDING), it is listed too.
 */
async function counted(
  em: EntityManager,
  row: Decided['row'],
  approvals: ApprovalView[],
): Promise<ApprovalView[]> {
  if (approvals.length === Number(row.approval_count)) return approvals;
  const [now] = await runSql<Pick<RequestRow, 'approvals'>>(
    em,
    `select ${APPROVALS_OF('r')} from process_request r where r.id = ?`,
    [row.id],
  );
  return approvalViews(now?.approvals);
}

/** The decided request as an entity of the call's EntityManager. */
export function requestOf(em: EntityManager, decided: Decided): ProcessRequest {
  return em.map(ProcessRequest, decided.row);
}

/**
 * Decides the request: the guard first when a step-up is needed (a refused request costs no OTP attempt),
 * then the decision's one statement, again while another decider keeps changing the row under it.
 */
export async function decide(ctx: ServiceContext, decision: Decision): Promise<Decided> {
  const params = paramsOf(ctx, decision);
  if (decision.elevate) {
    const refusal = await refusalOf(ctx.em, decision.outcome, params);
    if (refusal) await refuse(ctx, decision, refusal);
    await decision.elevate();
  }
  for (let tries = 1; ; tries++) {
    const decided = await attempt(ctx.em, decision.outcome, params);
    if (typeof decided === 'string') return refuse(ctx, decision, decided);
    if (decided) {
      decision.recorded(decided.events);
      return decided;
    }
    // The row this statement's snapshot allowed was changed and refused by the time it was locked.
    if (tries >= MAX_ATTEMPTS) return refuse(ctx, decision, 'PROCESS_REQUEST_NOT_PENDING');
  }
}
