// The places a create's fields are read from their one declaration (createRequest, src/shapes/inputs.ts):
// the idempotency fingerprint, the REST form's fields and what a reversal takes from its original. Each
// test walks the declaration, so a field added to it is covered without this file changing.
import { createHash } from 'node:crypto';
import { TEXT_FIELDS } from '../../src/rest/multipart';
import { createRequestHash } from '../../src/services/idempotency.service';
import { createFields, createRequest, type CreateRequest } from '../../src/shapes/inputs';
import { COPIED, insertReversal, REVERSAL_TAKES } from '../../src/sql/reversal';

const PARTNER = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const SHA = 'a'.repeat(64);
const FIELDS = Object.keys(createRequest.shape) as Array<keyof CreateRequest>;
const base: CreateRequest = createRequest.parse({
  requestedAmount: '10.50',
  observations: 'Wire of 1 March',
});

describe('the idempotency fingerprint', () => {
  test('every declared field counts: changing any one changes the fingerprint', () => {
    expect(FIELDS.length).toBeGreaterThanOrEqual(2);
    const first = createRequestHash(PARTNER, base, SHA);
    for (const field of FIELDS) {
      const other = { ...base, [field]: base[field] === 'x' ? 'y' : 'x' } as CreateRequest;
      expect({ field, same: createRequestHash(PARTNER, other, SHA) === first }).toEqual({
        field,
        same: false,
      });
    }
    expect(createRequestHash(PARTNER, base, 'b'.repeat(64))).not.toBe(first);
    expect(createRequestHash('135691ae-ac9d-417c-ad1b-d160e25b8b39', base, SHA)).not.toBe(first);
  });

  test('an amount counts by value, and the OTP, not being part of the request, not at all', () => {
    const first = createRequestHash(PARTNER, base, SHA);
    expect(createRequestHash(PARTNER, { ...base, requestedAmount: '10.5' }, SHA)).toBe(first);
    const withOtp = createFields.parse({ ...base, requestedAmount: '10.50', otp: '123456' });
    expect(createRequestHash(PARTNER, withOtp, SHA)).toBe(first);
  });

  test('is the fingerprint keys stored before it was derived from the declaration (they stay valid)', () => {
    const before = createHash('sha256')
      .update(JSON.stringify([PARTNER, '10.5', 'Wire of 1 March', SHA]))
      .digest('hex');
    expect(createRequestHash(PARTNER, base, SHA)).toBe(before);
  });
});

test('the REST form accepts exactly the declared fields and the OTP', () => {
  expect([...TEXT_FIELDS].sort()).toEqual([...FIELDS, 'otp'].sort());
});

describe('a reversal', () => {
  test('takes a decision for every declared field: the original value, or its own', () => {
    expect(Object.keys(REVERSAL_TAKES).sort()).toEqual([...FIELDS].sort());
  });

  test("copies the original's amount and its partner's columns, and sets its reason as observations", () => {
    const at = new Date('2026-03-01T10:00:00.000Z');
    const { sql, params } = insertReversal(
      { id: 'r', processTypeId: 2, createdBy: 'op', requiredApprovals: 1, createdAt: at, expiresAt: at },
      { reason: 'Wire recalled', otp: undefined },
      'id = ?',
      ['o'],
    );
    const columns = /insert into process_request \(([^)]*)\)/.exec(sql)![1].split(', ');
    const values = /select (.*) from process_request/s.exec(sql)![1].split(', ');
    const row = Object.fromEntries(columns.map((c, i) => [c, values[i]]));
    expect(row).toMatchObject({
      client_balance_id: 'client_balance_id',
      client_id: 'client_id',
      currency: 'currency',
      requested_amount: 'requested_amount',
      observations: '?',
      status: "'PENDING'",
      reversal_of: 'id',
    });
    expect(columns).toHaveLength(values.length);
    expect(params).toEqual(['r', 2, 'Wire recalled', 'op', 1, at, at, at, 'o']);
    expect(REVERSAL_TAKES.requestedAmount).toBe(COPIED);
  });
});
