-- Rendered from src/sql/decision-sql.ts; do not edit (UPDATE_SQL=1 npx jest tests/unit/decision-sql.test.ts).

-- refusal-approve
-- $1 = :operatorId, $2 = :limit, $3 = :confirmAmount, $4 = :id, $5 = :partnerId
select (case when created_by = $1::uuid then 'SELF_REVIEW_FORBIDDEN' when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then 'EXPIRED'
      when exists (select 1 from approval a where a.process_request_id = process_request.id and a.operator_id = $1::uuid)
        then 'ALREADY_APPROVED_BY_OPERATOR'
      when requested_amount > $2::numeric then 'APPROVAL_LIMIT_EXCEEDED'
      when $3::numeric is null and coalesce((select p.require_amount_confirmation from approval_policy p where p.client_id = process_request.client_id), false) then 'AMOUNT_CONFIRMATION_REQUIRED'
      when $3::numeric <> requested_amount then 'AMOUNT_CONFIRMATION_MISMATCH'
      when not process_type_id = 2 and coalesce((select p.require_evidence_viewed from approval_policy p where p.client_id = process_request.client_id), false)
           and not exists (select 1 from process_request_event v where v.process_request_id = process_request.id
                             and v.type = 'EVIDENCE_VIEWED' and v.actor_id = $1::uuid)
        then 'EVIDENCE_NOT_VIEWED'
      when process_type_id = 2 and approval_count + 1 >= required_approvals
           and not exists (select 1 from process_request o where o.id = process_request.reversal_of and o.status = 'APPROVED')
        then 'PROCESS_REQUEST_NOT_APPROVED'
      when process_type_id = 2 and approval_count + 1 >= required_approvals
           and (select b.available from client_balance b where b.id = process_request.client_balance_id) < requested_amount
        then 'INSUFFICIENT_BALANCE' end) as refusal from process_request where id = $4::uuid and client_id = $5::uuid;

-- refusal-reject
-- $1 = :operatorId, $2 = :reason, $3 = :id, $4 = :partnerId
select (case when created_by = $1::uuid then 'SELF_REVIEW_FORBIDDEN' when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then 'EXPIRED'
      when $2::text is null and (approval_count > 0 or coalesce((select p.reject_reason_required from approval_policy p where p.client_id = process_request.client_id), false)) then 'REASON_REQUIRED' end) as refusal from process_request where id = $3::uuid and client_id = $4::uuid;

-- refusal-cancel
-- $1 = :canCancelAny, $2 = :operatorId, $3 = :canCancelOwn, $4 = :id, $5 = :partnerId
select (case when not ($1::boolean or (created_by = $2::uuid and $3::boolean)) then 'FORBIDDEN'
      when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then 'EXPIRED' end) as refusal from process_request where id = $4::uuid and client_id = $5::uuid;

-- decide-approve
-- $1 = :operatorVersion, $2 = :operatorId, $3 = :limit, $4 = :confirmAmount, $5 = :id, $6 = :partnerId, $7 = :reason, $8 = :approvalId, $9 = :ledgerId, $10 = :currency, $11 = :dailyLimit, $12 = :eventOrderLock
with target as (select (case when not ($1::text is null or (select o.xmin::text from operator o where o.id = $2::uuid) = $1::text) then 'OPERATOR_CHANGED' else (case when created_by = $2::uuid then 'SELF_REVIEW_FORBIDDEN' when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then 'EXPIRED'
      when exists (select 1 from approval a where a.process_request_id = process_request.id and a.operator_id = $2::uuid)
        then 'ALREADY_APPROVED_BY_OPERATOR'
      when requested_amount > $3::numeric then 'APPROVAL_LIMIT_EXCEEDED'
      when $4::numeric is null and coalesce((select p.require_amount_confirmation from approval_policy p where p.client_id = process_request.client_id), false) then 'AMOUNT_CONFIRMATION_REQUIRED'
      when $4::numeric <> requested_amount then 'AMOUNT_CONFIRMATION_MISMATCH'
      when not process_type_id = 2 and coalesce((select p.require_evidence_viewed from approval_policy p where p.client_id = process_request.client_id), false)
           and not exists (select 1 from process_request_event v where v.process_request_id = process_request.id
                             and v.type = 'EVIDENCE_VIEWED' and v.actor_id = $2::uuid)
        then 'EVIDENCE_NOT_VIEWED'
      when process_type_id = 2 and approval_count + 1 >= required_approvals
           and not exists (select 1 from process_request o where o.id = process_request.reversal_of and o.status = 'APPROVED')
        then 'PROCESS_REQUEST_NOT_APPROVED'
      when process_type_id = 2 and approval_count + 1 >= required_approvals
           and (select b.available from client_balance b where b.id = process_request.client_balance_id) < requested_amount
        then 'INSUFFICIENT_BALANCE' end) end) as refusal
        from process_request where id = $5::uuid and client_id = $6::uuid),
decided as (update process_request set approval_count = approval_count + 1,
      status = case when approval_count + 1 >= required_approvals then 'APPROVED'::process_request_status else status end,
      reviewed_by = case when approval_count + 1 >= required_approvals then $2::uuid else reviewed_by end,
      reviewed_at = case when approval_count + 1 >= required_approvals then now() else reviewed_at end,
      review_reason = case when approval_count + 1 >= required_approvals then $7::text else review_reason end,
      updated_at = now()
        where id = $5::uuid and client_id = $6::uuid and (case when created_by = $2::uuid then 'SELF_REVIEW_FORBIDDEN' when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then 'EXPIRED'
      when exists (select 1 from approval a where a.process_request_id = process_request.id and a.operator_id = $2::uuid)
        then 'ALREADY_APPROVED_BY_OPERATOR'
      when requested_amount > $3::numeric then 'APPROVAL_LIMIT_EXCEEDED'
      when $4::numeric is null and coalesce((select p.require_amount_confirmation from approval_policy p where p.client_id = process_request.client_id), false) then 'AMOUNT_CONFIRMATION_REQUIRED'
      when $4::numeric <> requested_amount then 'AMOUNT_CONFIRMATION_MISMATCH'
      when not process_type_id = 2 and coalesce((select p.require_evidence_viewed from approval_policy p where p.client_id = process_request.client_id), false)
           and not exists (select 1 from process_request_event v where v.process_request_id = process_request.id
                             and v.type = 'EVIDENCE_VIEWED' and v.actor_id = $2::uuid)
        then 'EVIDENCE_NOT_VIEWED'
      when process_type_id = 2 and approval_count + 1 >= required_approvals
           and not exists (select 1 from process_request o where o.id = process_request.reversal_of and o.status = 'APPROVED')
        then 'PROCESS_REQUEST_NOT_APPROVED'
      when process_type_id = 2 and approval_count + 1 >= required_approvals
           and (select b.available from client_balance b where b.id = process_request.client_balance_id) < requested_amount
        then 'INSUFFICIENT_BALANCE' end) is null and ($1::text is null or (select o.xmin::text from operator o where o.id = $2::uuid) = $1::text) returning *),
approved_by as (insert into approval (id, process_request_id, operator_id, reason)
        select $8::uuid, d.id, $2::uuid, $7::text from decided d returning operator_id, created_at, id),
moved as (update client_balance b set available = b.available + case when d.process_type_id = 2 then -d.requested_amount else d.requested_amount end, last_change = case when d.process_type_id = 2 then -d.requested_amount else d.requested_amount end,
          credited_that_day = case when d.process_type_id = 2 then b.credited_that_day
            else case when b.credited_on = (now() at time zone 'UTC')::date then b.credited_that_day else 0 end + d.requested_amount end,
          credited_on = case when d.process_type_id = 2 then b.credited_on else (now() at time zone 'UTC')::date end,
          updated_at = now()
        from decided d where b.id = d.client_balance_id and d.status = 'APPROVED'
        returning b.available, case when d.process_type_id = 2 then -d.requested_amount else d.requested_amount end as amount),
ledger as (insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after)
        select $9::uuid, d.client_balance_id, d.id, m.amount, m.available from decided d, moved m returning id),
reversed as (update process_request o set status = 'REVERSED', reversed_by = d.id, updated_at = now()
        from decided d
        where d.process_type_id = 2 and d.status = 'APPROVED' and o.id = d.reversal_of and o.client_id = d.client_id
          and o.status = 'APPROVED'
        returning o.id, o.client_id),
tallied as (insert into operator_daily_total as t (operator_id, day, currency, total, daily_limit)
        select $2::uuid, (now() at time zone 'UTC')::date, $10::text, d.requested_amount, $11::numeric from decided d
        on conflict (operator_id, day, currency)
          do update set total = t.total + excluded.total, daily_limit = excluded.daily_limit
        returning t.total),
ordered as (select pg_advisory_xact_lock($12::int4, hashtext($6::uuid::text)) as locked, m.available, r.id as reversed_id
        from decided left join moved m on true left join reversed r on true left join tallied on true),
event as (insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
        select d.id, d.client_id,
               case when d.status = 'APPROVED' then 'APPROVED' else 'APPROVAL_RECORDED' end::progress_event_type,
               $2::uuid, 'PENDING'::process_request_status, d.status,
               nullif(jsonb_strip_nulls(jsonb_build_object('reason', $7::text, 'available', o.available::text,
                 'approvals', case when d.status = 'PENDING' then d.approval_count end,
                 'requiredApprovals', case when d.status = 'PENDING' then d.required_approvals end,
                 'reversalId', case when d.status = 'APPROVED' and d.process_type_id = 2 then d.reversal_of::text end)), '{}'::jsonb)
          from decided d cross join ordered o
        union all
        select o.reversed_id, d.client_id, 'REVERSED'::progress_event_type, $2::uuid,
               'APPROVED'::process_request_status, 'REVERSED'::process_request_status,
               jsonb_strip_nulls(jsonb_build_object('reason', $7::text, 'available', o.available::text,
                 'reversalId', d.id::text))
          from decided d cross join ordered o where o.reversed_id is not null
        returning id, process_request_id, client_id, type, actor_id, from_status, to_status, data, created_at),
announced as (select e.id, json_build_object('id', e.id::text, 'partnerId', e.client_id, 'processRequestId', e.process_request_id,
  'type', e.type, 'actorId', e.actor_id, 'fromStatus', e.from_status, 'toStatus', e.to_status,
  'data', coalesce(e.data, '{}'::jsonb), 'at', to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) as event from event e)
select t.refusal as decision_refusal,
       (select json_agg(a.event order by a.id) from announced a) as decision_events,
       (select json_agg(json_build_object('operatorId', x.operator_id, 'at', x.created_at) order by x.created_at, x.id)
          from (select operator_id, created_at, id from approval where process_request_id = d.id union all select operator_id, created_at, id from approved_by) x) as decision_approvals,
       d.*
  from target t left join decided d on true;

-- decide-reject
-- $1 = :operatorVersion, $2 = :operatorId, $3 = :reason, $4 = :id, $5 = :partnerId, $6 = :eventOrderLock
with target as (select (case when not ($1::text is null or (select o.xmin::text from operator o where o.id = $2::uuid) = $1::text) then 'OPERATOR_CHANGED' else (case when created_by = $2::uuid then 'SELF_REVIEW_FORBIDDEN' when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then 'EXPIRED'
      when $3::text is null and (approval_count > 0 or coalesce((select p.reject_reason_required from approval_policy p where p.client_id = process_request.client_id), false)) then 'REASON_REQUIRED' end) end) as refusal
        from process_request where id = $4::uuid and client_id = $5::uuid),
decided as (update process_request set status = 'REJECTED', reviewed_by = $2::uuid, reviewed_at = now(), review_reason = $3::text, updated_at = now()
        where id = $4::uuid and client_id = $5::uuid and (case when created_by = $2::uuid then 'SELF_REVIEW_FORBIDDEN' when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then 'EXPIRED'
      when $3::text is null and (approval_count > 0 or coalesce((select p.reject_reason_required from approval_policy p where p.client_id = process_request.client_id), false)) then 'REASON_REQUIRED' end) is null and ($1::text is null or (select o.xmin::text from operator o where o.id = $2::uuid) = $1::text) returning *),
ordered as (select pg_advisory_xact_lock($6::int4, hashtext($5::uuid::text)) as locked from decided),
event as (insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
        select d.id, d.client_id, 'REJECTED', $2::uuid, 'PENDING', d.status,
               nullif(jsonb_strip_nulls(jsonb_build_object('reason', $3::text)), '{}'::jsonb)
          from decided d cross join ordered o
        returning id, process_request_id, client_id, type, actor_id, from_status, to_status, data, created_at),
announced as (select e.id, json_build_object('id', e.id::text, 'partnerId', e.client_id, 'processRequestId', e.process_request_id,
  'type', e.type, 'actorId', e.actor_id, 'fromStatus', e.from_status, 'toStatus', e.to_status,
  'data', coalesce(e.data, '{}'::jsonb), 'at', to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) as event from event e)
select t.refusal as decision_refusal,
       (select json_agg(a.event order by a.id) from announced a) as decision_events,
       (select json_agg(json_build_object('operatorId', x.operator_id, 'at', x.created_at) order by x.created_at, x.id)
          from (select operator_id, created_at, id from approval where process_request_id = d.id) x) as decision_approvals,
       d.*
  from target t left join decided d on true;

-- decide-cancel
-- $1 = :operatorVersion, $2 = :operatorId, $3 = :canCancelAny, $4 = :canCancelOwn, $5 = :id, $6 = :partnerId, $7 = :reason, $8 = :eventOrderLock
with target as (select (case when not ($1::text is null or (select o.xmin::text from operator o where o.id = $2::uuid) = $1::text) then 'OPERATOR_CHANGED' else (case when not ($3::boolean or (created_by = $2::uuid and $4::boolean)) then 'FORBIDDEN'
      when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then 'EXPIRED' end) end) as refusal
        from process_request where id = $5::uuid and client_id = $6::uuid),
decided as (update process_request set status = 'CANCELLED', cancelled_by = $2::uuid, cancelled_at = now(), review_reason = $7::text, updated_at = now()
        where id = $5::uuid and client_id = $6::uuid and (case when not ($3::boolean or (created_by = $2::uuid and $4::boolean)) then 'FORBIDDEN'
      when status <> 'PENDING' then 'PROCESS_REQUEST_NOT_PENDING' when expires_at <= now() then 'EXPIRED' end) is null and ($1::text is null or (select o.xmin::text from operator o where o.id = $2::uuid) = $1::text) returning *),
ordered as (select pg_advisory_xact_lock($8::int4, hashtext($6::uuid::text)) as locked from decided),
event as (insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
        select d.id, d.client_id, 'CANCELLED', $2::uuid, 'PENDING', d.status,
               nullif(jsonb_strip_nulls(jsonb_build_object('reason', $7::text)), '{}'::jsonb)
          from decided d cross join ordered o
        returning id, process_request_id, client_id, type, actor_id, from_status, to_status, data, created_at),
announced as (select e.id, json_build_object('id', e.id::text, 'partnerId', e.client_id, 'processRequestId', e.process_request_id,
  'type', e.type, 'actorId', e.actor_id, 'fromStatus', e.from_status, 'toStatus', e.to_status,
  'data', coalesce(e.data, '{}'::jsonb), 'at', to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) as event from event e)
select t.refusal as decision_refusal,
       (select json_agg(a.event order by a.id) from announced a) as decision_events,
       (select json_agg(json_build_object('operatorId', x.operator_id, 'at', x.created_at) order by x.created_at, x.id)
          from (select operator_id, created_at, id from approval where process_request_id = d.id) x) as decision_approvals,
       d.*
  from target t left join decided d on true;
