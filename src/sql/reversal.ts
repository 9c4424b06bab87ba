// Filing a reversal (SPEC section 13): the one INSERT that makes it from its original. What the reversal takes
// from the original is declared below per field of a create, not copied by hand in the statement.
import type { CreateRequest, ReversalInput } from '../shapes/inputs';

/** The original's value goes into the reversal unchanged. */
export const COPIED = 'copied';

/**
 * For every field a create declares (createRequest in src/shapes/inputs.ts), what the reversal's row holds:
 * the original's value (COPIED) or the reversal's own, from its input. A field added to the create does not
 * compile here until someone decides which.
 */
export const REVERSAL_TAKES: {
  [K in keyof CreateRequest]-?: typeof COPIED | ((input: ReversalInput) => CreateRequest[K]);
} = {
  requestedAmount: COPIED,
  // A reversal has no observations of its own: its reason stands in their place.
  observations: (input) => input.reason,
};

/** What every request of a partner shares, and a reversal therefore copies too. */
const PARTNER_COLUMNS = ['client_balance_id', 'client_id', 'currency'];

const column = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

type Own = (input: ReversalInput) => unknown;
type Take = typeof COPIED | Own;

export interface NewReversal {
  id: string;
  processTypeId: number;
  createdBy: string;
  requiredApprovals: number;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * The INSERT … SELECT that files `reversal` from the original row chosen by `where` (its parameters
 * `whereParams`), returning the new row; no row when the original does not qualify.
 */
export function insertReversal(
  reversal: NewReversal,
  input: ReversalInput,
  where: string,
  whereParams: unknown[],
): { sql: string; params: unknown[] } {
  const fields = Object.entries(REVERSAL_TAKES) as Array<[string, Take]>;
  const copied = [...PARTNER_COLUMNS, ...fields.filter(([, t]) => t === COPIED).map(([f]) => column(f))];
  const own = fields.filter((entry): entry is [string, Own] => entry[1] !== COPIED);
  const columns = [
    ...['id', 'process_type_id', ...copied, ...own.map(([f]) => column(f))],
    ...[
      'status',
      'created_by',
      'required_approvals',
      'created_at',
      'updated_at',
      'expires_at',
      'reversal_of',
    ],
  ];
  const values = [
    ...['?', '?', ...copied, ...own.map(() => '?')],
    ...["'PENDING'", '?', '?', '?', '?', '?', 'id'],
  ];
  const sql = `insert into process_request (${columns.join(', ')})
     select ${values.join(', ')} from process_request where ${where}
     returning *`;
  const params = [
    reversal.id,
    reversal.processTypeId,
    ...own.map(([, take]) => take(input)),
    reversal.createdBy,
    reversal.requiredApprovals,
    reversal.createdAt,
    reversal.createdAt,
    reversal.expiresAt,
    ...whereParams,
  ];
  return { sql, params };
}
