// The commands on a process request: create (with its evidence), approve, reject, cancel.
import { randomUUID } from 'node:crypto';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { ProcessRequest, ProcessRequestStatus } from '../entities/process-request.entity';
import {
  BALANCE_INCREASE_PROCESS_TYPE_ID,
  BALANCE_REVERSAL_PROCESS_TYPE_ID,
} from '../entities/process-type.entity';
import type { EvidenceStore } from '../storage/evidence-store';
import { keptWrite, refusal, requirePartner, useStoredOperator, type PartnerAccess } from '../domain/access';
import type { ServiceContext } from '../domain/context';
import { decide, type Decided, type Outcome, requestOf } from './decision';
import { DomainError, toDomainError } from '../domain/errors';
import { violatedConstraint } from '../infra/failures';
import { EvidenceUpload, type IncomingEvidence, type StagedEvidence } from './evidence.service';
import { createRequestHash, encodeView, IdempotencyService } from './idempotency.service';
import {
  bulkItem,
  id as idInput,
  parseInput,
  type BulkDecisionInput,
  type CreateFields,
  type DecisionInput,
  type ReversalInput,
} from '../shapes/inputs';
import { assertCurrencyScale } from '../domain/money';
import type { OtpService } from './identity/otp.service';
import { eventOfRow, recordEvent, recordEvents, type RecordedListener } from '../sql/progress';
import { filingTerms, policyOf } from './approval-policy.service';
import { insertReversal } from '../sql/reversal';
import { duplicatesOf } from './process-request-query.service';
import { uploadProgress, type UploadProgress } from './upload-progress';
import type { UploadIntents } from '../runtime/upload-intents';
import { type ProcessRequestView, toProcessRequestView } from '../shapes/views';
import { pgDate } from '../sql/request-rows';
import {
  CREATED,
  CREATED_CONSTANTS,
  createdRow,
  FILING,
  type CreatedParam,
  type CreatedResult,
  type FilingParam,
  type FilingRow,
} from '../sql/create-sql';
import type { HeldTransaction } from '../sql/held-transaction';
import { run } from '../sql/statement';

/**
 * Lets a door feed a create in its own transport order: it calls `stage` once with the evidence
 * file when the file arrives, and resolves with the parsed text fields when the body is complete.
 */
export type ReceiveCreate = (stage: (file: IncomingEvidence) => Promise<void>) => Promise<CreateFields>;

/** Which requests may be reversed (SPEC section 13): approved top-ups. One parameter: the top-up type id. */
const REVERSIBLE = `status = 'APPROVED' and process_type_id = ?`;

/** The index that allows one PENDING or APPROVED reversal per original. */
const LIVE_REVERSAL_INDEX = 'process_request_live_reversal_unique';

/** One item of a bulk decision: its single call's status (204 when decided) and code, in the order given. */
export interface BulkResult {
  id: string;
  statusCode: number;
  code?: string;
  message?: string;
  request?: ProcessRequestView;
}

export interface CreateOptions {
  /** Bytes the whole body is expected to hold (Content-Length), for upload progress. */
  expectedBytes?: number;
  /** Idempotency-Key header / idempotencyKey argument, parsed. */
  idempotencyKey?: string;
}

/** A create under way: what `begin` set up, for the steps after it. */
interface Attempt extends PartnerAccess {
  id: string;
  /** The answer already stored under the idempotency key, if any. */
  answered: Awaited<ReturnType<IdempotencyService['findCompleted']>>;
  progress: UploadProgress;
  upload: EvidenceUpload;
}

/** What `stage` leaves: the first answer to replay, or the fields and the staged file (and the key's claim). */
type Staged =
  { replay: ProcessRequestView } | { fields: CreateFields; evidence: StagedEvidence; claimId?: string };

export class ProcessRequestService {
  constructor(
    private readonly store: EvidenceStore,
    private readonly otp: OtpService,
    private readonly idempotency: IdempotencyService,
    private readonly intents: UploadIntents,
    /** Told of the events each change stored, once committed (metrics, the progress bus). */
    private readonly recorded: RecordedListener = () => undefined,
  ) {}

  /**
   * Files a request: the evidence is staged while it arrives, the fields are checked, the idempotency
   * key claimed, the OTP checked, and then the row, the blob and the CREATED event become real together.
   * A crash between the blob's commit and the transaction's leaves an upload intent behind, from which the
   * reconciler deletes the blob (src/runtime/upload-intents.ts).
   */
  async create(
    ctx: ServiceContext,
    partnerId: string,
    receive: ReceiveCreate,
    options: CreateOptions = {},
  ): Promise<ProcessRequestView> {
    const attempt = await this.begin(ctx, partnerId, options);
    const staged = await this.stage(ctx, attempt, receive, options.idempotencyKey).catch((error: unknown) =>
      this.abort(ctx, attempt, undefined, error),
    );
    if ('replay' in staged) return staged.replay;
    return this.finish(ctx, attempt, staged).catch((error: unknown) =>
      this.abort(ctx, attempt, staged.claimId, error),
    );
  }

  /** A create's first step: the partner in scope, a new id, and the upload ready to stage the file. */
  private async begin(ctx: ServiceContext, partnerId: string, options: CreateOptions): Promise<Attempt> {
    const { partner, balance } = await this.scopeOfCreate(ctx, partnerId, options);
    const key = options.idempotencyKey;
    // A key already answered: the file is still read (to compare its hash) but nothing is uploaded.
    const answered = key ? await this.idempotency.findCompleted(ctx.em, ctx.operator.id, key) : undefined;
    const id = randomUUID();
    const progress = uploadProgress(ctx, partner.id, id, options.expectedBytes);
    const upload = new EvidenceUpload(
      this.store,
      this.intents,
      id,
      `${partner.id}/${id}`,
      progress.report,
      !answered,
    );
    return { id, partner, balance, answered, progress, upload };
  }

  /**
   * The partner a create files for, in the operator's scope. A create may be judged with the operator row
   * this process kept (ctx.kept): FILING then records nothing unless the row still has the kept version
   * (see finish), and a refusal the kept row gives is judged again with the stored row. An idempotent
   * create (a replay answers without FILING) and an operator who gives an OTP (a code is checked once)
   * act with the stored row from the start.
   */
  private async scopeOfCreate(ctx: ServiceContext, partnerId: string, options: CreateOptions) {
    if (options.idempotencyKey || ctx.operator.otpRequired) await useStoredOperator(ctx);
    try {
      return await requirePartner(ctx, partnerId, 'create');
    } catch (error) {
      if (!ctx.kept || !(error instanceof DomainError) || error.status >= 500) throw error;
    }
    await useStoredOperator(ctx);
    return requirePartner(ctx, partnerId, 'create');
  }

  /**
   * Receives the body (the file staged as it arrives), checks the amount against the currency and claims
   * the idempotency key: either the first answer to replay, or what `finish` needs.
   */
  private async stage(
    ctx: ServiceContext,
    { partner, balance, answered, upload }: Attempt,
    receive: ReceiveCreate,
    key: string | undefined,
  ): Promise<Staged> {
    const fields = await receive((file) => upload.receive(file));
    const evidence = upload.evidence;
    assertCurrencyScale(fields.requestedAmount, balance.currency);
    if (!key) return { fields, evidence };
    const hash = createRequestHash(partner.id, fields, evidence.sha256);
    // The same request again: the first answer, with no OTP (no new action is taken) and no new blob.
    const claim = await this.idempotency.claim(ctx.em, ctx.operator.id, key, hash, answered);
    if (claim.kind === 'replay') {
      ctx.log.info({ processRequestId: claim.view.id, partnerId: partner.id }, 'idempotent create replayed');
      return { replay: claim.view };
    }
    return { fields, evidence, claimId: claim.claimId };
  }

  /**
   * Checks the OTP; records the upload intent while reading the policy and the clock (FILING, one
   * statement); then, in one transaction, reads the duplicate receipts under the partner's lock on this file,
   * writes the blob, and the row with the key's answer and CREATED.
   */
  private async finish(
    ctx: ServiceContext,
    attempt: Attempt,
    { fields, evidence, claimId }: Exclude<Staged, { replay: ProcessRequestView }>,
  ): Promise<ProcessRequestView> {
    const { id, partner, upload } = attempt;
    // Checked before anything is stored: the staged file stays invisible unless the code is good.
    await this.otp.verify(ctx, fields.otp);
    const filing = await this.file(ctx, attempt, fields);
    const pr = this.newRequest(ctx, attempt, fields, evidence, filing);
    // The transaction opens with the intent's delete; if the blob cannot be written (or its intent was
    // reclaimed), it is rolled back and no row is written either.
    const { tx, duplicates } = await upload.settle(ctx.em, partner.id);
    let view: ProcessRequestView;
    let created: CreatedResult;
    try {
      // A reused receipt (SPEC section 18): known only now the file is read, and read under the partner's
      // lock on this file, so a create of the same file still under way is waited for and then counted.
      // Refused before the blob is written when the policy says so (the rollback puts the intent back, and
      // the caller's abort drops it).
      if (duplicates.length > 0 && filing.refuse_duplicate_evidence)
        throw new DomainError('DUPLICATE_EVIDENCE', undefined, { duplicateEvidence: duplicates });
      view = toProcessRequestView(pr, [], duplicates);
      await upload.commit(tx);
      created = await this.insertCreated(tx, pr, view, claimId);
    } finally {
      await tx.rollback(); // nothing once committed
    }
    const event = eventOfRow(created);
    upload.done();
    this.recorded([event]);
    ctx.log.info(
      { processRequestId: id, partnerId: partner.id, amount: fields.requestedAmount, size: evidence.size },
      'process request created',
    );
    return view;
  }

  /**
   * Records the upload intent and reads the policy and the clock (FILING), while the upload progress still
   * going out goes (it has all gone before CREATED can be sent). Judged again with the stored operator row
   * when the kept one changed (FILING then recorded nothing).
   */
  private async file(
    ctx: ServiceContext,
    { partner, progress, upload }: Attempt,
    fields: CreateFields,
  ): Promise<FilingRow> {
    const file = async () => {
      const [row] = await upload.announce((intent) =>
        run<FilingRow, FilingParam>(ctx.em, FILING, {
          ...intent,
          partnerId: partner.id,
          operatorId: ctx.operator.id,
          operatorVersion: ctx.kept?.version ?? null,
        }),
      );
      return row;
    };
    const [filing] = await Promise.all([file(), progress.end()]);
    if (filing.operator_current) return filing;
    await useStoredOperator(ctx);
    const refused = refusal(ctx.operator, partner.id, 'create');
    if (refused) throw refused;
    await this.otp.verify(ctx, fields.otp);
    return file();
  }

  /** The request a create files, bound to the policy and the clock FILING read. */
  private newRequest(
    ctx: ServiceContext,
    { id, partner, balance }: Attempt,
    fields: CreateFields,
    evidence: StagedEvidence,
    filing: FilingRow,
  ): ProcessRequest {
    const policy = { tiers: filing.tiers, pendingTtlSeconds: filing.pending_ttl_seconds };
    return Object.assign(new ProcessRequest(), {
      ...filingTerms(policy, fields.requestedAmount, pgDate(filing.now)),
      id,
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
  }

  /**
   * CREATED in the create's transaction, after the blob: with COMMIT in the same round trip, or, with an
   * idempotency key, on its own and committed only if the key's claim was completed.
   */
  private async insertCreated(
    tx: HeldTransaction,
    pr: ProcessRequest,
    view: ProcessRequestView,
    claimId: string | undefined,
  ): Promise<CreatedResult> {
    const values = {
      ...createdRow(pr),
      claimId: claimId ?? null,
      answer: claimId ? encodeView(view) : null,
      ...CREATED_CONSTANTS,
    };
    // Nothing to check after it: the row goes with the COMMIT, one round trip.
    if (!claimId) return (await tx.commitWith<CreatedResult, CreatedParam>(CREATED, values))[0];
    const [created] = await tx.run<CreatedResult, CreatedParam>(CREATED, values);
    // The key's claim was taken over (this attempt looked stale or gone): let that one win, create nothing.
    if (Number(created.completed) === 0) throw new DomainError('IDEMPOTENCY_IN_PROGRESS');
    await tx.commit();
    return created;
  }

  /** A create that failed: the staged blob dropped, the key released, FAILED recorded; the error rethrown. */
  private async abort(
    ctx: ServiceContext,
    { id, partner, progress, upload }: Attempt,
    claimId: string | undefined,
    error: unknown,
  ): Promise<never> {
    await upload.abort(ctx.log);
    if (claimId) {
      await this.idempotency
        .release(ctx.em, claimId)
        .catch((e) => ctx.log.error({ err: e, claimId }, 'idempotency claim not released'));
    }
    await progress.end();
    await this.recordFailure(ctx, partner.id, id, toDomainError(error).code);
    throw error;
  }

  async approve(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    input: DecisionInput,
  ): Promise<ProcessRequestView> {
    return this.viewOf(ctx, await this.decide(ctx, partnerId, id, ProcessRequestStatus.APPROVED, input));
  }

  async reject(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    input: DecisionInput,
  ): Promise<ProcessRequestView> {
    return this.viewOf(ctx, await this.decide(ctx, partnerId, id, ProcessRequestStatus.REJECTED, input));
  }

  async cancel(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    input: DecisionInput,
  ): Promise<ProcessRequestView> {
    return this.viewOf(ctx, await this.decide(ctx, partnerId, id, ProcessRequestStatus.CANCELLED, input));
  }

  /**
   * The same decision for a door that answers nothing but its status (REST's 204): the request's view, and
   * the duplicate-receipt lookup it takes, are not built.
   */
  async settle(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    outcome: Outcome,
    input: DecisionInput,
  ): Promise<void> {
    await this.decide(ctx, partnerId, id, outcome, input);
  }

  /**
   * Approves or rejects up to 100 requests of one partner, each judged exactly as its single call would
   * be, in the order given. The partner, the role and one OTP check cover the batch; each item is its own
   * transaction, so one refusal does not undo the others.
   */
  async decideMany(
    ctx: ServiceContext,
    partnerId: string,
    outcome: ProcessRequestStatus.APPROVED | ProcessRequestStatus.REJECTED,
    input: BulkDecisionInput,
  ): Promise<BulkResult[]> {
    const { partner, balance } = await requirePartner(ctx, partnerId, 'review');
    if (outcome === ProcessRequestStatus.APPROVED) await this.otp.verify(ctx, input.otp);
    const results: BulkResult[] = [];
    // Items (SPEC section 18) carry each request's re-keyed amount; plain ids carry none.
    const items = input.items ?? (input.ids ?? []).map((id) => ({ id, confirmAmount: null }));
    for (const item of items) {
      const raw = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : item;
      const label =
        typeof raw === 'string' || typeof raw === 'number'
          ? String(raw)
          : (JSON.stringify(raw) ?? String(raw));
      try {
        const { id, confirmAmount } = parseInput(bulkItem, item, 'items');
        const choice = { reason: input.reason, confirmAmount: confirmAmount ?? null };
        const view = await this.viewOf(
          ctx,
          await this.decideAs(
            ctx,
            partner.id,
            balance.currency,
            parseInput(idInput, id, 'id'),
            outcome,
            choice,
          ),
        );
        results.push({ id: label, statusCode: 204, request: view });
      } catch (error) {
        // An item that failed (even with a 5xx: its transaction was rolled back) is that item's result; the
        // items already decided stay reported, and the rest are still judged.
        const refusal = toDomainError(error);
        if (refusal.status >= 500) ctx.log.error({ err: error, processRequestId: label }, 'bulk item failed');
        results.push({ id: label, statusCode: refusal.status, code: refusal.code, message: refusal.message });
      }
    }
    return results;
  }

  /**
   * Files the reversal of an APPROVED top-up (SPEC section 13): a new request of type 2 for the same
   * amount, with no evidence, under the partner's current policy. The INSERT itself checks that the
   * original is an APPROVED top-up; the one-live-reversal index refuses a second one, whatever races.
   */
  async reverse(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    input: ReversalInput,
  ): Promise<ProcessRequestView> {
    const { partner } = await requirePartner(ctx, partnerId, 'create');
    const [original] = await ctx.em.execute<
      { requested_amount: string; reversible: boolean; reversal_exists: boolean }[]
    >(
      `select requested_amount, (${REVERSIBLE}) as reversible,
              exists (select 1 from process_request r where r.reversal_of = process_request.id
                        and r.status in ('PENDING', 'APPROVED')) as reversal_exists
         from process_request where id = ? and client_id = ?`,
      [BALANCE_INCREASE_PROCESS_TYPE_ID, id, partner.id],
    );
    if (!original) throw new DomainError('NOT_FOUND', 'Process request not found');
    // Refused before the OTP check, so it costs no attempt (as a decision's refusals); the INSERT below
    // checks again, atomically, and the one-live-reversal index decides a race.
    if (!original.reversible) throw new DomainError('PROCESS_REQUEST_NOT_APPROVED');
    if (original.reversal_exists) throw new DomainError('REVERSAL_EXISTS');
    await this.otp.verify(ctx, input.otp);
    const terms = await this.termsOf(ctx, partner.id, original.requested_amount);
    const reversalId = randomUUID();
    const created = await ctx.em
      .transactional(async (em) => {
        const insert = insertReversal(
          {
            id: reversalId,
            processTypeId: BALANCE_REVERSAL_PROCESS_TYPE_ID,
            createdBy: ctx.operator.id,
            requiredApprovals: terms.requiredApprovals,
            createdAt: terms.createdAt,
            expiresAt: terms.expiresAt,
          },
          input,
          `${REVERSIBLE} and id = ? and client_id = ?`,
          [BALANCE_INCREASE_PROCESS_TYPE_ID, id, partner.id],
        );
        const rows = await em.execute<Record<string, unknown>[]>(insert.sql, insert.params);
        if (rows.length === 0) throw new DomainError('PROCESS_REQUEST_NOT_APPROVED');
        const reversal = em.map(ProcessRequest, rows[0]);
        const [event] = await recordEvents(em, [
          {
            processRequestId: reversalId,
            partnerId: partner.id,
            type: ProgressEventType.CREATED,
            actorId: ctx.operator.id,
            toStatus: ProcessRequestStatus.PENDING,
            data: { reason: input.reason, reversalId: id },
          },
        ]);
        return { reversal, event };
      })
      .catch((error: unknown) => {
        if (violatedConstraint(error) === LIVE_REVERSAL_INDEX) throw new DomainError('REVERSAL_EXISTS');
        throw error;
      });
    this.recorded([created.event]);
    ctx.log.info({ processRequestId: reversalId, reversalOf: id, partnerId: partner.id }, 'reversal filed');
    return toProcessRequestView(created.reversal);
  }

  /**
   * A decision may be judged with the operator row this process kept (REST's single decisions): the
   * decision's statement checks that row's version, and anything refused or changed is judged again with
   * the stored row (keptWrite). A step-up reads the stored row first: an OTP code is checked only once.
   */
  private async decide(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    outcome: Outcome,
    input: DecisionInput,
  ): Promise<Decided> {
    if (outcome === ProcessRequestStatus.APPROVED && ctx.operator.otpRequired) await useStoredOperator(ctx);
    return keptWrite(ctx, (ctx) => this.decideOnce(ctx, partnerId, id, outcome, input));
  }

  private async decideOnce(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    outcome: Outcome,
    input: DecisionInput,
  ): Promise<Decided> {
    const permission = outcome === ProcessRequestStatus.CANCELLED ? 'read' : 'review';
    const { partner, balance } = await requirePartner(ctx, partnerId, permission);
    // Approval moves money: elevated like create (SPEC section 6).
    const elevate =
      outcome === ProcessRequestStatus.APPROVED && ctx.operator.otpRequired
        ? () => this.otp.verify(ctx, input.otp)
        : undefined;
    return this.decideAs(ctx, partner.id, balance.currency, id, outcome, input, elevate);
  }

  private async decideAs(
    ctx: ServiceContext,
    partnerId: string,
    currency: string,
    id: string,
    outcome: Outcome,
    { reason, confirmAmount }: { reason: string | null; confirmAmount: string | null },
    elevate?: () => Promise<void>,
  ): Promise<Decided> {
    const limit = ctx.operator.approvalLimits?.[currency] ?? null;
    const dailyLimit = ctx.operator.dailyApprovalLimits?.[currency] ?? null;
    const decided = await decide(ctx, {
      partnerId,
      id,
      outcome,
      reason,
      limit,
      currency,
      dailyLimit,
      confirmAmount: outcome === ProcessRequestStatus.APPROVED ? confirmAmount : null,
      elevate,
      recorded: this.recorded,
    });
    ctx.log.info(
      {
        processRequestId: id,
        partnerId,
        events: decided.events.map((e) => e.type),
        status: decided.row.status,
      },
      'process request decided',
    );
    return decided;
  }

  /** A decided request's view, for a door that answers it (REST's 204 does not: see settle). */
  private async viewOf(ctx: ServiceContext, decided: Decided): Promise<ProcessRequestView> {
    const request = requestOf(ctx.em, decided);
    const duplicates = await duplicatesOf(ctx.em, [request]);
    return toProcessRequestView(request, decided.approvals, duplicates.get(request.id));
  }

  /**
   * What a new request is bound to by its partner's policy in force: the approvals it needs, its deadline,
   * both times taken from the database's clock.
   */
  private async termsOf(ctx: ServiceContext, partnerId: string, amount: string) {
    const policy = await policyOf(ctx.em, partnerId);
    // The database's clock, as the expiry sweep reads it: a process whose clock runs behind or ahead must
    // not file a request already expired, or one that outlives its deadline.
    const [{ now }] = await ctx.em.execute<Array<{ now: string | Date }>>('select clock_timestamp() as now');
    return filingTerms(policy, amount, pgDate(now));
  }

  private async recordFailure(
    ctx: ServiceContext,
    partnerId: string,
    processRequestId: string,
    code: string,
  ): Promise<void> {
    try {
      const failed = await ctx.em.transactional((em) =>
        recordEvent(em, {
          processRequestId,
          partnerId,
          type: ProgressEventType.FAILED,
          actorId: ctx.operator.id,
          data: { code },
        }),
      );
      this.recorded([failed]);
    } catch (e) {
      ctx.log.warn({ err: e, processRequestId }, 'FAILED event not recorded');
    }
  }
}
