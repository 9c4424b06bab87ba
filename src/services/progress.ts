// Progress events: the one internal shape, how it is stored (in the caller's transaction) and announced
// (NOTIFY on commit), and how a stored row becomes that shape again.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ProgressEventType } from '../entities/process-request-event.entity';
import type { ProcessRequestStatus } from '../entities/process-request.entity';

/** The NOTIFY channel every server process LISTENs on. */
export const PROGRESS_CHANNEL = 'process_request_progress';

/** What an event carries beyond who, what and when; money as the database's exact decimal text. */
export interface EventData {
  reason?: string;
  /** The balance after a credit or debit. */
  available?: string;
  /** The error code of a FAILED create. */
  code?: string;
  /** Upload progress of EVIDENCE_UPLOADING, 0-99. */
  percent?: number;
}

/**
 * A progress event as stored, announced between processes and replayed: the one shape every door's
 * view is made from (views.ts). `id` is null only for EVIDENCE_UPLOADING, which is not stored.
 */
export interface ProgressEvent {
  id: string | null;
  partnerId: string;
  processRequestId: string;
  type: ProgressEventType;
  actorId: string | null;
  fromStatus: ProcessRequestStatus | null;
  toStatus: ProcessRequestStatus | null;
  data: EventData;
  /** ISO 8601. */
  at: string;
}

export type NewEvent = Omit<ProgressEvent, 'id' | 'at' | 'fromStatus' | 'toStatus' | 'data'> &
  Partial<Pick<ProgressEvent, 'fromStatus' | 'toStatus' | 'data'>>;

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

/** Advisory-lock namespace for "one partner's events commit in id order". */
const EVENT_ORDER_LOCK = 727274003;

/**
 * Stores an event and queues its NOTIFY. Call it as the LAST statement of the transaction of the
 * change it records: PostgreSQL delivers the notification only if, and when, that transaction
 * commits, and the per-partner lock taken here (held until commit, so only for an instant) makes a
 * partner's event ids commit in increasing order — a resume from Last-Event-ID never skips one.
 */
export async function recordEvent(em: EntityManager, event: NewEvent): Promise<ProgressEvent> {
  await em.execute('select pg_advisory_xact_lock(?, hashtext(?))', [EVENT_ORDER_LOCK, event.partnerId]);
  const data = event.data ?? {};
  const [row] = await em.execute<EventRow[]>(
    `insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
     values (?, ?, ?, ?, ?, ?, ?) returning ${EVENT_COLUMNS}`,
    [
      event.processRequestId,
      event.partnerId,
      event.type,
      event.actorId,
      event.fromStatus ?? null,
      event.toStatus ?? null,
      Object.keys(data).length > 0 ? JSON.stringify(data) : null,
    ],
  );
  const stored = eventOfRow(row);
  await announce(em, stored);
  return stored;
}

/** Sends an event to every process's watchers (at once, or on commit inside a transaction). */
export async function announce(em: EntityManager, event: ProgressEvent): Promise<void> {
  await em.execute('select pg_notify(?, ?)', [PROGRESS_CHANNEL, JSON.stringify(event)]);
}
