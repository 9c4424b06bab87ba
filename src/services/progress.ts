// Writing progress events: stored ones in the caller's transaction, announced with NOTIFY on commit.
import type { EntityManager } from '@mikro-orm/postgresql';
import { ProgressEventType } from '../entities/process-request-event.entity';
import type { ProcessRequestStatus } from '../entities/process-request.entity';
import type { ProgressEventView } from './views';

/** The NOTIFY channel every server process LISTENs on. */
export const PROGRESS_CHANNEL = 'process_request_progress';

export interface NewEvent {
  processRequestId: string;
  clientId: string;
  type: ProgressEventType;
  actorId: string;
  fromStatus?: ProcessRequestStatus | null;
  toStatus?: ProcessRequestStatus | null;
  /** Stored with the event (reason, error code, balance after the credit). */
  data?: Record<string, string | number | null>;
}

/** The JSON that travels through NOTIFY: a progress event with money as a string. */
export type ProgressMessage = Omit<ProgressEventView, 'available' | 'at'> & {
  available?: string;
  at: string;
};

export function toProgressMessage(
  event: NewEvent & { id: string | null; at: Date; percent?: number; status: ProcessRequestStatus | null },
): ProgressMessage {
  const message: ProgressMessage = {
    id: event.id,
    clientId: event.clientId,
    processRequestId: event.processRequestId,
    type: event.type,
    status: event.status,
    at: event.at.toISOString(),
  };
  if (event.percent !== undefined) message.percent = event.percent;
  if (typeof event.data?.available === 'string') message.available = event.data.available;
  if (typeof event.data?.code === 'string') message.code = event.data.code;
  return message;
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
export async function recordEvent(em: EntityManager, event: NewEvent): Promise<ProgressMessage> {
  await em.execute('select pg_advisory_xact_lock(?, hashtext(?))', [EVENT_ORDER_LOCK, event.clientId]);
  const [row] = await em.execute<{ id: string; created_at: Date }[]>(
    `insert into process_request_event (process_request_id, client_id, type, actor_id, from_status, to_status, data)
     values (?, ?, ?, ?, ?, ?, ?) returning id, created_at`,
    [
      event.processRequestId,
      event.clientId,
      event.type,
      event.actorId,
      event.fromStatus ?? null,
      event.toStatus ?? null,
      event.data ? JSON.stringify(event.data) : null,
    ],
  );
  const message = toProgressMessage({
    ...event,
    id: String(row.id),
    at: new Date(row.created_at),
    status: event.toStatus ?? event.fromStatus ?? null,
  });
  await em.execute('select pg_notify(?, ?)', [PROGRESS_CHANNEL, JSON.stringify(message)]);
  return message;
}

/** Announces an event that is not stored (upload progress) to every process, at once. */
export async function announce(em: EntityManager, message: ProgressMessage): Promise<void> {
  await em.execute('select pg_notify(?, ?)', [PROGRESS_CHANNEL, JSON.stringify(message)]);
}
