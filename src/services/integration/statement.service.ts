// Statements, point-in-time balances and the two CSV exports (SPEC section 19): what a partner's finance
// team, an auditor or a compliance officer takes away. Every figure comes from the ledger, summed by SQL.
import { BALANCE_INCREASE_PROCESS_TYPE_ID } from '../../entities/process-type.entity';
import type { ProgressEventType } from '../../entities/process-request-event.entity';
import type { ProcessRequestStatus } from '../../entities/process-request.entity';
import { requirePartner } from '../../domain/access';
import type { ServiceContext } from '../../domain/context';
import { DomainError } from '../../domain/errors';
import { framed } from '../../domain/iterables';
import { formatAmount } from '../../domain/money';
import type { EventsExportQuery, ListFilters, StatementPeriod } from '../../shapes/inputs';
import type {
  BalanceView,
  EventExportView,
  ProcessRequestView,
  StatementEntryView,
  StatementHeaderView,
  StatementTotalsView,
  StatementView,
} from '../../shapes/views';
import { pgDate } from '../../sql/request-rows';
import {
  BALANCE_AT,
  type BalanceAtRow,
  eventsBatchSql,
  type EventExportRow,
  snapshotCursor,
  STATEMENT_ENTRIES,
  STATEMENT_TOTALS,
  type StatementRow,
  type StatementTotalsRow,
  statementTotalsParams,
} from '../../sql/statement-sql';
import { pgTimestamp, type ProcessRequestQueryService } from '../process-request-query.service';

const EVENTS_BATCH = 1000;

/** A statement whose entries are read as they are written out (one snapshot, memory flat). */
export interface StatementStream {
  header: StatementHeaderView;
  totals: StatementTotalsView;
  entries: AsyncIterable<StatementEntryView>;
}

export class StatementService {
  constructor(private readonly queries: ProcessRequestQueryService) {}

  /**
   * The statement of a period: opening and closing balances and the entries between, all read from one
   * snapshot of the ledger, so opening + Σ entries = closing even while approvals go on. The entries are
   * fetched from a cursor as the caller reads them; read them to the end or stop the iteration.
   */
  async stream(ctx: ServiceContext, partnerId: string, period: StatementPeriod): Promise<StatementStream> {
    const { balance } = await requirePartner(ctx, partnerId, 'read');
    const currency = balance.currency;
    const money = (v: string) => formatAmount(v, currency);
    const { head, rows } = await snapshotCursor<StatementTotalsRow, StatementRow>(
      ctx.em,
      async (run) =>
        (
          await run<StatementTotalsRow>(
            STATEMENT_TOTALS,
            statementTotalsParams(balance.id, period.start, period.end),
          )
        )[0],
      (totals) => ({
        sql: STATEMENT_ENTRIES,
        params: [totals.opening, balance.id, period.start, period.end],
      }),
    );
    return {
      header: {
        clientId: balance.partnerId,
        currency,
        from: period.from,
        to: period.to,
        openingBalance: money(head.opening),
        closingBalance: money(head.closing),
      },
      totals: {
        credits: { count: Number(head.credit_count), sum: money(head.credit_sum) },
        debits: { count: Number(head.debit_count), sum: money(head.debit_sum) },
      },
      entries: framed(rows, (r) => ({
        at: new Date(r.at),
        amount: money(r.amount),
        balanceAfter: money(r.running),
        processRequestId: r.process_request_id,
        processTypeId: r.process_type_id,
        direction: r.amount.startsWith('-') ? 'DEBIT' : 'CREDIT',
      })),
    };
  }

  /** The whole statement in memory (GraphQL answers it as one value). */
  async statement(ctx: ServiceContext, partnerId: string, period: StatementPeriod): Promise<StatementView> {
    const { header, entries } = await this.stream(ctx, partnerId, period);
    const list: StatementEntryView[] = [];
    for await (const entry of entries) list.push(entry);
    return { ...header, entries: list };
  }

  /** The balance as it stood at an instant, from the ledger; `pending` as it stood then too. */
  async balanceAt(ctx: ServiceContext, partnerId: string, at: Date): Promise<BalanceView> {
    await requirePartner(ctx, partnerId, 'read');
    const t = pgTimestamp(at);
    const [row] = await ctx.em.execute<BalanceAtRow[]>(BALANCE_AT, [
      t,
      BALANCE_INCREASE_PROCESS_TYPE_ID,
      t,
      t,
      t,
      t,
      partnerId,
    ]);
    if (!row) throw new DomainError('NOT_FOUND', 'Partner not found');
    return {
      id: row.id,
      clientId: row.client_id,
      available: formatAmount(row.available, row.currency),
      pending: formatAmount(row.pending, row.currency),
      currency: row.currency,
      updatedAt: pgDate(row.updated_at),
      createdAt: pgDate(row.created_at),
      at,
    };
  }

  /** Every request matching the list's filters, newest first, as the streamed list reads them. */
  exportRequests(
    ctx: ServiceContext,
    partnerId: string,
    filters: ListFilters,
  ): Promise<AsyncIterable<ProcessRequestView>> {
    return this.queries.stream(ctx, partnerId, filters);
  }

  /**
   * The partner's stored events (its requests' histories) created within the bounds, oldest first, in
   * keyset batches: memory flat, no connection held while the caller writes. The first batch is read
   * before this resolves. Read once.
   */
  async exportEvents(
    ctx: ServiceContext,
    partnerId: string,
    query: EventsExportQuery,
  ): Promise<AsyncIterable<EventExportView>> {
    const { partner } = await requirePartner(ctx, partnerId, 'read');
    const bounds = {
      from: query.from && pgTimestamp(query.from),
      to: query.to && pgTimestamp(query.to),
    };
    const em = ctx.em;
    const fetch = (after: string) => {
      const { sql, params } = eventsBatchSql(partner.id, after, bounds, EVENTS_BATCH);
      return em.execute<EventExportRow[]>(sql, params);
    };
    const first = await fetch('0');
    return {
      async *[Symbol.asyncIterator]() {
        for (let batch = first; ;) {
          for (const r of batch) {
            yield {
              id: r.id,
              at: new Date(r.at),
              processRequestId: r.process_request_id,
              type: r.type as ProgressEventType,
              actorId: r.actor_id,
              actorName: r.actor_name,
              actorEmail: r.actor_email,
              fromStatus: r.from_status as ProcessRequestStatus | null,
              toStatus: r.to_status as ProcessRequestStatus | null,
              reason: r.reason,
            };
          }
          if (batch.length < EVENTS_BATCH) return;
          batch = await fetch(batch[batch.length - 1].id);
        }
      },
    };
  }
}
