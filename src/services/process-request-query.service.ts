// Reading: balance, partners, paginated and streamed lists, one request with its history, evidence links.
import type { FilterQuery } from '@mikro-orm/core';
import { ClientBalance } from '../entities/client-balance.entity';
import { Partner } from '../entities/partner.entity';
import { ProcessRequest } from '../entities/process-request.entity';
import type { EvidenceStore, SignedUrl } from '../storage/evidence-store';
import { can, requireAccess, requirePartner } from './access';
import type { ServiceContext } from './context';
import { DomainError } from './errors';
import type { ListFilters, PageQuery } from './inputs';
import { EVENT_COLUMNS, eventOfRow, type EventRow } from './progress';
import {
  type BalanceView,
  type HistoryEntryView,
  type PartnerView,
  type ProcessRequestView,
  toBalanceView,
  toHistoryEntryView,
  toPartnerView,
  toProcessRequestView,
} from './views';

const STREAM_BATCH = 500;

/** A process request named with its partner. */
export interface RequestRef {
  id: string;
  partnerId: string;
}

export interface Page<T> {
  items: T[];
  page: number;
  limit: number;
  total: number;
  totalPages: number;
}

function buildWhere(partnerId: string, filters: ListFilters): FilterQuery<ProcessRequest> {
  const createdAt: Record<string, Date> = {};
  if (filters.from) createdAt.$gte = filters.from;
  if (filters.to) createdAt.$lte = filters.to;
  return {
    partnerId,
    ...(filters.status ? { status: { $in: filters.status } } : {}),
    ...(filters.from || filters.to ? { createdAt } : {}),
  };
}

export class ProcessRequestQueryService {
  constructor(
    private readonly store: EvidenceStore,
    private readonly sasTtlSeconds: number,
  ) {}

  async balance(ctx: ServiceContext, partnerId: string): Promise<BalanceView> {
    const { balance } = await requirePartner(ctx, partnerId, 'read');
    return toBalanceView(balance);
  }

  /** The partners the operator may act on, by name. */
  async partners(ctx: ServiceContext): Promise<PartnerView[]> {
    if (!can(ctx.operator, 'read')) throw new DomainError('FORBIDDEN');
    const scope = ctx.operator.partnerIds;
    const partners = await ctx.em.find(Partner, scope === null ? {} : { id: { $in: scope } }, {
      orderBy: { name: 'asc', id: 'asc' },
    });
    const balances = await ctx.em.find(ClientBalance, { partnerId: { $in: partners.map((p) => p.id) } });
    const byClient = new Map(balances.map((b) => [b.partnerId, b]));
    return partners.filter((p) => byClient.has(p.id)).map((p) => toPartnerView(p, byClient.get(p.id)!));
  }

  async page(ctx: ServiceContext, partnerId: string, query: PageQuery): Promise<Page<ProcessRequestView>> {
    const { partner } = await requirePartner(ctx, partnerId, 'read');
    const { page, limit } = query;
    const [rows, total] = await ctx.em.findAndCount(ProcessRequest, buildWhere(partner.id, query), {
      orderBy: { createdAt: 'desc', id: 'desc' },
      limit,
      offset: (page - 1) * limit,
    });
    return {
      items: rows.map(toProcessRequestView),
      page,
      limit,
      total,
      totalPages: Math.ceil(total / limit),
    };
  }

  /**
   * Every request of the partner, newest first, fetched in keyset batches so memory stays flat
   * however many rows there are, and no connection is held while the client reads.
   * Authorization and filters are checked before the first item is yielded.
   */
  async stream(
    ctx: ServiceContext,
    partnerId: string,
    filters: ListFilters,
  ): Promise<AsyncIterable<ProcessRequestView>> {
    const { partner } = await requirePartner(ctx, partnerId, 'read');
    const where = buildWhere(partner.id, filters);
    const em = ctx.em;
    return {
      async *[Symbol.asyncIterator]() {
        let after: { createdAt: Date; id: string } | undefined;
        for (;;) {
          const keyset: FilterQuery<ProcessRequest> = after
            ? {
                $or: [
                  { createdAt: { $lt: after.createdAt } },
                  { createdAt: after.createdAt, id: { $lt: after.id } },
                ],
              }
            : {};
          const batch = await em.find(
            ProcessRequest,
            { $and: [where, keyset] } as FilterQuery<ProcessRequest>,
            {
              orderBy: { createdAt: 'desc', id: 'desc' },
              limit: STREAM_BATCH,
            },
          );
          for (const pr of batch) yield toProcessRequestView(pr);
          em.clear();
          if (batch.length < STREAM_BATCH) return;
          const last = batch[batch.length - 1];
          after = { createdAt: last.createdAt, id: last.id };
        }
      },
    };
  }

  async get(ctx: ServiceContext, partnerId: string, id: string): Promise<ProcessRequestView> {
    return toProcessRequestView(await this.find(ctx, partnerId, id));
  }

  /** One request with its audit trail (who did what, when), oldest event first. */
  async details(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
  ): Promise<ProcessRequestView & { history: HistoryEntryView[] }> {
    const pr = await this.find(ctx, partnerId, id);
    const [history] = await this.historyOf(ctx, [{ id: pr.id, partnerId: pr.partnerId }]);
    return { ...toProcessRequestView(pr), history };
  }

  async evidenceDownloadUrl(ctx: ServiceContext, partnerId: string, id: string): Promise<SignedUrl> {
    const pr = await this.find(ctx, partnerId, id);
    return this.store.signedDownloadUrl(pr.evidence.blobName, pr.evidence.fileName, this.sasTtlSeconds);
  }

  /**
   * The histories of many requests in one statement (a page's, for GraphQL), in the order asked, each
   * oldest event first. Each request is named with its partner: the operator must be allowed to read
   * every partner named, and only events of that request under that partner are returned.
   */
  async historyOf(ctx: ServiceContext, requests: readonly RequestRef[]): Promise<HistoryEntryView[][]> {
    for (const partnerId of new Set(requests.map((r) => r.partnerId))) requireAccess(ctx, partnerId, 'read');
    if (requests.length === 0) return [];
    const asked = [...new Map(requests.map((r) => [`${r.id}/${r.partnerId}`, r])).values()];
    // PostgreSQL array literals: the ids are UUIDs read from the database, nothing to quote.
    const rows = await ctx.em.execute<EventRow[]>(
      `select ${EVENT_COLUMNS} from process_request_event
        join unnest(?::uuid[], ?::uuid[]) as asked(request_id, partner_id)
          on process_request_id = asked.request_id and client_id = asked.partner_id
        order by process_request_id, id`,
      [`{${asked.map((r) => r.id).join(',')}}`, `{${asked.map((r) => r.partnerId).join(',')}}`],
    );
    const byRequest = new Map<string, HistoryEntryView[]>();
    for (const row of rows) {
      const event = eventOfRow(row);
      const list = byRequest.get(event.processRequestId) ?? [];
      list.push(toHistoryEntryView(event));
      byRequest.set(event.processRequestId, list);
    }
    return requests.map((r) => byRequest.get(r.id) ?? []);
  }

  private async find(ctx: ServiceContext, partnerId: string, id: string): Promise<ProcessRequest> {
    const { partner } = await requirePartner(ctx, partnerId, 'read');
    const pr = await ctx.em.findOne(ProcessRequest, { id, partnerId: partner.id });
    if (!pr) throw new DomainError('NOT_FOUND', 'Process request not found');
    return pr;
  }
}
