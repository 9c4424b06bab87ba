// What a pending policy change would have done over the partner's last 90 days (SPEC section 18), in one
// statement. Honest approximations: each request is judged alone against the new rules, on the figures as
// they happened (a refusal would have changed later figures; that is not replayed).
import { render } from './statement';

export const IMPACT_DAYS = 90;

const PARAMS = {
  partnerId: 'uuid',
  tiers: 'jsonb',
  dailyCreditLimit: 'numeric',
  maxBalance: 'numeric',
} as const;

/**
 * - requests: every request filed in the window; moreApprovals / fewerApprovals: those whose amount would
 *   pick a tier needing more / fewer approvals than they were filed with;
 * - approvals: the top-ups credited in the window; refusedByMaxBalance: those whose balance after the
 *   credit was above the new ceiling; refusedByDailyCreditLimit: those that took their UTC day's credited
 *   total (credits in ledger order) above the new daily limit.
 */
export const POLICY_IMPACT = render(
  'policy-impact',
  `with window_requests as (
     select r.requested_amount, r.required_approvals,
            (select t.approvals from jsonb_to_recordset(:tiers) as t("from" numeric, approvals int)
              where t."from" <= r.requested_amount order by t."from" desc limit 1) as new_required
       from process_request r
      where r.client_id = :partnerId and r.created_at > now() - interval '${IMPACT_DAYS} days'),
   credits as (
     select l.amount, l.balance_after,
            sum(l.amount) over (partition by (l.created_at at time zone 'UTC')::date
                                order by l.created_at, l.id) as day_total
       from ledger_entry l join client_balance b on b.id = l.client_balance_id
      where b.client_id = :partnerId and l.amount > 0 and l.created_at > now() - interval '${IMPACT_DAYS} days')
   select (select count(*) from window_requests)::int as requests,
          (select count(*) from window_requests where new_required > required_approvals)::int as more_approvals,
          (select count(*) from window_requests where new_required < required_approvals)::int as fewer_approvals,
          (select count(*) from credits)::int as approvals,
          (select count(*) from credits where day_total > :dailyCreditLimit)::int as refused_by_daily_credit_limit,
          (select count(*) from credits where balance_after > :maxBalance)::int as refused_by_max_balance,
          now() - interval '${IMPACT_DAYS} days' as since`,
  PARAMS,
);

export interface ImpactRow {
  requests: number;
  more_approvals: number;
  fewer_approvals: number;
  approvals: number;
  refused_by_daily_credit_limit: number;
  refused_by_max_balance: number;
  since: Date | string;
}
