// Expiry (SPEC section 13): a PENDING request past its expiresAt becomes EXPIRED, once, with one EXPIRED
// event (actor null), whether a sweep or a late decision finds it first, and however many processes sweep.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { ProcessRequestStatus } from '../entities/process-request.entity';
import { type ProgressEvent, recordEvents } from '../sql/progress';

/** Requests expired per transaction by a sweep. */
const SWEEP_BATCH = 500;

/**
 * Expires due requests: every one (a sweep, in batches) or the one named. Rows another process is
 * expiring at this moment are skipped (`skip locked`), and the UPDATE only takes a row still PENDING, so
 * each request gets exactly one EXPIRED event. Returns the events recorded.
 */
export async function expire(
  em: EntityManager,
  only?: { partnerId: string; id: string },
): Promise<ProgressEvent[]> {
  const recorded: ProgressEvent[] = [];
  for (;;) {
    const events = await em.transactional(async (tx) => {
      const rows = await tx.execute<{ id: string; client_id: string }[]>(
        `update process_request set status = 'EXPIRED', updated_at = now()
          where id in (select id from process_request
                        where status = 'PENDING' and expires_at <= now() ${only ? 'and id = ? and client_id = ?' : ''}
                        order by expires_at limit ? for update skip locked)
          returning id, client_id`,
        only ? [only.id, only.partnerId, 1] : [SWEEP_BATCH],
      );
      return recordEvents(
        tx,
        rows.map((row) => ({
          processRequestId: row.id,
          partnerId: row.client_id,
          type: ProgressEventType.EXPIRED,
          actorId: null,
          fromStatus: ProcessRequestStatus.PENDING,
          toStatus: ProcessRequestStatus.EXPIRED,
        })),
      );
    });
    recorded.push(...events);
    if (only || events.length < SWEEP_BATCH) return recorded;
  }
}

/**
 * Each server process sweeps on its own timer; several processes sweeping one database expire each
 * request once (see expire). A sweep that fails (database down) is logged and tried again next time.
 */
export class ExpirySweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly orm: MikroORM,
    private readonly log: Logger,
    private readonly recorded: (events: ProgressEvent[]) => void,
  ) {}

  /** Sweeps now, then every `intervalSeconds`. */
  start(intervalSeconds: number): void {
    this.stop();
    const tick = () => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    };
    this.timer = setInterval(tick, intervalSeconds * 1000);
    this.timer.unref();
    tick();
  }

  /** Stops the timer and waits for a sweep under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async sweep(): Promise<void> {
    try {
      const events = await expire(this.orm.em.fork());
      if (events.length === 0) return;
      this.recorded(events);
      this.log.info(
        { expired: events.length, processRequestIds: events.map((e) => e.processRequestId) },
        'expired requests past their deadline',
      );
    } catch (error) {
      this.log.warn({ err: error }, 'expiry sweep failed; trying again at the next tick');
    }
  }
}
