// CSV as the exports and statements write it: RFC 4180 (CRLF, quotes where needed) by csv-stringify, and
// no cell a spreadsheet would run as a formula (OWASP's CSV-injection rule), while numbers stay numbers.
import { stringify } from 'csv-stringify';
import { pipeline, Readable, type Transform } from 'node:stream';
import { framed } from '../domain/iterables';
import { Decimal } from '../domain/money';

/** What a cell may hold: text (guarded), an exact amount or a count (written as numbers), a time, nothing. */
export type Cell = string | number | Decimal | Date | null | undefined;

/**
 * Characters that make a spreadsheet read a text cell as a formula or a command: `=`, `+`, `-`, `@`, tab
 * and carriage return (OWASP), and the full-width `＝ ＋ － ＠` some spreadsheets normalise into them.
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/** A text cell as written: one that could start a formula gets a leading `'`, which spreadsheets show as text. */
export function guardText(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** A cell as CSV text: amounts and counts as plain numbers (a debit keeps its minus), times in ISO 8601. */
export function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  if (cell instanceof Decimal) return cell.value;
  if (typeof cell === 'number') return String(cell);
  if (cell instanceof Date) return cell.toISOString();
  return guardText(cell);
}

/**
 * Streams records (header rows included) as CSV, reading the source only as fast as the client takes the
 * text. A failure of the source mid-way is reported to `onError` and cuts the response (its status is sent).
 */
export function csvStream(records: AsyncIterable<Cell[]>, onError: (e: unknown) => void): Transform {
  const source = Readable.from(framed(records, (record) => record.map(cellText)));
  // quote_record_delimiter: a field holding a lone CR or LF is quoted too (csv-stringify only quotes the
  // record delimiter itself, CRLF, once record_delimiter is set), or a reader would end the record there.
  const csv = stringify({
    record_delimiter: 'windows',
    quote_record_delimiter: true,
    quote: '"',
    escape: '"',
  });
  pipeline(source, csv, (error) => {
    if (error && (error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') onError(error);
  });
  return csv;
}
