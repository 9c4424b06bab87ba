import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * An evidence blob about to be committed by a create that has not committed its row yet, written and read
 * by SQL in src/runtime/upload-intents.ts. Committed on its own before the blob is, and deleted by the
 * create's transaction: after a crash, an intent whose owner is gone names a blob that has no row.
 */
@Entity({ tableName: 'upload_intent' })
export class UploadIntent {
  [OptionalProps]?: 'createdAt';

  /** Blob name inside the evidence container (as process_request.evidence_blob_name will hold it). */
  @PrimaryKey({ type: 'string', length: 300 })
  blobName!: string;

  /** The request the blob belongs to; its row does not exist until the create commits (no foreign key). */
  @Property({ type: 'uuid' })
  processRequestId!: string;

  /** Liveness lock id of the process running the create (src/runtime/liveness.ts). */
  @Property({ type: 'integer' })
  owner!: number;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
