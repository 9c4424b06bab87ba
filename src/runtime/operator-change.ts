// "An operator's rights changed": a NOTIFY every server process LISTENs to, so open streams are re-checked at once.
import type { EntityManager } from '@mikro-orm/postgresql';

/** The NOTIFY channel of operator changes; the payload is the operator's id. */
export const OPERATOR_CHANNEL = 'operator_change';

/**
 * Tells every process that an operator's active flag, roles or partner scope changed. Inside a
 * transaction the notification leaves when it commits (never for a rolled-back change); call it in
 * the transaction that makes the change, so a process re-reading the operator sees the new state.
 */
export async function announceOperatorChange(em: EntityManager, operatorId: string): Promise<void> {
  await em.execute('select pg_notify(?, ?)', [OPERATOR_CHANNEL, operatorId]);
}
