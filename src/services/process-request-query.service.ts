// Reading: balance, partners, paginated and streamed lists, one request with its history, evidence links.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Approval } from '../entities/approval.entity';
import { BALANCE_INCREASE_PROCESS_TYPE_ID } from '../entities/process-type.entity';
import { ClientBalance } from '../entities/client-balance.entity';
import { Partner } from '../entities/partner.entity';
import { ProcessRequest } from '../entities/process-request.entity';
import type { EvidenceStore, SignedUrl } from '../storage/evidence-store';
import { can, OPERATOR_VERSION_SQL, refusal, requirePartner, storedRead } from '../domain/access';
import type { ServiceContext } from '../domain/context';
import { DomainError } from '../domain/errors';
import type { InboxQuery, ListFilters, PageQuery } from '../shapes/inputs';
import { approvalGuard } from './decision';
import type { Operator } from '../entities/operator.entity';
import {
  EVENT_COLUMNS,
  eventOfRow,
  type EventRow,
  type RecordedListener,
  recordEvents,
} from '../sql/progress';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { runSql } from '../sql/statement';
import { APPROVALS_OF, DUPLICATES_OF, pgDate, type RequestRow, viewOfRow } from '../sql/request-rows';
import { countedTotal } from '../sql/request-counts';
import {
  type ApprovalView,
  type BalanceView,
  type HistoryEntryView,
  type PartnerView,
  type PersonView,
  type ProcessRequestView,
  toBalanceView,
  toHistoryEntryView,
  toPartnerView,
  toProcessRequestView,
} from '../shapes/views';

const STREAM_BATCH = 500;

/** A process request named with its partner. */
export interface RequestRef {
  id: string;
  partnerId: string;
}

/** An operator named with the partner through which the caller sees them (a request or policy of it). */
export interface PersonRef {
  id: string;
  partnerId: string;
}

interface BalanceRow {
  id: string;
  client_id: string;
  available: string;
  currency: string;
  updated_at: string;
  created_at: string;
  pending: string;
}

/**
 * What a read computes beyond the row. A door that reads a field only when it is asked for (GraphQL, through
 * `duplicatesOf`) leaves it out here.
 */
export interface ReadOptions {
  /** `duplicateEvidence`, one subquery per request; when false the views carry an empty list. Default true. */
  duplicates?: boolean;
}

const duplicatesColumn = ({ duplicates = true }: ReadOptions) =>
  duplicates ? `, ${DUPLICATES_OF('r')}` : '';

export interface Page<T> {
  items: T[];
  page: number;
  limit: number;
  total: number;
  totalPages: number;
}

/** Views of requests with their approvals, read in one query for all of them. */
export async function viewsOf(em: EntityManager, requests: ProcessRequest[]): Promise<ProcessRequestView[]> {
  const approved = requests.filter((pr) => pr.approvalCount > 0).map((pr) => pr.id);
  const approvals = new Map<string, ApprovalView[]>();
  if (approved.length > 0) {
    const rows = await em.find(
      Approval,
      { processRequestId: { $in: approved } },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    for (const row of rows) {
      const list = approvals.get(row.processRequestId) ?? [];
      list.push({ operatorId: row.operatorId, at: row.createdAt });
      approvals.set(row.processRequestId, list);
    }
  }
  const duplicates = await duplicatesOf(em, requests);
  return requests.map((pr) => toProcessRequestView(pr, approvals.get(pr.id), duplicates.get(pr.id)));
}

/** For each request with evidence, the partner's other requests with the same SHA-256 (SPEC section 18). */
export async function duplicatesOf(
  em: EntityManager,
  requests: Array<Pick<ProcessRequest, 'id' | 'partnerId'> & { evidence?: { sha256: string } | null }>,
): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const withEvidence = requests.filter((pr) => pr.evidence);
  if (withEvidence.length === 0) return found;
  const rows = await em.execute<Array<Pick<RequestRow, 'id' | 'duplicate_evidence'>>>(
    `select r.id, ${DUPLICATES_OF('r')} from process_request r where r.id = any(?::uuid[])`,
    [`{${withEvidence.map((pr) => pr.id).join(',')}}`],
  );
  for (const row of rows) found.set(row.id, row.duplicate_evidence ?? []);
  return found;
}

/**
 * An instant as PostgreSQL reads it. A bound's offset can carry it out of the years 1–9999 (a `from` of
 * 0001-01-01T00:00+14:00 is in year 0 UTC), which toISOString writes as 0000-… or +010000-…, and
 * PostgreSQL refuses both; it reads 10000-… and 0001-… BC, so the bound keeps its exact meaning.
 */
export function pgTimestamp(d: Date): string {
  const iso = d.toISOString();
  const year = d.getUTCFullYear();
  if (year >= 1 && year <= 9999) return iso;
  const rest = iso.slice(iso.indexOf('-', 1));
  return year > 9999 ? `${year}${rest}` : `${String(1 - year).padStart(4, '0')}${rest} BC`;
}

/**
 * The list filters as SQL over process_request, with their parameters in order (page and stream alike).
 * `counted`: only partner and status filter the rows, so process_request_count holds the total.
 */
function whereSql(
  partnerId: string,
  filters: ListFilters & Partial<Pick<InboxQuery, 'minAmount' | 'maxAmount'>>,
): { sql: string; params: unknown[]; counted: boolean } {
  const parts = ['client_id = ?'];
  const params: unknown[] = [partnerId];
  if (filters.minAmount) {
    parts.push('requested_amount >= ?::numeric');
    params.push(filters.minAmount);
  }
  if (filters.maxAmount) {
    parts.push('requested_amount <= ?::numeric');
    params.push(filters.maxAmount);
  }
  if (filters.status) {
    parts.push(`status in (${filters.status.map(() => '?').join(', ')})`);
    params.push(...filters.status);
  }
  if (filters.processTypeId) {
    parts.push('process_type_id = ?');
    params.push(filters.processTypeId);
  }
  if (filters.from) {
    parts.push('created_at >= ?');
    params.push(pgTimestamp(filters.from));
  }
  if (filters.to) {
    parts.push('created_at <= ?');
    params.push(pgTimestamp(filters.to));
  }
  // Any filter but these two adds a part: a new one falls back to counting rows without being named here.
  return { sql: parts.join(' and '), params, counted: parts.length === (filters.status ? 2 : 1) };
}

/**
 * "Pending my decision": the requests this operator may approve now, by the decision's own guard (not
 * their own, PENDING before its deadline, not approved by them yet, within their limit in the partner's
 * currency); nothing for an operator who may not review. Partner scope is checked before.
 */
function decidableGuard(operator: Operator, currency: string): { sql: string; params: unknown[] } {
  if (!can(operator, 'review')) return { sql: 'false', params: [] };
  const guard = approvalGuard(operator, operator.approvalLimits?.[currency] ?? null);
  // Evidence not opened yet does not keep a request out of the inbox: opening it is the next step there.
  return {
    sql: `coalesce((${guard.sql}), 'DECIDABLE') in ('DECIDABLE', 'EVIDENCE_NOT_VIEWED')`,
    params: guard.params,
  };
}

/** The history column of a request `r`: its events, oldest first, as EventRow JSON. */
const HISTORY_OF = (r: string) =>
  `(select json_agg(json_build_object('id', e.id::text, 'process_request_id', e.process_request_id, 'client_id', e.client_id,
     'type', e.type, 'actor_id', e.actor_id, 'from_status', e.from_status, 'to_status', e.to_status, 'data', e.data,
     'created_at', e.created_at) order by e.id)
     from process_request_event e where e.process_request_id = ${r}.id and e.client_id = ${r}.client_id) as history`;

export class ProcessRequestQueryService {
  constructor(
    private readonly store: EvidenceStore,
    private readonly sasTtlSeconds: number,
    private readonly recorded: RecordedListener = () => undefined,
  ) {}

  /**
   * `available` and `pending`: the sum of the PENDING top-ups still before their deadline, as the kept
   * amount of the partner's PENDING top-ups (process_request_count, exact in every transaction) less those
   * past their deadline the expiry sweep has not reached yet (few: it runs every EXPIRY_SWEEP_SECONDS).
   * Constant in the number of pending requests, the partner's and everyone's.
   */
  async balance(ctx: ServiceContext, partnerId: string): Promise<BalanceView> {
    return storedRead(ctx, async ({ em, operator }) => {
      // One statement: the balance proves the partner exists (requirePartner's NOT_FOUND) and brings the sum.
      const refused = refusal(operator, partnerId, 'read');
      if (refused) throw refused;
      const [row] = await runSql<BalanceRow & { operator_version: string | null }>(
        em,
        `select ${OPERATOR_VERSION_SQL('?::uuid')}, b.id, b.client_id, b.available, b.currency, b.updated_at, b.created_at,
            ((select coalesce(sum(top_up_amount), 0) from process_request_count where client_id = b.client_id and status = 'PENDING')
              - (select coalesce(sum(requested_amount), 0) from process_request where status = 'PENDING' and expires_at <= now()
                  and client_id = b.client_id and process_type_id = ?::int))::text as pending
          from (select 1) as one left join client_balance b on b.client_id = ?::uuid`,
        [operator.id, BALANCE_INCREASE_PROCESS_TYPE_ID, partnerId],
      );
      if (row.id === null) throw new DomainError('NOT_FOUND', 'Partner not found');
      const balance = {
        id: row.id,
        partnerId: row.client_id,
        available: row.available,
        currency: row.currency,
        updatedAt: pgDate(row.updated_at),
        createdAt: pgDate(row.created_at),
      };
      return { value: toBalanceView(balance, row.pending), operatorVersion: row.operator_version };
    });
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

  async page(
    ctx: ServiceContext,
    partnerId: string,
    query: PageQuery | InboxQuery,
    options: ReadOptions = {},
  ): Promise<Page<ProcessRequestView>> {
    return storedRead(ctx, async (ctx) => {
      const { partner, balance } = await requirePartner(ctx, partnerId, 'read');
      const { page, limit } = query;
      // One statement: the page, its approvals, and the total (the row of nulls when the page is empty).
      const where = whereSql(partner.id, query);
      if ('decidableByMe' in query && query.decidableByMe) {
        const guard = decidableGuard(ctx.operator, balance.currency);
        where.sql += ` and ${guard.sql}`;
        where.params.push(...guard.params);
        where.counted = false;
      }
      // The total is exact either way: the kept counts when partner and status are the only filters (flat
      // however many rows the partner has), else the rows counted.
      const total = where.counted
        ? countedTotal(partner.id, query.status)
        : { sql: `(select count(*) from process_request where ${where.sql})`, params: where.params };
      const order = 'oldestFirst' in query && query.oldestFirst ? 'asc' : 'desc';
      const rows = await runSql<RequestRow & { total: string; operator_version: string | null }>(
        ctx.em,
        `with page as (select * from process_request where ${where.sql} order by created_at ${order}, id ${order} limit ? offset ?)
         select ${total.sql} as total, ${OPERATOR_VERSION_SQL('?::uuid')},
                r.*, ${APPROVALS_OF('r')}${duplicatesColumn(options)}
           from (select 1) as one left join page r on true order by r.created_at ${order}, r.id ${order}`,
        [...where.params, limit, (page - 1) * limit, ...total.params, ctx.operator.id],
      );
      const count = Number(rows[0].total);
      const value = {
        items: rows.filter((r) => r.id !== null).map(viewOfRow),
        page,
        limit,
        total: count,
        totalPages: Math.ceil(count / limit),
      };
      return { value, operatorVersion: rows[0].operator_version };
    });
  }

  /**
   * Every request of the partner, newest first, fetched in keyset batches so memory stays flat
   * however many rows there are, and no connection is held while the client reads.
   * Authorization, filters and the first batch are done before this resolves, so a door answers any
   * refusal or failure of those with an error status instead of cutting a list it already began.
   * The result is read once.
   */
  async stream(
    ctx: ServiceContext,
    partnerId: string,
    filters: ListFilters,
    options: ReadOptions = {},
  ): Promise<AsyncIterable<ProcessRequestView>> {
    const { partner } = await requirePartner(ctx, partnerId, 'read');
    const where = whereSql(partner.id, filters);
    const em = ctx.em;
    // Keyset on (created_at, id), the last row's own values sent back as the driver gave them. A row
    // comparison, which the (client_id, created_at desc, id desc) index answers as a range: the OR form it
    // replaces was a filter, so every batch scanned the partner's rows from the newest again.
    const fetch = (after?: RequestRow) =>
      em.execute<RequestRow[]>(
        `select r.*, ${APPROVALS_OF('r')}${duplicatesColumn(options)} from process_request r where ${where.sql}
           ${after ? 'and (r.created_at, r.id) < (?::timestamptz, ?::uuid)' : ''}
           order by r.created_at desc, r.id desc limit ?`,
        [...where.params, ...(after ? [after.created_at, after.id] : []), STREAM_BATCH],
      );
    const first = await fetch();
    return {
      async *[Symbol.asyncIterator]() {
        for (let batch = first; ;) {
          for (const row of batch) yield viewOfRow(row);
          if (batch.length < STREAM_BATCH) return;
          batch = await fetch(batch[batch.length - 1]);
        }
      },
    };
  }

  async get(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    options: ReadOptions = {},
  ): Promise<ProcessRequestView> {
    return storedRead(ctx, async (ctx) => {
      const { partner } = await requirePartner(ctx, partnerId, 'read');
      // One statement: the request and its approvals (the row of nulls when there is none).
      const [row] = await runSql<RequestRow & { operator_version: string | null }>(
        ctx.em,
        `select ${OPERATOR_VERSION_SQL('?::uuid')}, r.*, ${APPROVALS_OF('r')}${duplicatesColumn(options)}
           from (select 1) as one left join process_request r on r.id = ?::uuid and r.client_id = ?::uuid`,
        [ctx.operator.id, id, partner.id],
      );
      if (row.id === null) throw new DomainError('NOT_FOUND', 'Process request not found');
      return { value: viewOfRow(row), operatorVersion: row.operator_version };
    });
  }

  /** One request with its audit trail (who did what, when), oldest event first. */
  async details(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
  ): Promise<ProcessRequestView & { history: HistoryEntryView[] }> {
    return storedRead(ctx, async (ctx) => {
      const { partner } = await requirePartner(ctx, partnerId, 'read');
      // One statement: the request, its approvals and its events (the row of nulls when there is none).
      const [row] = await runSql<
        RequestRow & { history: EventRow[] | null; operator_version: string | null }
      >(
        ctx.em,
        `select ${OPERATOR_VERSION_SQL('?::uuid')}, r.*, ${APPROVALS_OF('r')}, ${DUPLICATES_OF('r')}, ${HISTORY_OF('r')}
           from (select 1) as one left join process_request r on r.id = ?::uuid and r.client_id = ?::uuid`,
        [ctx.operator.id, id, partner.id],
      );
      if (row.id === null) throw new DomainError('NOT_FOUND', 'Process request not found');
      const history = (row.history ?? []).map((e) => toHistoryEntryView(eventOfRow(e)));
      return { value: { ...viewOfRow(row), history }, operatorVersion: row.operator_version };
    });
  }

  async evidenceDownloadUrl(ctx: ServiceContext, partnerId: string, id: string): Promise<SignedUrl> {
    const pr = await this.find(ctx, partnerId, id);
    // A reversal has no evidence of its own.
    if (!pr.evidence) throw new DomainError('NOT_FOUND', 'The process request has no evidence');
    const link = await this.store.signedDownloadUrl(
      pr.evidence.blobName,
      pr.evidence.fileName,
      this.sasTtlSeconds,
    );
    // Who opened the evidence, and when (SPEC section 18): recorded once the link exists, before it is given.
    // A HEAD is answered as GET would be, but its link is never delivered: nothing was viewed.
    if (ctx.headOnly) return link;
    const viewed = await ctx.em.fork().transactional((em) =>
      recordEvents(em, [
        {
          processRequestId: pr.id,
          partnerId: pr.partnerId,
          type: ProgressEventType.EVIDENCE_VIEWED,
          actorId: ctx.operator.id,
        },
      ]),
    );
    this.recorded(viewed);
    return link;
  }

  /**
   * The histories of many requests in one statement (a page's, for GraphQL), in the order asked, each
   * oldest event first. Each request is named with its partner: the operator must be allowed to read
   * every partner named, and only events of that request under that partner are returned.
   */
  async historyOf(ctx: ServiceContext, requests: readonly RequestRef[]): Promise<HistoryEntryView[][]> {
    for (const partnerId of new Set(requests.map((r) => r.partnerId))) {
      const refused = refusal(ctx.operator, partnerId, 'read');
      if (refused) throw refused;
    }
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

  /**
   * For many requests, each named with its partner (which the operator must be allowed to read), the
   * partner's other requests whose evidence has the same SHA-256, oldest first, in the order asked: one
   * statement (a page's, for GraphQL, when `duplicateEvidence` is asked for).
   */
  async duplicatesOf(ctx: ServiceContext, requests: readonly RequestRef[]): Promise<string[][]> {
    for (const partnerId of new Set(requests.map((r) => r.partnerId))) {
      const refused = refusal(ctx.operator, partnerId, 'read');
      if (refused) throw refused;
    }
    if (requests.length === 0) return [];
    const rows = await ctx.em.execute<Array<Pick<RequestRow, 'id' | 'client_id' | 'duplicate_evidence'>>>(
      `select r.id, r.client_id, ${DUPLICATES_OF('r')} from process_request r
        join unnest(?::uuid[], ?::uuid[]) as asked(request_id, partner_id)
          on r.id = asked.request_id and r.client_id = asked.partner_id`,
      [`{${requests.map((r) => r.id).join(',')}}`, `{${requests.map((r) => r.partnerId).join(',')}}`],
    );
    const found = new Map(rows.map((row) => [`${row.id}/${row.client_id}`, row.duplicate_evidence ?? []]));
    return requests.map((r) => found.get(`${r.id}/${r.partnerId}`) ?? []);
  }

  /**
   * The people behind requests and policies (creator, approvers, reviewer, canceller, actors) in one
   * statement, in the order asked; null for an id that names no operator. Each is named with the partner
   * through which the caller sees them, and the caller must be allowed to read every partner named:
   * the doors name only ids read from that partner's rows, so an operator is visible, by name and email
   * only, to whoever may read a partner they acted on, and through no other path.
   */
  async peopleOf(ctx: ServiceContext, refs: readonly PersonRef[]): Promise<Array<PersonView | null>> {
    for (const partnerId of new Set(refs.map((r) => r.partnerId))) {
      const refused = refusal(ctx.operator, partnerId, 'read');
      if (refused) throw refused;
    }
    if (refs.length === 0) return [];
    const ids = [...new Set(refs.map((r) => r.id))];
    // Only the public columns, and no entity: nothing else of the operator row reaches the identity map.
    const rows = await ctx.em.execute<PersonView[]>(
      'select id, name, email from operator where id = any(?::uuid[])',
      [`{${ids.join(',')}}`],
    );
    const byId = new Map(rows.map((row) => [row.id, { id: row.id, name: row.name, email: row.email }]));
    return refs.map((r) => byId.get(r.id) ?? null);
  }

  private async find(ctx: ServiceContext, partnerId: string, id: string): Promise<ProcessRequest> {
    const { partner } = await requirePartner(ctx, partnerId, 'read');
    const pr = await ctx.em.findOne(ProcessRequest, { id, partnerId: partner.id });
    if (!pr) throw new DomainError('NOT_FOUND', 'Process request not found');
    return pr;
  }
}
