// Statements, point-in-time balances and the two CSV exports (SPEC section 19): what a partner's finance
// team, an auditor or a compliance officer takes away. Every figure comes from the ledger, summed by SQL.
import { BALANCE_INCREASE_PROCESS_TYPE_ID } from '../../entities/process-type.entity';
import type { ProgressEventType } from '../../entities/process-request-event.entity';
import type { ProcessRequestStatus } from '../../entities/process-request.entity';
import { OPERATOR_VERSION_SQL, requirePartner, storedRead } from '../../domain/access';
import type { ServiceContext } from '../../domain/context';
import { DomainError } from '../../domain/errors';
import { flattened, framed } from '../../domain/iterables';
import { amountText, Decimal, formatAmount } from '../../domain/money';
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
  type SnapshotRows,
  STATEMENT_ENTRIES,
  STATEMENT_TOTALS,
  type StatementRow,
  type StatementTotalsRow,
  statementTotalsParams,
} from '../../sql/statement-sql';
import { pgTimestamp, type ProcessRequestQueryService } from '../process-request-query.service';

const EVENTS_BATCH = 1000;

type OperatorVersion = { operator_version: string | null };

/** The period's totals and, from the same snapshot, the acting operator row's version (storedRead). */
const TOTALS_AND_OPERATOR = `select ${OPERATOR_VERSION_SQL('?::uuid')}, t.* from (${STATEMENT_TOTALS}) as t`;

/** One entry as its text goes out: the instant in ISO 8601 (UTC, milliseconds), amounts at the currency's digits. */
export type StatementEntryText = Omit<StatementEntryView, 'at' | 'amount' | 'balanceAfter'> & {
  at: string;
  amount: string;
  balanceAfter: string;
};

/** A statement whose entries are read as they are written out (one snapshot, memory flat). */
export interface StatementStream {
  header: StatementHeaderView;
  totals: StatementTotalsView;
  /** The entries in booking order, a batch per round trip, as text. Read once: this or `entries`. */
  batches: AsyncIterable<StatementEntryText[]>;
  /** The same entries one by one, as views. */
  entries: AsyncIterable<StatementEntryView>;
  /** Stops the reading and gives the database connection back now (for a reader that went away). */
  close(): Promise<void>;
}

/** An entry's view: its instant as a Date, its amounts as Decimals. */
export const entryView = (e: StatementEntryText): StatementEntryView => ({
  ...e,
  at: new Date(e.at),
  amount: new Decimal(e.amount),
  balanceAfter: new Decimal(e.balanceAfter),
});

export class StatementService {
  constructor(private readonly queries: ProcessRequestQueryService) {}

  /**
   * The statement of a period: opening and closing balances and the entries between, all read from one
   * snapshot of the ledger, so opening + Σ entries = closing even while approvals go on. The entries are
   * fetched from a cursor as the caller reads them; read them to the end, stop the iteration or `close()`.
   */
  async stream(ctx: ServiceContext, partnerId: string, period: StatementPeriod): Promise<StatementStream> {
    // Judged with the operator row this process kept when the door gave one: the totals statement, the
    // snapshot's first, also reads the row's version, and a row that changed is judged again (storedRead).
    return storedRead(ctx, async (c) => {
      const { balance } = await requirePartner(c, partnerId, 'read');
      const { head, rows } = await snapshotCursor<StatementTotalsRow & OperatorVersion, StatementRow>(
        c.em,
        async (run) =>
          (
            await run<StatementTotalsRow & OperatorVersion>(TOTALS_AND_OPERATOR, [
              c.operator.id,
              ...statementTotalsParams(balance.id, period.start, period.end),
            ])
          )[0],
        (totals) => ({
          sql: STATEMENT_ENTRIES,
          params: [totals.opening, balance.id, period.start, period.end],
        }),
      );
      try {
        if (c.kept && head.operator_version !== c.kept.version) {
          // Read with a row that changed since it was kept: storedRead reads it again with the stored row.
          await rows.close();
          return { value: undefined as never, operatorVersion: head.operator_version };
        }
        return {
          value: this.statementOf(balance, period, head, rows),
          operatorVersion: head.operator_version,
        };
      } catch (error) {
        await rows.close();
        throw error;
      }
    });
  }

  private statementOf(
    balance: { partnerId: string; currency: string },
    period: StatementPeriod,
    head: StatementTotalsRow,
    rows: SnapshotRows<StatementRow>,
  ): StatementStream {
    const currency = balance.currency;
    const money = (v: string) => formatAmount(v, currency);
    const text = (r: StatementRow): StatementEntryText => ({
      at: r.at,
      amount: amountText(r.amount, currency),
      balanceAfter: amountText(r.running, currency),
      processRequestId: r.process_request_id,
      processTypeId: r.process_type_id,
      direction: r.amount.startsWith('-') ? 'DEBIT' : 'CREDIT',
    });
    const batches = framed(rows, (batch) => batch.map(text));
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
      batches,
      entries: flattened(batches, entryView),
      close: () => rows.close(),
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
