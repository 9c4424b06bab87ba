// The statements that decide a request (decision.ts): the guarded UPDATE of the transaction path, and the
// same decision written as one statement, which the hot path sends instead of a transaction of six.
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { Operator } from '../entities/operator.entity';
import { ProcessRequest, ProcessRequestStatus } from '../entities/process-request.entity';
import { BALANCE_REVERSAL_PROCESS_TYPE_ID } from '../entities/process-type.entity';
import { EVENT_COLUMNS, EVENT_ORDER_LOCK, PROGRESS_CHANNEL, type ProgressEvent } from './progress';
import { pgDate } from './request-rows';
import type { ApprovalView } from '../shapes/views';

export type Outcome =
  ProcessRequestStatus.APPROVED | ProcessRequestStatus.REJECTED | ProcessRequestStatus.CANCELLED;

export interface Guard {
  /** A SQL expression over a process_request row: the refusal's code, or null when the decision may go on. */
  sql: string;
  params: unknown[];
}

/**
 * The deciding UPDATE. An approval counts one more approval and, when that completes the required
 * number, approves; a rejection or a cancellation ends the request at once.
 */
export function updateOf(outcome: Outcome, guard: string, extra = ''): string {
  const where = `where id = ? and client_id = ? and (${guard}) is null ${extra} returning *`;
  if (outcome === ProcessRequestStatus.APPROVED) {
    const completes = 'approval_count + 1 >= required_approvals';
    return `update process_request set
        approval_count = approval_count + 1,
        status = case when ${completes} then 'APPROVED'::process_request_status else status end,
        reviewed_by = case when ${completes} then ?::uuid else reviewed_by end,
        reviewed_at = case when ${completes} then now() else reviewed_at end,
        review_reason = case when ${completes} then ?::text else review_reason end,
        updated_at = now()
      ${where}`;
  }
  const actor = outcome === ProcessRequestStatus.CANCELLED ? 'cancelled' : 'reviewed';
  return `update process_request set status = ?, ${actor}_by = ?, ${actor}_at = now(), review_reason = ?, updated_at = now()
    ${where}`;
}

export function updateParams(operator: Operator, outcome: Outcome, reason: string | null): unknown[] {
  return outcome === ProcessRequestStatus.APPROVED ? [operator.id, reason] : [outcome, operator.id, reason];
}

/** The final approval of a reversal: it debits and reverses its original, which only the transaction path does. */
const FINAL_REVERSAL = `(process_type_id = ${BALANCE_REVERSAL_PROCESS_TYPE_ID} and approval_count + 1 >= required_approvals)`;

/** An event row as the one shape (eventOfRow), in SQL: what NOTIFY carries and the statement returns. */
const EVENT_JSON = `json_build_object('id', e.id::text, 'partnerId', e.client_id, 'processRequestId', e.process_request_id,
  'type', e.type, 'actorId', e.actor_id, 'fromStatus', e.from_status, 'toStatus', e.to_status,
  'data', coalesce(e.data, '{}'::jsonb), 'at', to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;

export type AtOnce =
  | { kind: 'decided'; request: ProcessRequest; approvals: ApprovalView[]; events: ProgressEvent[] }
  | { kind: 'refused'; refusal: string }
  /** A final reversal approval, or a request another decider changed meanwhile: take the transaction path. */
  | { kind: 'transaction' };

/**
 * The whole decision in one statement, so one round trip: the guard's verdict on the row as it was,
 * the guarded UPDATE (which, as in the transaction path, waits for concurrent deciders and judges the
 * row they left), the approval, the credit and its ledger entry when the approval completes a top-up,
 * the per-partner event-order lock, the event and its NOTIFY. A statement is its own transaction: all of
 * it commits, or none (a second approval by the same operator fails on the approval's unique pair).
 */
export async function decideAtOnce(
  em: EntityManager,
  operator: Operator,
  decision: { id: string; partnerId: string; outcome: Outcome; reason: string | null },
  guard: Guard,
): Promise<AtOnce> {
  const { id, partnerId, outcome, reason } = decision;
  const approving = outcome === ProcessRequestStatus.APPROVED;
  const final = approving ? FINAL_REVERSAL : 'false';
  const ctes = [
    `target as (select (${guard.sql}) as refusal, ${final} as slow from process_request where id = ? and client_id = ?)`,
    `decided as (${updateOf(outcome, guard.sql, `and not ${final}`)})`,
  ];
  const params: unknown[] = [
    ...guard.params,
    id,
    partnerId,
    ...updateParams(operator, outcome, reason),
    id,
    partnerId,
    ...guard.params,
  ];
  let type: string;
  let data: string;
  if (approving) {
    ctes.push(
      `approved_by as (insert into approval (id, process_request_id, operator_id, reason)
         select ?, d.id, ?, ? from decided d returning operator_id, created_at, id)`,
      `credit as (update client_balance b set available = b.available + d.requested_amount, updated_at = now()
         from decided d where b.id = d.client_balance_id and d.status = 'APPROVED' returning b.available)`,
      `ledger as (insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after)
         select ?, d.client_balance_id, d.id, d.requested_amount, c.available from decided d, credit c returning id)`,
    );
    params.push(randomUUID(), operator.id, reason, randomUUID());
    type = `case when d.status = 'APPROVED' then 'APPROVED' else 'APPROVAL_RECORDED' end::progress_event_type`;
    data = `jsonb_build_object('reason', ?::text, 'available', o.available::text,
      'approvals', case when d.status = 'PENDING' then d.approval_count end,
      'requiredApprovals', case when d.status = 'PENDING' then d.required_approvals end)`;
  } else {
    type = `'${outcome === ProcessRequestStatus.REJECTED ? 'REJECTED' : 'CANCELLED'}'::progress_event_type`;
    data = `jsonb_build_object('reason', ?::text)`;
  }
  ctes.push(
    // The order lock comes last, after the balance row's lock (taken by the credit, which the join runs
    // first): the transaction path locks in that order too, and the opposite order deadlocks against it.
    `ordered as (select pg_advisory_xact_lock(?, hashtext(?)) as locked${
      approving ? ', c.available from decided left join credit c on true' : ' from decided'
    })`,
    `event as (insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
       select d.id, d.client_id, ${type}, ?::uuid, 'PENDING', d.status, nullif(jsonb_strip_nulls(${data}), '{}'::jsonb)
         from decided d cross join ordered o
       returning ${EVENT_COLUMNS})`,
    `announced as (select ${EVENT_JSON} as event from event e)`,
    `notified as (select pg_notify(?, a.event::text) as sent, 1 as one from announced a)`,
  );
  params.push(EVENT_ORDER_LOCK, partnerId, operator.id, reason || null, PROGRESS_CHANNEL);
  const approvals = `select operator_id, created_at, id from approval where process_request_id = d.id${
    approving ? ' union all select operator_id, created_at, id from approved_by' : ''
  }`;
  const [row] = await em.execute<Array<Record<string, unknown>>>(
    `with ${ctes.join(',\n')}
     select t.refusal as decision_refusal, t.slow as decision_slow, (select count(*) from notified) as decision_notified,
            (select a.event from announced a) as decision_event,
            (select json_agg(json_build_object('operatorId', x.operator_id, 'at', x.created_at) order by x.created_at, x.id)
               from (${approvals}) x) as decision_approvals,
            d.*
       from target t left join decided d on true`,
    params,
  );
  if (!row) return { kind: 'refused', refusal: 'NOT_FOUND' };
  const {
    decision_refusal: refusal,
    decision_slow: slow,
    decision_event: event,
    decision_approvals: approvalRows,
    decision_notified: _notified,
    ...request
  } = row;
  if (request.id === null) {
    if (refusal && !slow) return { kind: 'refused', refusal: refusal as string };
    return { kind: 'transaction' };
  }
  return {
    kind: 'decided',
    request: em.map(ProcessRequest, request),
    approvals: ((approvalRows ?? []) as Array<{ operatorId: string; at: string }>).map((a) => ({
      operatorId: a.operatorId,
      at: pgDate(a.at),
    })),
    events: [event as ProgressEvent],
  };
}
