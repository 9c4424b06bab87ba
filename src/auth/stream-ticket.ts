// A progress stream opened with a one-use ticket instead of the two credential headers (SPEC section 20):
// the ticket is spent whatever happens next, and the operator it names is read again, as with tokens.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Operator } from '../entities/operator.entity';
import { DomainError } from '../domain/errors';
import { peekTicket, redeemTicket, ticketId } from '../sql/stream-tickets';
import type { Authenticated } from './authenticate';
import { tokenRefused } from './refusals';

const TICKET = /^[A-Za-z0-9_-]{43}$/;

/**
 * Redeems the ticket for the stream of `partnerId`: 401 with the reason, or the operator it was issued to.
 * `spend: false` (a HEAD, which opens no stream) judges the ticket the same way and leaves it to be used.
 */
export async function authenticateTicket(
  em: EntityManager,
  ticket: string,
  partnerId: string,
  spend = true,
): Promise<Authenticated> {
  if (!TICKET.test(ticket)) throw tokenRefused('ticket', 'malformed', 'is not a ticket this service issues');
  const redeemed = await (spend ? redeemTicket : peekTicket)(em, ticketId(ticket));
  if (!redeemed) throw tokenRefused('ticket', 'unknown', 'is unknown or already used: ask for a new one');
  if (!redeemed.live) throw tokenRefused('ticket', 'expired', 'has expired: ask for a new one');
  if (redeemed.clientId !== partnerId)
    throw tokenRefused('ticket', 'wrong_audience', "was issued for another partner's stream");
  const [row] = await em.execute<Array<Record<string, unknown>>>('select * from operator where id = ?', [
    redeemed.operatorId,
  ]);
  const operator = row ? em.map(Operator, row) : null;
  if (!operator) throw tokenRefused('ticket', 'unknown_subject', 'names an operator that no longer exists');
  if (!operator.active) throw new DomainError('OPERATOR_INACTIVE');
  // No recorded deadline (a ticket issued without one): the stream has none either.
  return { operator, validUntil: redeemed.validUntil ?? new Date(Number.NaN) };
}
