// A storm of creates against a server child process, a kill -9 in the middle, a retry of what the dead
// process left in progress, and a restart: what a crash leaves behind (orphan blobs, held idempotency
// claims) and how long until blobs == rows again. Figures only; the tests decide what they must be.
import { Client } from 'pg';
import { performance } from 'node:perf_hooks';
import type { ServerProcess } from './server-process';
import type { World } from './world';

export interface CreateResult {
  key: string;
  status?: number;
  code?: string;
  id?: string;
  /** The request never got an answer (the process died under it). */
  error?: string;
  ms: number;
}

export interface Sent {
  partnerId: string;
  amount: string;
}

/** A multipart create over real HTTP with an Idempotency-Key; never throws. */
export async function postCreate(
  baseUrl: string,
  world: World,
  headers: Record<string, string>,
  key: string,
  sent: Sent,
  file: Buffer,
): Promise<CreateResult> {
  const form = new FormData();
  form.append('requestedAmount', sent.amount);
  form.append('evidence', new Blob([file], { type: 'application/pdf' }), 'receipt.pdf');
  const started = performance.now();
  try {
    const res = await fetch(`${baseUrl}${world.rest(sent.partnerId)}/process-request`, {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': key },
      body: form,
    });
    const body = (await res.json()) as { id?: string; code?: string };
    return { key, status: res.status, code: body.code, id: body.id, ms: performance.now() - started };
  } catch (error) {
    return { key, error: (error as Error).message, ms: performance.now() - started };
  }
}

/** Blobs in the container with no row, and rows whose blob is not in the container. */
export async function blobsVersusRows(world: World): Promise<{ orphans: string[]; missing: string[] }> {
  const rows = await world.sql<{ blob: string }>('select evidence_blob_name as blob from process_request');
  const named = new Set(rows.map((r) => r.blob));
  const blobs = await world.blobNames();
  const stored = new Set(blobs);
  return {
    orphans: blobs.filter((name) => !named.has(name)),
    missing: [...named].filter((name) => !stored.has(name)),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 100 ms until it is true; false when `ms` passed first. */
export async function waitUntil(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

export interface RoundOptions {
  world: World;
  round: number;
  /** The process to crash. */
  server: ServerProcess;
  /** Starts a replacement (same database, same container). */
  restart: () => Promise<ServerProcess>;
  /** A process that stays up: the retries go there, right after the crash. */
  survivorUrl: string;
  headers: Record<string, string>;
  /** Where the storm's creates go. */
  stormPartnerId: string;
  /** A second partner whose balance row the test locks: one create stays stuck mid-transaction until the crash. */
  stalledPartner: { id: string; balanceId: string };
  workers: number;
  file: Buffer;
  /** The kill comes this long after every worker had its first answer (the storm is in its stride). */
  killAfterMs: number;
  /** How long to wait for blobs == rows after the restart. */
  recoverWithinMs: number;
}

export interface RoundFigures {
  round: number;
  sent: number;
  answered: number;
  /** Blobs with no row once the dead process's last statements settled. */
  orphansAtKill: number;
  /** Claims the dead process left IN_PROGRESS, each retried against the survivor. */
  retries: CreateResult[];
  /** Restart: spawn → listening. */
  restartMs: number;
  /** Spawn → blobs == rows (every blob has its row and every row its blob); null if not within the wait. */
  recoveredMs: number | null;
  /** At the end of the round (after the wait). */
  orphansAfter: string[];
  missingAfter: string[];
  /** Blob names the crash left without a row (to find them in the reconciler's logs). */
  orphanNames: string[];
}

/** One crash: storm, kill -9, retries on the survivor, restart, wait for blobs == rows. */
export async function crashRound(
  options: RoundOptions,
): Promise<{ figures: RoundFigures; next: ServerProcess }> {
  const { world, server, round, headers } = options;
  const sent = new Map<string, Sent>();
  let seq = 0;
  const results: CreateResult[] = [];

  // A create held between its claim (and, where the blob is committed first, its blob) and its commit.
  const locker = new Client({ connectionString: world.databaseUrl });
  await locker.connect();
  await locker.query('begin');
  await locker.query('select id from client_balance where id = $1 for update', [
    options.stalledPartner.balanceId,
  ]);
  const stalledKey = `stalled-${round}`;
  sent.set(stalledKey, { partnerId: options.stalledPartner.id, amount: `${round}.50` });
  const stalled = postCreate(server.url, world, headers, stalledKey, sent.get(stalledKey)!, options.file);
  const stuck = await waitUntil(async () => {
    const [row] = await world.sql<{ n: string }>(
      `select (select count(*) from idempotency_key where key = ? and status = 'IN_PROGRESS')
            + (select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock') as n`,
      [stalledKey],
    );
    return Number(row.n) >= 2;
  }, 10_000);
  if (!stuck) throw new Error('the stalled create never reached its transaction');

  let killed = false;
  const worker = async (w: number) => {
    while (!killed) {
      const key = `storm-${round}-${w}-${seq++}`;
      const request = {
        partnerId: options.stormPartnerId,
        amount: `${round}.${String(seq % 100).padStart(2, '0')}`,
      };
      sent.set(key, request);
      results.push(await postCreate(server.url, world, headers, key, request, options.file));
    }
  };
  const storm = Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  const answered = () => results.filter((r) => r.status !== undefined).length;
  await waitUntil(async () => answered() >= options.workers, 30_000);
  await sleep(options.killAfterMs);
  killed = true;
  await server.kill();
  await Promise.all([storm, stalled.then((r) => results.push(r))]);
  await locker.query('rollback');
  await locker.end();
  // Statements the dead process sent before dying (a COMMIT among them) still run; let them settle.
  await waitUntil(async () => {
    const [row] = await world.sql<{ n: string }>(
      `select count(*) as n from pg_stat_activity where datname = current_database() and state <> 'idle'
          and application_name not in ('progress-listener', 'process-liveness') and pid <> pg_backend_pid()`,
    );
    return Number(row.n) === 0;
  }, 5_000);
  const atKill = await blobsVersusRows(world);

  const held = await world.sql<{ key: string }>(
    `select key from idempotency_key where status = 'IN_PROGRESS' and key in (select jsonb_array_elements_text(?::jsonb))`,
    [JSON.stringify([...sent.keys()])],
  );
  // One after the other, so each one's time is its own.
  const retries: CreateResult[] = [];
  for (const { key } of held) {
    retries.push(await postCreate(options.survivorUrl, world, headers, key, sent.get(key)!, options.file));
  }

  const spawned = performance.now();
  const next = await options.restart();
  const restartMs = performance.now() - spawned;
  let after = await blobsVersusRows(world);
  const recovered = await waitUntil(async () => {
    after = await blobsVersusRows(world);
    return after.orphans.length === 0 && after.missing.length === 0;
  }, options.recoverWithinMs);
  return {
    next,
    figures: {
      round,
      sent: results.length,
      answered: results.filter((r) => r.status !== undefined).length,
      orphansAtKill: atKill.orphans.length,
      retries,
      restartMs,
      recoveredMs: recovered ? performance.now() - spawned : null,
      orphansAfter: after.orphans,
      missingAfter: after.missing,
      orphanNames: atKill.orphans,
    },
  };
}
