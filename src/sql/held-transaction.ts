// A transaction held on one pooled connection between two round trips that each carry a statement with the
// transaction's edge: BEGIN goes with the first statement, COMMIT with the last. The statements keep their
// parameters (the extended protocol, one Sync for the whole round trip): if the statement fails, the server
// skips what follows it up to the Sync, so a COMMIT after a failed statement is never run.
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

/**
 * One round trip: `before` (no parameters), the statement with its values, `after` (no parameters), one Sync.
 * All are unnamed statements, so nothing is left prepared on the connection whatever fails.
 */
class Pipelined extends Query {
  constructor(
    /** Sent before and after the statement, in the same round trip. */
    readonly edges: { before?: string; after?: string },
    private readonly statement: { text: string; values: unknown[] },
    callback: (error: Error | undefined, result: QueryResult | QueryResult[]) => void,
  ) {
    super({ text: statement.text, values: statement.values, callback } as never);
  }

  override submit = ((connection: Wire): Error | null => {
    let values: unknown[];
    try {
      values = this.statement.values.map((value) => prepareValue(value));
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
      connection.parse({ text: this.statement.text });
      connection.bind({ values });
      connection.describe({ type: 'P', name: '' });
      connection.execute({});
      if (this.edges.after) bare(this.edges.after);
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }) as unknown as Query['submit'];
}

/** Sends one round trip on `client` and answers the statement's rows. */
function roundTrip<Row>(
  client: PgClient,
  edges: { before?: string; after?: string },
  text: string,
  values: unknown[],
): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const query = new Pipelined(edges, { text, values }, (error, result) => {
      if (error) return reject(error);
      const results = Array.isArray(result) ? result : [result];
      // With BEGIN before it, the statement's result is the second one.
      resolve(results[edges.before ? 1 : 0].rows as Row[]);
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

  /** BEGIN and `statement` in one round trip; a failing statement leaves nothing open. */
  static async open<Row, Name extends string>(
    em: EntityManager,
    statement: Rendered<Name>,
    values: Record<Name, unknown>,
  ): Promise<{ tx: HeldTransaction; rows: Row[] }> {
    const knex = em.getConnection().getKnex();
    const client = (await knex.client.acquireConnection()) as PgClient;
    const tx = new HeldTransaction(em, knex, client);
    const rows = await tx.send<Row, Name>({ before: 'begin' }, statement, values);
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
    statement: Rendered<Name>,
    values: Record<Name, unknown>,
  ): Promise<Row[]> {
    if (this.ended) throw new Error(`${statement.name}: the transaction has ended`);
    const params = bind(statement, values);
    const started = Date.now();
    this.knex.emit('query', { sql: statement.text, bindings: params });
    try {
      const rows = await roundTrip<Row>(this.client, edges, statement.text, params);
      logStatement(this.em, statement.text, started, 'info');
      return rows;
    } catch (error) {
      logStatement(this.em, statement.text, started, 'error');
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
