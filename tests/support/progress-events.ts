// Progress events for watchers to see: one of each change (CREATED, APPROVED, REJECTED, CANCELLED and
// FAILED) made through the service, or many stored at once.
import { randomUUID } from 'node:crypto';
import type { Operator } from '../../src/entities/operator.entity';
import { ProgressEventType } from '../../src/entities/process-request-event.entity';
import { recordEvent } from '../../src/sql/progress';
import type { World } from './world';

export interface EveryEvent {
  approved: string;
  rejected: string;
  cancelled: string;
}

/**
 * Creates three requests as the maker; the checker approves one and rejects one, the maker cancels the third;
 * then a create whose evidence is the given text (not a receipt) is refused with 415, which is a FAILED event.
 */
export async function causeEveryEvent(
  world: World,
  partnerId: string,
  maker: Operator,
  checker: Operator,
  notAReceipt: string,
): Promise<EveryEvent> {
  const approved = await world.createRequest(partnerId, maker, '10000.50');
  const rejected = await world.createRequest(partnerId, maker, '1.00');
  const cancelled = await world.createRequest(partnerId, maker, '2.00');
  expect((await world.act(partnerId, approved, 'approve', checker)).status).toBe(204);
  expect((await world.act(partnerId, rejected, 'reject', checker)).status).toBe(204);
  expect((await world.act(partnerId, cancelled, 'cancel', maker)).status).toBe(204);
  const failed = await world.http
    .post(`${world.rest(partnerId)}/process-request`)
    .set(await world.headers(maker))
    .attach('evidence', Buffer.from(notAReceipt), 'receipt.txt')
    .field('requestedAmount', '5');
  expect(failed.status).toBe(415);
  return { approved, rejected, cancelled };
}

/**
 * `count` stored FAILED events, each recorded by the function every change records its event with
 * (one transaction, so the world is built in seconds rather than by a thousand creates).
 */
export async function storedEvents(world: World, partnerId: string, operator: Operator, count: number) {
  await world.app.orm.em.fork().transactional(async (em) => {
    for (let i = 0; i < count; i++)
      await recordEvent(em, {
        processRequestId: randomUUID(),
        partnerId,
        type: ProgressEventType.FAILED,
        actorId: operator.id,
        data: { code: 'VALIDATION_FAILED' },
      });
  });
}
