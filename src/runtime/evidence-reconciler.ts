// Puts the evidence container back in step with the database after crashes: blobs == rows.
//
// Every process, when it starts serving and then every `intervalSeconds`, reclaims the upload intents of
// processes that are gone (and its own leftovers): their blobs never got a row. Less often (at start and
// every `sweepIntervalSeconds`), one process at a time lists the container and deletes evidence blobs with
// neither a row nor an intent that are older than `orphanAgeSeconds` (left by versions without intents).
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import type { EvidenceStore } from '../storage/evidence-store';
import type { ProcessLiveness } from './liveness';
import type { UploadIntents } from './upload-intents';

export interface ReconcilerOptions {
  /** Seconds between two looks for abandoned upload intents. */
  intervalSeconds: number;
  /** Seconds between two sweeps of the container. */
  sweepIntervalSeconds: number;
  /** A blob with no row and no intent is deleted by the sweep only once it is this old. */
  orphanAgeSeconds: number;
  /**
   * Also left by processes that are gone: their creates' idempotency claims, still IN_PROGRESS. Called on
   * every pass; returns how many were released.
   */
  releaseAbandonedClaims?: (em: EntityManager) => Promise<number>;
}

export interface IntentReport {
  /** Blobs deleted: their create never committed. */
  deleted: string[];
  /** Intents dropped whose request row exists (the blob is kept). */
  kept: string[];
}

export interface SweepReport {
  /** Blobs the listing returned. */
  listed: number;
  /** Evidence blobs deleted: no row, no intent, older than the orphan age. */
  deleted: string[];
}

/** `{partnerId}/{processRequestId}/evidence.{ext}`: the only names the sweep may delete. */
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const EVIDENCE_BLOB = new RegExp(`^${UUID}/(${UUID})/evidence\\.(?:pdf|jpg|png|webp)$`);
/** Names listed in one log line at most (the count is always exact). */
const LOGGED_NAMES = 50;

export class EvidenceReconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private nextSweepAt = 0;
  private readonly log: Logger;

  constructor(
    private readonly orm: MikroORM,
    private readonly store: EvidenceStore,
    private readonly intents: UploadIntents,
    private readonly liveness: ProcessLiveness,
    log: Logger,
    private readonly options: ReconcilerOptions,
  ) {
    this.log = log.child({ component: 'evidence-reconciler' });
  }

  /** A full pass now (intents, then a sweep), then the periodic ones. */
  start(): void {
    if (this.timer || this.running || this.stopped) return;
    this.schedule(0, true);
  }

  /** No new pass; waits for the one running, so nothing is cut off half-way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Reclaims every abandoned intent: deletes its blob unless its row exists, then the intent. */
  async reconcileIntents(): Promise<IntentReport> {
    const report: IntentReport = { deleted: [], kept: [] };
    for (const intent of await this.intents.abandoned()) {
      const outcome = await this.intents.reclaim(intent.blob_name);
      if (outcome === 'deleted') report.deleted.push(intent.blob_name);
      if (outcome === 'kept') report.kept.push(intent.blob_name);
    }
    return report;
  }

  /** Lists the container and deletes old evidence blobs with no row and no intent; undefined if another process is at it. */
  async sweep(): Promise<SweepReport | undefined> {
    let report: SweepReport | undefined;
    await this.liveness.whileSweeping(async () => {
      report = await this.sweepContainer();
    });
    return report;
  }

  private async sweepContainer(): Promise<SweepReport> {
    const cutoff = Date.now() - this.options.orphanAgeSeconds * 1000;
    const report: SweepReport = { listed: 0, deleted: [] };
    for await (const page of this.store.listPages()) {
      report.listed += page.length;
      const candidates = page.flatMap((blob) => {
        const match = EVIDENCE_BLOB.exec(blob.name);
        return match && blob.lastModified.getTime() <= cutoff ? [{ name: blob.name, id: match[1] }] : [];
      });
      if (candidates.length === 0) continue;
      // Read under READ COMMITTED: a create between its blob commit and its commit still shows its intent.
      const orphans = await this.orm.em.getConnection().execute<{ name: string }[]>(
        `select n.name from jsonb_to_recordset(?::jsonb) as n(name text, id uuid)
          where not exists (select 1 from process_request p where p.id = n.id)
            and not exists (select 1 from upload_intent u where u.blob_name = n.name)`,
        [JSON.stringify(candidates)],
      );
      for (const { name } of orphans) {
        await this.store.delete(name);
        report.deleted.push(name);
      }
    }
    return report;
  }

  private schedule(delayMs: number, first = false): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.pass(first).finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalSeconds * 1000);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async pass(first: boolean): Promise<void> {
    const at = first ? 'start' : 'periodic';
    try {
      const { deleted, kept } = await this.reconcileIntents();
      if (first || deleted.length > 0 || kept.length > 0) {
        this.log.info(
          { at, deleted: deleted.length, kept: kept.length, blobs: deleted.slice(0, LOGGED_NAMES) },
          deleted.length > 0
            ? 'deleted evidence blobs of creates that never committed'
            : 'upload intents reconciled',
        );
      }
    } catch (error) {
      this.log.error({ err: error, at }, 'reconciling upload intents failed; retrying next pass');
    }
    try {
      const released = (await this.options.releaseAbandonedClaims?.(this.orm.em.fork())) ?? 0;
      if (released > 0)
        this.log.info({ at, released }, 'released idempotency claims of processes that are gone');
    } catch (error) {
      this.log.error({ err: error, at }, 'releasing abandoned idempotency claims failed; retrying next pass');
    }
    if (Date.now() < this.nextSweepAt || this.stopped) return;
    try {
      const report = await this.sweep();
      // A failed sweep is tried again at the next pass; a done (or someone else's) one waits its interval.
      this.nextSweepAt = Date.now() + this.options.sweepIntervalSeconds * 1000;
      if (!report) {
        this.log.debug({ at }, 'another process is sweeping the evidence container');
      } else if (first || report.deleted.length > 0) {
        this.log.info(
          {
            at,
            listed: report.listed,
            deleted: report.deleted.length,
            blobs: report.deleted.slice(0, LOGGED_NAMES),
          },
          'swept the evidence container for blobs with no request',
        );
      }
    } catch (error) {
      this.log.error({ err: error, at }, 'sweeping the evidence container failed; retrying next sweep');
    }
  }
}
