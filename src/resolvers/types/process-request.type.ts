import { Field, ID, Int, ObjectType } from 'type-graphql';
import { ProgressEventType } from '../../entities/process-request-event.entity';
import { ProcessRequestStatus } from '../../entities/process-request.entity';
import type { Decimal } from '../../domain/money';
import { DecimalScalar } from '../../graphql/decimal.scalar';

import '../../graphql/enums';
import type { Shape } from '../../graphql/shape';
import {
  MAX_DUPLICATES_LISTED,
  type ApprovalView,
  type DownloadLinkView,
  type EvidenceView,
  type HistoryEntryView,
  type ProcessRequestPageView,
  type ProcessRequestView,
} from '../../shapes/views';

// simpleResolvers: a field without a field resolver is read by graphql's default resolver, not wrapped in
// type-graphql's per-field middleware runner: no middleware or auth checker is configured (src/schema.ts),
// and every field here is named as its property, so the answer is the same without a call per field.
@ObjectType({ description: 'What the service recorded about the evidence file', simpleResolvers: true })
export class EvidenceInfo implements Shape<EvidenceView, EvidenceInfo> {
  @Field(() => String, { description: 'Client file name, cleaned of paths and control characters' })
  fileName!: string;

  @Field(() => String)
  contentType!: string;

  @Field(() => Int)
  size!: number;

  @Field(() => String)
  sha256!: string;
}

@ObjectType({ description: 'One entry of a request history: who did what, when', simpleResolvers: true })
export class HistoryEntry implements Shape<HistoryEntryView, HistoryEntry> {
  @Field(() => ID)
  id!: string;

  @Field(() => ProgressEventType)
  type!: ProgressEventType;

  @Field(() => ID, { nullable: true, description: 'null when the service itself acted (expiry)' })
  actorId!: string | null;

  @Field(() => ProcessRequestStatus, { nullable: true })
  fromStatus!: ProcessRequestStatus | null;

  @Field(() => ProcessRequestStatus, { nullable: true })
  toStatus!: ProcessRequestStatus | null;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => Date)
  at!: Date;
}

@ObjectType('Approval', { description: 'One approval of a request', simpleResolvers: true })
export class ApprovalType implements Shape<ApprovalView, ApprovalType> {
  @Field(() => ID)
  operatorId!: string;

  @Field(() => Date)
  at!: Date;
}

@ObjectType('ProcessRequest', { description: 'A partner balance top-up request', simpleResolvers: true })
export class ProcessRequestType implements Shape<ProcessRequestView, ProcessRequestType> {
  @Field(() => ID)
  id!: string;

  @Field(() => Int)
  processTypeId!: number;

  @Field(() => ID)
  clientBalanceId!: string;

  @Field(() => ID)
  clientId!: string;

  @Field(() => DecimalScalar)
  requestedAmount!: Decimal;

  @Field(() => String)
  currency!: string;

  @Field(() => String, { nullable: true })
  observations!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Canonical blob URL; not readable without a signature (use evidenceDownloadUrl); null for a reversal',
  })
  evidenceUrl!: string | null;

  @Field(() => EvidenceInfo, { nullable: true, description: 'null for a reversal, which has no evidence' })
  evidence!: EvidenceInfo | null;

  @Field(() => ProcessRequestStatus)
  status!: ProcessRequestStatus;

  @Field(() => ID)
  createdBy!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => ID, { nullable: true })
  reviewedBy!: string | null;

  @Field(() => Date, { nullable: true })
  reviewedAt!: Date | null;

  @Field(() => String, { nullable: true })
  reviewReason!: string | null;

  @Field(() => ID, { nullable: true })
  cancelledBy!: string | null;

  @Field(() => Date, { nullable: true })
  cancelledAt!: Date | null;

  @Field(() => Int, {
    description: "Distinct approvals it needs, fixed by the partner's policy when it was filed",
  })
  requiredApprovals!: number;

  @Field(() => [ApprovalType], { description: 'Approvals recorded so far, oldest first' })
  approvals!: ApprovalType[];

  @Field(() => Date, { description: 'A PENDING request past this becomes EXPIRED' })
  expiresAt!: Date;

  @Field(() => ID, {
    nullable: true,
    description: 'For a reversal (processTypeId 2): the top-up it reverses',
  })
  reversalOf!: string | null;

  @Field(() => ID, { nullable: true, description: 'For a REVERSED top-up: the reversal that reversed it' })
  reversedBy!: string | null;

  @Field(() => [ID], {
    description: `The partner's other requests whose evidence has the same SHA-256 (a reused receipt): the ${MAX_DUPLICATES_LISTED} oldest`,
  })
  duplicateEvidence!: string[];
}

@ObjectType({ simpleResolvers: true })
export class ProcessRequestPage implements Shape<ProcessRequestPageView, ProcessRequestPage> {
  @Field(() => [ProcessRequestType])
  items!: ProcessRequestType[];

  @Field(() => Int)
  page!: number;

  @Field(() => Int)
  limit!: number;

  @Field(() => Int)
  total!: number;

  @Field(() => Int)
  totalPages!: number;
}

@ObjectType({ description: 'A read-only, expiring link to one evidence file', simpleResolvers: true })
export class EvidenceDownload implements Shape<DownloadLinkView, EvidenceDownload> {
  @Field(() => String)
  url!: string;

  @Field(() => Date)
  expiresAt!: Date;
}
