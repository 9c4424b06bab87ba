// A statement built from named pieces: SQL text whose parameters are written `:name`, rendered once into
// PostgreSQL's positional form ($1, $2, …), and bound from an object of values by name. A name used twice
// is one parameter; a value the statement needs and the caller did not give fails before anything is sent.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client as PgClient } from 'pg';
import { createHash } from 'node:crypto';
import { deadConnection, noteStatement } from '../infra/failures';

/** One rendered statement: its text with $n placeholders, and which name each $n stands for. */
export interface Rendered<Name extends string = string> {
  /** Names pg's prepared statement (one per text: pg parses it once per connection). */
  readonly name: string;
  readonly text: string;
  /** names[n - 1] is the name of $n. */
  readonly names: readonly Name[];
}

const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)/;

/**
 * Replaces every `:name` outside string literals, quoted identifiers and comments with `$n::type`, the same
 * n for the same name, its type from `types` (PostgreSQL deduces one type per parameter: writing it once
 * here keeps every use alike); `::type` casts in the text are left as they are.
 */
export function render<Name extends string>(
  name: string,
  sql: string,
  types: Record<Name, string>,
): Rendered<Name> {
  const names: string[] = [];
  let text = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const skip = skipQuoted(sql, i);
    if (skip > i) {
      text += sql.slice(i, skip);
      i = skip;
    } else if (c === ':' && sql[i + 1] === ':') {
      text += '::';
      i += 2;
    } else if (c === ':' && PARAM.test(sql.slice(i, i + 65))) {
      const param = PARAM.exec(sql.slice(i, i + 65))![1];
      const type = (types as Record<string, string>)[param];
      if (!type) throw new Error(`${name}: :${param} has no declared type`);
      let n = names.indexOf(param);
      if (n < 0) n = names.push(param) - 1;
      text += `$${n + 1}::${type}`;
      i += param.length + 1;
    } else {
      text += c;
      i += 1;
    }
  }
  return { name, text, names: names as Name[] };
}

/** Where the literal, quoted identifier or comment starting at i ends (i itself when none starts there). */
function skipQuoted(sql: string, i: number): number {
  const c = sql[i];
  if (c === "'" || c === '"') {
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === c && sql[j + 1] === c) j += 2;
      else if (sql[j] === c) return j + 1;
      else j += 1;
    }
    return sql.length;
  }
  if (c === '-' && sql[i + 1] === '-') {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end;
  }
  return i;
}

/** The values in $n order; every name must be given (null is a value, undefined is a mistake). */
export function bind<Name extends string>(
  statement: Rendered<Name>,
  values: Record<Name, unknown>,
): unknown[] {
  return statement.names.map((name) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${statement.name}: no value for :${name}`);
    return value;
  });
}

/**
 * Runs a rendered statement on a connection of the ORM's pool, as pg's named prepared statement (parsed
 * once per connection), outside any transaction: the statement is its own. LOG_LEVEL=debug shows it as
 * the ORM's own statements, with its placeholders and never its values.
 */
export async function run<Row, Name extends string>(
  em: EntityManager,
  statement: Rendered<Name>,
  values: Record<Name, unknown>,
): Promise<Row[]> {
  return runBound<Row>(em, statement, bind(statement, values));
}

/**
 * One statement on a pooled connection. Observers of the ORM's knex `query` event (statement counts in
 * tests) see it as they see the ORM's own. A read (`reads`) whose pooled connection turns out dead is tried
 * once more on a fresh one, as the ORM's driver does for plain reads (src/infra/retrying-driver.ts).
 */
async function runBound<Row>(
  em: EntityManager,
  statement: Rendered,
  params: unknown[],
  reads = false,
): Promise<Row[]> {
  if (em.getTransactionContext()) throw new Error(`${statement.name} runs as its own transaction`);
  const knex = em.getConnection().getKnex();
  const started = Date.now();
  const once = async (): Promise<Row[]> => {
    const client = (await knex.client.acquireConnection()) as PgClient;
    try {
      knex.emit('query', { sql: statement.text, bindings: params });
      const result = await client.query({ name: statement.name, text: statement.text, values: params });
      return result.rows as Row[];
    } finally {
      await knex.client.releaseConnection(client);
    }
  };
  try {
    const rows = await once().catch((error: unknown) => {
      if (reads && deadConnection(error)) return once();
      throw error;
    });
    logStatement(em, statement.text, started, 'info');
    return rows;
  } catch (error) {
    logStatement(em, statement.text, started, 'error');
    noteStatement(error, statement.text);
    throw error;
  }
}

/** Texts written with `?` placeholders, rendered once each (bounded: past it, texts are rendered each time). */
const positional = new Map<string, { name: string; text: string }>();
const MAX_POSITIONAL = 500;

/**
 * `?` placeholders (outside literals, quoted identifiers and comments; `?|` and `?&` are not used) as
 * PostgreSQL's $1, $2, …: the form the ORM's raw queries take, for statements built from filters.
 */
export function toPositional(sql: string): string {
  let text = '';
  let n = 0;
  for (let i = 0; i < sql.length;) {
    const skip = skipQuoted(sql, i);
    if (skip > i) {
      text += sql.slice(i, skip);
      i = skip;
    } else {
      text += sql[i] === '?' ? `$${++n}` : sql[i];
      i += 1;
    }
  }
  return text;
}

/**
 * Runs a statement written with `?` placeholders straight on pg (a connection of the ORM's pool, outside
 * any transaction), as a prepared statement named after its text: what `em.execute` does, without the
 * query builder's rendering on every call. For the hot reads, whose text depends on their filters.
 */
export async function runSql<Row>(em: EntityManager, sql: string, params: unknown[]): Promise<Row[]> {
  const { name, text } = prepared(sql);
  return runBound<Row>(em, { name, text, names: [] }, params, true);
}

/** A text with `?` placeholders in pg's $n form, with the name of its prepared statement (from its text). */
export function prepared(sql: string): { name: string; text: string } {
  let rendered = positional.get(sql);
  if (!rendered) {
    rendered = { name: `q${createHash('sha1').update(sql).digest('base64url')}`, text: toPositional(sql) };
    if (positional.size < MAX_POSITIONAL) positional.set(sql, rendered);
  }
  return rendered;
}

/** A statement sent straight on pg, in the ORM's query log as its own statements are (text, never values). */
export function logStatement(
  em: EntityManager,
  text: string,
  started: number,
  level: 'info' | 'error',
): void {
  em.config.getLogger().logQuery({ query: text, took: Date.now() - started, level });
}
