// The SQL statements an app sends while a call runs, for tests that count them.
import type { World } from './world';

/**
 * The statements `world`'s ORM pool sends while `run` runs. The webhook relay polls its tables in the
 * background on the same pool: those are not the call's statements and are left out.
 */
export async function statementsOf<T>(
  world: World,
  run: () => Promise<T>,
): Promise<{ sql: string[]; result: T }> {
  const knex = world.app.orm.em.getConnection().getKnex();
  const sql: string[] = [];
  const listener = (query: { sql: string }) => {
    if (!/\bwebhook_(endpoint|delivery)\b/.test(query.sql)) sql.push(query.sql);
  };
  knex.on('query', listener);
  try {
    return { sql, result: await run() };
  } finally {
    knex.off('query', listener);
  }
}
