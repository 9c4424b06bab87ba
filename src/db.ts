// Opening the database: the ORM, its pool, and migrations.
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { createOrmConfig } from '../mikro-orm.config';
import { DatabaseConnectionError, explainConnectionError } from './infra/database-url';
import { ADVISORY_LOCKS } from './infra/locks';
import { RetryingReadsDriver } from './infra/retrying-driver';

export interface DatabaseSettings {
  url: string;
  /** PEM text of DATABASE_SSL_CA. */
  sslCa?: string;
  /** Bounds for every statement of every pooled session (the server's; migrations run unbounded). */
  limits?: SessionLimits;
}

/** DATABASE_LOCK_TIMEOUT_MS and DATABASE_STATEMENT_TIMEOUT_MS. */
export interface SessionLimits {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
}

/**
 * The pg connection settings that bound a session: PostgreSQL's lock_timeout and statement_timeout,
 * sent with the connection's start-up (no extra round trip). Past either the statement fails (55P03,
 * 57014), its transaction rolls back, and the caller gets 503 with Retry-After (src/infra/failures.ts).
 * An idle session is never ended by them: a LISTEN connection waits for notifications between statements.
 */
export function sessionSettings(limits: SessionLimits): { lock_timeout: number; statement_timeout: number } {
  return { lock_timeout: limits.lockTimeoutMs, statement_timeout: limits.statementTimeoutMs };
}

/**
 * Opens the ORM and makes one round trip, so a database that cannot be used stops here: TLS refused or a
 * certificate not trusted becomes a DatabaseConnectionError with one line saying what to fix.
 */
export async function openDatabase(
  database: DatabaseSettings,
  log: Logger,
  overrides: Partial<Options> = {},
): Promise<MikroORM> {
  const options = createOrmConfig(
    database.url,
    {
      logger: (message) => log.debug({ orm: message }),
      // A read that failed on a dead pooled connection is tried once more on a fresh one.
      driver: RetryingReadsDriver,
      // LOG_LEVEL=debug (or trace): every statement the ORM runs, with placeholders, never its values.
      ...(log.isLevelEnabled('debug') ? { debug: ['query' as const], colors: false } : {}),
      ...overrides,
    },
    database.sslCa,
  );
  const driverOptions = (options.driverOptions ?? {}) as { connection?: object };
  options.driverOptions = {
    ...driverOptions,
    connection: { ...driverOptions.connection, ...(database.limits ? sessionSettings(database.limits) : {}) },
    // knex's own notes (a pooled connection found dead and dropped) go to the log, not to the console.
    log: {
      warn: (message: unknown) => log.warn({ knex: String(message) }, 'database pool'),
      error: (message: unknown) => log.error({ knex: String(message) }, 'database pool'),
      deprecate: (message: unknown) => log.debug({ knex: String(message) }, 'database pool'),
      debug: (message: unknown) => log.debug({ knex: String(message) }, 'database pool'),
    },
  };
  const orm = await MikroORM.init(options);
  try {
    await orm.em.getConnection().execute('select 1');
  } catch (error) {
    await orm.close(true).catch(() => undefined);
    const line = explainConnectionError(error, database.url);
    throw line ? new DatabaseConnectionError(line) : error;
  }
  return orm;
}

/** Applies pending migrations; returns the names applied. Safe to run from several processes at once. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const conn = orm.em.getConnection();
  // One migrator at a time per database: a second process waits here, then finds nothing to do.
  return orm.em.getConnection().transactional(async (trx) => {
    // A migration may wait for another process's and run long: the server's bounds do not apply to it.
    await conn.execute('set local lock_timeout = 0', [], 'run', trx);
    await conn.execute('set local statement_timeout = 0', [], 'run', trx);
    await conn.execute('select pg_advisory_xact_lock(?)', [ADVISORY_LOCKS.MIGRATIONS], 'run', trx);
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  });
}
