// The statements of a create once its file is read: FILING (the upload intent, the policy's terms and the
// database's clock, committed on its own before the blob is written), RECEIPT and SETTLE (first in the
// create's transaction, sent with its BEGIN in one round trip: the receipt lock, then the intent's delete and
// the duplicate receipts read after that lock) and CREATED (last in it, after the blob, sent with its COMMIT:
// the row, the idempotency key's answer, the CREATED event after the partner's event-order lock; the progress
// bus announces it once the transaction commits).
//
// Duplicate receipts (SPEC section 18) are read in SETTLE, not before: two creates of the same file for the
// same partner at once would each read the other as absent (neither row is committed yet), both be filed
// under refuseDuplicateEvidence and neither answer name the other. RECEIPT makes the second wait until the
// first has committed or rolled back, and SETTLE, a statement of its own after it, reads with a snapshot
// taken once that wait is over (under READ COMMITTED a statement keeps the snapshot it started with, so a
// read in the statement that waited would still miss the first create's row).
import type { ApprovalTier } from '../entities/approval-policy.entity';
import type { ProcessRequest } from '../entities/process-request.entity';
import type { CreateRequest } from '../shapes/inputs';
import { ADVISORY_LOCKS } from '../infra/locks';
import { EVENT_COLUMNS, type EventRow } from './progress';
import { SAME_EVIDENCE } from './request-rows';
import { render } from './statement';

export type FilingParam = 'blobName' | 'id' | 'owner' | 'partnerId' | 'operatorId' | 'operatorVersion';

/** What FILING reads; the policy's columns are null when the partner has no stored policy (the default one). */
export interface FilingRow {
  /**
   * False when the create was judged with a kept operator row (operatorVersion given) whose version has
   * changed since: no intent was recorded, and the create must be judged again with the stored row.
   */
  operator_current: boolean;
  intents: string;
  now: string | Date;
  tiers: ApprovalTier[] | null;
  pending_ttl_seconds: number | null;
  refuse_duplicate_evidence: boolean | null;
}

/**
 * Records the upload intent (see src/runtime/upload-intents.ts: committed before the blob may exist) and
 * reads what the request is bound to: its partner's policy in force and the database's clock (as the expiry
 * sweep reads it). Given the version of a kept operator row (src/runtime/operator-cache.ts), it records
 * nothing unless the row still has that version: nothing of the create is stored on a row that changed.
 */
export const FILING = render<FilingParam>(
  'create-filing',
  `with operator_row as (
     select (:operatorVersion is null or (select o.xmin::text from operator o where o.id = :operatorId) = :operatorVersion) as current),
   intent as (
     insert into upload_intent (blob_name, process_request_id, owner)
       select :blobName, :id, :owner from operator_row where current returning blob_name)
   select (select current from operator_row) as operator_current, (select count(*) from intent) as intents, clock_timestamp() as now,
          p.tiers, p.pending_ttl_seconds, p.refuse_duplicate_evidence
     from (select 1) as one left join approval_policy p on p.client_id = :partnerId`,
  {
    blobName: 'text',
    id: 'uuid',
    owner: 'integer',
    partnerId: 'uuid',
    operatorId: 'uuid',
    operatorVersion: 'text',
  },
);

export type SettleParam = 'receiptLock' | 'partnerId' | 'sha256' | 'blobName';

/**
 * The create's transaction opens with it (BEGIN in the same round trip, src/sql/held-transaction.ts): the
 * partner's receipt lock for this file, held to the transaction's end. It is its own statement so that
 * SETTLE, after it, reads what committed while it waited. Lock order: RECEIPT, then EVENT_ORDER (CREATED);
 * nothing else takes RECEIPT, so the two cannot deadlock.
 */
export const RECEIPT = render<Exclude<SettleParam, 'blobName'>>(
  'create-receipt',
  `select pg_advisory_xact_lock(:receiptLock, hashtext(:partnerId::text || ':' || :sha256))`,
  { receiptLock: 'integer', partnerId: 'uuid', sha256: 'text' },
);

/** What SETTLE reads: whether the intent was there to delete, and the duplicate receipts (null: none). */
export interface SettleRow {
  settled: boolean;
  duplicates: string[] | null;
}

/**
 * Second in the create's transaction, after RECEIPT in the same round trip: the upload intent deleted, and
 * so locked until the transaction ends (settled is false when it was reclaimed), and the partner's requests
 * whose evidence has the same SHA-256, oldest first, read after the receipt lock was granted.
 */
export const SETTLE = render<Exclude<SettleParam, 'receiptLock'>>(
  'create-settle',
  `with settled as (delete from upload_intent where blob_name = :blobName returning blob_name)
   select exists (select 1 from settled) as settled, ${SAME_EVIDENCE(':partnerId', ':sha256')} as duplicates`,
  { blobName: 'text', partnerId: 'uuid', sha256: 'text' },
);

/** The constant values of RECEIPT. */
export const SETTLE_CONSTANTS = {
  receiptLock: ADVISORY_LOCKS.RECEIPT,
} as const;

/** The new row's columns, as the service set them (the answer is written from the same values). */
const ROW_TYPES = {
  id: 'uuid',
  processTypeId: 'integer',
  clientBalanceId: 'uuid',
  partnerId: 'uuid',
  requestedAmount: 'numeric',
  currency: 'text',
  observations: 'text',
  evidenceUrl: 'text',
  evidenceFileName: 'text',
  evidenceContentType: 'text',
  evidenceSize: 'integer',
  evidenceSha256: 'text',
  evidenceBlobName: 'text',
  status: 'process_request_status',
  createdBy: 'uuid',
  createdAt: 'timestamptz',
  updatedAt: 'timestamptz',
  requiredApprovals: 'smallint',
  expiresAt: 'timestamptz',
} as const;

export type CreatedRow = Record<keyof typeof ROW_TYPES, unknown>;

/**
 * Every field a create declares (createRequest in src/shapes/inputs.ts) is a column CREATED writes: a field
 * added there does not compile here until ROW_TYPES (and so createdRow) names it.
 */
type CreateFieldsNotWritten = Exclude<keyof CreateRequest, keyof typeof ROW_TYPES>;
export const EVERY_CREATE_FIELD_WRITTEN: [CreateFieldsNotWritten] extends [never]
  ? true
  : CreateFieldsNotWritten = true;

/** The new row's values, from the request the answer is written from. */
export function createdRow(pr: ProcessRequest): CreatedRow {
  return {
    id: pr.id,
    processTypeId: pr.processTypeId,
    clientBalanceId: pr.clientBalanceId,
    partnerId: pr.partnerId,
    requestedAmount: pr.requestedAmount,
    currency: pr.currency,
    observations: pr.observations ?? null,
    evidenceUrl: pr.evidenceUrl ?? null,
    evidenceFileName: pr.evidence?.fileName ?? null,
    evidenceContentType: pr.evidence?.contentType ?? null,
    evidenceSize: pr.evidence?.size ?? null,
    evidenceSha256: pr.evidence?.sha256 ?? null,
    evidenceBlobName: pr.evidence?.blobName ?? null,
    status: pr.status,
    createdBy: pr.createdBy,
    createdAt: pr.createdAt,
    updatedAt: pr.updatedAt,
    requiredApprovals: pr.requiredApprovals,
    expiresAt: pr.expiresAt,
  };
}
export type CreatedParam = keyof typeof ROW_TYPES | 'claimId' | 'answer' | 'eventOrderLock';

const column = (field: string) =>
  field === 'partnerId' ? 'client_id' : field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const FIELDS = Object.keys(ROW_TYPES);

/** What CREATED answers: whether the key's claim was completed, and the stored event (as EventRow). */
export interface CreatedResult extends EventRow {
  completed: string;
}

/**
 * One statement, inside the create's transaction after the blob is committed: the row; the idempotency
 * key's answer (when a claim is given: only a claim still IN_PROGRESS, so an attempt that was taken over
 * completes nothing and the caller rolls back); the CREATED event after the partner's event-order lock
 * (so the partner's event ids commit in increasing order); nothing is sent from inside the transaction.
 */
export const CREATED = render<CreatedParam>(
  'create-created',
  `with created as (
     insert into process_request (${FIELDS.map(column).join(', ')})
     values (${FIELDS.map((f) => `:${f}`).join(', ')})
     returning id, client_id, created_by),
   completed as (
     update idempotency_key set status = 'COMPLETED', response_status = 201, response_body = :answer,
            process_request_id = :id, updated_at = now()
      where id = :claimId and status = 'IN_PROGRESS' and exists (select 1 from created) returning id),
   ordered as (select pg_advisory_xact_lock(:eventOrderLock, hashtext(:partnerId::text)) as locked from created),
   event as (
     insert into process_request_event (process_request_id, client_id, type, actor_id, to_status)
     select c.id, c.client_id, 'CREATED', c.created_by, 'PENDING' from created c cross join ordered
     returning ${EVENT_COLUMNS})
   select (select count(*) from completed) as completed, e.*
     from event e`,
  {
    ...ROW_TYPES,
    claimId: 'uuid',
    answer: 'text',
    eventOrderLock: 'integer',
  },
);

/** The constant values of CREATED. */
export const CREATED_CONSTANTS = {
  eventOrderLock: ADVISORY_LOCKS.EVENT_ORDER,
} as const;
