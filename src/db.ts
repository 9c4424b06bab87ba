// Opening the database: the ORM, its pool, and migrations.
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { createOrmConfig } from '../mikro-orm.config';

export async function openDatabase(
  databaseUrl: string,
  log: Logger,
  overrides: Partial<Options> = {},
): Promise<MikroORM> {
  return MikroORM.init(
    createOrmConfig(databaseUrl, {
      logger: (message) => log.debug({ orm: message }),
      ...overrides,
    }),
  );
}

/** Applies pending migrations; returns the names applied. Safe to run from several processes at once. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const conn = orm.em.getConnection();
  // One migrator at a time per database: a second process waits here, then finds nothing to do.
  return orm.em.getConnection().transactional(async (trx) => {
    await conn.execute('select pg_advisory_xact_lock(727274001)', [], 'run', trx);
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  });
}
