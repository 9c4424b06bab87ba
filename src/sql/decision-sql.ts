// The statements that decide a request, built from named pieces (src/sql/statement.ts). Each outcome is ONE
// statement, so one round trip and one transaction: the guard's verdict, the deciding UPDATE, the approval,
// the money (a top-up's credit, a reversal's debit) with its ledger entry, a reversed original and the
// events. No NOTIFY: it would take PostgreSQL's database-wide notify lock at commit, while this
// transaction holds the balance row, so the caller hands the events to the progress bus once committed
// (src/runtime/progress-notifier.ts). The rendered text of every statement is committed in decision.sql, beside this file
// (a test keeps the two equal; UPDATE_SQL=1 npx jest tests/unit/decision-sql.test.ts writes it again).
import { ProcessRequestStatus } from '../entities/process-request.entity';
import { BALANCE_REVERSAL_PROCESS_TYPE_ID } from '../entities/process-type.entity';
import { EVENT_COLUMNS } from './progress';
import { render, type Rendered } from './statement';

export type Outcome =
  ProcessRequestStatus.APPROVED | ProcessRequestStatus.REJECTED | ProcessRequestStatus.CANCELLED;

/** Every parameter a decision statement takes, by name, with its one type. */
const PARAMS = {
  id: 'uuid',
  partnerId: 'uuid',
  operatorId: 'uuid',
  /** Null: none given (a rejection with approvals then needs one). */
  reason: 'text',
  /** The operator's approval limit in the partner's currency; null: no limit. */
  limit: 'numeric',
  /** The amount the approver re-keyed (SPEC section 18); null: none given. */
  confirmAmount: 'numeric',
  /** The operator's daily approval limit in the partner's currency; null: no limit. */
  dailyLimit: 'numeric',
  /** The partner's currency: the operator's daily total is kept per currency. */
  currency: 'text',
  canCancelAny: 'boolean',
  canCancelOwn: 'boolean',
  approvalId: 'uuid',
  ledgerId: 'uuid',
  eventOrderLock: 'int4',
  /**
   * The version (xmin) of the operator row the decision was judged with, when it is a row this process
   * kept (src/runtime/operator-cache.ts); null: the row was read for this call. A different version now
   * means the row changed since: the statement writes nothing and answers OPERATOR_CHANGED.
   */
  operatorVersion: 'text',
} as const;
export type DecisionParam = keyof typeof PARAMS;

/** The refusal a guard reports for a request past its deadline: it is expired, then refused as not pending. */
export const EXPIRED = 'EXPIRED';
/** What a decision reports when the kept operator row it was judged with has changed: nothing is written. */
export const OPERATOR_CHANGED = 'OPERATOR_CHANGED';
/** Whether the operator row is still the version the decision was judged with (always, when not kept). */
const OPERATOR_CURRENT = `(:operatorVersion is null or (select o.xmin::text from operator o where o.id = :operatorId) = :operatorVersion)`;

const REVERSAL = `process_type_id = ${BALANCE_REVERSAL_PROCESS_TYPE_ID}`;
/** The UTC day (SPEC section 18: every daily cap counts by the UTC day of the approving transaction). */
export const UTC_TODAY = `(now() at time zone 'UTC')::date`;

/** A flag of the request's partner's policy (false when the partner never stored one). */
function policyFlag(column: string): string {
  return `coalesce((select p.${column} from approval_policy p where p.client_id = process_request.client_id), false)`;
}
const OPEN = `when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then '${EXPIRED}'`;

/**
 * The rules of SPEC sections 2, 4, 12 and 13 for one outcome, as a SQL expression over a process_request
 * row: the refusal's code in the order the refusals answer, or null when the decision may go on. Cancel is
 * the creator's (with MAKER) or an ADMIN's; nobody reviews a request they created (four eyes); only a
 * PENDING request before its deadline is decided; an operator approves a request once and never above
 * their limit; then the controls of section 18 the partner's policy asks for: the re-keyed amount (missing,
 * then different), the evidence opened by this approver (a top-up's); a reversal's final approval needs its
 * original still APPROVED and a balance that covers the debit; rejecting a request that has approvals, or
 * under a policy that requires it, takes a reason. The caps of section 18 are not guards: the approving
 * statement's CHECK constraints decide them on the rows it locks (see `moved` and `tallied`).
 */
export const GUARDS: Record<Outcome, string> = {
  [ProcessRequestStatus.CANCELLED]: `case when not (:canCancelAny or (created_by = :operatorId and :canCancelOwn)) then 'FORBIDDEN'
      ${OPEN} end`,
  [ProcessRequestStatus.REJECTED]: `case when created_by = :operatorId then 'SELF_REVIEW_FORBIDDEN' ${OPEN}
      when :reason is null and (approval_count > 0 or ${policyFlag('reject_reason_required')}) then 'REASON_REQUIRED' end`,
  [ProcessRequestStatus.APPROVED]: `case when created_by = :operatorId then 'SELF_REVIEW_FORBIDDEN' ${OPEN}
      when exists (select 1 from approval a where a.process_request_id = process_request.id and a.operator_id = :operatorId)
        then 'ALREADY_APPROVED_BY_OPERATOR'
      when requested_amount > :limit then 'APPROVAL_LIMIT_EXCEEDED'
      when :confirmAmount is null and ${policyFlag('require_amount_confirmation')} then 'AMOUNT_CONFIRMATION_REQUIRED'
      when :confirmAmount <> requested_amount then 'AMOUNT_CONFIRMATION_MISMATCH'
      when not ${REVERSAL} and ${policyFlag('require_evidence_viewed')}
           and not exists (select 1 from process_request_event v where v.process_request_id = process_request.id
                             and v.type = 'EVIDENCE_VIEWED' and v.actor_id = :operatorId)
        then 'EVIDENCE_NOT_VIEWED'
      when ${REVERSAL} and approval_count + 1 >= required_approvals
           and not exists (select 1 from process_request o where o.id = process_request.reversal_of and o.status = 'APPROVED')
        then 'PROCESS_REQUEST_NOT_APPROVED'
      when ${REVERSAL} and approval_count + 1 >= required_approvals
           and (select b.available from client_balance b where b.id = process_request.client_balance_id) < requested_amount
        then 'INSUFFICIENT_BALANCE' end`,
};

/** The deciding UPDATE's SET: an approval counts one more and approves when that completes the number. */
const SETS: Record<Outcome, string> = {
  [ProcessRequestStatus.APPROVED]: `approval_count = approval_count + 1,
      status = case when approval_count + 1 >= required_approvals then 'APPROVED'::process_request_status else status end,
      reviewed_by = case when approval_count + 1 >= required_approvals then :operatorId else reviewed_by end,
      reviewed_at = case when approval_count + 1 >= required_approvals then now() else reviewed_at end,
      review_reason = case when approval_count + 1 >= required_approvals then :reason else review_reason end,
      updated_at = now()`,
  [ProcessRequestStatus.REJECTED]: `status = 'REJECTED', reviewed_by = :operatorId, reviewed_at = now(), review_reason = :reason, updated_at = now()`,
  [ProcessRequestStatus.CANCELLED]: `status = 'CANCELLED', cancelled_by = :operatorId, cancelled_at = now(), review_reason = :reason, updated_at = now()`,
};

/** An event row as the one shape (eventOfRow), in SQL: what the statement returns. */
const EVENT_JSON = `json_build_object('id', e.id::text, 'partnerId', e.client_id, 'processRequestId', e.process_request_id,
  'type', e.type, 'actorId', e.actor_id, 'fromStatus', e.from_status, 'toStatus', e.to_status,
  'data', coalesce(e.data, '{}'::jsonb), 'at', to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;

/** A decision's named pieces: each a CTE (name and body), in the order the statement lists them. */
type Piece = [name: string, sql: string];

function pieces(outcome: Outcome): Piece[] {
  const guard = GUARDS[outcome];
  const approving = outcome === ProcessRequestStatus.APPROVED;
  const head: Piece[] = [
    // The guard's verdict on the row as this statement's snapshot sees it: it explains a refusal.
    // A kept operator row that changed since is reported first: the verdict was judged with other rules.
    [
      'target',
      `select (case when not ${OPERATOR_CURRENT} then '${OPERATOR_CHANGED}' else (${guard}) end) as refusal
        from process_request where id = :id and client_id = :partnerId`,
    ],
    // The guarded UPDATE waits for a concurrent decider's row lock and judges the row that one left; it
    // writes nothing if the operator row is no longer the one the decision was judged with.
    [
      'decided',
      `update process_request set ${SETS[outcome]}
        where id = :id and client_id = :partnerId and (${guard}) is null and ${OPERATOR_CURRENT} returning *`,
    ],
  ];
  if (!approving) {
    const type = outcome === ProcessRequestStatus.REJECTED ? 'REJECTED' : 'CANCELLED';
    return [
      ...head,
      [
        'ordered',
        `select pg_advisory_xact_lock(:eventOrderLock, hashtext(:partnerId::text)) as locked from decided`,
      ],
      [
        'event',
        `insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
        select d.id, d.client_id, '${type}', :operatorId, 'PENDING', d.status,
               nullif(jsonb_strip_nulls(jsonb_build_object('reason', :reason)), '{}'::jsonb)
          from decided d cross join ordered o
        returning ${EVENT_COLUMNS}`,
      ],
      ...tail,
    ];
  }
  const signed = `case when d.${REVERSAL} then -d.requested_amount else d.requested_amount end`;
  return [
    ...head,
    [
      'approved_by',
      `insert into approval (id, process_request_id, operator_id, reason)
        select :approvalId, d.id, :operatorId, :reason from decided d returning operator_id, created_at, id`,
    ],
    // The money, once: a top-up credits, a reversal debits (the balance's CHECK refuses going below zero).
    // The balance's caps (SPEC section 18) are CHECKs on this row, judged on the row as the lock left it:
    // a credit adds to the day's credited total (from zero on a new UTC day); `last_change` tells the
    // CHECKs that this movement is a credit. A refused CHECK fails the whole statement: nothing is written.
    [
      'moved',
      `update client_balance b set available = b.available + ${signed}, last_change = ${signed},
          credited_that_day = case when d.${REVERSAL} then b.credited_that_day
            else case when b.credited_on = ${UTC_TODAY} then b.credited_that_day else 0 end + d.requested_amount end,
          credited_on = case when d.${REVERSAL} then b.credited_on else ${UTC_TODAY} end,
          updated_at = now()
        from decided d where b.id = d.client_balance_id and d.status = 'APPROVED'
        returning b.available, ${signed} as amount`,
    ],
    [
      'ledger',
      `insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after)
        select :ledgerId, d.client_balance_id, d.id, m.amount, m.available from decided d, moved m returning id`,
    ],
    [
      'reversed',
      `update process_request o set status = 'REVERSED', reversed_by = d.id, updated_at = now()
        from decided d
        where d.${REVERSAL} and d.status = 'APPROVED' and o.id = d.reversal_of and o.client_id = d.client_id
          and o.status = 'APPROVED'
        returning o.id, o.client_id`,
    ],
    // The operator's approved total of the UTC day (SPEC section 18), every approval they record counted,
    // with the limit in force now: the row's CHECK refuses the approval that would pass it.
    [
      'tallied',
      `insert into operator_daily_total as t (operator_id, day, currency, total, daily_limit)
        select :operatorId, ${UTC_TODAY}, :currency, d.requested_amount, :dailyLimit from decided d
        on conflict (operator_id, day, currency)
          do update set total = t.total + excluded.total, daily_limit = excluded.daily_limit
        returning t.total`,
    ],
    // The order lock comes last, after the balance row's, the original's and the daily total's locks (the
    // joins run those first): every path locks in that order, and the opposite order deadlocks against it.
    [
      'ordered',
      `select pg_advisory_xact_lock(:eventOrderLock, hashtext(:partnerId::text)) as locked, m.available, r.id as reversed_id
        from decided left join moved m on true left join reversed r on true left join tallied on true`,
    ],
    [
      'event',
      `insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
        select d.id, d.client_id,
               case when d.status = 'APPROVED' then 'APPROVED' else 'APPROVAL_RECORDED' end::progress_event_type,
               :operatorId, 'PENDING'::process_request_status, d.status,
               nullif(jsonb_strip_nulls(jsonb_build_object('reason', :reason, 'available', o.available::text,
                 'approvals', case when d.status = 'PENDING' then d.approval_count end,
                 'requiredApprovals', case when d.status = 'PENDING' then d.required_approvals end,
                 'reversalId', case when d.status = 'APPROVED' and d.${REVERSAL} then d.reversal_of::text end)), '{}'::jsonb)
          from decided d cross join ordered o
        union all
        select o.reversed_id, d.client_id, 'REVERSED'::progress_event_type, :operatorId,
               'APPROVED'::process_request_status, 'REVERSED'::process_request_status,
               jsonb_strip_nulls(jsonb_build_object('reason', :reason, 'available', o.available::text,
                 'reversalId', d.id::text))
          from decided d cross join ordered o where o.reversed_id is not null
        returning ${EVENT_COLUMNS}`,
    ],
    ...tail,
  ];
}

/** What every decision ends with: the events as the one shape (the caller announces them once committed). */
const tail: Piece[] = [['announced', `select e.id, ${EVENT_JSON} as event from event e`]];

function statementOf(outcome: Outcome): string {
  const approving = outcome === ProcessRequestStatus.APPROVED;
  const approvals = `select operator_id, created_at, id from approval where process_request_id = d.id${
    approving ? ' union all select operator_id, created_at, id from approved_by' : ''
  }`;
  return `with ${pieces(outcome)
    .map(([name, sql]) => `${name} as (${sql})`)
    .join(',\n')}
select t.refusal as decision_refusal,
       (select json_agg(a.event order by a.id) from announced a) as decision_events,
       (select json_agg(json_build_object('operatorId', x.operator_id, 'at', x.created_at) order by x.created_at, x.id)
          from (${approvals}) x) as decision_approvals,
       d.*
  from target t left join decided d on true`;
}

const OUTCOMES: Outcome[] = [
  ProcessRequestStatus.APPROVED,
  ProcessRequestStatus.REJECTED,
  ProcessRequestStatus.CANCELLED,
];
const NAMES: Record<Outcome, string> = {
  [ProcessRequestStatus.APPROVED]: 'approve',
  [ProcessRequestStatus.REJECTED]: 'reject',
  [ProcessRequestStatus.CANCELLED]: 'cancel',
};

/** The decision of each outcome, rendered once. */
export const DECIDE = Object.fromEntries(
  OUTCOMES.map((o) => [o, render(`decide-${NAMES[o]}`, statementOf(o), PARAMS)]),
) as Record<Outcome, Rendered<DecisionParam>>;

/** The guard alone: why the request would be refused now (asked before a step-up, so a refusal costs no OTP). */
export const REFUSAL = Object.fromEntries(
  OUTCOMES.map((o) => [
    o,
    render(
      `refusal-${NAMES[o]}`,
      `select (${GUARDS[o]}) as refusal from process_request where id = :id and client_id = :partnerId`,
      PARAMS,
    ),
  ]),
) as Record<Outcome, Rendered<DecisionParam>>;

/** The approval guard alone, over a process_request row (the console's "Pending my decision" filter). */
export const APPROVAL_GUARD = render('approval-guard', GUARDS[ProcessRequestStatus.APPROVED], PARAMS);

/** decision.sql: every rendered statement, each under a header naming it and its parameters. */
export function renderedDecisionSql(): string {
  const all = [...OUTCOMES.map((o) => REFUSAL[o]), ...OUTCOMES.map((o) => DECIDE[o])];
  const sections = all.map(
    (s) =>
      `-- ${s.name}\n-- ${s.names.map((n, i) => `$${i + 1} = :${n}`).join(', ')}\n${s.text.replace(/[ \t]+$/gm, '')};\n`,
  );
  return `-- Rendered from src/sql/decision-sql.ts; do not edit (UPDATE_SQL=1 npx jest tests/unit/decision-sql.test.ts).\n\n${sections.join('\n')}`;
}
