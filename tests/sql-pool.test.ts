// The background sessions' pool (src/infra/sql-pool.ts): a transaction runs its statements on one
// session and commits or rolls back as a whole; a session that drops in the middle of one fails that
// transaction (never the process), and the pool opens a new session for the next statement.
import { SqlPool } from '../src/infra/sql-pool';
import { createWorld, type World } from './support/world';

let world: World;
let pool: SqlPool;

beforeAll(async () => {
  world = await createWorld();
  pool = new SqlPool({ connectionString: world.databaseUrl }, 1, 'sql-pool-test', world.app.log);
  await pool.execute('create table pool_probe (n int)');
});
afterAll(async () => {
  await pool?.close();
  await world?.close();
});

test('a transaction commits what it wrote when its work resolves, and nothing when it throws', async () => {
  await pool.transaction(async (tx) => {
    await tx.execute('insert into pool_probe (n) values (?)', [1]);
    await tx.execute('insert into pool_probe (n) values (?)', [2]);
  });
  await expect(
    pool.transaction(async (tx) => {
      await tx.execute('insert into pool_probe (n) values (?)', [3]);
      throw new Error('changed its mind');
    }),
  ).rejects.toThrow('changed its mind');
  expect(await pool.execute('select n from pool_probe order by n')).toEqual([{ n: 1 }, { n: 2 }]);
});

test('a session that drops mid-transaction fails that transaction only; the next statement gets a new session', async () => {
  // An 'error' event nobody listens to would crash a server; here jest fails the file on it.
  const before = await pool.execute<{ pid: number }[]>('select pg_backend_pid() as pid');
  await expect(
    pool.transaction(async (tx) => {
      const [{ pid }] = await tx.execute<{ pid: number }[]>('select pg_backend_pid() as pid');
      expect(pid).toBe(before[0].pid);
      await world.sql('select pg_terminate_backend(?)', [pid]);
      // The session is gone: the drop reaches the client between statements, then this one fails.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await tx.execute('insert into pool_probe (n) values (?)', [9]);
    }),
  ).rejects.toThrow();
  const after = await pool.execute<{ pid: number }[]>('select pg_backend_pid() as pid');
  expect(after[0].pid).not.toBe(before[0].pid);
  expect(await pool.execute('select count(*)::int as n from pool_probe where n = 9')).toEqual([{ n: 0 }]);
});
