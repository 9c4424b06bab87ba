// Whether a server process is still running, as every process sharing the database can see it: each holds a
// session-level advisory lock on a dedicated connection. PostgreSQL drops the lock when the session ends,
// so a process killed (kill -9, a lost machine) is seen as gone as soon as its backend notices.
import { randomInt } from 'node:crypto';
import type { Client, ClientConfig } from 'pg';
import { DedicatedConnection } from '../infra/dedicated-connection';
import { ADVISORY_LOCKS, EVIDENCE_SWEEP_KEY } from '../infra/locks';
import type { Logger } from '../logger';

/** The first key of every liveness lock (the second is the process's owner id, from 1 to 2^31 - 1). */
export const LIVENESS_LOCK_SPACE = ADVISORY_LOCKS.LIVENESS;
/** Second key of a lock no owner id uses: held by the one process sweeping the evidence container. */
const SWEEP_LOCK = EVIDENCE_SWEEP_KEY;

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
  private readonly session: DedicatedConnection;
  private id = randomInt(1, 2 ** 31);
  private readonly log: Logger;

  constructor(
    /** Where and how to connect (src/infra/database-url.ts: host, credentials, TLS). */
    connection: ClientConfig,
    log: Logger,
  ) {
    this.log = log.child({ component: 'liveness' });
    this.session = new DedicatedConnection({
      connection,
      name: 'process-liveness',
      label: 'liveness',
      log: this.log,
      setup: (client) => this.lock(client),
      // Until the lock is back, other processes see this one as gone and may reclaim its in-flight uploads;
      // those creates then fail (503) rather than commit a row whose blob was removed.
      onLost: () => this.log.warn({ owner: this.id }, 'liveness lock lost with its connection'),
      onRestored: () => this.log.info({ owner: this.id }, 'liveness lock taken again'),
    });
  }

  /** This process's owner id: what its upload intents and idempotency claims are stamped with. */
  get ownerId(): number {
    return this.id;
  }

  /** Whether the lock is held now (false while the connection is being re-established). */
  get held(): boolean {
    return this.session.client !== undefined;
  }

  /** PostgreSQL backend pid of the lock's connection (operators and tests can find it in pg_stat_activity). */
  get backendPid(): number | undefined {
    return this.session.backendPid;
  }

  /** Takes the lock before the app serves anyone; a database that is down at start fails the start. */
  async start(): Promise<void> {
    await this.session.open();
    this.log.info({ owner: this.id }, 'liveness lock taken');
  }

  /** Gives the lock back: the process's remaining intents and claims then belong to nobody alive. */
  async stop(): Promise<void> {
    await this.session.close();
  }

  /**
   * Runs `task` unless another process is sweeping already (a cluster-wide try-lock on this connection);
   * returns false when it did not run. Losing the connection meanwhile only lets a second sweep start.
   */
  async whileSweeping(task: () => Promise<void>): Promise<boolean> {
    const client = this.session.client;
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

  /**
   * Takes this process's lock on a new session: the same id again after a reconnect (its intents and claims
   * stay this process's); a new one only if another session holds it, such as this process's old session
   * the server has not dropped yet.
   */
  private async lock(client: Client): Promise<void> {
    for (let tries = 0; ; tries++) {
      const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [
        LIVENESS_LOCK_SPACE,
        this.id,
      ]);
      if (rows[0]?.ok) return;
      if (tries >= 10) throw new Error('no free liveness lock id');
      const previous = this.id;
      this.id = randomInt(1, 2 ** 31);
      this.log.warn(
        { previous, owner: this.id },
        'liveness lock id taken by another session; using a new one',
      );
    }
  }
}
