// Upload intents: how an evidence blob committed by a create that never committed its row is found again.
//
// A create records an intent (blob name, request id, owner) and commits it on its own BEFORE it writes the
// blob (one Put Blob, or the commit of its staged blocks); its transaction deletes the intent as its first
// write and commits it with the row. So whatever moment a process dies at, a committed blob has a row, or
// an intent, or both until the rollback of a failed create is cleaned up. An intent whose owner is gone
// (src/runtime/liveness.ts) names a blob that will never get a row: `reclaim` deletes that blob, then the
// intent.
//
// Reclaiming locks the intent row (skip locked) and a create's transaction deletes it first: while a create
// is between its blob commit and its commit, no reclaim can take its intent, and a create whose intent was
// reclaimed (its process looked gone) finds nothing to delete and fails instead of committing its row.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { EvidenceStore } from '../storage/evidence-store';
import { DomainError } from '../domain/errors';
import { ownerAlive, type Owner } from './liveness';
import { HeldTransaction } from '../sql/held-transaction';
import { RECEIPT, SETTLE, SETTLE_CONSTANTS, type SettleParam, type SettleRow } from '../sql/create-sql';

export interface IntentRow {
  blob_name: string;
  process_request_id: string;
  owner: number;
}

/** What reclaiming one intent did: deleted its orphan blob, found its row (kept the blob), or left it. */
export type ReclaimOutcome = 'deleted' | 'kept' | 'skipped';

export class UploadIntents {
  /** Blob names of this process's creates still running: their intents are never this process's to reclaim. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly orm: MikroORM,
    private readonly store: EvidenceStore,
    private readonly owner: Owner,
  ) {}

  /** This process's owner id, which a create's intent is recorded with. */
  get ownerId(): number {
    return this.owner.ownerId;
  }

  /**
   * A create of this process is about to record the intent of `blobName` (the create's first statement,
   * src/sql/create-sql.ts, committed on its own before the blob is written): this process never reclaims it
   * while that create runs.
   */
  expect(blobName: string): void {
    this.inFlight.add(blobName);
  }

  /**
   * Opens the create's transaction, before the blob commit, by deleting the intent, which locks it until the
   * transaction ends: BEGIN, the partner's lock on this file and the delete in one round trip
   * (src/sql/create-sql.ts: RECEIPT, SETTLE), which also answers the partner's requests with the same file,
   * as committed once that lock was granted. Refuses (503), with nothing left open, when the intent is gone:
   * it was reclaimed, and its blob with it.
   */
  async settle(
    em: EntityManager,
    receipt: { blobName: string; partnerId: string; sha256: string },
  ): Promise<{ tx: HeldTransaction; duplicates: string[] }> {
    const { tx, rows } = await HeldTransaction.open<SettleRow, SettleParam>(em, [RECEIPT, SETTLE], {
      ...receipt,
      ...SETTLE_CONSTANTS,
    });
    if (rows[0].settled) return { tx, duplicates: rows[0].duplicates ?? [] };
    await tx.rollback();
    throw new DomainError(
      'SERVICE_UNAVAILABLE',
      'The upload was interrupted (this server lost its database session); send the request again',
    );
  }

  /** The create is over, committed or not: its intent (if any is left) is reclaimable from now on. */
  forget(blobName: string): void {
    this.inFlight.delete(blobName);
  }

  /** Intents nobody alive is finishing: those of processes that are gone, and this process's leftovers. */
  async abandoned(): Promise<IntentRow[]> {
    const rows = await this.orm.em.getConnection().execute<IntentRow[]>(
      `select blob_name, process_request_id, owner from upload_intent u
          where u.owner = ? or not ${ownerAlive('u.owner')} order by created_at`,
      [this.owner.ownerId],
    );
    return rows.filter((row) => !(row.owner === this.owner.ownerId && this.inFlight.has(row.blob_name)));
  }

  /**
   * Deletes an abandoned intent's blob (unless its request row exists) and then the intent, holding the
   * intent's row lock throughout. Everything is checked again under the lock; an intent locked by a create
   * (or another reclaim) is skipped.
   */
  async reclaim(blobName: string): Promise<ReclaimOutcome> {
    return this.orm.em.fork().transactional(async (em) => {
      const [row] = await em.execute<IntentRow[]>(
        `select blob_name, process_request_id, owner from upload_intent u
          where u.blob_name = ? and (u.owner = ? or not ${ownerAlive('u.owner')})
          for update of u skip locked`,
        [blobName, this.owner.ownerId],
      );
      if (!row || (row.owner === this.owner.ownerId && this.inFlight.has(blobName))) return 'skipped';
      const [request] = await em.execute<{ id: string }[]>(
        'select id from process_request where id = ? and evidence_blob_name = ?',
        [row.process_request_id, blobName],
      );
      if (!request) await this.store.delete(blobName);
      await em.execute('delete from upload_intent where blob_name = ?', [blobName], 'run');
      return request ? 'kept' : 'deleted';
    });
  }
}
