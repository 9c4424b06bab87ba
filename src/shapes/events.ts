// Progress events: the one internal shape every door's view of an event is made from (shapes/views.ts).
import type { ProgressEventType } from '../entities/process-request-event.entity';
import type { ProcessRequestStatus } from '../entities/process-request.entity';

/** What an event carries beyond who, what and when; money as the database's exact decimal text. */
export interface EventData {
  reason?: string;
  /** The balance after a credit or debit. */
  available?: string;
  /** The error code of a FAILED create. */
  code?: string;
  /** Upload progress of EVIDENCE_UPLOADING, 0-99. */
  percent?: number;
  /** APPROVAL_RECORDED: approvals so far, and how many the request needs. */
  approvals?: number;
  requiredApprovals?: number;
  /** REVERSED: the reversal that reversed the request; APPROVED of a reversal: the original. */
  reversalId?: string;
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
