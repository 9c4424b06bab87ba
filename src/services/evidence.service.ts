// Evidence files: type by first bytes, 10 MiB enforced while streaming, SHA-256, staged blocks committed only on success.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from '../logger';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EvidenceStore } from '../storage/evidence-store';
import { DomainError } from '../domain/errors';
import type { UploadIntents } from '../runtime/upload-intents';
import type { HeldTransaction } from '../sql/held-transaction';

export const MAX_EVIDENCE_BYTES = 10 * 1024 * 1024;
/** Block size for staged uploads: at most 11 blocks per file, one block of memory per upload. */
export const BLOCK_BYTES = 1024 * 1024;
const SNIFF_BYTES = 12;

interface EvidenceType {
  ext: string;
  contentType: string;
}

/** The four accepted formats, decided by the file's first bytes only. */
export function sniffEvidenceType(head: Buffer): EvidenceType | undefined {
  const starts = (bytes: number[], offset = 0) => bytes.every((b, i) => head[offset + i] === b);
  if (starts([0x25, 0x50, 0x44, 0x46, 0x2d])) return { ext: 'pdf', contentType: 'application/pdf' };
  if (starts([0xff, 0xd8, 0xff])) return { ext: 'jpg', contentType: 'image/jpeg' };
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { ext: 'png', contentType: 'image/png' };
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) {
    return { ext: 'webp', contentType: 'image/webp' };
  }
  return undefined;
}

/** The longest file name kept, in characters (code points): the column is varchar(255), which counts them. */
export const MAX_FILE_NAME_LENGTH = 255;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/**
 * The first `max` code points of a string, never cutting one in two (String.slice counts UTF-16 units
 * and can keep half of an emoji, which encodeURIComponent then refuses), and never cutting a character
 * the user sees (an emoji with a skin tone, a flag, a ZWJ family) unless it alone is longer than `max`.
 */
export function cutToCodePoints(s: string, max: number): string {
  if (s.length <= max) return s;
  let kept = '';
  let length = 0;
  for (const { segment } of graphemes.segment(s)) {
    const size = [...segment].length;
    if (length + size > max) return length > 0 ? kept : [...segment].slice(0, max).join('');
    kept += segment;
    length += size;
  }
  return kept;
}

/** Keeps only the last path segment, without control characters, at most 255 characters. */
export function cleanFileName(raw: string | undefined, fallback: string): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  const cleaned = cutToCodePoints(
    base
      // Half a surrogate pair is no character: it could not be stored, encoded or downloaded.
      .replace(LONE_SURROGATE, '\uFFFD')
      .normalize('NFC')
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, '')
      .replace(/^[.\s]+/, '')
      .trim(),
    MAX_FILE_NAME_LENGTH,
  ).trim();
  return cleaned === '' ? fallback : cleaned;
}

export interface IncomingEvidence {
  stream: Readable;
  fileName?: string;
}

export interface StagedEvidence {
  blobName: string;
  /** The blocks staged while the file arrived; none when it fitted in one block. */
  blockIds: string[];
  /** A file that fitted in one block, as read: written in one call on commit (nothing staged before). */
  chunks: Buffer[];
  fileName: string;
  contentType: string;
  size: number;
  sha256: string;
}

/**
 * Reads the file once, in order: sniffs the type from the first bytes (415 otherwise), counts
 * bytes (413 past 10 MiB, without reading further), hashes, and stages 1 MiB blocks once the file
 * is larger than one; a smaller file is kept as read, for one write on commit. Nothing is visible in
 * the container until `commit`. `onBytes` reports progress.
 */
export async function stageEvidence(
  store: EvidenceStore,
  blobPrefix: string,
  incoming: IncomingEvidence,
  onBytes: (bytes: number) => void = () => {},
  /** false: read, check and hash only (an idempotent replay compares the file but uploads nothing). */
  uploadBlocks = true,
): Promise<StagedEvidence> {
  const hash = createHash('sha256');
  const blockIds: string[] = [];
  let type: EvidenceType | undefined;
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let blobName = '';

  const flush = async () => {
    if (pendingBytes === 0) return;
    const blockId = Buffer.from(`block-${String(blockIds.length).padStart(6, '0')}`).toString('base64');
    const data = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (uploadBlocks) await store.stageBlock(blobName, blockId, data);
    blockIds.push(blockId);
  };

  try {
    for await (const chunk of incoming.stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_EVIDENCE_BYTES) throw new DomainError('EVIDENCE_TOO_LARGE');
      hash.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (!type && pendingBytes >= SNIFF_BYTES) {
        type = sniffEvidenceType(Buffer.concat(pending, SNIFF_BYTES));
        if (!type) throw new DomainError('UNSUPPORTED_EVIDENCE_TYPE');
        blobName = `${blobPrefix}/evidence.${type.ext}`;
      }
      if (type && pendingBytes >= BLOCK_BYTES) await flush();
      onBytes(size);
    }
  } finally {
    // Stop the source whatever happened: a refused file is never read to its end.
    if (!incoming.stream.readableEnded) incoming.stream.destroy();
  }
  if (!type) {
    type = sniffEvidenceType(Buffer.concat(pending, pendingBytes));
    if (!type)
      throw new DomainError(
        'UNSUPPORTED_EVIDENCE_TYPE',
        size === 0 ? 'The evidence file is empty' : undefined,
      );
    blobName = `${blobPrefix}/evidence.${type.ext}`;
  }
  // One block or less: kept for a single write (Put Blob) when the create commits.
  const single = blockIds.length === 0;
  if (!single) await flush();
  return {
    blobName,
    blockIds,
    chunks: single && uploadBlocks ? pending : [],
    fileName: cleanFileName(incoming.fileName, `evidence.${type.ext}`),
    contentType: type.contentType,
    size,
    sha256: hash.digest('hex'),
  };
}

/**
 * One create's evidence on its way to storage: staged while it arrives, announced by an upload intent,
 * made visible with the request (settle, then commit, inside the create's transaction), removed if the
 * create fails after that (abort). See src/runtime/upload-intents.ts for why this order survives a crash.
 */
export class EvidenceUpload {
  private staging?: Promise<StagedEvidence>;
  private staged?: StagedEvidence;
  private announced = false;

  constructor(
    private readonly store: EvidenceStore,
    private readonly intents: UploadIntents,
    private readonly processRequestId: string,
    private readonly blobPrefix: string,
    private readonly onBytes: (bytes: number) => void,
    /** false: read, check and hash only (an idempotent replay compares the file but stores nothing). */
    private readonly uploadBlocks: boolean,
  ) {}

  /** Takes the create's file as it arrives; a second one is refused. */
  async receive(file: IncomingEvidence): Promise<void> {
    if (this.staging) throw new DomainError('UNEXPECTED_FILE');
    this.staging = stageEvidence(this.store, this.blobPrefix, file, this.onBytes, this.uploadBlocks);
    this.staged = await this.staging;
  }

  /** The staged file; a create without one is 400 EVIDENCE_REQUIRED. */
  get evidence(): StagedEvidence {
    if (!this.staged) throw new DomainError('EVIDENCE_REQUIRED');
    return this.staged;
  }

  /**
   * Records the upload intent with `record` (one statement, committed at once: outside the create's
   * transaction, before `commit`), which gets the intent's columns; answers what `record` read with it.
   */
  async announce<T>(
    record: (intent: { blobName: string; id: string; owner: number }) => Promise<T>,
  ): Promise<T> {
    const blobName = this.evidence.blobName;
    this.intents.expect(blobName);
    // From here on a failure may have left the intent behind: abort reclaims it.
    this.announced = true;
    return record({ blobName, id: this.processRequestId, owner: this.intents.ownerId });
  }

  /**
   * Opens the create's transaction by settling the intent (which locks it until the transaction ends), under
   * the partner's lock on this file: answers the open transaction and the partner's requests with the same
   * file as committed once that lock was granted (see UploadIntents.settle), before anything is written.
   */
  settle(em: EntityManager, partnerId: string): Promise<{ tx: HeldTransaction; duplicates: string[] }> {
    const { blobName, sha256 } = this.evidence;
    return this.intents.settle(em, { blobName, partnerId, sha256 });
  }

  /**
   * Writes the blob (in one call, or by committing its staged blocks) inside the transaction `settle` opened,
   * in which the row is then written. If it fails, the transaction is rolled back and no row is written.
   */
  async commit(tx: HeldTransaction): Promise<void> {
    const evidence = this.evidence;
    try {
      if (evidence.blockIds.length === 0)
        await this.store.upload(evidence.blobName, evidence.chunks, evidence);
      else await this.store.commit(evidence.blobName, evidence.blockIds, evidence);
    } catch (error) {
      await tx.rollback();
      throw error;
    }
  }

  /** The create committed: nothing is left to clean up. */
  done(): void {
    if (this.staged) this.intents.forget(this.staged.blobName);
  }

  /**
   * The create failed: the blob, if it was committed (or might have been: a commit can fail after the
   * store applied it), is deleted with its intent. Uncommitted blocks are never visible and expire on their
   * own. If the clean-up fails, the intent stays and the reconciler retries it.
   */
  async abort(log: Logger): Promise<void> {
    if (!this.announced || !this.staged) return;
    const blobName = this.staged.blobName;
    this.intents.forget(blobName);
    await this.intents
      .reclaim(blobName)
      .catch((e) =>
        log.error({ err: e, blobName }, 'blob of a failed create not deleted; the reconciler will retry'),
      );
  }
}
