// The create's transaction in two round trips (src/sql/held-transaction.ts): BEGIN goes with the first
// statements and COMMIT with the last. What a failure leaves: nothing committed, nothing left open, and the
// pooled connection fit for the next statement; what a statement after one that waited for a lock reads.
import { Client } from 'pg';
import { pgConnectionOptions } from '../src/infra/database-url';
import { HeldTransaction } from '../src/sql/held-transaction';
import { render, type Rendered } from '../src/sql/statement';
import { createWorld, type World } from './support/world';

let world: World;

beforeAll(async () => {
  world = await createWorld();
  await world.sql('create table held_probe (n integer primary key)');
});
afterAll(async () => {
  await world?.sql('drop table if exists held_probe');
  await world?.close();
});

const INSERT = render<'n'>('held-probe-insert', 'insert into held_probe (n) values (:n) returning n', {
  n: 'integer',
});
const rows = async () =>
  (await world.sql<{ n: number }>('select n from held_probe order by n')).map((r) => Number(r.n));
const em = () => world.app.orm.em.fork();

test('opened with its first statement, committed with its last: both rows are there', async () => {
  const { tx, rows: first } = await HeldTransaction.open<{ n: number }, 'n'>(em(), INSERT, { n: 1 });
  expect(first.map((r) => Number(r.n))).toEqual([1]);
  // Not visible to another session before the COMMIT.
  expect(await rows()).toEqual([]);
  expect((await tx.commitWith<{ n: number }, 'n'>(INSERT, { n: 2 })).map((r) => Number(r.n))).toEqual([2]);
  expect(await rows()).toEqual([1, 2]);
  await world.sql('delete from held_probe');
});

test('a last statement that fails is not committed, and neither is the first', async () => {
  const { tx } = await HeldTransaction.open(em(), INSERT, { n: 10 });
  // The same key again: the statement fails, so the COMMIT sent after it is skipped by the server.
  await expect(tx.commitWith(INSERT, { n: 10 })).rejects.toMatchObject({ code: '23505' });
  await tx.rollback(); // already ended: nothing to do
  expect(await rows()).toEqual([]);
});

test('a first statement that fails leaves nothing open; the pool serves the next transactions', async () => {
  await world.sql('insert into held_probe (n) values (20)');
  await expect(HeldTransaction.open(em(), INSERT, { n: 20 })).rejects.toMatchObject({ code: '23505' });
  // Every connection of the pool again, each able to open, run and commit.
  const all = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const { tx } = await HeldTransaction.open(em(), INSERT, { n: 100 + i });
      await tx.run(INSERT, { n: 200 + i });
      await tx.commit();
    }),
  );
  expect(all).toHaveLength(12);
  expect((await rows()).length).toBe(25);
});

test('rolled back: nothing of it stays', async () => {
  await world.sql('delete from held_probe');
  const { tx } = await HeldTransaction.open(em(), INSERT, { n: 30 });
  await tx.run(INSERT, { n: 31 });
  await tx.rollback();
  expect(await rows()).toEqual([]);
});

describe('several statements in the opening round trip', () => {
  const KEY = 727_999_001; // a probe's own advisory key, used by nothing else
  const LOCK = render<'key'>('held-probe-lock', 'select pg_advisory_xact_lock(:key)', { key: 'bigint' });
  const COUNT = render<'key'>('held-probe-count', 'select count(*)::int as n from held_probe', {
    key: 'bigint',
  });
  const WAIT_AND_COUNT = render<'key'>(
    'held-probe-wait-and-count',
    'select pg_advisory_xact_lock(:key) is null as locked, (select count(*)::int from held_probe) as n',
    { key: 'bigint' },
  );

  /** Opens with `statements` while another session holds KEY and inserts a row, then commits it. */
  async function openWhileInserted(statements: Rendered<'key'> | readonly Rendered<'key'>[]) {
    await world.sql('delete from held_probe');
    const holder = new Client(pgConnectionOptions(world.databaseUrl));
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock($1::bigint)', [KEY]);
      await holder.query('insert into held_probe (n) values (40)');
      const opening = HeldTransaction.open<{ n: number }, 'key'>(em(), statements, { key: KEY });
      for (let look = 0; ; look += 1) {
        const [{ n }] = await world.sql<{ n: string }>(
          "select count(*) as n from pg_locks where locktype = 'advisory' and objid = ? and not granted",
          [KEY],
        );
        if (n === '1') break;
        if (look > 500) throw new Error('the opening round trip never waited on the lock');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await holder.query('commit');
      const { tx, rows } = await opening;
      await tx.rollback();
      return rows.map((r) => Number(r.n));
    } finally {
      await holder.end();
      await world.sql('delete from held_probe');
    }
  }

  test('a statement after one that waited for a lock reads what committed during the wait', async () => {
    expect(await openWhileInserted([LOCK, COUNT])).toEqual([1]);
  });

  test('(the same read in the statement that waited does not: its snapshot is from before the wait)', async () => {
    expect(await openWhileInserted(WAIT_AND_COUNT)).toEqual([0]);
  });
});
