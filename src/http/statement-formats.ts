// The statement's three formats (JSON, CSV, ISO 20022 camt.053.001.08) and the rows of the two CSV exports,
// each written as the entries arrive, so a year of entries never sits in memory.
import { randomUUID } from 'node:crypto';
import { XMLBuilder } from 'fast-xml-parser';
import { BALANCE_REVERSAL_PROCESS_TYPE_ID } from '../entities/process-type.entity';
import { framed } from '../domain/iterables';
import type { Decimal } from '../domain/money';
import { Readable } from 'node:stream';
import type { StatementEntryText, StatementStream } from '../services/integration/statement.service';
import type { EventExportView, ProcessRequestView, StatementEntryView } from '../shapes/views';
import type { Cell } from './csv';
import { stringify } from './json';

/** One entry of the JSON statement: the bytes `stringify` writes for its view, without building the view. */
export const entryJson = (e: StatementEntryText): string =>
  `{"at":"${e.at}","amount":${e.amount},"balanceAfter":${e.balanceAfter},` +
  `"processRequestId":"${e.processRequestId}","processTypeId":${e.processTypeId},"direction":"${e.direction}"}`;

/**
 * The JSON statement of SPEC section 19 as a stream of one chunk per batch of entries (the head goes with
 * the first), so a month is a write or two, read only as fast as the client takes it. Destroying the
 * stream closes the statement at once, even while a batch is being fetched.
 */
export function statementJson(statement: StatementStream): Readable {
  const head = stringify(statement.header);
  const batches = statement.batches[Symbol.asyncIterator]();
  let prefix = `${head.slice(0, -1)},"entries":[`;
  let reading = false;
  const pump = async () => {
    try {
      for (;;) {
        const step = await batches.next();
        if (stream.destroyed) return;
        if (step.done) {
          stream.push(`${prefix === ',' ? '' : prefix}]}`);
          stream.push(null);
          return;
        }
        if (step.value.length === 0) continue;
        const text = prefix + step.value.map(entryJson).join(',');
        prefix = ',';
        if (!stream.push(text)) break;
      }
      reading = false;
    } catch (error) {
      stream.destroy(error as Error);
    }
  };
  const stream = new Readable({
    read() {
      if (reading) return;
      reading = true;
      void pump();
    },
    destroy(error, callback) {
      statement.close().then(
        () => callback(error),
        (e: Error) => callback(error ?? e),
      );
    },
  });
  return stream;
}

export const STATEMENT_CSV_SUMMARY = [
  'clientId',
  'currency',
  'from',
  'to',
  'openingBalance',
  'closingBalance',
];
export const STATEMENT_CSV_COLUMNS = [
  'at',
  'amount',
  'balanceAfter',
  'processRequestId',
  'processTypeId',
  'direction',
];

/** Two summary lines (names, then values: the period and both balances), then the entries with their header. */
export function statementCsv(statement: StatementStream): AsyncIterable<Cell[]> {
  const h = statement.header;
  return framed(
    statement.entries,
    (e): Cell[] => [e.at, e.amount, e.balanceAfter, e.processRequestId, e.processTypeId, e.direction],
    [
      STATEMENT_CSV_SUMMARY,
      [h.clientId, h.currency, h.from, h.to, h.openingBalance, h.closingBalance],
      STATEMENT_CSV_COLUMNS,
    ],
  );
}

export const CAMT053_NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:camt.053.001.08';
const ENTRIES_HERE = 'statement-entries-go-here';

/** A UUID as 32 hex digits: camt.053 caps identifiers at 34 or 35 characters, a UUID with hyphens has 36. */
export const compactId = (uuid: string) => uuid.replace(/-/g, '');

const amount = (value: Decimal) => value.value.replace(/^-/, '');
const sign = (value: Decimal) => (value.value.startsWith('-') ? 'DBIT' : 'CRDT');

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
});

function balance(code: 'OPBD' | 'CLBD', value: Decimal, currency: string, day: string) {
  return {
    Tp: { CdOrPrtry: { Cd: code } },
    Amt: { '@_Ccy': currency, '#text': amount(value) },
    CdtDbtInd: sign(value),
    Dt: { Dt: day },
  };
}

function entry(e: StatementEntryView, currency: string) {
  const at = e.at.toISOString();
  return {
    Amt: { '@_Ccy': currency, '#text': amount(e.amount) },
    CdtDbtInd: sign(e.amount),
    Sts: { Cd: 'BOOK' },
    BookgDt: { DtTm: at },
    ValDt: { Dt: at.slice(0, 10) },
    BkTxCd: {
      Prtry: {
        Cd: e.processTypeId === BALANCE_REVERSAL_PROCESS_TYPE_ID ? 'BALANCE_REVERSAL' : 'BALANCE_INCREASE',
      },
    },
    NtryDtls: {
      TxDtls: {
        Refs: { EndToEndId: compactId(e.processRequestId) },
        AddtlTxInf: `Process request ${e.processRequestId}`,
      },
    },
  };
}

/**
 * The statement as an ISO 20022 bank-to-customer statement (camt.053.001.08): a group header, one Stmt
 * whose account is the partner (its id as 32 hex digits, with the currency), the opening (OPBD) and closing
 * (CLBD) booked balances, the credit and debit totals, and one booked Ntry per ledger entry whose
 * EndToEndId is the process request's id. Built with fast-xml-parser's XMLBuilder, entry by entry.
 */
export function statementCamt053(statement: StatementStream, now = new Date()): AsyncIterable<string> {
  const { header: h, totals } = statement;
  const partner = compactId(h.clientId);
  const document = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    Document: {
      '@_xmlns': CAMT053_NAMESPACE,
      BkToCstmrStmt: {
        GrpHdr: { MsgId: compactId(randomUUID()), CreDtTm: now.toISOString() },
        Stmt: {
          Id: `${partner.slice(0, 16)}-${h.from.replace(/-/g, '')}${h.to.replace(/-/g, '')}`,
          CreDtTm: now.toISOString(),
          FrToDt: { FrDtTm: `${h.from}T00:00:00.000Z`, ToDtTm: `${h.to}T23:59:59.999Z` },
          Acct: { Id: { Othr: { Id: partner, SchmeNm: { Prtry: 'PARTNER_ID' } } }, Ccy: h.currency },
          Bal: [
            balance('OPBD', h.openingBalance, h.currency, h.from),
            balance('CLBD', h.closingBalance, h.currency, h.to),
          ],
          TxsSummry: {
            TtlCdtNtries: { NbOfNtries: String(totals.credits.count), Sum: totals.credits.sum.value },
            TtlDbtNtries: { NbOfNtries: String(totals.debits.count), Sum: totals.debits.sum.value },
          },
          Ntry: ENTRIES_HERE,
        },
      },
    },
  };
  const [before, after] = (builder.build(document) as string).split(`<Ntry>${ENTRIES_HERE}</Ntry>`);
  return framed(
    statement.entries,
    (e) => '\n' + (builder.build({ Ntry: entry(e, h.currency) }) as string),
    [before],
    ['\n' + after + '\n'],
  );
}

export const REQUEST_CSV_COLUMNS = [
  'id',
  'processTypeId',
  'status',
  'requestedAmount',
  'currency',
  'createdAt',
  'createdBy',
  'observations',
  'evidenceFileName',
  'evidenceContentType',
  'evidenceSize',
  'evidenceSha256',
  'requiredApprovals',
  'approvals',
  'approvedBy',
  'reviewedBy',
  'reviewedAt',
  'reviewReason',
  'cancelledBy',
  'cancelledAt',
  'expiresAt',
  'reversalOf',
  'reversedBy',
];

export function requestRecord(r: ProcessRequestView): Cell[] {
  return [
    r.id,
    r.processTypeId,
    r.status,
    r.requestedAmount,
    r.currency,
    r.createdAt,
    r.createdBy,
    r.observations,
    r.evidence?.fileName,
    r.evidence?.contentType,
    r.evidence?.size,
    r.evidence?.sha256,
    r.requiredApprovals,
    r.approvals.length,
    r.approvals.map((a) => a.operatorId).join(' '),
    r.reviewedBy,
    r.reviewedAt,
    r.reviewReason,
    r.cancelledBy,
    r.cancelledAt,
    r.expiresAt,
    r.reversalOf,
    r.reversedBy,
  ];
}

export const EVENT_CSV_COLUMNS = [
  'id',
  'at',
  'processRequestId',
  'type',
  'actorId',
  'actorName',
  'actorEmail',
  'fromStatus',
  'toStatus',
  'reason',
];

export function eventRecord(e: EventExportView): Cell[] {
  return [
    e.id,
    e.at,
    e.processRequestId,
    e.type,
    e.actorId,
    e.actorName,
    e.actorEmail,
    e.fromStatus,
    e.toStatus,
    e.reason,
  ];
}
