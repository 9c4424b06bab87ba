// CSV cells: OWASP's CSV-injection rule on text, numbers left as numbers, and what csv-stringify makes of them.
import { parse } from 'csv-parse/sync';
import { cellText, csvStream, guardText } from '../../src/http/csv';
import { Decimal } from '../../src/domain/money';
import { statementPeriod, parseInput } from '../../src/shapes/inputs';

test.each([
  ['=1+1', "'=1+1"],
  ['+41 22 000 00 00', "'+41 22 000 00 00"],
  ['-2', "'-2"],
  ['@SUM(A1)', "'@SUM(A1)"],
  ['\tx', "'\tx"],
  ['\rx', "'\rx"],
  ['\uFF1D1+1', "'\uFF1D1+1"],
  ['a=b', 'a=b'],
  [' =1', ' =1'],
  ['', ''],
])('text %j is written %j', (text, written) => {
  expect(guardText(text)).toBe(written);
  expect(cellText(text)).toBe(written);
});

test('amounts, counts and times are not text: a debit keeps its minus, nothing is prefixed', () => {
  expect(cellText(new Decimal('-100.00'))).toBe('-100.00');
  expect(cellText(-3)).toBe('-3');
  expect(cellText(new Date('2026-03-01T00:00:00.000Z'))).toBe('2026-03-01T00:00:00.000Z');
  expect([cellText(null), cellText(undefined)]).toEqual(['', '']);
});

test('records come out RFC 4180 (CRLF, quoted where needed, quotes doubled) and read back as written', async () => {
  const rows = [
    ['a', 'b'],
    ['=x', 'say "hi", twice'],
    ['line\nbreak', new Decimal('-1.50')],
  ];
  const stream = csvStream(
    (async function* () {
      yield* rows;
    })(),
    (e) => {
      throw e;
    },
  );
  let text = '';
  for await (const chunk of stream) text += chunk;
  expect(text).toBe('a,b\r\n\'=x,"say ""hi"", twice"\r\n"line\nbreak",-1.50\r\n');
  expect(parse(text)).toEqual([
    ['a', 'b'],
    ["'=x", 'say "hi", twice'],
    ['line\nbreak', '-1.50'],
  ]);
});

test('statement periods: whole UTC days, both included, at most 366', () => {
  expect(parseInput(statementPeriod, { from: '2024-01-01', to: '2024-12-31' })).toEqual({
    from: '2024-01-01',
    to: '2024-12-31',
    start: new Date('2024-01-01T00:00:00.000Z'),
    end: new Date('2025-01-01T00:00:00.000Z'),
  });
  for (const [from, to] of [
    ['2025-01-01', '2026-01-02'],
    ['2026-03-02', '2026-03-01'],
    ['2026-02-29', '2026-03-01'],
    ['2026-3-1', '2026-03-02'],
  ]) {
    expect(() => parseInput(statementPeriod, { from, to })).toThrow(/VALIDATION|must/);
  }
});
