// MikroORM configuration: used by the service (createOrmConfig) and by the MikroORM CLI (default export).
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { ENTITIES } from './src/entities';
import { MIGRATIONS } from './src/migrations';

export function createOrmConfig(clientUrl: string, overrides: Partial<Options> = {}): Options {
  const { migrations, ...rest } = overrides;
  return defineConfig({
    clientUrl,
    // The entities are the schema's source of truth; the migrations build exactly that (npm run db:check).
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      path: './src/migrations',
      emit: 'ts',
      ...migrations,
      // Never a schema snapshot (it would be written into src/migrations, named after the database): new
      // migrations are diffed against a freshly migrated database instead (npm run migration:create).
      snapshot: false,
    },
    // The schema is owned by migrations; never generated or altered at run time.
    ensureDatabase: false,
    discovery: { warnWhenNoEntities: true },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    ...rest,
  });
}

export default createOrmConfig(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
