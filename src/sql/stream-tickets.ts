// The statements of one-use progress stream tickets (src/entities/stream-ticket.entity.ts). The database
// clock decides expiry, and redeeming is one DELETE … RETURNING: of two connections racing with one
// ticket, exactly one gets its row.
import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';

/** How long a ticket may wait before it is used. */
export const STREAM_TICKET_SECONDS = 60;

/** The stored form of a ticket: its SHA-256, so the table never holds a usable ticket. */
export const ticketId = (ticket: string): string => createHash('sha256').update(ticket).digest('hex');

const toDate = (value: string | Date) => (value instanceof Date ? value : new Date(value));

/** Stores a ticket (removing tickets that expired a while ago) and returns when it expires. */
export async function insertTicket(
  em: EntityManager,
  ticket: { id: string; operatorId: string; clientId: string; validUntil?: Date },
): Promise<Date> {
  await em.execute(`delete from stream_ticket where expires_at < now() - interval '1 hour'`);
  const [row] = await em.execute<Array<{ expires_at: string | Date }>>(
    `insert into stream_ticket (id, operator_id, client_id, expires_at, valid_until)
     values (?, ?, ?, now() + make_interval(secs => ?), ?) returning expires_at`,
    [ticket.id, ticket.operatorId, ticket.clientId, STREAM_TICKET_SECONDS, ticket.validUntil ?? null],
  );
  return toDate(row.expires_at);
}

export interface RedeemedTicket {
  operatorId: string;
  clientId: string;
  validUntil: Date | null;
  /** False when it was presented after its expiry (it is deleted all the same). */
  live: boolean;
}

const TICKET_COLUMNS = 'operator_id, client_id, valid_until, expires_at > now() as live';

/** Deletes the ticket and returns what it was; undefined when no such ticket exists (unknown or used). */
export function redeemTicket(em: EntityManager, id: string): Promise<RedeemedTicket | undefined> {
  return ticketOf(em, `delete from stream_ticket where id = ? returning ${TICKET_COLUMNS}`, id);
}

/** What the ticket is, left to be used (a HEAD of the stream opens nothing, so it spends nothing). */
export function peekTicket(em: EntityManager, id: string): Promise<RedeemedTicket | undefined> {
  return ticketOf(em, `select ${TICKET_COLUMNS} from stream_ticket where id = ?`, id);
}

async function ticketOf(em: EntityManager, sql: string, id: string): Promise<RedeemedTicket | undefined> {
  const [row] = await em.execute<
    Array<{ operator_id: string; client_id: string; valid_until: string | Date | null; live: boolean }>
  >(sql, [id]);
  if (!row) return undefined;
  return {
    operatorId: row.operator_id,
    clientId: row.client_id,
    validUntil: row.valid_until === null ? null : toDate(row.valid_until),
    live: row.live,
  };
}
