// The commands on a process request: create (with its evidence), approve, reject, cancel.
import { randomUUID } from 'node:crypto';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { ProcessRequest, ProcessRequestStatus } from '../entities/process-request.entity';
import { BALANCE_INCREASE_PROCESS_TYPE_ID } from '../entities/process-type.entity';
import type { EvidenceStore } from '../storage/evidence-store';
import { requirePartner } from './access';
import type { ServiceContext } from './context';
import { decide, type Outcome } from './decision';
import { toDomainError } from './errors';
import { EvidenceUpload, type IncomingEvidence } from './evidence.service';
import { createRequestHash, IdempotencyService } from './idempotency.service';
import type { CreateFields, DecisionInput } from './inputs';
import { assertCurrencyScale } from './money';
import type { OtpService } from './otp.service';
import { announce, recordEvent, type TransitionListener } from './progress';
import type { UploadIntents } from './upload-intents';
import { type ProcessRequestView, toProcessRequestView } from './views';

/**
 * Lets a door feed a create in its own transport order: it calls `stage` once with the evidence
 * file when the file arrives, and resolves with the parsed text fields when the body is complete.
 */
export type ReceiveCreate = (stage: (file: IncomingEvidence) => Promise<void>) => Promise<CreateFields>;

export interface CreateOptions {
  /** Bytes the whole body is expected to hold (Content-Length), for upload progress. */
  expectedBytes?: number;
  /** Idempotency-Key header / idempotencyKey argument, parsed. */
  idempotencyKey?: string;
}

export class ProcessRequestService {
  constructor(
    private readonly store: EvidenceStore,
    private readonly otp: OtpService,
    private readonly idempotency: IdempotencyService,
    private readonly intents: UploadIntents,
    private readonly onTransition: TransitionListener = () => undefined,
  ) {}

  /**
   * Files a request: the evidence is staged while it arrives, the fields are checked, the idempotency
   * key claimed, the OTP checked, and then the row, the blob and the CREATED event become real together.
   * A crash between the blob's commit and the transaction's leaves an upload intent behind, from which the
   * reconciler deletes the blob (src/services/upload-intents.ts).
   */
  async create(
    ctx: ServiceContext,
    partnerId: string,
    receive: ReceiveCreate,
    options: CreateOptions = {},
  ): Promise<ProcessRequestView> {
    const { partner, balance } = await requirePartner(ctx, partnerId, 'create');
    const key = options.idempotencyKey;
    // A key already answered: the file is still read (to compare its hash) but nothing is uploaded.
    const answered = key ? await this.idempotency.findCompleted(ctx.em, ctx.operator.id, key) : undefined;
    const processRequestId = randomUUID();
    const progress = this.uploadProgress(ctx, partner.id, processRequestId, options.expectedBytes);
    const upload = new EvidenceUpload(
      this.store,
      this.intents,
      processRequestId,
      `${partner.id}/${processRequestId}`,
      progress,
      !answered,
    );
    let claimId: string | undefined;
    try {
      const fields = await receive((file) => upload.receive(file));
      const evidence = upload.evidence;
      assertCurrencyScale(fields.requestedAmount, balance.currency);
      if (key) {
        const hash = createRequestHash(
          partner.id,
          fields.requestedAmount,
          fields.observations,
          evidence.sha256,
        );
        // The same request again: the first answer, with no OTP (no new action is taken) and no new blob.
        const claim = await this.idempotency.claim(ctx.em, ctx.operator.id, key, hash, answered);
        if (claim.kind === 'replay') {
          ctx.log.info(
            { processRequestId: claim.view.id, partnerId: partner.id },
            'idempotent create replayed',
          );
          return claim.view;
        }
        claimId = claim.claimId;
      }
      // Checked before anything is stored: the staged blocks stay invisible unless the code is good.
      await this.otp.verify(ctx, fields.otp);

      await upload.announce(ctx.em);
      const view = await ctx.em.transactional(async (em) => {
        // First: if the blob cannot be committed (or its intent was reclaimed), no row is written either.
        await upload.commit(em);
        const pr = em.create(ProcessRequest, {
          id: processRequestId,
          processTypeId: BALANCE_INCREASE_PROCESS_TYPE_ID,
          clientBalanceId: balance.id,
          partnerId: partner.id,
          requestedAmount: fields.requestedAmount,
          currency: balance.currency,
          observations: fields.observations,
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
        const created = toProcessRequestView(pr);
        if (claimId) await this.idempotency.complete(em, claimId, 201, created);
        await recordEvent(em, {
          processRequestId,
          partnerId: partner.id,
          type: ProgressEventType.CREATED,
          actorId: ctx.operator.id,
          toStatus: ProcessRequestStatus.PENDING,
        });
        return created;
      });
      upload.done();
      this.onTransition(ProgressEventType.CREATED);
      ctx.log.info(
        { processRequestId, partnerId: partner.id, amount: fields.requestedAmount, size: evidence.size },
        'process request created',
      );
      return view;
    } catch (error) {
      await upload.abort(ctx.log);
      if (claimId) {
        const claim = claimId;
        await this.idempotency
          .release(ctx.em, claim)
          .catch((e) => ctx.log.error({ err: e, claimId: claim }, 'idempotency claim not released'));
      }
      await this.recordFailure(ctx, partner.id, processRequestId, toDomainError(error).code);
      throw error;
    }
  }

  approve(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    input: DecisionInput,
  ): Promise<ProcessRequestView> {
    return this.decide(ctx, partnerId, id, ProcessRequestStatus.APPROVED, input);
  }

  reject(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    input: DecisionInput,
  ): Promise<ProcessRequestView> {
    return this.decide(ctx, partnerId, id, ProcessRequestStatus.REJECTED, input);
  }

  cancel(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    input: DecisionInput,
  ): Promise<ProcessRequestView> {
    return this.decide(ctx, partnerId, id, ProcessRequestStatus.CANCELLED, input);
  }

  private async decide(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    outcome: Outcome,
    input: DecisionInput,
  ): Promise<ProcessRequestView> {
    const { partner } = await requirePartner(
      ctx,
      partnerId,
      outcome === ProcessRequestStatus.CANCELLED ? 'read' : 'review',
    );
    // Approval moves money: elevated like create (SPEC section 6).
    const elevate =
      outcome === ProcessRequestStatus.APPROVED && ctx.operator.otpRequired
        ? () => this.otp.verify(ctx, input.otp)
        : undefined;
    const decided = await decide(ctx, { partnerId: partner.id, id, outcome, reason: input.reason, elevate });
    this.onTransition(decided.event.type);
    ctx.log.info({ processRequestId: id, partnerId: partner.id, status: outcome }, 'process request decided');
    return toProcessRequestView(decided.request);
  }

  /** Upload progress: a handful of EVIDENCE_UPLOADING events per file (every 25%), never one per chunk. */
  private uploadProgress(
    ctx: ServiceContext,
    partnerId: string,
    processRequestId: string,
    expectedBytes?: number,
  ) {
    let lastPercent = 0;
    return (bytes: number) => {
      if (!expectedBytes || expectedBytes <= 0) return;
      const percent = Math.min(99, Math.floor((bytes / expectedBytes) * 100));
      if (percent - lastPercent < 25) return;
      lastPercent = percent;
      const event = {
        id: null,
        partnerId,
        processRequestId,
        type: ProgressEventType.EVIDENCE_UPLOADING,
        actorId: ctx.operator.id,
        fromStatus: null,
        toStatus: null,
        data: { percent },
        at: new Date().toISOString(),
      };
      announce(ctx.em, event).catch((e) => ctx.log.warn({ err: e }, 'upload progress not announced'));
    };
  }

  private async recordFailure(
    ctx: ServiceContext,
    partnerId: string,
    processRequestId: string,
    code: string,
  ): Promise<void> {
    try {
      await ctx.em.transactional((em) =>
        recordEvent(em, {
          processRequestId,
          partnerId,
          type: ProgressEventType.FAILED,
          actorId: ctx.operator.id,
          data: { code },
        }),
      );
      this.onTransition(ProgressEventType.FAILED);
    } catch (e) {
      ctx.log.warn({ err: e, processRequestId }, 'FAILED event not recorded');
    }
  }
}
