// Reading: balance, partners, paginated and streamed lists, one request with its history, evidence links.
import type { FilterQuery } from '@mikro-orm/core';
import { ClientBalance } from '../entities/client-balance.entity';
import { Partner } from '../entities/partner.entity';
import { ProcessRequestEvent } from '../entities/process-request-event.entity';
import { ProcessRequest, ProcessRequestStatus } from '../entities/process-request.entity';
import type { EvidenceStore, SignedUrl } from '../storage/evidence-store';
import { assertUuid, can, requirePartner } from './access';
import type { ServiceContext } from './context';
import { DomainError } from './errors';
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

export const MAX_PAGE_LIMIT = 100;
const STREAM_BATCH = 500;

export interface ListFilters {
  status?: unknown;
  from?: unknown;
  to?: unknown;
}

export interface PageQuery extends ListFilters {
  page?: unknown;
  limit?: unknown;
}

export interface Page<T> {
  items: T[];
  page: number;
  limit: number;
  total: number;
  totalPages: number;
}

function positiveInt(value: unknown, field: string, fallback: number, max: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d{1,9}$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be an integer from 1 to ${max}`, { field });
  }
  return n;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** `from` is inclusive; `to` is inclusive of a whole day when it is a date, of the instant when a date-time. */
function parseDate(value: unknown, field: 'from' | 'to'): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = value instanceof Date ? value.toISOString() : value;
  if (
    typeof text !== 'string' ||
    !(DATE_ONLY.test(text) || DATE_TIME.test(text)) ||
    Number.isNaN(Date.parse(text))
  ) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be an ISO 8601 date or date-time`, { field });
  }
  const date = new Date(DATE_ONLY.test(text) ? `${text}T00:00:00.000Z` : text);
  if (field === 'to' && DATE_ONLY.test(text)) date.setUTCDate(date.getUTCDate() + 1);
  return date;
}

function parseStatuses(value: unknown): ProcessRequestStatus[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const parts = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [value];
  const statuses = parts.map((s) => (typeof s === 'string' ? s.trim().toUpperCase() : s));
  const valid = Object.values(ProcessRequestStatus) as unknown[];
  if (statuses.length === 0 || statuses.some((s) => !valid.includes(s))) {
    throw new DomainError('VALIDATION_FAILED', `status must be one or more of ${valid.join(', ')}`, {
      field: 'status',
    });
  }
  return [...new Set(statuses as ProcessRequestStatus[])];
}

function buildWhere(clientId: string, filters: ListFilters): FilterQuery<ProcessRequest> {
  const statuses = parseStatuses(filters.status);
  const from = parseDate(filters.from, 'from');
  const to = parseDate(filters.to, 'to');
  const toIsExclusive = typeof filters.to === 'string' && DATE_ONLY.test(filters.to);
  const createdAt: Record<string, Date> = {};
  if (from) createdAt.$gte = from;
  if (to) createdAt[toIsExclusive ? '$lt' : '$lte'] = to;
  return {
    clientId,
    ...(statuses ? { status: { $in: statuses } } : {}),
    ...(from || to ? { createdAt } : {}),
  };
}

export class ProcessRequestQueryService {
  constructor(
    private readonly store: EvidenceStore,
    private readonly sasTtlSeconds: number,
  ) {}

  async balance(ctx: ServiceContext, clientId: unknown): Promise<BalanceView> {
    const { balance } = await requirePartner(ctx, clientId, 'read');
    return toBalanceView(balance);
  }

  /** The partners the operator may act on, by name. */
  async partners(ctx: ServiceContext): Promise<PartnerView[]> {
    if (!can(ctx.operator, 'read')) throw new DomainError('FORBIDDEN');
    const scope = ctx.operator.partnerIds;
    const partners = await ctx.em.find(Partner, scope === null ? {} : { id: { $in: scope } }, {
      orderBy: { name: 'asc', id: 'asc' },
    });
    const balances = await ctx.em.find(ClientBalance, { clientId: { $in: partners.map((p) => p.id) } });
    const byClient = new Map(balances.map((b) => [b.clientId, b]));
    return partners.filter((p) => byClient.has(p.id)).map((p) => toPartnerView(p, byClient.get(p.id)!));
  }

  async page(ctx: ServiceContext, clientId: unknown, query: PageQuery): Promise<Page<ProcessRequestView>> {
    const { partner } = await requirePartner(ctx, clientId, 'read');
    const page = positiveInt(query.page, 'page', 1, 1_000_000);
    const limit = positiveInt(query.limit, 'limit', 10, MAX_PAGE_LIMIT);
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
    clientId: unknown,
    filters: ListFilters,
  ): Promise<AsyncIterable<ProcessRequestView>> {
    const { partner } = await requirePartner(ctx, clientId, 'read');
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

  async get(ctx: ServiceContext, clientId: unknown, id: unknown): Promise<ProcessRequestView> {
    return toProcessRequestView(await this.find(ctx, clientId, id));
  }

  /** One request with its audit trail (who did what, when), oldest event first. */
  async details(
    ctx: ServiceContext,
    clientId: unknown,
    id: unknown,
  ): Promise<ProcessRequestView & { history: HistoryEntryView[] }> {
    const pr = await this.find(ctx, clientId, id);
    return { ...toProcessRequestView(pr), history: await this.historyOf(ctx, pr) };
  }

  async history(ctx: ServiceContext, clientId: unknown, id: unknown): Promise<HistoryEntryView[]> {
    return this.historyOf(ctx, await this.find(ctx, clientId, id));
  }

  async evidenceDownloadUrl(ctx: ServiceContext, clientId: unknown, id: unknown): Promise<SignedUrl> {
    const pr = await this.find(ctx, clientId, id);
    return this.store.signedDownloadUrl(pr.evidence.blobName, pr.evidence.fileName, this.sasTtlSeconds);
  }

  private async historyOf(ctx: ServiceContext, pr: ProcessRequest): Promise<HistoryEntryView[]> {
    const events = await ctx.em.find(
      ProcessRequestEvent,
      { processRequestId: pr.id, clientId: pr.clientId },
      { orderBy: { id: 'asc' } },
    );
    return events.map(toHistoryEntryView);
  }

  private async find(ctx: ServiceContext, clientId: unknown, id: unknown): Promise<ProcessRequest> {
    const { partner } = await requirePartner(ctx, clientId, 'read');
    const pr = await ctx.em.findOne(ProcessRequest, { id: assertUuid(id, 'id'), clientId: partner.id });
    if (!pr) throw new DomainError('NOT_FOUND', 'Process request not found');
    return pr;
  }
}
