// The JSON statement's entries are written by a serializer of their own: the same bytes as the generic one.
import { entryJson } from '../../src/http/statement-formats';
import { stringify } from '../../src/http/json';
import { entryView, type StatementEntryText } from '../../src/services/integration/statement.service';

const entries: StatementEntryText[] = [
  {
    at: '2026-11-01T00:00:00.000Z',
    amount: '1.25',
    balanceAfter: '1001.25',
    processRequestId: '0b8f5d0e-6f2c-4b7e-9a51-3c2d1e0f9a87',
    processTypeId: 1,
    direction: 'CREDIT',
  },
  {
    at: '2026-11-30T23:59:59.999Z',
    amount: '-100.00',
    balanceAfter: '0.00',
    processRequestId: 'f3e2d1c0-b9a8-4765-8432-10fedcba9876',
    processTypeId: 2,
    direction: 'DEBIT',
  },
  {
    at: '2026-02-28T12:30:05.010Z',
    amount: '15000',
    balanceAfter: '9999999999999',
    processRequestId: '00000000-0000-4000-8000-000000000000',
    processTypeId: 1,
    direction: 'CREDIT',
  },
];

test.each(entries)('entry %# is written as stringify writes its view', (entry) => {
  const view = entryView(entry);
  expect(view.at).toBeInstanceOf(Date);
  expect(entryJson(entry)).toBe(stringify(view));
  expect(JSON.parse(entryJson(entry))).toEqual(JSON.parse(stringify(view)));
});
