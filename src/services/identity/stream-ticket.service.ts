// Issues one-use progress stream tickets (SPEC section 20): what a browser's EventSource, which cannot
// send the two credential headers, presents instead of them, once, within a minute.
import { randomBytes } from 'node:crypto';
import { requirePartner } from '../../domain/access';
import type { ServiceContext } from '../../domain/context';
import { insertTicket, ticketId } from '../../sql/stream-tickets';
import type { StreamTicketView } from '../../shapes/views';

/** A ticket for the partner's progress stream, for an operator who may read it now (checked again on use). */
export async function issueStreamTicket(ctx: ServiceContext, partnerId: string): Promise<StreamTicketView> {
  const { partner } = await requirePartner(ctx, partnerId, 'read');
  const ticket = randomBytes(32).toString('base64url');
  const expiresAt = await insertTicket(ctx.em, {
    id: ticketId(ticket),
    operatorId: ctx.operator.id,
    clientId: partner.id,
    validUntil: ctx.validUntil,
  });
  ctx.log.info({ partnerId: partner.id, expiresAt }, 'progress stream ticket issued');
  return { ticket, expiresAt };
}
