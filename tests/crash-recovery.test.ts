// Crash windows (issue 8): a real server process killed with SIGKILL in the middle of a storm of creates,
// then a real restart. No blob may outlive its row's absence; a claim held by a dead process is released.
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import type { Operator } from '../src/entities/operator.entity';
import { EvidenceReconciler, type SweepReport } from '../src/runtime/evidence-reconciler';
import { createRequestHash, IdempotencyService } from '../src/services/idempotency.service';
import { LIVENESS_LOCK_SPACE } from '../src/runtime/liveness';
import { UploadIntents } from '../src/runtime/upload-intents';
import { blobsVersusRows, crashRound, postCreate, waitUntil, type RoundFigures } from './support/crash-storm';
import { PDF, pdfOfSize } from './support/files';
import { startServer, type LogLine, type ServerProcess } from './support/server-process';
import { createWorld, type World } from './support/world';

jest.setTimeout(240_000);

const ROUNDS = 4;
const RECOVER_WITHIN_MS = 60_000;
const DELETED = 'deleted evidence blobs of creates that never committed';

let world: World;
const started: ServerProcess[] = [];

beforeAll(async () => {
  // The in-process app is the process that survives every crash. It reconciles only at its own start, so
  // what the figures show is the restarted process's work; its sweep takes any orphan, however young.
  world = await createWorld({ EVIDENCE_RECONCILE_SECONDS: '3600', EVIDENCE_ORPHAN_AGE_SECONDS: '0' });
});
afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
  await world?.close();
});

/** A server process on the world's database and container, reconciling every second. */
async function server(): Promise<ServerProcess> {
  const child = await startServer({
    NODE_ENV: 'test',
    DATABASE_URL: world.databaseUrl,
    AZURE_STORAGE_CONNECTION_STRING: process.env.AZURE_STORAGE_CONNECTION_STRING!,
    EVIDENCE_CONTAINER: world.container,
    EVIDENCE_RECONCILE_SECONDS: '1',
    // These tests stall a create on a balance row lock held from another session for as long as they
    // need (the window a crash leaves an orphan in); the default 5 s bound would end the wait first.
    DATABASE_LOCK_TIMEOUT_MS: '300000',
  });
  started.push(child);
  return child;
}

async function makerOf(
  ...partnerIds: string[]
): Promise<{ maker: Operator; headers: Record<string, string> }> {
  const maker = await world.operator(['MAKER'], partnerIds);
  return { maker, headers: await world.headers(maker) };
}

/** Locks a partner's balance row: a create for that partner waits inside its transaction until `release`. */
async function holdBalance(balanceId: string): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: world.databaseUrl });
  await client.connect();
  await client.query('begin');
  await client.query('select id from client_balance where id = $1 for update', [balanceId]);
  return {
    async release() {
      await client.query('rollback');
      await client.end();
    },
  };
}

/** The world app's sweep, once no other process holds the sweep lock. */
async function sweepNow(reconciler = world.app.services.reconciler): Promise<SweepReport> {
  let report: SweepReport | undefined;
  const ran = await waitUntil(async () => (report = await reconciler.sweep()) !== undefined, 10_000);
  if (!ran || !report) throw new Error('the sweep lock stayed taken');
  return report;
}

const count = async (sql: string, params: unknown[] = []) =>
  Number((await world.sql<{ n: string }>(sql, params))[0].n);

const deletedIn = (logs: LogLine[]) =>
  logs.filter((line) => line.msg === DELETED).flatMap((line) => line.blobs as string[]);

test(`kill -9 during a storm of creates, ${ROUNDS} times: blobs == rows within a minute of each restart, and a held key's retry succeeds at once`, async () => {
  const storm = await world.partner('Storm');
  const stalled = await world.partner('Stalled');
  const { headers } = await makerOf(storm.id, stalled.id);
  let current = await server();
  const figures: RoundFigures[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const { figures: f, next } = await crashRound({
      world,
      round,
      server: current,
      restart: server,
      survivorUrl: world.baseUrl,
      headers,
      stormPartnerId: storm.id,
      stalledPartner: { id: stalled.id, balanceId: stalled.balanceId },
      workers: 12,
      file: pdfOfSize(64 * 1024),
      killAfterMs: 300 + Math.floor(Math.random() * 900),
      recoverWithinMs: RECOVER_WITHIN_MS,
    });
    figures.push(f);
    current = next;
    // Read the repair's log lines before the next round's kill -9: lines still in the pipe die with it.
    await waitUntil(async () => {
      const logged = new Set(started.flatMap((s) => deletedIn(s.logs)));
      return f.orphanNames.every((name) => logged.has(name));
    }, 10_000);
  }
  console.log(
    `crash rounds (kill -9 of a server process during ${figures.reduce((n, f) => n + f.sent, 0)} creates):\n` +
      figures
        .map(
          (f) =>
            `  round ${f.round}: ${f.sent} sent, ${f.answered} answered, ${f.orphansAtKill} blobs without a row after the kill, ` +
            `restart ${f.restartMs.toFixed(0)} ms, blobs == rows ${f.recoveredMs === null ? 'NOT reached' : `${f.recoveredMs.toFixed(0)} ms after the spawn (${(f.recoveredMs - f.restartMs).toFixed(0)} ms after listening)`}; ` +
            `retries of held keys: ${f.retries.map((r) => `${r.status ?? r.error} in ${r.ms.toFixed(0)} ms`).join(', ')}`,
        )
        .join('\n'),
  );

  for (const f of figures) {
    expect({ round: f.round, orphans: f.orphansAfter, missing: f.missingAfter }).toEqual({
      round: f.round,
      orphans: [],
      missing: [],
    });
    expect(f.recoveredMs).not.toBeNull();
    expect(f.recoveredMs!).toBeLessThan(RECOVER_WITHIN_MS);
    // At least the stalled create's key was held by the dead process; every held key is free at once.
    expect(f.retries.length).toBeGreaterThanOrEqual(1);
    for (const retry of f.retries) {
      expect({ key: retry.key, status: retry.status }).toEqual({ key: retry.key, status: 201 });
      expect(retry.ms).toBeLessThan(10_000); // the first process's wait used to be 30 s, then 409
    }
  }
  // The stalled create commits its blob before its row: every round left at least that orphan to repair.
  expect(figures.every((f) => f.orphansAtKill >= 1)).toBe(true);
  // Operators see each repair: the restarted processes logged every blob they deleted.
  const logged = new Set(started.flatMap((s) => deletedIn(s.logs)));
  expect(figures.flatMap((f) => f.orphanNames).filter((name) => !logged.has(name))).toEqual([]);
  // Nothing of the dead processes is left: no intent, no claim in progress.
  expect(await count('select count(*) as n from upload_intent')).toBe(0);
  expect(await count(`select count(*) as n from idempotency_key where status = 'IN_PROGRESS'`)).toBe(0);
});

test('a create still running in a live process keeps its blob whatever reconciles meanwhile', async () => {
  const partner = await world.partner('Live');
  const { headers } = await makerOf(partner.id);
  const live = await server();
  const hold = await holdBalance(partner.balanceId);
  const pending = postCreate(
    live.url,
    world,
    headers,
    'live-1',
    { partnerId: partner.id, amount: '7.00' },
    PDF,
  );
  try {
    // Its blob is committed and its row is not: the window a crash would leave an orphan in.
    expect(await waitUntil(async () => (await world.blobsOf(partner.id)).length === 1, 10_000)).toBe(true);
    const [blob] = await world.blobsOf(partner.id);
    expect(await world.requestCount(partner.id)).toBe(0);

    // Another live process reconciles and sweeps (with no minimum age), a third starts and reconciles at
    // once, and the live process itself reconciles every second.
    expect(await world.app.services.reconciler.reconcileIntents()).toEqual({ deleted: [], kept: [] });
    expect((await sweepNow()).deleted).toEqual([]);
    const fresh = await server();
    const first = await fresh.waitForLog((l) => l.component === 'evidence-reconciler' && l.at === 'start');
    expect(first).toMatchObject({ msg: 'upload intents reconciled', deleted: 0 });
    const before = live.logs.length;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(deletedIn(live.logs.slice(before))).toEqual([]);
    expect(await world.blobsOf(partner.id)).toEqual([blob]);
  } finally {
    await hold.release();
  }
  const created = await pending;
  expect(created.status).toBe(201);
  expect(await world.blobsOf(partner.id)).toEqual([`${partner.id}/${created.id}/evidence.pdf`]);
  expect(await blobsVersusRows(world)).toEqual({ orphans: [], missing: [] });
});

describe('an idempotency claim follows its process', () => {
  const hashOf = (partnerId: string, amount: string) =>
    createRequestHash(
      partnerId,
      { requestedAmount: amount, observations: null },
      createHash('sha256').update(PDF).digest('hex'),
    );

  async function heldClaim(operatorId: string, key: string, hash: string, owner: number) {
    await world.sql(
      `insert into idempotency_key (id, operator_id, key, request_hash, status, owner) values (?, ?, ?, ?, 'IN_PROGRESS', ?)`,
      [randomUUID(), operatorId, key, hash, owner],
    );
  }

  test('a claim whose process is gone is taken over at once', async () => {
    const partner = await world.partner('Gone');
    const { maker, headers } = await makerOf(partner.id);
    await heldClaim(maker.id, 'gone-1', hashOf(partner.id, '3.00'), 987_654_321);
    const retry = await postCreate(
      world.baseUrl,
      world,
      headers,
      'gone-1',
      { partnerId: partner.id, amount: '3.00' },
      PDF,
    );
    expect({ status: retry.status, code: retry.code }).toEqual({ status: 201, code: undefined });
    expect(retry.ms).toBeLessThan(2_000);
    expect(await world.requestCount(partner.id)).toBe(1);
  });

  test('a claim taken over while another process releases abandoned claims is kept', async () => {
    // The servers earlier tests started release abandoned claims every second: stopped, so that the only
    // release is the one staged here (theirs could delete the dead claim before the takeover, or be the
    // waiting session the check below sees).
    await Promise.all(started.map((server) => server.stop()));
    const partner = await world.partner('Taken over');
    const { maker } = await makerOf(partner.id);
    await heldClaim(maker.id, 'taken-1', hashOf(partner.id, '5.00'), 987_654_323);
    // The taking process: alive (its liveness lock held), its takeover not committed yet.
    const [alive, taker] = [
      new Client({ connectionString: world.databaseUrl }),
      new Client({ connectionString: world.databaseUrl }),
    ];
    await Promise.all([alive.connect(), taker.connect()]);
    try {
      await alive.query('select pg_advisory_lock($1, $2)', [LIVENESS_LOCK_SPACE, 987_654_324]);
      const newId = randomUUID();
      await taker.query('begin');
      await taker.query(
        `update idempotency_key set id = $1, owner = $2, updated_at = now() where operator_id = $3 and key = 'taken-1'`,
        [newId, 987_654_324, maker.id],
      );
      // Another process releases abandoned claims: its snapshot still sees the dead owner, and it waits
      // on the row until the takeover commits.
      const release = new IdempotencyService({ ownerId: 1 }).releaseAbandoned(world.app.orm.em.fork());
      expect(
        await waitUntil(
          async () =>
            (
              await world.sql<{ n: string }>(
                "select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%idempotency_key%'",
              )
            )[0].n !== '0',
          10_000,
        ),
      ).toBe(true);
      await taker.query('commit');
      expect(await release).toBe(0);
      expect(
        await world.sql<{ id: string }>('select id::text as id from idempotency_key where operator_id = ?', [
          maker.id,
        ]),
      ).toEqual([{ id: newId }]);
    } finally {
      await Promise.all([alive.end(), taker.end()]);
    }
  });

  test('a retry waits while the holding process lives, and takes over the moment it ends', async () => {
    const partner = await world.partner('Alive');
    const { maker, headers } = await makerOf(partner.id);
    const owner = 987_654_322;
    const session = new Client({ connectionString: world.databaseUrl });
    await session.connect();
    await session.query('select pg_advisory_lock($1, $2)', [LIVENESS_LOCK_SPACE, owner]);
    await heldClaim(maker.id, 'alive-1', hashOf(partner.id, '4.00'), owner);
    const sent = performance.now();
    let settled = false;
    const retry = postCreate(
      world.baseUrl,
      world,
      headers,
      'alive-1',
      { partnerId: partner.id, amount: '4.00' },
      PDF,
    );
    void retry.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(settled).toBe(false);
    const ended = performance.now();
    await session.end(); // the holding process's session ends, as it does when the process is killed
    const result = await retry;
    expect(result.status).toBe(201);
    expect(performance.now() - ended).toBeLessThan(2_000);
    expect(performance.now() - sent).toBeGreaterThanOrEqual(1_000);
  });
});

test('the sweep deletes only old evidence blobs with neither a row nor an intent', async () => {
  const store = world.app.services.store;
  const partner = await world.partner('Sweep');
  const { maker } = await makerOf(partner.id);
  const kept = await world.createRequest(partner.id, maker);
  const orphan = `${partner.id}/${randomUUID()}/evidence.pdf`;
  const foreign = `exports/${randomUUID()}/evidence.pdf`;
  const block = Buffer.from('block-000000').toString('base64');
  for (const name of [orphan, foreign]) {
    await store.stageBlock(name, block, PDF);
    await store.commit(name, [block], {
      contentType: 'application/pdf',
      fileName: 'x.pdf',
      sha256: 'x',
      size: PDF.length,
    });
  }
  // With a minimum age of an hour, the young orphan stays.
  const patient = new EvidenceReconciler(
    world.app.orm,
    store,
    new UploadIntents(world.app.orm, store, world.app.liveness),
    world.app.liveness,
    world.app.log,
    { intervalSeconds: 3600, sweepIntervalSeconds: 3600, orphanAgeSeconds: 3600 },
  );
  expect((await sweepNow(patient)).deleted).toEqual([]);
  const report = await sweepNow();
  expect(report.deleted).toEqual([orphan]);
  const names = await world.blobNames();
  expect(names).toEqual(expect.arrayContaining([foreign, `${partner.id}/${kept}/evidence.pdf`]));
  expect(names).not.toContain(orphan);
  await store.delete(foreign);
});
