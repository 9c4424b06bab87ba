// The body of a webhook message and of an events-feed item (SPEC section 16): thin — no file, no link,
// no free text — so a receiver fetches what it needs through the API it already calls.
import { formatAmount } from '../domain/money';
import type { ProgressEventType } from '../entities/process-request-event.entity';

/** Stored event types a partner is told about; each is `process_request.` + its lower-case name. */
export const WEBHOOK_EVENT_TYPES = [
  'CREATED',
  'APPROVAL_RECORDED',
  'APPROVED',
  'REJECTED',
  'CANCELLED',
  'EXPIRED',
  'REVERSED',
] as const satisfies readonly `${ProgressEventType}`[];

export const webhookTypeOf = (type: string): string => `process_request.${type.toLowerCase()}`;
export const WEBHOOK_TYPES: string[] = WEBHOOK_EVENT_TYPES.map(webhookTypeOf);

/** A stored event with what its message needs of its request (src/sql/webhook-sql.ts selects it). */
export interface MessageRow {
  id: string;
  client_id: string;
  process_request_id: string;
  type: string;
  actor_id: string | null;
  to_status: string | null;
  data: { approvals?: number } | null;
  created_at: Date | string;
  process_type_id: number;
  requested_amount: string;
  currency: string;
  status: string;
  required_approvals: number;
  approvals_then: string | number;
}

export interface WebhookMessage {
  type: string;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: {
    /** Rises per partner: a receiver orders and deduplicates with it. */
    eventId: string;
    partnerId: string;
    processRequestId: string;
    processTypeId: number;
    /** The request's status right after the event. */
    status: string;
    requestedAmount: string;
    currency: string;
    approvals: number;
    requiredApprovals: number;
    /** null: the service itself (EXPIRED). */
    actorId: string | null;
  };
}

export function messageOf(row: MessageRow): WebhookMessage {
  return {
    type: webhookTypeOf(row.type),
    timestamp: new Date(row.created_at).toISOString(),
    data: {
      eventId: String(row.id),
      partnerId: row.client_id,
      processRequestId: row.process_request_id,
      processTypeId: Number(row.process_type_id),
      status: row.to_status ?? row.status,
      requestedAmount: formatAmount(row.requested_amount, row.currency).value,
      currency: row.currency,
      approvals: row.data?.approvals ?? Number(row.approvals_then),
      requiredApprovals: Number(row.required_approvals),
      actorId: row.actor_id,
    },
  };
}

/** An events-feed item: the message plus the event's id (its cursor). */
export type FeedItem = WebhookMessage & { id: string };

export const feedItemOf = (row: MessageRow): FeedItem => ({ id: String(row.id), ...messageOf(row) });
