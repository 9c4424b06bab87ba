// The progress bus of one server process: a dedicated LISTEN connection, fanned out in memory to the
// process's watchers (SSE streams and subscriptions), with replay of stored events for resuming.
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, type ClientConfig, type Notification } from 'pg';
import type { Logger } from '../logger';
import { requirePartner } from './access';
import type { ServiceContext } from './context';
import { DomainError } from './errors';
import { PROGRESS_CHANNEL, toProgressMessage, type ProgressMessage } from './progress';
import { ProgressSubscription, type ReplaySource } from './progress-subscription';
import type { ProgressEventType } from '../entities/process-request-event.entity';
import type { ProcessRequestStatus } from '../entities/process-request.entity';

export interface ProgressBusOptions {
  /** Built from DATABASE_URL by src/infra/database-url.ts, like the pool's (same host, same TLS). */
  connection: ClientConfig;
  orm: MikroORM;
  log: Logger;
  /** Open streams this process serves at most (SSE and subscriptions together). */
  maxStreams: number;
  maxBufferedPerWatcher?: number;
  replayPageSize?: number;
}

const MAX_EVENT_ID = /^\d{1,19}$/;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

interface EventRow {
  id: string;
  process_request_id: string;
  client_id: string;
  type: ProgressEventType;
  actor_id: string;
  from_status: ProcessRequestStatus | null;
  to_status: ProcessRequestStatus | null;
  data: Record<string, string | number | null> | null;
  created_at: Date;
}

export class ProgressBus implements ReplaySource {
  private client?: Client;
  private readonly watchers = new Map<string, Set<ProgressSubscription>>();
  private open = 0;
  private stopped = false;
  private attempts = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(private readonly options: ProgressBusOptions) {
    this.log = options.log.child({ component: 'progress-bus' });
  }

  /** Listens before the app serves anyone; a database that is down at start fails the start. */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Ends every stream cleanly (their clients see the end) and the LISTEN connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    for (const set of [...this.watchers.values()]) for (const sub of [...set]) sub.close();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** PostgreSQL backend pid of the LISTEN connection (operators and tests can find it in pg_stat_activity). */
  get listenerPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  get openStreams(): number {
    return this.open;
  }

  /**
   * Starts watching a partner for an operator: scope and VIEWER rights are checked here, once, for
   * every door. `lastEventId` (a stored event id) replays what came after it before going live.
   */
  async watch(ctx: ServiceContext, clientId: unknown, lastEventId?: unknown): Promise<ProgressSubscription> {
    const { partner, balance } = await requirePartner(ctx, clientId, 'read');
    let after: bigint | undefined;
    if (lastEventId !== undefined && lastEventId !== null && lastEventId !== '') {
      if (typeof lastEventId !== 'string' || !MAX_EVENT_ID.test(lastEventId)) {
        throw new DomainError('VALIDATION_FAILED', 'Last-Event-ID must be an event id', {
          field: 'Last-Event-ID',
        });
      }
      after = BigInt(lastEventId);
    }
    return this.subscribe(partner.id, balance.currency, after);
  }

  /**
   * Registers the watcher for live events first, then learns where it starts (the given id, or the
   * partner's latest stored event): nothing committed in between can fall through the hand-over.
   */
  async subscribe(clientId: string, currency: string, after?: bigint): Promise<ProgressSubscription> {
    if (this.stopped) throw new DomainError('SERVICE_UNAVAILABLE', 'The server is shutting down');
    if (this.open >= this.options.maxStreams) throw new DomainError('TOO_MANY_STREAMS');
    this.open++;
    let set = this.watchers.get(clientId);
    if (!set) this.watchers.set(clientId, (set = new Set()));
    const watchers = set;
    const sub: ProgressSubscription = new ProgressSubscription({
      clientId,
      currency,
      source: this,
      maxBuffered: this.options.maxBufferedPerWatcher ?? 1000,
      replayPageSize: this.options.replayPageSize ?? 500,
      onClose: () => {
        this.open--;
        watchers.delete(sub);
        if (watchers.size === 0 && this.watchers.get(clientId) === watchers) this.watchers.delete(clientId);
      },
    });
    watchers.add(sub);
    try {
      if (after !== undefined) sub.startAfter(after, true);
      else sub.startAfter(await this.latestId(clientId), false);
    } catch (error) {
      sub.close();
      throw error;
    }
    return sub;
  }

  async replay(clientId: string, afterId: bigint, limit: number): Promise<ProgressMessage[]> {
    const rows = await this.options.orm.em.getConnection().execute<EventRow[]>(
      `select id, process_request_id, client_id, type, actor_id, from_status, to_status, data, created_at
       from process_request_event where client_id = ? and id > ? order by id limit ?`,
      [clientId, afterId.toString(), limit],
    );
    return rows.map((row) =>
      toProgressMessage({
        id: String(row.id),
        processRequestId: row.process_request_id,
        clientId: row.client_id,
        type: row.type,
        actorId: row.actor_id,
        data: row.data ?? undefined,
        at: new Date(row.created_at),
        status: row.to_status ?? row.from_status ?? null,
      }),
    );
  }

  private async latestId(clientId: string): Promise<bigint> {
    const [row] = await this.options.orm.em
      .getConnection()
      .execute<{ id: string | null }[]>(
        'select max(id) as id from process_request_event where client_id = ?',
        [clientId],
      );
    return BigInt(row?.id ?? 0);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      ...this.options.connection,
      keepAlive: true,
      application_name: 'progress-listener',
    });
    // An 'error' without a listener would crash the process; the 'end' that follows triggers the reconnect.
    client.on('error', (error) => this.log.warn({ err: error }, 'LISTEN connection error'));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => this.dispatch(n));
    try {
      await client.connect();
      await client.query(`LISTEN ${PROGRESS_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempts = 0;
  }

  private lost(client: Client): void {
    if (this.client !== client) return; // a failed attempt, or a connection stop() already ended
    this.client = undefined;
    this.log.warn('LISTEN connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    // Exponential backoff with jitter, so a restarted database is not hit by every process at once.
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts++);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => {
          if (this.stopped) return;
          this.log.info({ pid: this.listenerPid }, 'LISTEN connection restored');
          // NOTIFYs sent while nobody listened are gone; the stored events among them are read back.
          for (const set of this.watchers.values()) for (const sub of set) sub.resync();
        },
        (error) => {
          this.log.warn({ err: error, attempt: this.attempts }, 'LISTEN reconnect failed');
          this.scheduleReconnect();
        },
      );
    }, delay);
  }

  private dispatch(notification: Notification): void {
    if (notification.channel !== PROGRESS_CHANNEL || !notification.payload) return;
    let message: ProgressMessage;
    try {
      message = JSON.parse(notification.payload) as ProgressMessage;
    } catch {
      this.log.warn('ignored a progress notification that is not JSON');
      return;
    }
    const set = this.watchers.get(message.clientId);
    if (!set) return;
    for (const sub of set) sub.push(message);
  }
}
