// The commands on a process request: create (with its evidence), approve, reject, cancel.
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { ProcessRequest, ProcessRequestStatus } from '../entities/process-request.entity';
import { BALANCE_INCREASE_PROCESS_TYPE_ID } from '../entities/process-type.entity';
import type { EvidenceStore } from '../storage/evidence-store';
import { assertUuid, can, requirePartner } from './access';
import type { ServiceContext } from './context';
import { DomainError, toDomainError } from './errors';
import { type IncomingEvidence, type StagedEvidence, stageEvidence } from './evidence.service';
import { createRequestHash, IdempotencyService, parseIdempotencyKey } from './idempotency.service';
import { parseAmount } from './money';
import type { OtpService } from './otp.service';
import { announce, recordEvent, toProgressMessage, type TransitionListener } from './progress';
import { type ProcessRequestView, toProcessRequestView } from './views';

export const MAX_OBSERVATIONS_LENGTH = 2000;
export const MAX_REASON_LENGTH = 500;

/** The text fields of a create, as the door received them. */
export interface CreateFields {
  requestedAmount?: unknown;
  observations?: unknown;
  otp?: unknown;
}

/**
 * Lets a door feed a create in its own transport order: it calls `stage` once with the evidence
 * file when the file arrives, and resolves with the text fields when the body is complete.
 */
export type ReceiveCreate = (stage: (file: IncomingEvidence) => Promise<void>) => Promise<CreateFields>;

export interface CreateOptions {
  /** Bytes the whole body is expected to hold (Content-Length), for upload progress. */
  expectedBytes?: number;
  /** Idempotency-Key header / idempotencyKey argument, as received (validated here). */
  idempotencyKey?: unknown;
}

export interface ReviewInput {
  reason?: unknown;
  otp?: unknown;
}

type Outcome = ProcessRequestStatus.APPROVED | ProcessRequestStatus.REJECTED | ProcessRequestStatus.CANCELLED;

const OUTCOME_EVENT: Record<Outcome, ProgressEventType> = {
  [ProcessRequestStatus.APPROVED]: ProgressEventType.APPROVED,
  [ProcessRequestStatus.REJECTED]: ProgressEventType.REJECTED,
  [ProcessRequestStatus.CANCELLED]: ProgressEventType.CANCELLED,
};

function optionalText(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string')
    throw new DomainError('VALIDATION_FAILED', `${field} must be a string`, { field });
  if ([...value].length > max) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be at most ${max} characters`, { field });
  }
  if (value.includes('\u0000'))
    throw new DomainError('VALIDATION_FAILED', `${field} must not contain NUL`, { field });
  return value;
}

export class ProcessRequestService {
  constructor(
    private readonly store: EvidenceStore,
    private readonly otp: OtpService,
    private readonly idempotency: IdempotencyService = new IdempotencyService(),
    private readonly onTransition: TransitionListener = () => undefined,
  ) {}

  async create(
    ctx: ServiceContext,
    clientId: unknown,
    receive: ReceiveCreate,
    options: CreateOptions = {},
  ): Promise<ProcessRequestView> {
    const { partner, balance } = await requirePartner(ctx, clientId, 'create');
    const idempotencyKey = parseIdempotencyKey(options.idempotencyKey);
    // A key already answered: the file is still read (to compare its hash) but no block is uploaded.
    const answered = idempotencyKey
      ? await this.idempotency.findCompleted(ctx.em, ctx.operator.id, idempotencyKey)
      : undefined;
    const requestId = randomUUID();
    const progress = this.uploadProgress(ctx, partner.id, requestId, options.expectedBytes);
    let staged: StagedEvidence | undefined;
    let staging = false;
    let blobCommitted = false;
    let claimId: string | undefined;
    try {
      const fields = await receive(async (file) => {
        if (staging) throw new DomainError('UNEXPECTED_FILE');
        staging = true;
        staged = await stageEvidence(this.store, `${partner.id}/${requestId}`, file, progress, !answered);
      });
      if (!staged) throw new DomainError('EVIDENCE_REQUIRED');
      const evidence: StagedEvidence = staged;
      const amount = parseAmount(fields.requestedAmount, balance.currency);
      const observations = optionalText(fields.observations, 'observations', MAX_OBSERVATIONS_LENGTH);

      if (idempotencyKey) {
        const hash = createRequestHash(partner.id, amount, observations, evidence.sha256);
        if (answered && answered.requestHash !== hash) throw new DomainError('IDEMPOTENCY_KEY_REUSED');
        // The same request again: the first answer, without OTP (no new action is taken) and without a new blob.
        const outcome = await this.idempotency.claim(ctx.em, ctx.operator.id, idempotencyKey, hash);
        if (outcome.kind === 'replay') {
          ctx.log.info(
            { processRequestId: outcome.view.id, clientId: partner.id },
            'idempotent create replayed',
          );
          return outcome.view;
        }
        // Defensive: a key answered when the body began must not be claimed without staged blocks.
        if (answered) throw new DomainError('IDEMPOTENCY_IN_PROGRESS');
        claimId = outcome.claimId;
      }

      // Checked before anything is stored: the staged blocks stay uncommitted (invisible) unless the code is good.
      await this.otp.verify(ctx, fields.otp);

      const created = await ctx.em.transactional(async (em) => {
        const pr = em.create(ProcessRequest, {
          id: requestId,
          processTypeId: BALANCE_INCREASE_PROCESS_TYPE_ID,
          clientBalanceId: balance.id,
          clientId: partner.id,
          requestedAmount: amount,
          currency: balance.currency,
          observations,
          evidenceUrl: this.store.url(evidence.blobName),
          evidence: {
            fileName: evidence.fileName,
            contentType: evidence.contentType,
            size: evidence.size,
            sha256: evidence.sha256,
            blobName: evidence.blobName,
          },
          status: ProcessRequestStatus.PENDING,
          createdBy: ctx.operator.id,
        });
        await em.flush();
        if (claimId) await this.idempotency.complete(em, claimId, 201, toProcessRequestView(pr));
        // Inside the transaction: if the blob cannot be committed, no row is either.
        await this.store.commit(evidence.blobName, evidence.blockIds, evidence);
        blobCommitted = true;
        await recordEvent(em, {
          processRequestId: pr.id,
          clientId: partner.id,
          type: ProgressEventType.CREATED,
          actorId: ctx.operator.id,
          toStatus: ProcessRequestStatus.PENDING,
        });
        return pr;
      });
      this.onTransition(ProgressEventType.CREATED);
      ctx.log.info(
        { processRequestId: created.id, clientId: partner.id, amount, size: evidence.size },
        'process request created',
      );
      return toProcessRequestView(created);
    } catch (error) {
      // The transaction failed after the blob became visible: a blob never outlives a failed create.
      if (blobCommitted && staged) {
        await this.store
          .delete(staged.blobName)
          .catch((e) => ctx.log.error({ err: e, blobName: staged?.blobName }, 'orphan blob delete failed'));
      }
      if (claimId) {
        const claim = claimId;
        await this.idempotency
          .release(ctx.em, claim)
          .catch((e) => ctx.log.error({ err: e, claimId: claim }, 'idempotency claim not released'));
      }
      await this.recordFailure(ctx, partner.id, requestId, toDomainError(error).code);
      throw error;
    }
  }

  async approve(
    ctx: ServiceContext,
    clientId: unknown,
    id: unknown,
    input: ReviewInput = {},
  ): Promise<ProcessRequestView> {
    return this.decide(ctx, clientId, id, ProcessRequestStatus.APPROVED, input);
  }

  async reject(
    ctx: ServiceContext,
    clientId: unknown,
    id: unknown,
    input: ReviewInput = {},
  ): Promise<ProcessRequestView> {
    return this.decide(ctx, clientId, id, ProcessRequestStatus.REJECTED, input);
  }

  async cancel(
    ctx: ServiceContext,
    clientId: unknown,
    id: unknown,
    input: ReviewInput = {},
  ): Promise<ProcessRequestView> {
    return this.decide(ctx, clientId, id, ProcessRequestStatus.CANCELLED, input);
  }

  /**
   * Moves a PENDING request to its outcome. The rules are read first for clear errors; the
   * conditional UPDATE (… where status = 'PENDING') is what makes exactly one concurrent caller win.
   */
  private async decide(
    ctx: ServiceContext,
    clientId: unknown,
    id: unknown,
    outcome: Outcome,
    input: ReviewInput,
  ): Promise<ProcessRequestView> {
    const cancelling = outcome === ProcessRequestStatus.CANCELLED;
    const { partner } = await requirePartner(ctx, clientId, cancelling ? 'read' : 'review');
    const requestId = assertUuid(id, 'id');
    const reason = optionalText(input.reason, 'reason', MAX_REASON_LENGTH);
    const current = await ctx.em.findOne(ProcessRequest, { id: requestId, clientId: partner.id });
    if (!current) throw new DomainError('NOT_FOUND', 'Process request not found');
    const self = current.createdBy === ctx.operator.id;
    if (cancelling) {
      if (!can(ctx.operator, 'cancel-any') && !(self && can(ctx.operator, 'cancel-own'))) {
        throw new DomainError('FORBIDDEN', 'Only the creator (MAKER) or an ADMIN can cancel a request');
      }
    } else if (self) {
      throw new DomainError('SELF_REVIEW_FORBIDDEN');
    }
    if (current.status !== ProcessRequestStatus.PENDING) throw new DomainError('PROCESS_REQUEST_NOT_PENDING');
    // Approval moves money: elevated like create (SPEC section 6). The UPDATE below still decides any race.
    if (outcome === ProcessRequestStatus.APPROVED) await this.otp.verify(ctx, input.otp);

    const updated = await ctx.em.transactional(async (em) => {
      const actorColumns = cancelling
        ? 'cancelled_by = ?, cancelled_at = now()'
        : 'reviewed_by = ?, reviewed_at = now()';
      const rows = await em.execute<Record<string, unknown>[]>(
        `update process_request set status = ?, ${actorColumns}, review_reason = ?, updated_at = now()
         where id = ? and client_id = ? and status = 'PENDING' ${cancelling ? '' : 'and created_by <> ?'}
         returning *`,
        [outcome, ctx.operator.id, reason, requestId, partner.id, ...(cancelling ? [] : [ctx.operator.id])],
      );
      if (rows.length === 0) throw new DomainError('PROCESS_REQUEST_NOT_PENDING');
      const pr = em.map(ProcessRequest, rows[0]);
      const data: Record<string, string> = {};
      if (reason) data.reason = reason;
      if (outcome === ProcessRequestStatus.APPROVED) data.available = await this.credit(em, pr);
      await recordEvent(em, {
        processRequestId: pr.id,
        clientId: partner.id,
        type: OUTCOME_EVENT[outcome],
        actorId: ctx.operator.id,
        fromStatus: ProcessRequestStatus.PENDING,
        toStatus: outcome,
        data,
      });
      return pr;
    });
    this.onTransition(OUTCOME_EVENT[outcome]);
    ctx.log.info(
      { processRequestId: requestId, clientId: partner.id, status: outcome },
      'process request decided',
    );
    return toProcessRequestView(updated);
  }

  /** Adds the amount to the balance in SQL and writes its ledger entry; returns the balance after. */
  private async credit(em: EntityManager, pr: ProcessRequest): Promise<string> {
    const [balance] = await em.execute<{ available: string }[]>(
      `update client_balance set available = available + ?::numeric, updated_at = now() where id = ? returning available`,
      [pr.requestedAmount, pr.clientBalanceId],
    );
    await em.execute(
      `insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after) values (?, ?, ?, ?::numeric, ?::numeric)`,
      [randomUUID(), pr.clientBalanceId, pr.id, pr.requestedAmount, balance.available],
    );
    return balance.available;
  }

  /** Upload progress: a handful of EVIDENCE_UPLOADING events per file (every 25%), never one per chunk. */
  private uploadProgress(ctx: ServiceContext, clientId: string, requestId: string, expectedBytes?: number) {
    let lastPercent = 0;
    return (bytes: number) => {
      if (!expectedBytes || expectedBytes <= 0) return;
      const percent = Math.min(99, Math.floor((bytes / expectedBytes) * 100));
      if (percent - lastPercent < 25) return;
      lastPercent = percent;
      const message = toProgressMessage({
        id: null,
        clientId,
        processRequestId: requestId,
        type: ProgressEventType.EVIDENCE_UPLOADING,
        actorId: ctx.operator.id,
        status: null,
        percent,
        at: new Date(),
      });
      announce(ctx.em, message).catch((e) => ctx.log.warn({ err: e }, 'upload progress not announced'));
    };
  }

  private async recordFailure(
    ctx: ServiceContext,
    clientId: string,
    requestId: string,
    code: string,
  ): Promise<void> {
    try {
      await ctx.em.transactional((em) =>
        recordEvent(em, {
          processRequestId: requestId,
          clientId,
          type: ProgressEventType.FAILED,
          actorId: ctx.operator.id,
          data: { code },
        }),
      );
      this.onTransition(ProgressEventType.FAILED);
    } catch (e) {
      ctx.log.warn({ err: e, processRequestId: requestId }, 'FAILED event not recorded');
    }
  }
}
