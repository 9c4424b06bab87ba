// Whether a server process is still running, as every process sharing the database can see it: each holds a
// session-level advisory lock on a dedicated connection. PostgreSQL drops the lock when the session ends,
// so a process killed (kill -9, a lost machine) is seen as gone as soon as its backend notices.
import { randomInt } from 'node:crypto';
import { Client, type ClientConfig } from 'pg';
import type { Logger } from '../logger';

/** The first key of every liveness lock (the second is the process's owner id, from 1 to 2^31 - 1). */
export const LIVENESS_LOCK_SPACE = 727274002;
/** Second key of a lock no owner id uses: held by the one process sweeping the evidence container. */
const SWEEP_LOCK = 0;

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/** What a row stamped with an owner id needs: the id of this process. */
export interface Owner {
  readonly ownerId: number;
}

/**
 * SQL that is true while the process with the owner id in `column` holds its liveness lock in this
 * database (any session may read pg_locks). A null owner is never alive.
 */
export function ownerAlive(column: string): string {
  return `exists (select 1 from pg_locks l
     where l.locktype = 'advisory' and l.granted and l.objsubid = 2
       and l.database = (select oid from pg_database where datname = current_database())
       and l.classid = ${LIVENESS_LOCK_SPACE} and l.objid = (${column})::oid)`;
}

export class ProcessLiveness implements Owner {
  private client?: Client;
  private id = randomInt(1, 2 ** 31);
  private stopped = false;
  private attempts = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    /** Where and how to connect (src/infra/database-url.ts: host, credentials, TLS). */
    private readonly connection: ClientConfig,
    log: Logger,
  ) {
    this.log = log.child({ component: 'liveness' });
  }

  /** This process's owner id: what its upload intents and idempotency claims are stamped with. */
  get ownerId(): number {
    return this.id;
  }

  /** Whether the lock is held now (false while the connection is being re-established). */
  get held(): boolean {
    return this.client !== undefined;
  }

  /** PostgreSQL backend pid of the lock's connection (operators and tests can find it in pg_stat_activity). */
  get backendPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  /** Takes the lock before the app serves anyone; a database that is down at start fails the start. */
  async start(): Promise<void> {
    await this.connect();
    this.log.info({ owner: this.id }, 'liveness lock taken');
  }

  /** Gives the lock back: the process's remaining intents and claims then belong to nobody alive. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /**
   * Runs `task` unless another process is sweeping already (a cluster-wide try-lock on this connection);
   * returns false when it did not run. Losing the connection meanwhile only lets a second sweep start.
   */
  async whileSweeping(task: () => Promise<void>): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [
      LIVENESS_LOCK_SPACE,
      SWEEP_LOCK,
    ]);
    if (!rows[0]?.ok) return false;
    try {
      await task();
      return true;
    } finally {
      await client
        .query('select pg_advisory_unlock($1, $2)', [LIVENESS_LOCK_SPACE, SWEEP_LOCK])
        .catch(() => undefined);
    }
  }

  private async connect(): Promise<void> {
    const client = new Client({
      ...this.connection,
      keepAlive: true,
      application_name: 'process-liveness',
    });
    // An 'error' without a listener would crash the process; the 'end' that follows triggers the reconnect.
    client.on('error', (error) => this.log.warn({ err: error }, 'liveness connection error'));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      // The same id again after a reconnect (its intents and claims stay this process's); a new one only
      // if another session holds it, such as this process's old session the server has not dropped yet.
      for (let tries = 0; ; tries++) {
        const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [
          LIVENESS_LOCK_SPACE,
          this.id,
        ]);
        if (rows[0]?.ok) break;
        if (tries >= 10) throw new Error('no free liveness lock id');
        const previous = this.id;
        this.id = randomInt(1, 2 ** 31);
        this.log.warn(
          { previous, owner: this.id },
          'liveness lock id taken by another session; using a new one',
        );
      }
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
    // Until the lock is back, other processes see this one as gone and may reclaim its in-flight uploads;
    // those creates then fail (503) rather than commit a row whose blob was removed.
    this.log.warn({ owner: this.id }, 'liveness connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    // Exponential backoff with jitter, as the progress bus does, so a restarted database is not hit at once.
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts++);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => {
          if (!this.stopped) this.log.info({ owner: this.id }, 'liveness lock taken again');
        },
        (error) => {
          this.log.warn({ err: error, attempt: this.attempts }, 'liveness reconnect failed');
          this.scheduleReconnect();
        },
      );
    }, delay);
  }
}
