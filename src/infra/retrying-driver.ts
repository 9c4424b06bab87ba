// The ORM's PostgreSQL driver, with one change: a read that failed because its pooled connection was dead
// (the database restarted, failed over, or the network dropped it) is tried once more on a fresh one.
// Only what cannot have changed anything is tried again: a plain SELECT outside a transaction. Anything
// else fails as it did, and the caller gets 503 with Retry-After (src/infra/failures.ts).
import { type Configuration, type Knex, PostgreSqlConnection, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { deadConnection, noteStatement } from './failures';

/** A statement that only reads: SELECT without locks, sequences, notifications or advisory locks. */
const READ = /^\s*select\b/i;
const SIDE_EFFECTS = /\bfor\s+(update|share|no\s+key|key)\b|nextval|setval|pg_notify|advisory|set_config/i;

export function isPlainRead(sql: string): boolean {
  return READ.test(sql) && !SIDE_EFFECTS.test(sql);
}

/** A query builder's text, with its `?` placeholders. */
function textOf(query: Knex.QueryBuilder | Knex.Raw): string {
  try {
    const sql = query.toSQL() as { sql?: unknown } | { sql?: unknown }[];
    const texts = (Array.isArray(sql) ? sql : [sql]).map((s) => s.sql);
    return texts.filter((t): t is string => typeof t === 'string').join('; ');
  } catch {
    return '';
  }
}

class RetryingReadsConnection extends PostgreSqlConnection {
  override async execute<T>(
    queryOrKnex: string | Knex.QueryBuilder | Knex.Raw,
    params?: unknown[],
    method?: 'all' | 'get' | 'run',
    ctx?: unknown,
    loggerContext?: unknown,
  ): Promise<T> {
    const run = () =>
      super.execute(queryOrKnex, params, method, ctx as never, loggerContext as never) as Promise<T>;
    try {
      return await run();
    } catch (error) {
      const sql = typeof queryOrKnex === 'string' ? queryOrKnex : '';
      noteStatement(error, typeof queryOrKnex === 'string' ? queryOrKnex : textOf(queryOrKnex));
      if (ctx || !isPlainRead(sql) || !deadConnection(error)) throw error;
      // The pool has dropped the dead connection (knex marks it when pg reports the end); a fresh one now.
      return run();
    }
  }
}

/** PostgreSqlDriver whose connection (not yet opened when replaced) tries dead reads again. */
export class RetryingReadsDriver extends PostgreSqlDriver {
  constructor(config: Configuration) {
    super(config);
    (this as unknown as { connection: PostgreSqlConnection }).connection = new RetryingReadsConnection(
      config,
    );
  }
}
