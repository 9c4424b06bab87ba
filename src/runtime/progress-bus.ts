// The progress bus of one server process: a dedicated LISTEN connection, fanned out in memory to the
// process's watchers (SSE streams and subscriptions), with replay of stored events for resuming.
//
// Stored events are not carried by the NOTIFY: it is a hint ("partner P has events up to id N"), sent after
// the storing transaction committed (src/runtime/progress-notifier.ts; in the storing process the hint is
// taken at once). On a hint the bus reads the partner's stored events after the last one it fanned out, in
// id order; a partner's events commit in id order (the event-order lock), so that read never skips one. A
// hint that never came (a process that crashed between its commit and its NOTIFY) is made up for by a
// timed catch-up of every watched partner. Not-stored events (EVIDENCE_UPLOADING) still travel whole.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ClientConfig, Notification } from 'pg';
import { DedicatedConnection } from '../infra/dedicated-connection';
import { Operator } from '../entities/operator.entity';
import type { Logger } from '../logger';
import { refusal, requirePartner } from '../domain/access';
import type { ServiceContext } from '../domain/context';
import { DomainError } from '../domain/errors';
import { OPERATOR_CHANNEL } from './operator-change';
import { EVERY_OPERATOR, type OperatorCache } from './operator-cache';
import {
  EVENT_COLUMNS,
  eventOfRow,
  PROGRESS_CHANNEL,
  type EventRow,
  type ProgressEvent,
} from '../sql/progress';
import { ProgressSubscription, type ReplaySource } from './progress-subscription';
import { ProgressNotifier, type StoredHint } from './progress-notifier';

/** Stored events read per catch-up query. */
const CATCH_UP_PAGE = 500;

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
  /** Operator rows this process keeps: used only while this LISTEN connection is up, forgotten on change. */
  operators?: OperatorCache;
  /** How often every watched partner is read for events no hint announced (default 1000 ms). */
  catchUpMs?: number;
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
  /** Sends this process's hints to the others, after each commit. */
  readonly notifier: ProgressNotifier;
  /** Per watched partner: the highest stored event id fanned out (catch-ups read after it). */
  private readonly cursors = new Map<string, bigint>();
  /** Partners being read now; true: read again when done (a hint came meanwhile). */
  private readonly catching = new Map<string, boolean>();
  private catchUpTimer?: NodeJS.Timeout;

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
      // Changes made while nobody listened are not heard: the cache is not used until LISTEN is back.
      onLost: () => options.operators?.deaf(),
      // NOTIFYs sent while nobody listened are gone; the stored events among them are read back, and
      // every operator holding a stream is read again in case a change was announced meanwhile.
      onRestored: () => {
        options.operators?.listen();
        for (const set of this.watchers.values()) for (const sub of set) sub.resync();
        for (const partnerId of this.watchers.keys()) this.catchUp(partnerId);
        void this.recheck();
      },
    });
    this.notifier = new ProgressNotifier(options.connection, this.log);
  }

  /** Listens before the app serves anyone; a database that is down at start fails the start. */
  async start(): Promise<void> {
    await this.listener.open();
    this.options.operators?.listen();
    await this.notifier.start();
    this.recheckTimer = setInterval(() => void this.recheck(), this.options.recheckMs);
    this.recheckTimer.unref();
    this.catchUpTimer = setInterval(() => {
      for (const partnerId of this.watchers.keys()) this.catchUp(partnerId);
    }, this.options.catchUpMs ?? 1000);
    this.catchUpTimer.unref();
  }

  /** Ends every stream cleanly (their clients see the end) and the LISTEN connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.operators?.deaf();
    clearInterval(this.recheckTimer);
    clearInterval(this.catchUpTimer);
    for (const set of [...this.watchers.values()]) for (const sub of [...set]) sub.close();
    await this.notifier.stop();
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
   * Learns where the stream starts (the given id, or the partner's latest stored event), then registers
   * it, counted and fed from then on: a stream that counts as open is live, and every event committed
   * after it was counted reaches it (the gauge and the caps are a true "watching" signal). An event
   * committed between the read and the registration that the partner's fan-out has already passed is
   * read back from the table (the replay a resuming stream uses).
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
    const latest = await this.latestId(partnerId);
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
        if (watchers.size === 0 && this.watchers.get(partnerId) === watchers) {
          this.watchers.delete(partnerId);
          this.cursors.delete(partnerId);
        }
        mine.delete(sub);
        if (mine.size === 0 && this.byOperator.get(operatorId) === mine) this.byOperator.delete(operatorId);
      },
    });
    watchers.add(sub);
    mine.add(sub);
    // An id past the partner's latest event names nothing stored: the stream starts from the latest,
    // so the ids it gives out (upload frames carry the last one delivered) are real resume points.
    const fannedOut = this.cursors.get(partnerId);
    if (after !== undefined && after < latest) sub.startAfter(after, true);
    else sub.startAfter(latest, fannedOut !== undefined && fannedOut > latest);
    // The partner's first stream: the bus fans out from here (a hint that came meanwhile is read now).
    if (fannedOut === undefined) this.cursors.set(partnerId, latest);
    this.catchUp(partnerId);
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

  private readonly storedListeners = new Set<(partnerId: string) => void>();

  /** Calls `listener` with the partner of every stored event any process announces (the webhook relay wakes on them). */
  onStored(listener: (partnerId: string) => void): () => void {
    this.storedListeners.add(listener);
    return () => this.storedListeners.delete(listener);
  }

  /**
   * Events this process stored, told once their transaction committed: this process's watchers get them
   * at once (read in id order, see catchUp), the other processes on the hint the notifier sends next.
   */
  stored(events: readonly ProgressEvent[]): void {
    const latest = new Map<string, bigint>();
    for (const event of events) {
      if (event.id === null) continue;
      const id = BigInt(event.id);
      const known = latest.get(event.partnerId);
      if (known === undefined || id > known) latest.set(event.partnerId, id);
    }
    for (const [partnerId, id] of latest) {
      this.notifier.stored(partnerId, id);
      this.hinted(partnerId, id);
    }
  }

  /** A partner has stored events up to `id`: the webhook relay wakes, and the partner's watchers are served. */
  private hinted(partnerId: string, id: bigint): void {
    for (const listener of this.storedListeners) listener(partnerId);
    const cursor = this.cursors.get(partnerId);
    if (cursor === undefined || cursor < id) this.catchUp(partnerId);
  }

  /**
   * Reads the partner's stored events after the last one fanned out, in id order, and fans them out. One
   * read per partner at a time; a hint during a read asks for one more. Nothing to do without watchers.
   */
  private catchUp(partnerId: string): void {
    if (this.stopped || !this.watchers.has(partnerId)) return;
    if (this.catching.has(partnerId)) {
      this.catching.set(partnerId, true);
      return;
    }
    this.catching.set(partnerId, false);
    void this.readNew(partnerId)
      .catch((error: unknown) =>
        this.log.warn(
          { err: error, partnerId },
          'progress catch-up failed; the next hint or timer tries again',
        ),
      )
      .finally(() => {
        const again = this.catching.get(partnerId);
        this.catching.delete(partnerId);
        if (again) this.catchUp(partnerId);
      });
  }

  private async readNew(partnerId: string): Promise<void> {
    for (;;) {
      const after = this.cursors.get(partnerId);
      if (after === undefined) return; // its first stream sets the cursor, then reads
      const events = await this.read(partnerId, after, CATCH_UP_PAGE);
      const set = this.watchers.get(partnerId);
      if (!set || this.cursors.get(partnerId) !== after) return; // no watcher left, or reset meanwhile
      for (const event of events) {
        this.cursors.set(partnerId, BigInt(event.id as string));
        for (const sub of set) sub.push(event);
      }
      if (events.length < CATCH_UP_PAGE) return;
    }
  }

  /** Stored events after `afterId`: on the notifier's session when it is up (never waits for the pool), else the pool. */
  private async read(partnerId: string, afterId: bigint, limit: number): Promise<ProgressEvent[]> {
    const client = this.notifier.client;
    if (!client) return this.replay(partnerId, afterId, limit);
    const { rows } = await client.query<EventRow>(
      `select ${EVENT_COLUMNS} from process_request_event where client_id = $1 and id > $2 order by id limit $3`,
      [partnerId, afterId.toString(), limit],
    );
    return rows.map(eventOfRow);
  }

  private dispatch(notification: Notification): void {
    if (notification.channel === OPERATOR_CHANNEL && notification.payload) {
      this.options.operators?.forget(notification.payload);
      void this.recheck(notification.payload === EVERY_OPERATOR ? undefined : [notification.payload]);
      return;
    }
    if (notification.channel !== PROGRESS_CHANNEL || !notification.payload) return;
    let message: ProgressEvent | StoredHint;
    try {
      message = JSON.parse(notification.payload) as ProgressEvent | StoredHint;
    } catch {
      this.log.warn('ignored a progress notification that is not JSON');
      return;
    }
    if ('stored' in message) {
      for (const [partnerId, id] of Object.entries(message.stored ?? {})) {
        if (/^\d+$/.test(id)) this.hinted(partnerId, BigInt(id));
      }
      return;
    }
    // A stored event announced whole is a hint like any other; only events that are not stored travel whole.
    if (message.id !== null) {
      if (/^\d+$/.test(String(message.id))) this.hinted(message.partnerId, BigInt(message.id));
      return;
    }
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
