// Webhook statements (SPEC section 16): the relay's fan-out of stored events into deliveries, the
// claim of due deliveries (skip locked + a lease), the outcome of an attempt, and the message rows.
import type { EntityManager } from '@mikro-orm/postgresql';
import { type MessageRow, WEBHOOK_EVENT_TYPES } from '../shapes/webhook-message';

export type { MessageRow };

const STORED_TYPES = WEBHOOK_EVENT_TYPES.map((t) => `'${t}'`).join(', ');

/** Events turned into deliveries per endpoint and pass. */
export const FAN_OUT_BATCH = 500;

/**
 * Turns the stored events past each enabled endpoint's cursor into deliveries and moves the cursor,
 * outside any decision's transaction. An endpoint another process is fanning out is skipped. Sound
 * because a partner's event ids commit in increasing order (recordEvents' advisory lock): an id is
 * never committed below a cursor that has already passed it. Returns the deliveries created and
 * the endpoints whose cursor moved (none: nothing is left to fan out).
 */
export async function fanOut(em: EntityManager): Promise<{ created: number; endpoints: number }> {
  const [row] = await em.execute<{ created: string; moved: string }[]>(
    `with ep as (
       select w.id, w.client_id, w.event_types, w.cursor_event_id from webhook_endpoint w
        where w.status = 'ENABLED'
          and exists (select 1 from process_request_event e where e.client_id = w.client_id and e.id > w.cursor_event_id)
        order by w.id
        for no key update skip locked),
     scanned as (
       select ep.id as endpoint_id, ep.event_types, ev.id as event_id, ev.type
         from ep cross join lateral (
           select e.id, e.type from process_request_event e
            where e.client_id = ep.client_id and e.id > ep.cursor_event_id
            order by e.id limit ${FAN_OUT_BATCH}) ev),
     created as (
       insert into webhook_delivery (id, endpoint_id, event_id, event_type)
       select gen_random_uuid(), s.endpoint_id, s.event_id, 'process_request.' || lower(s.type::text)
         from scanned s
        where s.type in (${STORED_TYPES})
          and (s.event_types is null or s.event_types @> jsonb_build_array('process_request.' || lower(s.type::text)))
        order by s.endpoint_id, s.event_id
       on conflict (endpoint_id, event_id) do nothing
       returning id),
     moved as (
       update webhook_endpoint w set cursor_event_id = m.last
         from (select endpoint_id, max(event_id) as last from scanned group by endpoint_id) m
        where w.id = m.endpoint_id
       returning w.id)
     select (select count(*) from created) as created, (select count(*) from moved) as moved`,
  );
  return { created: Number(row?.created ?? 0), endpoints: Number(row?.moved ?? 0) };
}

/** A claimed delivery, with what sending it needs. */
export interface ClaimedDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  attempt_count: number;
  lease_token: string;
  url: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_until: Date | null;
}

/**
 * Claims due deliveries of enabled endpoints, at most `concurrency` in flight per endpoint across every
 * process: each endpoint row is locked while its claims are counted and made (another process skips it),
 * and a claim is a lease that expires, so a process killed mid-send leaves the delivery to be retried.
 */
export async function claimDue(
  em: EntityManager,
  opts: { concurrency: number; leaseSeconds: number; limit: number; token: string },
): Promise<ClaimedDelivery[]> {
  return em.execute<ClaimedDelivery[]>(
    `with ep as (
       select w.id from webhook_endpoint w
        where w.status = 'ENABLED'
          and exists (select 1 from webhook_delivery d where d.endpoint_id = w.id and d.status = 'PENDING'
                        and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until <= now()))
        limit 200
        for no key update skip locked),
     busy as (
       select ep.id, (select count(*) from webhook_delivery x where x.endpoint_id = ep.id and x.status = 'PENDING'
                        and x.lease_until > now()) as in_flight
         from ep),
     due as (
       select d.id from busy cross join lateral (
         select d.id from webhook_delivery d
          where d.endpoint_id = busy.id and d.status = 'PENDING' and d.next_attempt_at <= now()
            and (d.lease_until is null or d.lease_until <= now())
          order by d.next_attempt_at, d.event_id
          limit greatest(?::int - busy.in_flight, 0)) d),
     claimed as (
       update webhook_delivery d set lease_until = now() + make_interval(secs => ?), lease_token = ?::uuid
         from due where d.id = due.id
       returning d.id, d.endpoint_id, d.event_id, d.attempt_count, d.lease_token)
     select c.id, c.endpoint_id, c.event_id::text as event_id, c.attempt_count, c.lease_token::text as lease_token,
            w.url, w.secret_sealed, w.previous_secret_sealed, w.previous_secret_until
       from claimed c join webhook_endpoint w on w.id = c.endpoint_id
      order by c.event_id
      limit ?`,
    [opts.concurrency, opts.leaseSeconds, opts.token, opts.limit],
  );
}

export interface AttemptOutcome {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** Succeeded (2xx). */
  ok: boolean;
  /** Seconds until the next attempt; null: no more attempts (FAILED). Ignored when ok. */
  retryInSeconds: number | null;
  /** The endpoint is gone (410): disable it. */
  gone: boolean;
}

/**
 * Records one attempt and its consequence in one statement, only while this process still holds the
 * lease (a claim that expired and was taken by another process is not overwritten). A success touches
 * the endpoint row only to clear a failing streak. Returns whether it was recorded, and the reason the
 * endpoint was disabled by this outcome, if it was.
 */
export async function finishAttempt(
  em: EntityManager,
  delivery: ClaimedDelivery,
  outcome: AttemptOutcome,
  disableAfterSeconds: number,
): Promise<{ recorded: boolean; disabled: string | null }> {
  const status = outcome.ok ? 'SUCCEEDED' : outcome.retryInSeconds === null ? 'FAILED' : 'PENDING';
  const reason = outcome.gone
    ? 'The endpoint answered 410 Gone'
    : `Every attempt failed for ${disableAfterSeconds} seconds`;
  const [row] = await em.execute<{ recorded: string; disabled: boolean | null }[]>(
    `with d as (
       update webhook_delivery set status = ?, attempt_count = attempt_count + 1, lease_until = null, lease_token = null,
              next_attempt_at = case when ? = 'PENDING' then now() + make_interval(secs => ?) end, updated_at = now()
        where id = ? and lease_token = ?::uuid returning id, endpoint_id),
     a as (insert into webhook_attempt (delivery_id, status_code, duration_ms, error)
           select id, ?::int, ?::int, ?::text from d returning id),
     e as (
       update webhook_endpoint w
          set failing_since = case when ?::boolean then null else coalesce(w.failing_since, now()) end,
              status = case when not ?::boolean and (?::boolean or coalesce(w.failing_since, now()) <= now() - make_interval(secs => ?))
                            then 'DISABLED' else w.status end,
              disabled_reason = case when w.status = 'ENABLED' and not ?::boolean
                                      and (?::boolean or coalesce(w.failing_since, now()) <= now() - make_interval(secs => ?))
                                     then ?::text else w.disabled_reason end,
              updated_at = now()
         from d where w.id = d.endpoint_id and (not ?::boolean or w.failing_since is not null)
       returning w.status = 'DISABLED' and w.disabled_reason = ?::text as disabled)
     select (select count(*) from d) as recorded, (select bool_or(disabled) from e) as disabled`,
    [
      status,
      status,
      outcome.retryInSeconds ?? 0,
      delivery.id,
      delivery.lease_token,
      outcome.statusCode,
      outcome.durationMs,
      outcome.error?.slice(0, 500) ?? null,
      outcome.ok,
      outcome.ok,
      outcome.gone,
      disableAfterSeconds,
      outcome.ok,
      outcome.gone,
      disableAfterSeconds,
      reason,
      outcome.ok,
      reason,
    ],
  );
  return { recorded: Number(row?.recorded ?? 0) > 0, disabled: row?.disabled ? reason : null };
}

const MESSAGE_SELECT = `select ev.id::text as id, ev.client_id, ev.process_request_id, ev.type, ev.actor_id, ev.to_status,
        ev.data, ev.created_at, r.process_type_id, r.requested_amount::text as requested_amount, r.currency,
        r.status, r.required_approvals,
        (select count(*) from approval a where a.process_request_id = ev.process_request_id
            and a.created_at <= ev.created_at) as approvals_then
   from process_request_event ev join process_request r on r.id = ev.process_request_id`;

/** The message rows of some events. */
export function messageRows(em: EntityManager, eventIds: string[]): Promise<MessageRow[]> {
  if (eventIds.length === 0) return Promise.resolve([]);
  return em.execute<MessageRow[]>(
    `${MESSAGE_SELECT} where ev.id in (${eventIds.map(() => '?').join(', ')})`,
    eventIds,
  );
}

/** A partner's events after a cursor, oldest first (the events feed). */
export function feedRows(
  em: EntityManager,
  partnerId: string,
  after: bigint,
  limit: number,
  types: string[] | null,
): Promise<MessageRow[]> {
  const stored = types
    ? types.map((t) => t.replace(/^process_request\./, '').toUpperCase())
    : [...WEBHOOK_EVENT_TYPES];
  return em.execute<MessageRow[]>(
    `${MESSAGE_SELECT}
      where ev.client_id = ? and ev.id > ? and ev.type::text in (${stored.map(() => '?').join(', ')})
      order by ev.id limit ?`,
    [partnerId, after.toString(), ...stored, limit],
  );
}

/** Deliveries waiting (PENDING), for the gauge. */
export async function pendingCount(em: EntityManager): Promise<number> {
  const [row] = await em.execute<{ n: string }[]>(
    "select count(*) as n from webhook_delivery where status = 'PENDING'",
  );
  return Number(row?.n ?? 0);
}
