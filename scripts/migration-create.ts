// npm run migration:create -- <name> — writes src/migrations/Migration<timestamp>_<name>.ts from the difference
// between a freshly migrated throwaway database and the entities, and registers it in src/migrations/index.ts.
// Read it before committing: MikroORM writes a rename as drop + add, which would lose a column's data.
import 'reflect-metadata';
import 'dotenv/config';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { migrate, openDatabase } from '../src/db';
import { openThrowawayServer } from '../src/infra/throwaway-postgres';
import { createLogger } from '../src/logger';

const MIGRATIONS_DIR = path.resolve(__dirname, '../../src/migrations');
const INDEX = path.join(MIGRATIONS_DIR, 'index.ts');

/** Adds the import and the list entry for `name` to src/migrations/index.ts. */
function register(name: string): void {
  const source = readFileSync(INDEX, 'utf8');
  const imports = [...source.matchAll(/^import .*;\n/gm)];
  const last = imports[imports.length - 1];
  const end = source.lastIndexOf('];');
  if (!last || end < 0) throw new Error(`cannot find where to register ${name} in ${INDEX}`);
  const afterImports = (last.index ?? 0) + last[0].length;
  writeFileSync(
    INDEX,
    source.slice(0, afterImports) +
      `import { ${name} } from './${name}';\n` +
      source.slice(afterImports, end) +
      `  { name: '${name}', class: ${name} },\n` +
      source.slice(end),
  );
}

async function format(files: string[]): Promise<void> {
  const prettier = await import('prettier');
  for (const file of files) {
    const options = await prettier.resolveConfig(file);
    writeFileSync(file, await prettier.format(readFileSync(file, 'utf8'), { ...options, filepath: file }));
  }
}

async function main(name: string | undefined): Promise<number> {
  if (!name || !/^[a-z][a-z0-9_]*$/.test(name)) {
    process.stderr.write('usage: npm run migration:create -- <name>   (snake_case, e.g. approval_policy)\n');
    return 2;
  }
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const dir = path.resolve(__dirname, '../../.cache', `migration-create-${process.pid}`);
  const server = await openThrowawayServer(process.env.DATABASE_URL, dir, log);
  try {
    const orm = await openDatabase({ url: await server.createDatabase('migration_create') }, log);
    try {
      await migrate(orm);
      const { fileName, diff } = await orm.getMigrator().createMigration(MIGRATIONS_DIR, false, false, name);
      if (!fileName) {
        process.stdout.write('The migrations already build what the entities declare: nothing to write.\n');
        return 0;
      }
      const className = fileName.replace(/\.ts$/, '');
      register(className);
      await format([path.join(MIGRATIONS_DIR, fileName), INDEX]);
      process.stdout.write(
        `wrote src/migrations/${fileName} (registered in src/migrations/index.ts):\n` +
          diff.up
            .filter(Boolean)
            .map((statement) => `  ${statement}\n`)
            .join('') +
          "Read it before committing: a renamed column, table or constraint comes out as drop + add (a column's\n" +
          'data would be lost; write a rename instead), and data changes are yours to add. Then: npm run db:check\n',
      );
      return 0;
    } finally {
      await orm.close(true);
    }
  } finally {
    await server.close();
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`migration:create: ${(error as Error).stack ?? error}\n`);
    process.exit(2);
  },
);
