// The exact total of a partner's list, read from process_request_count when the filters allow it.
import type { ProcessRequestStatus } from '../entities/process-request.entity';

/**
 * A scalar subquery giving the list's total, with its parameters: the sum of the partner's counts in the
 * chosen statuses (all when none is chosen), a lookup of at most one row per status kept exact by the
 * triggers on process_request. In the statement that reads the page, it sees the same snapshot as the
 * page's rows. Only for lists filtered by partner and status alone; any other filter counts the rows.
 */
export function countedTotal(
  partnerId: string,
  statuses: readonly ProcessRequestStatus[] | undefined,
): { sql: string; params: unknown[] } {
  const chosen = statuses && statuses.length > 0 ? statuses : undefined;
  return {
    sql: `(select coalesce(sum(n), 0) from process_request_count where client_id = ?${
      chosen ? ` and status in (${chosen.map(() => '?').join(', ')})` : ''
    })`,
    params: chosen ? [partnerId, ...chosen] : [partnerId],
  };
}
