// Opening the database: the ORM, its pool, and migrations.
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { createOrmConfig } from '../mikro-orm.config';
import { DatabaseConnectionError, explainConnectionError } from './infra/database-url';
import { ADVISORY_LOCKS } from './infra/locks';

export interface DatabaseSettings {
  url: string;
  /** PEM text of DATABASE_SSL_CA. */
  sslCa?: string;
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
  const orm = await MikroORM.init(
    createOrmConfig(
      database.url,
      {
        logger: (message) => log.debug({ orm: message }),
        // LOG_LEVEL=debug (or trace): every statement the ORM runs, with placeholders, never its values.
        ...(log.isLevelEnabled('debug') ? { debug: ['query' as const], colors: false } : {}),
        ...overrides,
      },
      database.sslCa,
    ),
  );
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
    await conn.execute('select pg_advisory_xact_lock(?)', [ADVISORY_LOCKS.MIGRATIONS], 'run', trx);
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  });
}
