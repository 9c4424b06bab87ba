// npm run db:check — fails (exit 1) when the migrations do not build exactly the schema the entities declare.
import 'reflect-metadata';
import 'dotenv/config';
import path from 'node:path';
import { checkSchema } from '../src/infra/schema-check';
import { openThrowawayServer } from '../src/infra/throwaway-postgres';
import { createLogger } from '../src/logger';

async function main(): Promise<number> {
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const dir = path.resolve(__dirname, '../../.cache', `db-check-${process.pid}`);
  const server = await openThrowawayServer(process.env.DATABASE_URL, dir, log);
  try {
    const { changes, differences } = await checkSchema(server, log);
    if (changes.length === 0 && differences.length === 0) {
      process.stdout.write('db:check: the migrated database is exactly what the entities declare\n');
      return 0;
    }
    if (changes.length > 0) {
      process.stdout.write(
        `db:check: after every migration, MikroORM would still run ${changes.length} statement(s):\n` +
          changes.map((s) => `  ${s}\n`).join(''),
      );
    }
    if (differences.length > 0) {
      process.stdout.write(
        `db:check: a migrated database (-) and one created from the entities (+) differ:\n` +
          differences.map((d) => `  ${d}\n`).join(''),
      );
    }
    process.stdout.write('Fix the entities, or add a migration: npm run migration:create -- <name>\n');
    return 1;
  } finally {
    await server.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`db:check: ${(error as Error).stack ?? error}\n`);
    process.exit(2);
  },
);
