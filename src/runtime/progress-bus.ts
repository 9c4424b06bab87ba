// The progress bus of one server process: a dedicated LISTEN connection, fanned out in memory to the
// process's watchers (SSE streams and subscriptions), with replay of stored events for resuming.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ClientConfig, Notification } from 'pg';
import { DedicatedConnection } from '../infra/dedicated-connection';
import { Operator } from '../entities/operator.entity';
import type { Logger } from '../logger';
import { refusal, requirePartner } from '../domain/access';
import type { ServiceContext } from '../domain/context';
import { DomainError } from '../domain/errors';
import { OPERATOR_CHANNEL } from './operator-change';
import {
  EVENT_COLUMNS,
  eventOfRow,
  PROGRESS_CHANNEL,
  type EventRow,
  type ProgressEvent,
} from '../sql/progress';
import { ProgressSubscription, type ReplaySource } from './progress-subscription';

export interface ProgressBusOptions {
  /** Built from DATABASE_URL by src/infra/database-url.ts, like the pool's (same host, same TLS). */
  connection: ClientConfig;
  orm: MikroORM;
  log: Logger;
  /** Open streams this process serves at most (SSE and subscriptions together). */
  maxStreams: number;
  /** Of those, at most this many for one operator, so one operator cannot take every place. */
  maxStreamsPerOperator: number;
  /** How often the operators holding streams are read again (a change notification re-reads at once). */
  recheckMs: number;
  maxBufferedPerWatcher?: number;
  replayPageSize?: number;
}

/** The doors a progress stream is served through (the `door` label of the progress_streams gauge). */
export type ProgressDoor = 'sse' | 'graphql-ws';
export const PROGRESS_DOORS: readonly ProgressDoor[] = ['sse', 'graphql-ws'];

export class ProgressBus implements ReplaySource {
  private readonly listener: DedicatedConnection;
  private readonly watchers = new Map<string, Set<ProgressSubscription>>();
  /** The same streams by the operator they are served to: the per-operator cap and the re-checks. */
  private readonly byOperator = new Map<string, Set<ProgressSubscription>>();
  private recheckTimer?: NodeJS.Timeout;
  private open = 0;
  private readonly openByDoor = new Map<ProgressDoor, number>();
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: ProgressBusOptions) {
    this.log = options.log.child({ component: 'progress-bus' });
    this.listener = new DedicatedConnection({
      connection: options.connection,
      name: 'progress-listener',
      label: 'LISTEN',
      log: this.log,
      setup: async (client) => {
        await client.query(`LISTEN ${PROGRESS_CHANNEL}; LISTEN ${OPERATOR_CHANNEL}`);
      },
      onNotification: (n) => this.dispatch(n),
      // NOTIFYs sent while nobody listened are gone; the stored events among them are read back, and
      // every operator holding a stream is read again in case a change was announced meanwhile.
      onRestored: () => {
        for (const set of this.watchers.values()) for (const sub of set) sub.resync();
        void this.recheck();
      },
    });
  }

  /** Listens before the app serves anyone; a database that is down at start fails the start. */
  async start(): Promise<void> {
    await this.listener.open();
    this.recheckTimer = setInterval(() => void this.recheck(), this.options.recheckMs);
    this.recheckTimer.unref();
  }

  /** Ends every stream cleanly (their clients see the end) and the LISTEN connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.recheckTimer);
    for (const set of [...this.watchers.values()]) for (const sub of [...set]) sub.close();
    await this.listener.close();
  }

  /** PostgreSQL backend pid of the LISTEN connection (operators and tests can find it in pg_stat_activity). */
  get listenerPid(): number | undefined {
    return this.listener.backendPid;
  }

  get openStreams(): number {
    return this.open;
  }

  /** Open streams served through one door. */
  openStreamsOf(door: ProgressDoor): number {
    return this.openByDoor.get(door) ?? 0;
  }

  /** Open streams served to one operator, through any door. */
  openStreamsFor(operatorId: string): number {
    return this.byOperator.get(operatorId)?.size ?? 0;
  }

  /**
   * Starts watching a partner for an operator: scope and VIEWER rights are checked here for every
   * door, and again while the stream is open (recheck). `lastEventId` (a stored event id) replays
   * what came after it before going live. A stream lasts no longer than the credentials it was opened
   * with (`ctx.validUntil`): then it ends with UNAUTHENTICATED, and the client resumes with fresh ones.
   */
  async watch(
    ctx: ServiceContext,
    door: ProgressDoor,
    partnerId: string,
    lastEventId?: bigint,
  ): Promise<ProgressSubscription> {
    // Checked first too, so an operator over its cap is refused before any database work.
    this.assertRoomFor(ctx.operator.id);
    const { partner, balance } = await requirePartner(ctx, partnerId, 'read');
    const sub = await this.subscribe(door, ctx.operator.id, partner.id, balance.currency, lastEventId);
    if (ctx.validUntil) endAt(sub, ctx.validUntil, () => this.expired(sub));
    return sub;
  }

  private expired(sub: ProgressSubscription): void {
    this.log.info(
      { operatorId: sub.operatorId, partnerId: sub.partnerId },
      'progress stream ended: tokens expired',
    );
    sub.close(new DomainError('UNAUTHENTICATED', 'The tokens this stream was opened with have expired'));
  }

  /**
   * Registers the watcher for live events first, then learns where it starts (the given id, or the
   * partner's latest stored event): nothing committed in between can fall through the hand-over.
   * The operator's own cap is checked before the process's, so whoever holds too many streams is told
   * so (429) rather than everyone else being refused (503); both checks and the count are synchronous.
   */
  async subscribe(
    door: ProgressDoor,
    operatorId: string,
    partnerId: string,
    currency: string,
    after?: bigint,
  ): Promise<ProgressSubscription> {
    this.assertRoomFor(operatorId);
    this.open++;
    this.openByDoor.set(door, this.openStreamsOf(door) + 1);
    const watchers = getOrAdd(this.watchers, partnerId);
    const mine = getOrAdd(this.byOperator, operatorId);
    const sub: ProgressSubscription = new ProgressSubscription({
      partnerId,
      operatorId,
      currency,
      source: this,
      maxBuffered: this.options.maxBufferedPerWatcher ?? 1000,
      replayPageSize: this.options.replayPageSize ?? 500,
      onClose: () => {
        this.open--;
        this.openByDoor.set(door, this.openStreamsOf(door) - 1);
        watchers.delete(sub);
        if (watchers.size === 0 && this.watchers.get(partnerId) === watchers) this.watchers.delete(partnerId);
        mine.delete(sub);
        if (mine.size === 0 && this.byOperator.get(operatorId) === mine) this.byOperator.delete(operatorId);
      },
    });
    watchers.add(sub);
    mine.add(sub);
    try {
      // An id past the partner's latest event names nothing stored: the stream starts from the latest,
      // so the ids it gives out (upload frames carry the last one delivered) are real resume points.
      const latest = await this.latestId(partnerId);
      if (after !== undefined && after < latest) sub.startAfter(after, true);
      else sub.startAfter(latest, false);
    } catch (error) {
      sub.close();
      throw error;
    }
    return sub;
  }

  private assertRoomFor(operatorId: string): void {
    if (this.stopped) throw new DomainError('SERVICE_UNAVAILABLE', 'The server is shutting down');
    if (this.openStreamsFor(operatorId) >= this.options.maxStreamsPerOperator)
      throw new DomainError('TOO_MANY_OPERATOR_STREAMS', undefined, {
        limit: this.options.maxStreamsPerOperator,
      });
    if (this.open >= this.options.maxStreams) throw new DomainError('TOO_MANY_STREAMS');
  }

  async replay(partnerId: string, afterId: bigint, limit: number): Promise<ProgressEvent[]> {
    const rows = await this.options.orm.em
      .getConnection()
      .execute<EventRow[]>(
        `select ${EVENT_COLUMNS} from process_request_event where client_id = ? and id > ? order by id limit ?`,
        [partnerId, afterId.toString(), limit],
      );
    return rows.map(eventOfRow);
  }

  /**
   * Reads the given operators (default: every one holding a stream) and ends each stream its operator
   * may no longer have: deactivated (OPERATOR_INACTIVE), partner out of scope (PARTNER_FORBIDDEN),
   * no role that reads (FORBIDDEN), or gone (UNAUTHENTICATED). A database that cannot be read ends
   * nothing: the next re-check tries again.
   */
  async recheck(operatorIds: string[] = [...this.byOperator.keys()]): Promise<void> {
    const ids = operatorIds.filter((id) => this.byOperator.has(id));
    if (ids.length === 0) return;
    let operators: Operator[];
    try {
      operators = await this.options.orm.em.fork().find(Operator, { id: { $in: ids } });
    } catch (error) {
      this.log.warn({ err: error }, 'could not re-check the operators of open progress streams');
      return;
    }
    const byId = new Map(operators.map((o) => [o.id, o]));
    for (const id of ids) {
      const operator = byId.get(id);
      for (const sub of [...(this.byOperator.get(id) ?? [])]) {
        const refused = !operator
          ? new DomainError('UNAUTHENTICATED', 'The operator no longer exists')
          : !operator.active
            ? new DomainError('OPERATOR_INACTIVE')
            : refusal(operator, sub.partnerId, 'read');
        if (!refused) continue;
        this.log.info(
          { operatorId: id, partnerId: sub.partnerId, code: refused.code },
          'progress stream revoked',
        );
        sub.close(refused);
      }
    }
  }

  private async latestId(partnerId: string): Promise<bigint> {
    const [row] = await this.options.orm.em
      .getConnection()
      .execute<{ id: string | null }[]>(
        'select max(id) as id from process_request_event where client_id = ?',
        [partnerId],
      );
    return BigInt(row?.id ?? 0);
  }

  private readonly eventListeners = new Set<(event: ProgressEvent) => void>();

  /** Calls `listener` with every stored event any process announces (the webhook relay wakes on them). */
  onEvent(listener: (event: ProgressEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private dispatch(notification: Notification): void {
    if (notification.channel === OPERATOR_CHANNEL && notification.payload) {
      void this.recheck([notification.payload]);
      return;
    }
    if (notification.channel !== PROGRESS_CHANNEL || !notification.payload) return;
    let message: ProgressEvent;
    try {
      message = JSON.parse(notification.payload) as ProgressEvent;
    } catch {
      this.log.warn('ignored a progress notification that is not JSON');
      return;
    }
    if (message.id !== null) for (const listener of this.eventListeners) listener(message);
    const set = this.watchers.get(message.partnerId);
    if (!set) return;
    for (const sub of set) sub.push(message);
  }
}

/** The longest delay a Node timer takes (about 24.8 days); a later deadline is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `end` at `deadline` unless the stream has ended by then; the timer never holds the process open. */
function endAt(sub: ProgressSubscription, deadline: Date, end: () => void): void {
  // An `exp` past the calendar's end (a token that verifies for ever) gives no date: no deadline either.
  if (Number.isNaN(deadline.getTime())) return;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = deadline.getTime() - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(end, Math.max(0, left));
    timer.unref();
  };
  arm();
  void sub.whenEnded.then(() => clearTimeout(timer));
}

function getOrAdd<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}
