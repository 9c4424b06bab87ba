// Progress events: the one internal shape, how it is stored (in the caller's transaction), and how a stored
// row becomes that shape again. Stored events are announced after the commit, by the progress bus
// (src/runtime/progress-bus.ts); only events that are not stored travel by NOTIFY themselves (announce).
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

/**
 * A stored event (an `e` row of process_request_event) as SQL builds its NOTIFY payload: the same JSON as
 * eventOfRow writes, for statements that store and announce in one.
 */
export const EVENT_JSON = `json_build_object('id', e.id::text, 'partnerId', e.client_id, 'processRequestId', e.process_request_id,
  'type', e.type, 'actorId', e.actor_id, 'fromStatus', e.from_status, 'toStatus', e.to_status,
  'data', coalesce(e.data, '{}'::jsonb), 'at', to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;

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

/** Told of the events a transaction stored, once it committed (metrics, then the progress bus). */
export type RecordedListener = (events: ProgressEvent[]) => void;

/** Advisory-lock class for "one partner's events commit in id order" (src/infra/locks.ts). */
export const EVENT_ORDER_LOCK = ADVISORY_LOCKS.EVENT_ORDER;

/**
 * Stores events. Call it as the LAST statement of the transaction of the changes it records: the
 * per-partner locks taken here (held until commit, so only for an instant) make each partner's event ids
 * commit in increasing order — a reader that resumes after an id never skips one. Once the transaction
 * has committed, the caller hands the events to the progress bus (the services' `recorded` hook), which
 * serves this process's watchers and tells the other processes; nothing is sent from inside it.
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
  return rows.map(eventOfRow).sort((a, b) => Number(BigInt(a.id as string) - BigInt(b.id as string)));
}

/** One event: see recordEvents. */
export async function recordEvent(em: EntityManager, event: NewEvent): Promise<ProgressEvent> {
  const [stored] = await recordEvents(em, [event]);
  return stored;
}

/** Sends an event that is not stored (EVIDENCE_UPLOADING) to every process's watchers, by NOTIFY. */
export async function announce(em: EntityManager, event: ProgressEvent): Promise<void> {
  await em.execute('select pg_notify(?, ?)', [PROGRESS_CHANNEL, JSON.stringify(event)]);
}
