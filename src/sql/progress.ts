// Progress events: the one internal shape, how it is stored (in the caller's transaction) and announced
// (NOTIFY on commit), and how a stored row becomes that shape again.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ProgressEventType } from '../entities/process-request-event.entity';
import type { ProcessRequestStatus } from '../entities/process-request.entity';
import type { EventData, NewEvent, ProgressEvent } from '../shapes/events';
import { ADVISORY_LOCKS } from '../infra/locks';

export type { EventData, NewEvent, ProgressEvent };

/** The NOTIFY channel every server process LISTENs on. */
export const PROGRESS_CHANNEL = 'process_request_progress';

/** A row of process_request_event, as pg returns it. */
export interface EventRow {
  id: string;
  process_request_id: string;
  client_id: string;
  type: ProgressEventType;
  actor_id: string | null;
  from_status: ProcessRequestStatus | null;
  to_status: ProcessRequestStatus | null;
  data: EventData | null;
  created_at: Date | string;
}

/** The columns eventOfRow reads, for queries that select events. */
export const EVENT_COLUMNS =
  'id, process_request_id, client_id, type, actor_id, from_status, to_status, data, created_at';

export function eventOfRow(row: EventRow): ProgressEvent {
  return {
    id: String(row.id),
    partnerId: row.client_id,
    processRequestId: row.process_request_id,
    type: row.type,
    actorId: row.actor_id,
    fromStatus: row.from_status,
    toStatus: row.to_status,
    data: row.data ?? {},
    at: new Date(row.created_at).toISOString(),
  };
}

/**
 * Told once per stored event (a request's change: CREATED, APPROVED, … FAILED), in the process that
 * made the change, after the transaction that stored it committed. Metrics count with it.
 */
export type TransitionListener = (type: ProgressEventType) => void;

/** Advisory-lock class for "one partner's events commit in id order" (src/infra/locks.ts). */
export const EVENT_ORDER_LOCK = ADVISORY_LOCKS.EVENT_ORDER;

/**
 * Stores events and queues their NOTIFYs. Call it as the LAST statement of the transaction of the
 * changes it records: PostgreSQL delivers the notifications only if, and when, that transaction
 * commits, and the per-partner locks taken here (held until commit, so only for an instant) make each
 * partner's event ids commit in increasing order — a resume from Last-Event-ID never skips one.
 */
export async function recordEvents(em: EntityManager, events: NewEvent[]): Promise<ProgressEvent[]> {
  if (events.length === 0) return [];
  // Sorted, so two transactions touching the same partners never wait for each other in a circle.
  for (const partnerId of [...new Set(events.map((e) => e.partnerId))].sort()) {
    await em.execute('select pg_advisory_xact_lock(?, hashtext(?))', [EVENT_ORDER_LOCK, partnerId]);
  }
  // One statement for any number of events; the list travels as one JSON parameter.
  const rows = await em.execute<EventRow[]>(
    `insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
     select e.process_request_id, e.client_id, e.type, e.actor_id, e.from_status, e.to_status, e.data
       from jsonb_to_recordset(?::jsonb) as e(process_request_id uuid, client_id uuid, type progress_event_type,
            actor_id uuid, from_status process_request_status, to_status process_request_status, data jsonb)
     returning ${EVENT_COLUMNS}`,
    [
      JSON.stringify(
        events.map((e) => ({
          process_request_id: e.processRequestId,
          client_id: e.partnerId,
          type: e.type,
          actor_id: e.actorId,
          from_status: e.fromStatus ?? null,
          to_status: e.toStatus ?? null,
          data: e.data && Object.keys(e.data).length > 0 ? e.data : null,
        })),
      ),
    ],
  );
  const stored = rows.map(eventOfRow).sort((a, b) => Number(BigInt(a.id as string) - BigInt(b.id as string)));
  await em.execute(`select pg_notify(?, payload) from jsonb_array_elements_text(?::jsonb) as payload`, [
    PROGRESS_CHANNEL,
    JSON.stringify(stored.map((e) => JSON.stringify(e))),
  ]);
  return stored;
}

/** One event: see recordEvents. */
export async function recordEvent(em: EntityManager, event: NewEvent): Promise<ProgressEvent> {
  const [stored] = await recordEvents(em, [event]);
  return stored;
}

/** Sends an event to every process's watchers (at once, or on commit inside a transaction). */
export async function announce(em: EntityManager, event: ProgressEvent): Promise<void> {
  await em.execute('select pg_notify(?, ?)', [PROGRESS_CHANNEL, JSON.stringify(event)]);
}
