// A few PostgreSQL sessions of their own for background work (the webhook relay), so that it never waits
// behind requests for a connection of the app's pool, and requests never wait behind it.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Pool, TypeOverrides, type ClientConfig, type PoolClient } from 'pg';
import type { Logger } from '../logger';

/** What a statement module needs to run its statements: `?` placeholders, rows back. */
export interface SqlRunner {
  execute<T>(sql: string, params?: readonly unknown[]): Promise<T>;
  /**
   * `work` in one transaction on one session: committed when it resolves, rolled back when it throws.
   * Each statement in it sees what was committed before it started (read committed), so a statement
   * run after a row lock is taken sees every change its previous holder committed.
   */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
}

type Executor = Pick<EntityManager, 'execute'>;

function emRunner(em: Executor, transaction: SqlRunner['transaction']): SqlRunner {
  return {
    execute: <T>(sql: string, params?: readonly unknown[]) =>
      em.execute(sql, params ? [...params] : []) as Promise<T>,
    transaction,
  };
}

/** The ORM's pool as a SqlRunner, one statement at a time on whichever connection is free. */
export function ormRunner(orm: MikroORM): SqlRunner {
  const transaction: SqlRunner['transaction'] = (work) =>
    orm.em.fork().transactional((em) => {
      const tx: SqlRunner = emRunner(em, (inner) => inner(tx));
      return work(tx);
    });
  return emRunner({ execute: (...args) => orm.em.fork().execute(...args) } as Executor, transaction);
}

/** Dates and intervals as the ORM's connections return them (strings), so rows read the same either way. */
const types = new TypeOverrides();
for (const oid of [1082, 1114, 1184, 1186]) types.setTypeParser(oid, (text: string) => text);

/** `?` placeholders (the ORM's raw form) as `$n`; the statements given here hold no other `?`. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export class SqlPool implements SqlRunner {
  private readonly pool: Pool;

  constructor(connection: ClientConfig, size: number, name: string, log: Logger) {
    this.pool = new Pool({
      ...connection,
      types,
      max: size,
      keepAlive: true,
      application_name: name,
      idleTimeoutMillis: 30_000,
    });
    // An idle session that drops emits on the pool; the next statement opens a new one.
    this.pool.on('error', (error) => log.warn({ err: error, pool: name }, 'idle database session dropped'));
  }

  async execute<T>(sql: string, params: readonly unknown[] = []): Promise<T> {
    const result = await this.pool.query(numbered(sql), params as unknown[]);
    return result.rows as T;
  }

  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out session that drops emits on the client, not the pool: without a listener that would
    // crash the process. The statement under way fails with it; the session is not given back.
    const dropped = (error: Error) => (broken = error);
    client.on('error', dropped);
    try {
      await client.query('begin');
      const tx: SqlRunner = {
        execute: async <R>(sql: string, params: readonly unknown[] = []) =>
          (await client.query(numbered(sql), params as unknown[])).rows as R,
        transaction: (inner) => inner(tx),
      };
      const result = await work(tx);
      await client.query('commit');
      return result;
    } catch (error) {
      // A session whose rollback fails is not given back to the pool.
      await client.query('rollback').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      client.removeListener('error', dropped);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
