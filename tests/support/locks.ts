// Holding a request's row from another session so the app's statements queue behind it: how a test makes
// concurrent decisions meet in the order it chooses, instead of hoping they overlap.
import { Client } from 'pg';
import type { World } from './world';

/** A transaction of another connection holding the row lock of request `id` until `release` is called. */
export function holdRow(world: World, id: string): Promise<{ release: () => Promise<void> }> {
  return hold(world, 'select 1 from process_request where id = $1 for update', [id]);
}

/** A transaction of another connection holding `table` locked from every reader until `release` is called. */
export function holdTable(world: World, table: string): Promise<{ release: () => Promise<void> }> {
  return hold(world, `lock table ${table} in access exclusive mode`, []);
}

async function hold(
  world: World,
  lock: string,
  params: unknown[],
): Promise<{ release: () => Promise<void> }> {
  const client = new Client({ connectionString: world.databaseUrl });
  await client.connect();
  await client.query('begin');
  await client.query(lock, params);
  return {
    release: async () => {
      await client.query('rollback');
      await client.end();
    },
  };
}

/** Waits until `n` statements of the world's database wait on a lock (only those whose text is like `like`, given one). */
export async function waitingOnLocks(world: World, n: number, like = '%'): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await world.sql<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query like ?`,
      [like],
    );
    if (Number(row.n) >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${row.n} of ${n} statements wait on a lock`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
