import type { FileUpload } from 'graphql-upload-minimal';
import { GraphQLUpload } from 'graphql-upload-minimal';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { ProcessRequestStatus } from '../entities/process-request.entity';
import {
  bulkDecisionInput,
  reversalInput,
  createFields,
  decisionInput,
  id as idInput,
  idempotencyKey as idempotencyKeyInput,
  inboxQuery,
  listFilters,
  parseInput,
} from '../shapes/inputs';
import type { Page } from '../services/process-request-query.service';
import type { HistoryEntryView, ProcessRequestView } from '../shapes/views';
import type { GraphQLContext } from '../graphql/context';
import { ApprovalItemInput, DecisionResultType } from './types/approval.type';
import { CreateProcessRequestInput } from './create-process-request.input';
import { fromUploadError } from '../graphql/errors';
import { DecimalScalar } from '../graphql/decimal.scalar';
import {
  EvidenceDownload,
  HistoryEntry,
  ProcessRequestPage,
  ProcessRequestType,
} from './types/process-request.type';

const partnerOf = (clientId: string) => parseInput(idInput, clientId, 'clientId');
const idOf = (id: string) => parseInput(idInput, id, 'id');
const decision = (reason?: string, otp?: string, confirmAmount?: string) =>
  parseInput(decisionInput, { reason, otp, confirmAmount });

@Resolver(() => ProcessRequestType)
export class ProcessRequestResolver {
  @Query(() => ProcessRequestPage, {
    description: 'Newest first unless oldestFirst; page >= 1, 1 <= limit <= 100',
  })
  processRequests(
    @Arg('clientId', () => ID) clientId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('page', () => Int, { nullable: true }) page?: number,
    @Arg('limit', () => Int, { nullable: true }) limit?: number,
    @Arg('status', () => [ProcessRequestStatus], { nullable: true }) status?: ProcessRequestStatus[],
    @Arg('from', () => String, { nullable: true, description: 'ISO date or date-time, inclusive' })
    from?: string,
    @Arg('to', () => String, { nullable: true, description: 'ISO date (whole day) or date-time, inclusive' })
    to?: string,
    @Arg('processTypeId', () => Int, { nullable: true, description: '1 = top-up, 2 = reversal' })
    processTypeId?: number,
    @Arg('decidableByMe', () => Boolean, {
      nullable: true,
      description:
        'Only what this operator may approve now: not their own, PENDING, not approved by them, within their limit',
    })
    decidableByMe?: boolean,
    @Arg('minAmount', () => DecimalScalar, { nullable: true, description: 'Inclusive' }) minAmount?: string,
    @Arg('maxAmount', () => DecimalScalar, { nullable: true, description: 'Inclusive' }) maxAmount?: string,
    @Arg('oldestFirst', () => Boolean, { nullable: true }) oldestFirst?: boolean,
  ): Promise<Page<ProcessRequestView>> {
    const query = parseInput(inboxQuery, {
      page,
      limit,
      status,
      from,
      to,
      processTypeId,
      decidableByMe,
      minAmount,
      maxAmount,
      oldestFirst,
    });
    // duplicateEvidence is read by its field resolver, only when asked for.
    return ctx.services.queries.page(ctx, partnerOf(clientId), query, { duplicates: false });
  }

  @Query(() => [ProcessRequestType], { description: 'Every request of the partner, newest first' })
  async allProcessRequests(
    @Arg('clientId', () => ID) clientId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('status', () => [ProcessRequestStatus], { nullable: true }) status?: ProcessRequestStatus[],
    @Arg('from', () => String, { nullable: true }) from?: string,
    @Arg('to', () => String, { nullable: true }) to?: string,
    @Arg('processTypeId', () => Int, { nullable: true }) processTypeId?: number,
  ): Promise<ProcessRequestView[]> {
    const items: ProcessRequestView[] = [];
    const filters = parseInput(listFilters, { status, from, to, processTypeId });
    for await (const item of await ctx.services.queries.stream(ctx, partnerOf(clientId), filters, {
      duplicates: false,
    }))
      items.push(item);
    return items;
  }

  @Query(() => ProcessRequestType)
  processRequest(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ProcessRequestView> {
    return ctx.services.queries.get(ctx, partnerOf(clientId), idOf(id), { duplicates: false });
  }

  @Query(() => EvidenceDownload, {
    description: 'A read-only link to the evidence, expiring after SAS_TTL_SECONDS',
  })
  evidenceDownloadUrl(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.queries.evidenceDownloadUrl(ctx, partnerOf(clientId), idOf(id));
  }

  @FieldResolver(() => [HistoryEntry], {
    description: 'Who did what, when: the stored events of this request',
  })
  history(@Root() pr: ProcessRequestView, @Ctx() ctx: GraphQLContext): Promise<HistoryEntryView[]> {
    // Batched: a page's items read their histories in one statement.
    return ctx.loaders.history.load({ id: pr.id, partnerId: pr.clientId });
  }

  // Declared on ProcessRequestType. Asked for or not, every request of a page would otherwise pay a
  // subquery; here the page's requests that ask read theirs in one statement.
  @FieldResolver()
  duplicateEvidence(@Root() pr: ProcessRequestView, @Ctx() ctx: GraphQLContext): Promise<string[]> {
    return ctx.loaders.duplicates.load({ id: pr.id, partnerId: pr.clientId });
  }

  @Mutation(() => ProcessRequestType, {
    description: 'Multipart upload (GraphQL multipart request spec); needs apollo-require-preflight',
  })
  createProcessRequest(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('input', () => CreateProcessRequestInput) input: CreateProcessRequestInput,
    @Arg('evidence', () => GraphQLUpload) evidence: Promise<FileUpload>,
    @Ctx() ctx: GraphQLContext,
    @Arg('idempotencyKey', () => String, {
      nullable: true,
      description:
        'Like the REST Idempotency-Key header: the same create repeated within 24 hours gets the first answer',
    })
    idempotencyKey?: string,
  ): Promise<ProcessRequestView> {
    return ctx.services.processRequests.create(
      ctx,
      partnerOf(clientId),
      async (stage) => {
        // type-graphql has already awaited the upload: a file that never came fails before the resolver
        // (formatError translates it). A body broken mid-file surfaces here, from the stream.
        const file = await evidence;
        try {
          await stage({ stream: file.createReadStream(), fileName: file.filename });
        } catch (e) {
          throw fromUploadError(e) ?? e;
        }
        return parseInput(createFields, input);
      },
      {
        expectedBytes: ctx.expectedBytes,
        idempotencyKey: parseInput(idempotencyKeyInput, idempotencyKey, 'idempotencyKey'),
      },
    );
  }

  @Mutation(() => ProcessRequestType)
  approveProcessRequest(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('reason', () => String, { nullable: true }) reason?: string,
    @Arg('otp', () => String, { nullable: true }) otp?: string,
    @Arg('confirmAmount', () => DecimalScalar, {
      nullable: true,
      description: "The request's amount re-keyed (SPEC section 18)",
    })
    confirmAmount?: string,
  ): Promise<ProcessRequestView> {
    return ctx.services.processRequests.approve(
      ctx,
      partnerOf(clientId),
      idOf(id),
      decision(reason, otp, confirmAmount),
    );
  }

  @Mutation(() => ProcessRequestType)
  rejectProcessRequest(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('reason', () => String, { nullable: true }) reason?: string,
    @Arg('otp', () => String, { nullable: true }) otp?: string,
  ): Promise<ProcessRequestView> {
    return ctx.services.processRequests.reject(ctx, partnerOf(clientId), idOf(id), decision(reason, otp));
  }

  @Mutation(() => ProcessRequestType)
  cancelProcessRequest(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('reason', () => String, { nullable: true }) reason?: string,
    @Arg('otp', () => String, { nullable: true }) otp?: string,
  ): Promise<ProcessRequestView> {
    return ctx.services.processRequests.cancel(ctx, partnerOf(clientId), idOf(id), decision(reason, otp));
  }

  @Mutation(() => ProcessRequestType, {
    description:
      'MAKER: files the reversal of an APPROVED top-up (processTypeId 2, same amount, no evidence)',
  })
  reverseProcessRequest(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('id', () => ID) id: string,
    @Arg('reason', () => String) reason: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('otp', () => String, { nullable: true }) otp?: string,
  ): Promise<ProcessRequestView> {
    const input = parseInput(reversalInput, { reason, otp });
    return ctx.services.processRequests.reverse(ctx, partnerOf(clientId), idOf(id), input);
  }

  @Mutation(() => [DecisionResultType], {
    description: 'Approves 1-100 requests, each judged as its single call would be; one OTP covers them',
  })
  approveProcessRequests(
    @Arg('clientId', () => ID) clientId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('ids', () => [ID], { nullable: true, description: 'Or items, with each amount re-keyed' })
    ids?: string[],
    @Arg('items', () => [ApprovalItemInput], { nullable: true }) items?: ApprovalItemInput[],
    @Arg('reason', () => String, { nullable: true }) reason?: string,
    @Arg('otp', () => String, { nullable: true }) otp?: string,
  ): Promise<DecisionResultType[]> {
    return decideMany(ctx, clientId, ProcessRequestStatus.APPROVED, { ids, items, reason, otp });
  }

  @Mutation(() => [DecisionResultType], {
    description: 'Rejects 1-100 requests, each judged as its single call would be',
  })
  rejectProcessRequests(
    @Arg('clientId', () => ID) clientId: string,
    @Arg('ids', () => [ID]) ids: string[],
    @Ctx() ctx: GraphQLContext,
    @Arg('reason', () => String, { nullable: true }) reason?: string,
    @Arg('otp', () => String, { nullable: true }) otp?: string,
  ): Promise<DecisionResultType[]> {
    return decideMany(ctx, clientId, ProcessRequestStatus.REJECTED, { ids, reason, otp });
  }
}

async function decideMany(
  ctx: GraphQLContext,
  clientId: string,
  outcome: ProcessRequestStatus.APPROVED | ProcessRequestStatus.REJECTED,
  args: { ids?: string[]; items?: ApprovalItemInput[]; reason?: string; otp?: string },
): Promise<DecisionResultType[]> {
  const partnerId = partnerOf(clientId);
  const input = parseInput(bulkDecisionInput, args);
  // Counted by its size among the operator's calls in flight (src/http/in-flight.ts).
  ctx.holdBulk?.((input.ids ?? input.items ?? []).length);
  const results = await ctx.services.processRequests.decideMany(ctx, partnerId, outcome, input);
  return results.map((r) => ({
    id: r.id,
    ok: r.statusCode < 300,
    code: r.code ?? null,
    message: r.message ?? null,
    request: (r.request as unknown as ProcessRequestType | undefined) ?? null,
  }));
}
