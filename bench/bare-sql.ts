// The statements of the bare reference (bench/bare.ts), one per hot path beside the operator's: the same
// statements the service sends for them (src/services/hot-sql.ts), written out with pg's $n placeholders.

export const OPERATOR =
  'select id, roles, partner_ids, active, approval_limits, daily_approval_limits from operator where subject = $1';

export const PARTNER = 'select id, currency from client_balance where client_id = $1';

export const BALANCE = `select b.id, b.client_id, b.available, b.currency, b.updated_at, b.created_at,
    ((select coalesce(sum(top_up_amount), 0) from process_request_count where client_id = b.client_id and status = 'PENDING')
      - (select coalesce(sum(requested_amount), 0) from process_request where status = 'PENDING' and expires_at <= now()
          and client_id = b.client_id and process_type_id = 1))::text as pending
  from client_balance b where b.client_id = $1`;

const APPROVALS = `case when r.approval_count > 0 then (select json_agg(json_build_object('operatorId', a.operator_id, 'at', a.created_at)
    order by a.created_at, a.id) from approval a where a.process_request_id = r.id) end as approvals,
  case when r.evidence_sha256 is not null then (select json_agg(o.id order by o.created_at, o.id)
    from process_request o where o.client_id = r.client_id and o.evidence_sha256 = r.evidence_sha256
      and o.id <> r.id) end as duplicate_evidence`;

export const PAGE = `with page as (
    select * from process_request where client_id = $1 order by created_at desc, id desc limit $2 offset $3)
  select (select coalesce(sum(n), 0) from process_request_count where client_id = $1) as total, r.*, ${APPROVALS}
    from (select 1) as one left join page r on true order by r.created_at desc, r.id desc`;

export const DETAILS = `select r.*, ${APPROVALS},
    (select json_agg(json_build_object('id', e.id::text, 'type', e.type, 'actorId', e.actor_id, 'fromStatus', e.from_status,
       'toStatus', e.to_status, 'reason', e.data->>'reason', 'at', e.created_at) order by e.id)
       from process_request_event e where e.process_request_id = r.id and e.client_id = r.client_id) as history
  from process_request r where r.id = $1 and r.client_id = $2`;

export const POLICY = 'select tiers, pending_ttl_seconds from approval_policy where client_id = $1';

/** The row, its CREATED event and the event's NOTIFY, with the per-partner order lock first. */
export const CREATE = `with ordered as (select pg_advisory_xact_lock(727274003, hashtext($2::text)) as locked),
  created as (
    insert into process_request (id, process_type_id, client_balance_id, client_id, requested_amount, currency, observations,
      evidence_url, evidence_file_name, evidence_content_type, evidence_size, evidence_sha256, evidence_blob_name, status,
      created_by, required_approvals, expires_at)
    select $1, 1, b.id, b.client_id, $3::numeric, $4, $5, $6, $7, 'application/pdf', $8, $9, $10, 'PENDING', $11, 1,
           now() + $12 * interval '1 second'
      from client_balance b where b.client_id = $2::uuid returning *),
  event as (
    insert into process_request_event (process_request_id, client_id, type, actor_id, to_status)
    select c.id, c.client_id, 'CREATED', c.created_by, 'PENDING' from created c, ordered returning *)
  select c.*, (select count(*) from (select pg_notify('process_request_progress', json_build_object('id', e.id::text,
      'partnerId', e.client_id, 'processRequestId', e.process_request_id, 'type', e.type, 'actorId', e.actor_id,
      'fromStatus', e.from_status, 'toStatus', e.to_status, 'data', '{}'::json, 'at', e.created_at)::text) from event e) n) as notified
    from created c`;

/**
 * A one-approval top-up approved in one statement: the guarded UPDATE, the approval, the credit, the
 * ledger entry, the event after the per-partner order lock, and its NOTIFY. $1 request, $2 partner,
 * $3 operator, $4 approval limit, $5 approval id, $6 ledger entry id.
 */
export const APPROVE = `with target as (
    select id, case when created_by = $3 then 'SELF_REVIEW_FORBIDDEN' when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING'
      when expires_at <= now() then 'EXPIRED'
      when exists (select 1 from approval a where a.process_request_id = process_request.id and a.operator_id = $3)
        then 'ALREADY_APPROVED_BY_OPERATOR'
      when requested_amount > $4::numeric then 'APPROVAL_LIMIT_EXCEEDED' end as refusal
      from process_request where id = $1 and client_id = $2),
  decided as (
    update process_request set approval_count = approval_count + 1,
        status = case when approval_count + 1 >= required_approvals then 'APPROVED'::process_request_status else status end,
        reviewed_by = case when approval_count + 1 >= required_approvals then $3::uuid else reviewed_by end,
        reviewed_at = case when approval_count + 1 >= required_approvals then now() else reviewed_at end,
        updated_at = now()
      where id = $1 and client_id = $2 and status = 'PENDING' and created_by <> $3 and expires_at > now()
        and not exists (select 1 from approval a where a.process_request_id = process_request.id and a.operator_id = $3)
        and not (requested_amount > $4::numeric) is true and process_type_id = 1
      returning *),
  approved_by as (
    insert into approval (id, process_request_id, operator_id) select $5, id, $3 from decided returning id),
  credit as (
    update client_balance b set available = b.available + d.requested_amount, updated_at = now()
      from decided d where b.id = d.client_balance_id and d.status = 'APPROVED' returning b.available),
  ledger as (
    insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after)
    select $6, d.client_balance_id, d.id, d.requested_amount, c.available from decided d, credit c returning id),
  ordered as (select pg_advisory_xact_lock(727274003, hashtext($2::text)) as locked from decided),
  event as (
    insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
    select d.id, d.client_id, case when d.status = 'APPROVED' then 'APPROVED' else 'APPROVAL_RECORDED' end::progress_event_type,
        $3, 'PENDING', d.status, jsonb_build_object('available', c.available::text)
      from decided d cross join ordered left join credit c on true returning *),
  announced as (
    select pg_notify('process_request_progress', json_build_object('id', e.id::text, 'partnerId', e.client_id,
      'processRequestId', e.process_request_id, 'type', e.type, 'actorId', e.actor_id, 'fromStatus', e.from_status,
      'toStatus', e.to_status, 'data', e.data, 'at', e.created_at)::text) from event e)
  select t.refusal, (select count(*) from decided) > 0 as decided, (select count(*) from announced) as notified
    from target t`;
