import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { ProcessRequestStatus } from './process-request.entity';

/**
 * How many requests a partner has in each status, so a list's exact `total` is a lookup however many rows
 * the partner has. Kept by statement-level triggers on process_request (Migration20261206050000_request_counts),
 * in the transaction of every insert, status change and delete, whatever code path makes it; nothing in the
 * service writes it. Read in src/sql/request-counts.ts.
 */
@Entity({ tableName: 'process_request_count' })
export class ProcessRequestCount {
  [OptionalProps]?: 'topUpAmount';

  @PrimaryKey({ type: 'uuid' })
  clientId!: string;

  @Enum({ items: () => ProcessRequestStatus, nativeEnumName: 'process_request_status', primary: true })
  status!: ProcessRequestStatus;

  @Property({ type: 'bigint', columnType: 'bigint' })
  n!: string;

  /**
   * The sum of the requested amounts of the top-ups among them (process type 1; reversals are not counted):
   * for PENDING, what approvals would add (`pending` of the balance, less what is past its deadline).
   * Unbounded NUMERIC: a sum, not an amount's column.
   */
  @Property({ type: 'decimal', columnType: 'numeric', defaultRaw: '0' })
  topUpAmount: string = '0';
}
