// A transaction held on one pooled connection between two round trips that each carry statements with the
// transaction's edge: BEGIN goes with the first statements, COMMIT with the last. The statements keep their
// parameters (the extended protocol, one Sync for the whole round trip): if a statement fails, the server
// skips what follows it up to the Sync, so neither a later statement nor a COMMIT after it is ever run.
// Each statement is its own: under READ COMMITTED it reads with a snapshot taken when it starts, after the
// statements before it in the round trip have finished (a lock one of them waited for included).
import type { EntityManager } from '@mikro-orm/postgresql';
import { Query, type Client as PgClient, type QueryResult } from 'pg';
import { bind, logStatement, type Rendered } from './statement';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- pg's own value mapping, not in its typings
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

/** The wire messages a statement is sent with (pg's Connection, as its Query uses it). */
interface Wire {
  stream: { cork?: () => void; uncork?: () => void };
  parse(message: { text: string }): void;
  bind(message: { values?: unknown[] }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: Record<string, never>): void;
  sync(): void;
}

/** A statement with its values, in pg's $n order. */
interface Bound {
  text: string;
  values: unknown[];
}

/**
 * One round trip: `before` (no parameters), the statements with their values in order, `after` (no
 * parameters), one Sync. All are unnamed statements, so nothing is left prepared on the connection whatever
 * fails.
 */
class Pipelined extends Query {
  constructor(
    /** Sent before and after the statements, in the same round trip. */
    readonly edges: { before?: string; after?: string },
    private readonly statements: Bound[],
    callback: (error: Error | undefined, result: QueryResult | QueryResult[]) => void,
  ) {
    // The text is only shown (bench/create-trips.ts): submit sends each statement on its own.
    super({ text: statements.map((s) => s.text).join(';\n'), values: [], callback } as never);
  }

  override submit = ((connection: Wire): Error | null => {
    let values: unknown[][];
    try {
      values = this.statements.map((statement) => statement.values.map((value) => prepareValue(value)));
    } catch (error) {
      return error as Error; // nothing sent: pg reports it to the callback
    }
    const bare = (text: string) => {
      connection.parse({ text });
      connection.bind({});
      connection.execute({});
    };
    connection.stream.cork?.();
    try {
      if (this.edges.before) bare(this.edges.before);
      this.statements.forEach((statement, i) => {
        connection.parse({ text: statement.text });
        connection.bind({ values: values[i] });
        connection.describe({ type: 'P', name: '' });
        connection.execute({});
      });
      if (this.edges.after) bare(this.edges.after);
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }) as unknown as Query['submit'];
}

/** Sends one round trip on `client` and answers the last statement's rows. */
function roundTrip<Row>(
  client: PgClient,
  edges: { before?: string; after?: string },
  statements: Bound[],
): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const query = new Pipelined(edges, statements, (error, result) => {
      if (error) return reject(error);
      const results = Array.isArray(result) ? result : [result];
      // One result per statement, BEGIN's first when it was sent.
      resolve(results[(edges.before ? 1 : 0) + statements.length - 1].rows as Row[]);
    });
    void client.query(query as never);
  });
}

type Knex = ReturnType<ReturnType<EntityManager['getConnection']>['getKnex']>;

/**
 * An open transaction on a connection of the ORM's pool. It ends with `commitWith` (a statement and COMMIT),
 * `commit`, or `rollback`; any of them gives the connection back, and a failure of `run` or `commitWith`
 * rolls back first.
 */
export class HeldTransaction {
  private ended = false;

  private constructor(
    private readonly em: EntityManager,
    private readonly knex: Knex,
    private readonly client: PgClient,
  ) {}

  /**
   * BEGIN and `statements` (one, or several in order, each bound from `values` by its names) in one round
   * trip; answers the last one's rows. A failing statement leaves nothing open.
   */
  static async open<Row, Name extends string>(
    em: EntityManager,
    statements: Rendered<Name> | readonly Rendered<Name>[],
    values: Record<Name, unknown>,
  ): Promise<{ tx: HeldTransaction; rows: Row[] }> {
    const knex = em.getConnection().getKnex();
    const client = (await knex.client.acquireConnection()) as PgClient;
    const tx = new HeldTransaction(em, knex, client);
    const rows = await tx.send<Row, Name>({ before: 'begin' }, statements, values);
    return { tx, rows };
  }

  /** One statement inside the transaction. */
  run<Row, Name extends string>(statement: Rendered<Name>, values: Record<Name, unknown>): Promise<Row[]> {
    return this.send({}, statement, values);
  }

  /** `statement` and COMMIT in one round trip: committed when it answers; rolled back when it fails. */
  async commitWith<Row, Name extends string>(
    statement: Rendered<Name>,
    values: Record<Name, unknown>,
  ): Promise<Row[]> {
    const rows = await this.send<Row, Name>({ after: 'commit' }, statement, values);
    await this.release();
    return rows;
  }

  async commit(): Promise<void> {
    try {
      await this.client.query('commit');
    } catch (error) {
      await this.rollback();
      throw error;
    }
    await this.release();
  }

  /** Rolls back what is still open (nothing when the transaction has ended) and gives the connection back. */
  async rollback(): Promise<void> {
    if (this.ended) return;
    // A dead connection fails here too; the pool has marked it and drops it on release.
    await this.client.query('rollback').catch(() => undefined);
    await this.release();
  }

  private async send<Row, Name extends string>(
    edges: { before?: string; after?: string },
    statements: Rendered<Name> | readonly Rendered<Name>[],
    values: Record<Name, unknown>,
  ): Promise<Row[]> {
    const list: readonly Rendered<Name>[] = Array.isArray(statements) ? statements : [statements];
    if (this.ended) throw new Error(`${list[0].name}: the transaction has ended`);
    const bound = list.map((statement) => ({ text: statement.text, values: bind(statement, values) }));
    const started = Date.now();
    for (const { text, values } of bound) this.knex.emit('query', { sql: text, bindings: values });
    const log = (level: 'info' | 'error') => {
      for (const { text } of bound) logStatement(this.em, text, started, level);
    };
    try {
      const rows = await roundTrip<Row>(this.client, edges, bound);
      log('info');
      return rows;
    } catch (error) {
      log('error');
      await this.rollback();
      throw error;
    }
  }

  private async release(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.knex.client.releaseConnection(this.client);
  }
}
