// Is the database the entities describe? Two views: MikroORM's own diff (what `schema:update` would run)
// and a catalog comparison with a database created from the entities, which sees what that diff ignores
// (an index's column order, a unique index versus a unique constraint, a column's exact type).
import type { MikroORM } from '@mikro-orm/postgresql';
import { migrate, openDatabase } from '../db';
import type { Logger } from '../logger';
import type { ThrowawayServer } from './throwaway-postgres';

/** The statements MikroORM would run to make the database match the entities; [] when they agree. */
export async function pendingSchemaChanges(orm: MikroORM): Promise<string[]> {
  const sql = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
  return sql
    .split(/;\s*\n/)
    .map((statement) => statement.trim().replace(/;$/, ''))
    .filter(Boolean)
    .map((statement) => `${statement};`);
}

const MIGRATIONS_TABLE = 'mikro_orm_migrations';

/**
 * The current schema of the database, one sorted line per object as PostgreSQL prints it back: tables,
 * columns (type, null, default), constraints, indexes, sequences and enum types. NOT NULL stays in the
 * column's line (PostgreSQL 18 also lists it as a constraint, older servers do not). Column order is left
 * out: a migration adds a column at the end whatever the entity's property order.
 */
export async function describeSchema(orm: MikroORM): Promise<string[]> {
  const conn = orm.em.getConnection();
  const own = `n.nspname = current_schema() and c.relname not like '${MIGRATIONS_TABLE}%'`;
  const relations = await conn.execute<{ kind: string; name: string }[]>(
    `select c.relkind as kind, c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where ${own} and c.relkind in ('r', 'p', 'v', 'm', 'S')`,
  );
  const columns = await conn.execute<
    { tbl: string; name: string; type: string; notnull: boolean; def: string | null }[]
  >(
    `select c.relname as tbl, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
            a.attnotnull as notnull, pg_get_expr(d.adbin, d.adrelid) as def
       from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where ${own} and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped`,
  );
  const constraints = await conn.execute<{ tbl: string; name: string; def: string }[]>(
    `select c.relname as tbl, con.conname as name, pg_get_constraintdef(con.oid) as def
       from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace
      where ${own} and con.contype <> 'n'`,
  );
  const indexes = await conn.execute<{ name: string; def: string }[]>(
    `select c.relname as name, pg_get_indexdef(c.oid) as def
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where ${own} and c.relkind in ('i', 'I')`,
  );
  const enums = await conn.execute<{ name: string; labels: string }[]>(
    `select t.typname as name, string_agg(e.enumlabel, ', ' order by e.enumsortorder) as labels
       from pg_type t join pg_enum e on e.enumtypid = t.oid join pg_namespace n on n.oid = t.typnamespace
      where n.nspname = current_schema() group by t.typname`,
  );
  return [
    ...relations.map((r) => `relation ${r.name} (relkind ${r.kind})`),
    ...columns.map(
      (c) =>
        `column ${c.tbl}.${c.name} ${c.type}${c.notnull ? ' not null' : ''}${c.def ? ` default ${c.def}` : ''}`,
    ),
    ...constraints.map((c) => `constraint ${c.tbl}.${c.name} ${c.def}`),
    ...indexes.map((i) => `index ${i.def}`),
    ...enums.map((e) => `enum ${e.name} (${e.labels})`),
  ].sort();
}

/** Lines only the migrated database has (`-`) and lines only the entities' database has (`+`). */
export function compareSchemas(migrated: string[], fromEntities: string[]): string[] {
  const a = new Set(migrated);
  const b = new Set(fromEntities);
  return [
    ...migrated.filter((line) => !b.has(line)).map((line) => `- ${line}`),
    ...fromEntities.filter((line) => !a.has(line)).map((line) => `+ ${line}`),
  ];
}

export interface SchemaReport {
  /** What `schema:update` would run on a freshly migrated database. */
  changes: string[];
  /** How a freshly migrated database differs from one created from the entities. */
  differences: string[];
}

/** Migrates one new database, creates another from the entities, and compares them both ways. */
export async function checkSchema(server: ThrowawayServer, log: Logger): Promise<SchemaReport> {
  const migrated = await openDatabase({ url: await server.createDatabase('schema_migrated') }, log);
  const created = await openDatabase({ url: await server.createDatabase('schema_entities') }, log).catch(
    async (e) => {
      await migrated.close(true);
      throw e;
    },
  );
  try {
    await migrate(migrated);
    await created.getSchemaGenerator().createSchema();
    return {
      changes: await pendingSchemaChanges(migrated),
      differences: compareSchemas(await describeSchema(migrated), await describeSchema(created)),
    };
  } finally {
    await Promise.all([migrated.close(true), created.close(true)]);
  }
}
