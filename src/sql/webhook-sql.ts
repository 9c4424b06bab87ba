// Webhook statements (SPEC section 16): the relay's fan-out of stored events into deliveries, the
// claim of due deliveries (skip locked + a lease), the outcome of an attempt, and the message rows.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlRunner } from '../infra/sql-pool';
import { type MessageRow, WEBHOOK_EVENT_TYPES } from '../shapes/webhook-message';

export type { MessageRow };

const STORED_TYPES = WEBHOOK_EVENT_TYPES.map((t) => `'${t}'`).join(', ');

/**
 * An event's message row: the event and what its message needs of its request. `approvals_then` counts the
 * approvals right after the event. An event that ended the request (APPROVED, REJECTED, ...) counts them
 * all: none can be added after it. Timestamps could not tell: both are their transaction's start, and a
 * decision that started first may have waited for an approval that started later and committed first.
 * An event that left the request PENDING carries its count (APPROVAL_RECORDED) or has none before it
 * (CREATED), which the times do tell.
 */
const MESSAGE_SELECT = `select ev.id::text as id, ev.client_id, ev.process_request_id, ev.type, ev.actor_id, ev.to_status,
        ev.data, ev.created_at, r.process_type_id, r.requested_amount::text as requested_amount, r.currency,
        r.status, r.required_approvals,
        (select count(*) from approval a where a.process_request_id = ev.process_request_id
            and (ev.to_status <> 'PENDING' or a.created_at <= ev.created_at)) as approvals_then
   from process_request_event ev join process_request r on r.id = ev.process_request_id`;

/** Events turned into deliveries per endpoint and pass. */
export const FAN_OUT_BATCH = 500;

/**
 * Turns the stored events past each enabled endpoint's cursor into deliveries and moves the cursor,
 * outside any decision's transaction. An endpoint another process is fanning out is skipped. Sound
 * because a partner's event ids commit in increasing order (recordEvents' advisory lock): an id is
 * never committed below a cursor that has already passed it. Returns the deliveries created, the
 * endpoints whose cursor moved, and whether an endpoint had a full batch (more may be waiting).
 */
export async function fanOut(em: SqlRunner): Promise<{ created: number; endpoints: number; full: boolean }> {
  const [row] = await em.execute<{ created: string; moved: string; most: string | null }[]>(
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
     select (select count(*) from created) as created, (select count(*) from moved) as moved,
            (select max(n) from (select count(*) as n from scanned group by endpoint_id) c) as most`,
  );
  return {
    created: Number(row?.created ?? 0),
    endpoints: Number(row?.moved ?? 0),
    full: Number(row?.most ?? 0) >= FAN_OUT_BATCH,
  };
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
  /** The message's row, read in the claim's statement; null: the event has no request. */
  message: MessageRow | null;
}

export interface ClaimOptions {
  /** Most messages in flight per endpoint across every process (WEBHOOK_CONCURRENCY). */
  concurrency: number;
  /**
   * Most leases per endpoint when every live lease on it is this holder's (default `concurrency`): a
   * process that alone holds an endpoint may claim ahead of its sends, and must itself send at most
   * `concurrency` at once; as soon as leases of two holders are live, together they stay within it.
   */
  ahead?: number;
  /** The prefix of every token this process claims with (see `ahead`). */
  holder?: string;
  leaseSeconds: number;
  /** Most deliveries claimed by this call, over every endpoint. */
  limit: number;
  /** This claim's lease token (starts with `holder` when one is given). */
  token: string;
}

/** Enabled endpoints with a delivery due and not leased, locked for this claim; those another claim holds are skipped. */
const LOCK_ENDPOINTS = `select w.id from webhook_endpoint w
  where w.status = 'ENABLED'
    and exists (select 1 from webhook_delivery d where d.endpoint_id = w.id and d.status = 'PENDING'
                  and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until <= now()))
  limit 200
  for no key update skip locked`;

/**
 * Claims due deliveries of enabled endpoints, with their message rows: at most `concurrency` leases per
 * endpoint across every process (or `ahead`, see ClaimOptions), and never a delivery that is leased. It
 * is a transaction of two statements: the first locks the endpoints (another claim skips them), the
 * second counts and makes their leases. The second starts after the locks are held, so it sees every
 * lease the endpoints' previous claims committed; one statement doing both would count with a snapshot
 * taken before its locks, and lease again what a claim committed in between. A claim is a lease that
 * expires, so a process killed mid-send leaves the delivery to be retried.
 */
export async function claimDue(db: SqlRunner, opts: ClaimOptions): Promise<ClaimedDelivery[]> {
  if (opts.holder !== undefined && !opts.token.startsWith(opts.holder))
    throw new Error("a claim's token starts with its holder");
  return db.transaction(async (tx) => {
    const locked = await tx.execute<{ id: string }[]>(LOCK_ENDPOINTS);
    if (locked.length === 0) return [];
    return tx.execute<ClaimedDelivery[]>(
      `with ep as (select e.id from jsonb_array_elements_text(?::jsonb) as e(id)),
       busy as (
         select ep.id::uuid as id, l.live, l.others
           from ep cross join lateral (
             select count(*) as live,
                    count(*) filter (where ?::text is null or x.lease_token::text not like ?::text || '%') as others
               from webhook_delivery x
              where x.endpoint_id = ep.id::uuid and x.status = 'PENDING' and x.lease_until > now()) l),
       due as (
         select d.id from busy cross join lateral (
           select d.id, d.next_attempt_at, d.event_id from webhook_delivery d
            where d.endpoint_id = busy.id and d.status = 'PENDING' and d.next_attempt_at <= now()
              and (d.lease_until is null or d.lease_until <= now())
            order by d.next_attempt_at, d.event_id
            limit greatest(case when busy.others = 0 then ?::int else ?::int end - busy.live, 0)
            for no key update skip locked) d
          order by d.next_attempt_at, d.event_id
          limit ?),
       claimed as (
         -- The conditions again: a delivery whose attempt was recorded meanwhile is not leased.
         update webhook_delivery d set lease_until = now() + make_interval(secs => ?), lease_token = ?::uuid
           from due where d.id = due.id and d.status = 'PENDING'
            and (d.lease_until is null or d.lease_until <= now())
         returning d.id, d.endpoint_id, d.event_id, d.attempt_count, d.lease_token)
       select c.id, c.endpoint_id, c.event_id::text as event_id, c.attempt_count, c.lease_token::text as lease_token,
              w.url, w.secret_sealed, w.previous_secret_sealed, w.previous_secret_until, to_jsonb(m) as message
         from claimed c join webhook_endpoint w on w.id = c.endpoint_id
         left join lateral (${MESSAGE_SELECT} where ev.id = c.event_id) m on true
        order by c.event_id`,
      [
        JSON.stringify(locked.map((e) => e.id)),
        opts.holder ?? null,
        opts.holder ?? null,
        opts.ahead ?? opts.concurrency,
        opts.concurrency,
        opts.limit,
        opts.leaseSeconds,
        opts.token,
      ],
    );
  });
}

/** Gives back leases this process will not use (their deliveries are due again at once). */
export async function releaseLeases(
  em: SqlRunner,
  leases: Array<{ id: string; lease_token: string }>,
): Promise<void> {
  if (leases.length === 0) return;
  await em.execute(
    `update webhook_delivery d set lease_until = null, lease_token = null
       from jsonb_to_recordset(?::jsonb) as r(id uuid, lease_token uuid)
      where d.id = r.id and d.lease_token = r.lease_token`,
    [JSON.stringify(leases.map(({ id, lease_token }) => ({ id, lease_token })))],
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

export const GONE_REASON = 'The endpoint answered 410 Gone';
export const failingReason = (disableAfterSeconds: number) =>
  `Every attempt failed for ${disableAfterSeconds} seconds`;

/** What recording a batch of attempts did. */
export interface RecordedAttempts {
  /** Deliveries whose attempt was recorded (this process still held their lease). */
  recorded: Set<string>;
  /** Endpoints this batch disabled, with the reason. */
  disabled: Array<{ endpointId: string; reason: string }>;
}

/**
 * Records attempts (in the order given) and their consequences in one statement and one commit, each
 * only while this process still holds its lease (a claim that expired and was taken by another process
 * is not overwritten). The endpoint row ends as if the attempts had been recorded one after another:
 * the failing streak starts at the first failure after the last success and ends with a success; a
 * 410, or a failure while the streak is older than `disableAfterSeconds`, disables it, and the reason
 * is that of the first attempt that did. A batch of successes on an endpoint with no streak does not
 * touch its row.
 */
export async function finishAttempts(
  db: SqlRunner,
  attempts: Array<{ delivery: ClaimedDelivery; outcome: AttemptOutcome }>,
  disableAfterSeconds: number,
): Promise<RecordedAttempts> {
  if (attempts.length === 0) return { recorded: new Set(), disabled: [] };
  const failing = failingReason(disableAfterSeconds);
  const input = attempts.map(({ delivery, outcome }, ord) => ({
    ord,
    id: delivery.id,
    lease_token: delivery.lease_token,
    status: outcome.ok ? 'SUCCEEDED' : outcome.retryInSeconds === null ? 'FAILED' : 'PENDING',
    retry_in: outcome.retryInSeconds ?? 0,
    status_code: outcome.statusCode,
    duration_ms: outcome.durationMs,
    error: outcome.error?.slice(0, 500) ?? null,
    ok: outcome.ok,
    gone: !outcome.ok && outcome.gone,
  }));
  const rows = await db.execute<{ kind: string; id: string; reason: string | null }[]>(
    `with i as (
       select * from jsonb_to_recordset(?::jsonb) as i(ord int, id uuid, lease_token uuid, status text,
              retry_in float8, status_code int, duration_ms int, error text, ok boolean, gone boolean)),
     d as (
       update webhook_delivery w set status = i.status, attempt_count = w.attempt_count + 1, lease_until = null,
              lease_token = null, updated_at = now(),
              next_attempt_at = case when i.status = 'PENDING' then now() + make_interval(secs => i.retry_in) end
         from i where w.id = i.id and w.lease_token = i.lease_token
       returning w.id, w.endpoint_id),
     a as (insert into webhook_attempt (delivery_id, status_code, duration_ms, error)
           select i.id, i.status_code, i.duration_ms, i.error from i join d on d.id = i.id order by i.ord
           returning id),
     items as (select d.endpoint_id, i.ord, i.ok, i.gone from i join d on d.id = i.id),
     firsts as (select endpoint_id, min(ord) filter (where ok) as first_ok, max(ord) as last from items group by endpoint_id),
     g as (
       select f.endpoint_id,
              bool_and(it.ok) as all_ok,
              bool_or(it.ok) as any_ok,
              bool_or(it.ok and it.ord = f.last) as last_ok,
              min(it.ord) filter (where it.gone) as first_gone,
              min(it.ord) filter (where not it.ok and (f.first_ok is null or it.ord < f.first_ok)) as first_fail
         from items it join firsts f on f.endpoint_id = it.endpoint_id group by f.endpoint_id),
     e as (
       update webhook_endpoint w
          set failing_since = case when g.last_ok then null when g.any_ok then now()
                                   else coalesce(w.failing_since, now()) end,
              status = case when g.first_gone is not null or (g.first_fail is not null
                                 and coalesce(w.failing_since, now()) <= now() - make_interval(secs => ?))
                            then 'DISABLED' else w.status end,
              disabled_reason = case
                when w.status = 'ENABLED' and g.first_gone is not null and (g.first_fail is null
                     or g.first_gone <= g.first_fail or coalesce(w.failing_since, now()) > now() - make_interval(secs => ?))
                  then ?::text
                when w.status = 'ENABLED' and g.first_fail is not null
                     and coalesce(w.failing_since, now()) <= now() - make_interval(secs => ?)
                  then ?::text
                else w.disabled_reason end,
              updated_at = now()
         from g where w.id = g.endpoint_id and (not g.all_ok or w.failing_since is not null)
       returning w.id, w.status, w.disabled_reason)
     select 'recorded' as kind, d.id::text as id, null as reason from d
     union all
     select 'disabled', e.id::text, e.disabled_reason from e
      where e.status = 'DISABLED' and e.disabled_reason in (?::text, ?::text)`,
    [
      JSON.stringify(input),
      disableAfterSeconds,
      disableAfterSeconds,
      GONE_REASON,
      disableAfterSeconds,
      failing,
      GONE_REASON,
      failing,
    ],
  );
  return {
    recorded: new Set(rows.filter((r) => r.kind === 'recorded').map((r) => r.id)),
    disabled: rows
      .filter((r) => r.kind === 'disabled')
      .map((r) => ({ endpointId: r.id, reason: r.reason as string })),
  };
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
export async function pendingCount(em: SqlRunner): Promise<number> {
  const [row] = await em.execute<{ n: string }[]>(
    "select count(*) as n from webhook_delivery where status = 'PENDING'",
  );
  return Number(row?.n ?? 0);
}
