// Hot read paths read process_request rows as plain rows and write views from them directly: no entity,
// no identity map. A request's approvals come with it, as JSON from the same statement.
import type { ProcessRequestStatus } from '../entities/process-request.entity';
import { formatAmount } from '../domain/money';
import { MAX_DUPLICATES_LISTED, type ApprovalView, type ProcessRequestView } from '../shapes/views';

/** A process_request row as the driver returns it (timestamps as text: the ORM's pool keeps them so). */
export interface RequestRow {
  id: string;
  process_type_id: number;
  client_balance_id: string;
  client_id: string;
  requested_amount: string;
  currency: string;
  observations: string | null;
  evidence_url: string | null;
  evidence_file_name: string | null;
  evidence_content_type: string | null;
  evidence_size: number | null;
  evidence_sha256: string | null;
  evidence_blob_name: string | null;
  status: ProcessRequestStatus;
  created_by: string;
  created_at: string | Date;
  updated_at: string | Date;
  reviewed_by: string | null;
  reviewed_at: string | Date | null;
  review_reason: string | null;
  cancelled_by: string | null;
  cancelled_at: string | Date | null;
  required_approvals: number;
  approval_count: number;
  expires_at: string | Date;
  reversal_of: string | null;
  reversed_by: string | null;
  /** From APPROVALS_OF: the approvals, oldest first; null when there are none. */
  approvals?: Array<{ operatorId: string; at: string }> | null;
  /** From DUPLICATES_OF: the partner's other requests with the same evidence, oldest first. */
  duplicate_evidence?: string[] | null;
}

/**
 * The ids of the partner's requests whose evidence has the SHA-256 `sha256`, but for the request `except`
 * (SPEC section 18), oldest first and at most MAX_DUPLICATES_LISTED, as JSON; null when there are none (the
 * index on (client_id, evidence_sha256) finds them). The three are SQL expressions.
 */
export const SAME_EVIDENCE = (partnerId: string, sha256: string, except?: string) =>
  `(select json_agg(d.id order by d.created_at, d.id) from (select o.id, o.created_at from process_request o
     where o.client_id = ${partnerId} and o.evidence_sha256 = ${sha256}${except ? ` and o.id <> ${except}` : ''}
     order by o.created_at, o.id limit ${MAX_DUPLICATES_LISTED}) d)`;

/** The duplicate receipts of the request `r` (a process_request row in the statement): SAME_EVIDENCE. */
export const DUPLICATES_OF = (r: string) =>
  `case when ${r}.evidence_sha256 is not null then ${SAME_EVIDENCE(`${r}.client_id`, `${r}.evidence_sha256`, `${r}.id`)}
     end as duplicate_evidence`;

/**
 * The approvals of the request `r` (a process_request row in the statement), oldest first, as JSON; only
 * looked up for a request that counts any.
 */
export const APPROVALS_OF = (r: string) =>
  `case when ${r}.approval_count > 0 then (select json_agg(json_build_object('operatorId', a.operator_id, 'at', a.created_at)
     order by a.created_at, a.id) from approval a where a.process_request_id = ${r}.id) end as approvals`;

/** A timestamp as PostgreSQL writes it in UTC ("2026-11-29 22:44:49.794+00"), or as JSON writes it. */
export function pgDate(value: string | Date): Date {
  if (value instanceof Date) return value;
  const iso = value.replace(' ', 'T');
  return new Date(/[+-]\d\d$/.test(iso) ? `${iso}:00` : iso);
}

const optionalDate = (value: string | Date | null) => (value === null ? null : pgDate(value));

/** Approvals as JSON from a statement (APPROVALS_OF, or a decision's), as views. */
export function approvalViews(approvals: RequestRow['approvals']): ApprovalView[] {
  return (approvals ?? []).map((a) => ({ operatorId: a.operatorId, at: pgDate(a.at) }));
}

export function viewOfRow(r: RequestRow): ProcessRequestView {
  const approvals = approvalViews(r.approvals);
  return {
    id: r.id,
    processTypeId: r.process_type_id,
    clientBalanceId: r.client_balance_id,
    clientId: r.client_id,
    requestedAmount: formatAmount(r.requested_amount, r.currency),
    currency: r.currency,
    observations: r.observations,
    evidenceUrl: r.evidence_url,
    evidence:
      r.evidence_blob_name === null
        ? null
        : {
            fileName: r.evidence_file_name as string,
            contentType: r.evidence_content_type as string,
            size: r.evidence_size as number,
            sha256: r.evidence_sha256 as string,
          },
    status: r.status,
    createdBy: r.created_by,
    createdAt: pgDate(r.created_at),
    updatedAt: pgDate(r.updated_at),
    reviewedBy: r.reviewed_by,
    reviewedAt: optionalDate(r.reviewed_at),
    reviewReason: r.review_reason,
    cancelledBy: r.cancelled_by,
    cancelledAt: optionalDate(r.cancelled_at),
    requiredApprovals: r.required_approvals,
    approvals,
    duplicateEvidence: r.duplicate_evidence ?? [],
    expiresAt: pgDate(r.expires_at),
    reversalOf: r.reversal_of,
    reversedBy: r.reversed_by,
  };
}
