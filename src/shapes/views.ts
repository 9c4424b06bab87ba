// The shapes every door returns, built once from entities; money leaves as a Decimal scaled to its currency.
import type { ClientBalance } from '../entities/client-balance.entity';
import type { Operator } from '../entities/operator.entity';
import type { Partner } from '../entities/partner.entity';
import type { ProgressEventType } from '../entities/process-request-event.entity';
import type { ProcessRequest, ProcessRequestStatus } from '../entities/process-request.entity';
import { type Decimal, formatAmount } from '../domain/money';
import type { ProgressEvent } from './events';

export interface BalanceView {
  id: string;
  clientId: string;
  available: Decimal;
  /** What approvals would add: the sum of PENDING top-ups (SPEC section 13). */
  pending: Decimal;
  currency: string;
  updatedAt: Date;
  createdAt: Date;
}

export interface EvidenceView {
  fileName: string;
  contentType: string;
  size: number;
  sha256: string;
}

export interface ProcessRequestView {
  id: string;
  processTypeId: number;
  clientBalanceId: string;
  clientId: string;
  requestedAmount: Decimal;
  currency: string;
  observations: string | null;
  /** null for a reversal, which has no evidence. */
  evidenceUrl: string | null;
  evidence: EvidenceView | null;
  status: ProcessRequestStatus;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  reviewedBy: string | null;
  reviewedAt: Date | null;
  reviewReason: string | null;
  cancelledBy: string | null;
  cancelledAt: Date | null;
  requiredApprovals: number;
  approvals: ApprovalView[];
  expiresAt: Date;
  reversalOf: string | null;
  reversedBy: string | null;
}

export interface ApprovalView {
  operatorId: string;
  at: Date;
}

/** One entry of a request's history (the audit trail). */
export interface HistoryEntryView {
  id: string;
  type: ProgressEventType;
  /** null when the service itself acted (expiry). */
  actorId: string | null;
  fromStatus: ProcessRequestStatus | null;
  toStatus: ProcessRequestStatus | null;
  reason: string | null;
  at: Date;
}

/** A progress event as SSE and the subscription deliver it (SPEC section 7). */
export interface ProgressEventView {
  id: string | null;
  clientId: string;
  processRequestId: string;
  type: ProgressEventType;
  status: ProcessRequestStatus | null;
  percent?: number;
  available?: Decimal;
  code?: string;
  /** With APPROVAL_RECORDED: the approvals so far and how many the request needs. */
  approvals?: number;
  requiredApprovals?: number;
  at: Date;
}

export interface PartnerView {
  id: string;
  name: string;
  currency: string;
  createdAt: Date;
}

/**
 * An operator as others see them (SPEC section 14): who filed, approved, rejected, cancelled or changed
 * something. Never their roles, scope or OTP settings: those are for the operator themselves (OperatorView).
 */
export interface PersonView {
  id: string;
  name: string;
  email: string;
}

/** The operator acting through a call, as they see themselves. */
export interface OperatorView {
  id: string;
  email: string;
  name: string;
  roles: string[];
  partnerIds: string[] | null;
  otpRequired: boolean;
  active: boolean;
}

/** `pending`: the NUMERIC sum of the partner's PENDING top-ups. */
export function toBalanceView(
  b: Pick<ClientBalance, 'id' | 'partnerId' | 'available' | 'currency' | 'updatedAt' | 'createdAt'>,
  pending: string,
): BalanceView {
  return {
    id: b.id,
    clientId: b.partnerId,
    available: formatAmount(b.available, b.currency),
    pending: formatAmount(pending, b.currency),
    currency: b.currency,
    updatedAt: b.updatedAt,
    createdAt: b.createdAt,
  };
}

/** `approvals`: the request's recorded approvals, oldest first (none for a request just filed). */
export function toProcessRequestView(pr: ProcessRequest, approvals: ApprovalView[] = []): ProcessRequestView {
  return {
    id: pr.id,
    processTypeId: pr.processTypeId,
    clientBalanceId: pr.clientBalanceId,
    clientId: pr.partnerId,
    requestedAmount: formatAmount(pr.requestedAmount, pr.currency),
    currency: pr.currency,
    observations: pr.observations ?? null,
    evidenceUrl: pr.evidenceUrl ?? null,
    evidence: pr.evidence
      ? {
          fileName: pr.evidence.fileName,
          contentType: pr.evidence.contentType,
          size: pr.evidence.size,
          sha256: pr.evidence.sha256,
        }
      : null,
    status: pr.status,
    createdBy: pr.createdBy,
    createdAt: pr.createdAt,
    updatedAt: pr.updatedAt,
    reviewedBy: pr.reviewedBy ?? null,
    reviewedAt: pr.reviewedAt ?? null,
    reviewReason: pr.reviewReason ?? null,
    cancelledBy: pr.cancelledBy ?? null,
    cancelledAt: pr.cancelledAt ?? null,
    requiredApprovals: pr.requiredApprovals,
    approvals,
    expiresAt: pr.expiresAt,
    reversalOf: pr.reversalOf ?? null,
    reversedBy: pr.reversedBy ?? null,
  };
}

export function toHistoryEntryView(e: ProgressEvent): HistoryEntryView {
  return {
    id: e.id as string,
    type: e.type,
    actorId: e.actorId,
    fromStatus: e.fromStatus,
    toStatus: e.toStatus,
    reason: e.data.reason ?? null,
    at: new Date(e.at),
  };
}

/** An event as SSE and the subscription deliver it; `currency` scales the balance it may carry. */
export function toProgressEventView(e: ProgressEvent, currency: string): ProgressEventView {
  const view: ProgressEventView = {
    id: e.id,
    clientId: e.partnerId,
    processRequestId: e.processRequestId,
    type: e.type,
    status: e.toStatus ?? e.fromStatus,
    at: new Date(e.at),
  };
  if (typeof e.data.percent === 'number') view.percent = e.data.percent;
  if (typeof e.data.available === 'string') view.available = formatAmount(e.data.available, currency);
  if (typeof e.data.code === 'string') view.code = e.data.code;
  if (typeof e.data.approvals === 'number') view.approvals = e.data.approvals;
  if (typeof e.data.requiredApprovals === 'number') view.requiredApprovals = e.data.requiredApprovals;
  return view;
}

export function toPartnerView(p: Partner, b: ClientBalance): PartnerView {
  return { id: p.id, name: p.name, currency: b.currency, createdAt: p.createdAt };
}

export function toOperatorView(o: Operator): OperatorView {
  return {
    id: o.id,
    email: o.email,
    name: o.name,
    roles: [...o.roles],
    partnerIds: o.partnerIds ? [...o.partnerIds] : null,
    otpRequired: o.otpRequired,
    active: o.active,
  };
}

/** One ledger entry on a statement (SPEC section 19): a credit is positive, a debit (a reversal) negative. */
export interface StatementEntryView {
  at: Date;
  amount: Decimal;
  /** The running balance after this entry: the opening balance plus every amount up to it. */
  balanceAfter: Decimal;
  processRequestId: string;
  processTypeId: number;
  direction: 'CREDIT' | 'DEBIT';
}

/** A statement without its entries: opening + Σ entries = closing. */
export interface StatementHeaderView {
  clientId: string;
  currency: string;
  /** The first and last UTC days, YYYY-MM-DD, both included. */
  from: string;
  to: string;
  openingBalance: Decimal;
  closingBalance: Decimal;
}

/** The totals camt.053 summarises (TxsSummry): how many credits and debits, and their sums (unsigned). */
export interface StatementTotalsView {
  credits: { count: number; sum: Decimal };
  debits: { count: number; sum: Decimal };
}

export interface StatementView extends StatementHeaderView {
  entries: StatementEntryView[];
}

/** One stored history event as the events export writes it: who did what, when. */
export interface EventExportView {
  id: string;
  at: Date;
  processRequestId: string;
  type: ProgressEventType;
  actorId: string | null;
  actorName: string | null;
  actorEmail: string | null;
  fromStatus: ProcessRequestStatus | null;
  toStatus: ProcessRequestStatus | null;
  reason: string | null;
}
