// MikroORM configuration: used by the service (createOrmConfig) and by the MikroORM CLI (default export).
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { ENTITIES } from './src/entities';
import { pgConnectionOptions } from './src/infra/database-url';
import { MIGRATIONS } from './src/migrations';

/** `sslCa`: PEM text of DATABASE_SSL_CA. The URL is translated in one place (src/infra/database-url.ts). */
export function createOrmConfig(
  databaseUrl: string,
  overrides: Partial<Options> = {},
  sslCa?: string,
): Options {
  const { migrations, ...rest } = overrides;
  const { host, port, user, password, database, ssl } = pgConnectionOptions(databaseUrl, sslCa);
  return defineConfig({
    host,
    port,
    user,
    password,
    dbName: database,
    // MikroORM would drop the URL's query string (sslmode); the pool gets the TLS options built for it.
    driverOptions: { connection: { ssl } },
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

// A function, so importing this file (the service does) never parses DATABASE_URL before loadConfig has
// checked it; the MikroORM CLI calls it.
export default () =>
  createOrmConfig(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
