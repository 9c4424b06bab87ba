// The OpenAPI path items of statement.routes.ts (SPEC section 19), in the order the router registers them;
// the JSON statement's schema is its view (src/shapes/views.ts).
import { balanceAt, eventsExportQuery, listFilters, statementQuery } from '../shapes/inputs';
import { STATEMENT_CSV_COLUMNS, STATEMENT_CSV_SUMMARY } from '../http/statement-formats';
import {
  AUTHENTICATED,
  errors,
  param,
  partnerId,
  REST_BASE_PATH,
  schema,
  type PathItems,
} from './openapi/operations';
import { fromInput, type Schema } from './openapi/schemas';

const query = (name: string, s: Schema, description: string, required = false) => ({
  ...param(name, 'query', s, description),
  required,
});
const csv = (description: string, example: string) => ({
  description,
  headers: {
    'Content-Disposition': { description: 'attachment, with a file name', schema: { type: 'string' } },
  },
  content: { 'text/csv': { schema: { type: 'string' }, example } },
});

const EXAMPLE_PARTNER = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const EXAMPLE_REQUEST = 'c2f4168d-d5c4-4a28-8b38-b2423dcf3c51';

const STATEMENT_CSV_EXAMPLE = [
  STATEMENT_CSV_SUMMARY.join(','),
  `${EXAMPLE_PARTNER},USD,2026-03-01,2026-03-31,1000.00,1150.00`,
  STATEMENT_CSV_COLUMNS.join(','),
  `2026-03-02T10:00:00.000Z,250.00,1250.00,${EXAMPLE_REQUEST},1,CREDIT`,
  `2026-03-09T16:30:00.000Z,-100.00,1150.00,9b2e0d52-8a0e-4d55-9f0e-0d4d0e6b5a11,2,DEBIT`,
  '',
].join('\r\n');

export function statementPaths(): PathItems {
  const base = REST_BASE_PATH;
  const q = statementQuery.in.shape;
  return {
    [`${base}/statement`]: {
      get: {
        operationId: 'getStatement',
        tags: ['Statements and exports'],
        summary:
          'The statement of whole UTC days from..to: opening and closing balances, one entry per ledger entry (any role)',
        description:
          'At most 366 days, both ends included; a day that does not exist or `to` before `from` is 400. ' +
          'The format is `format=json|csv|camt053`, or without it the Accept header: `text/csv` gives CSV, ' +
          '`application/xml` camt.053, anything else JSON. CSV: a line of names and a line of values (the ' +
          'period and both balances), then the entries with their header line. camt.053.001.08: an ISO 20022 ' +
          'bank-to-customer statement (GrpHdr; one Stmt whose account is the partner id as 32 hex digits; Bal ' +
          'OPBD and CLBD; one booked Ntry per entry with the process request id, as 32 hex digits, as EndToEndId). ' +
          'All three are read from one snapshot of the ledger and streamed.',
        parameters: [
          partnerId,
          query('from', fromInput(q.from), 'The first day, YYYY-MM-DD (UTC)', true),
          query('to', fromInput(q.to), 'The last day, YYYY-MM-DD (UTC), included', true),
          query('format', fromInput(q.format), 'json (the default), csv or camt053'),
        ],
        responses: {
          '200': {
            description: 'The statement',
            headers: {
              'Content-Disposition': {
                description: 'attachment, with a file name (CSV and camt.053)',
                schema: { type: 'string' },
              },
            },
            content: {
              'application/json': { schema: schema('Statement') },
              'text/csv': { schema: { type: 'string' }, example: STATEMENT_CSV_EXAMPLE },
              'application/xml': {
                schema: { type: 'string', description: 'ISO 20022 camt.053.001.08' },
              },
            },
          },
          ...errors(...AUTHENTICATED),
        },
      },
    },
    [`${base}/process-requests/export`]: {
      get: {
        operationId: 'exportProcessRequests',
        tags: ['Statements and exports'],
        summary: 'Every request matching the filters as CSV, newest first, streamed (any role)',
        description:
          "The list's filters. RFC 4180 with a header line; a text cell that begins with =, +, -, @, a tab or a " +
          "carriage return is written with a leading ' so no spreadsheet runs it; amounts stay numbers.",
        parameters: [
          partnerId,
          ...Object.keys(listFilters.shape).map((name) =>
            query(
              name,
              fromInput(listFilters.shape[name as keyof typeof listFilters.shape]),
              'As for GET /process-requests',
            ),
          ),
        ],
        responses: {
          '200': csv(
            'The requests',
            `id,processTypeId,status,requestedAmount,currency,createdAt,...\r\n${EXAMPLE_REQUEST},1,APPROVED,250.00,USD,2026-03-02T09:58:00.000Z,...\r\n`,
          ),
          ...errors(...AUTHENTICATED),
        },
      },
    },
    [`${base}/events/export`]: {
      get: {
        operationId: 'exportEvents',
        tags: ['Statements and exports'],
        summary: "The partner's history events (who, what, when) as CSV, oldest first, streamed (any role)",
        parameters: [
          partnerId,
          query('from', fromInput(eventsExportQuery.shape.from), 'Events at or after: a date or a date-time'),
          query(
            'to',
            fromInput(eventsExportQuery.shape.to),
            'Events at or before: a date (the whole day) or a date-time',
          ),
        ],
        responses: {
          '200': csv(
            'The events',
            `id,at,processRequestId,type,actorId,actorName,actorEmail,fromStatus,toStatus,reason\r\n42,2026-03-02T10:00:00.000Z,${EXAMPLE_REQUEST},APPROVED,9ae73380-c585-4003-8155-9889556c0f97,Ana Checker,ana@example.com,PENDING,APPROVED,Matches the bank statement\r\n`,
          ),
          ...errors(...AUTHENTICATED),
        },
      },
    },
  };
}

/** The `at` parameter GET /balance gains. */
export const balanceAtParameter = query(
  'at',
  fromInput(balanceAt.shape.at),
  'The balance as it stood at this instant (an ISO 8601 date-time with its zone, or a date: its last instant, UTC), from the ledger',
);
