// The input declarations on their own: what each accepts, how it normalizes, and the error a door sends.
import { DomainError } from '../../src/domain/errors';
import {
  createFields,
  decisionInput,
  id,
  idempotencyKey,
  lastEventId,
  listFilters,
  pageQuery,
  parseInput,
} from '../../src/shapes/inputs';

function refusal(run: () => unknown): { code: string; message: string; field?: unknown } {
  try {
    run();
  } catch (e) {
    if (e instanceof DomainError) return { code: e.code, message: e.message, field: e.details?.field };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('requestedAmount', () => {
  const amount = (requestedAmount: unknown) => parseInput(createFields, { requestedAmount }).requestedAmount;

  test.each([
    ['10000', '10000'],
    ['0010.50', '10.50'],
    ['0.01', '0.01'],
    ['999999999999999.99', '999999999999999.99'],
    ['000000000000000000001', '1'],
  ])('%s → %s', (given, normalized) => expect(amount(given)).toBe(normalized));

  test.each([
    [undefined, 'is required'],
    ['', 'is required'],
    [null, 'is required'],
    [10, 'must be a decimal string'],
    ['-1', 'must be a plain positive decimal'],
    ['1e3', 'must be a plain positive decimal'],
    ['1,5', 'must be a plain positive decimal'],
    [' 1', 'must be a plain positive decimal'],
    ['1.', 'must be a plain positive decimal'],
    ['0', 'must be greater than zero'],
    ['0.000', 'must be greater than zero'],
    ['1000000000000000', 'must be below 1000000000000000 (at most 15 digits before the point)'],
  ])('%p is refused: %s', (given, why) => {
    const r = refusal(() => amount(given));
    expect(r).toMatchObject({ code: 'VALIDATION_FAILED', field: 'requestedAmount' });
    expect(r.message).toContain(why);
  });
});

test('observations and reason: free text up to a limit in characters (not UTF-16 units), no NUL; absent is null', () => {
  expect(parseInput(createFields, { requestedAmount: '1' }).observations).toBeNull();
  expect(parseInput(createFields, { requestedAmount: '1', observations: '' }).observations).toBeNull();
  expect(
    parseInput(createFields, { requestedAmount: '1', observations: '😀'.repeat(2000) }).observations,
  ).toHaveLength(4000);
  expect(
    refusal(() => parseInput(createFields, { requestedAmount: '1', observations: 'x'.repeat(2001) })),
  ).toMatchObject({
    field: 'observations',
  });
  expect(refusal(() => parseInput(decisionInput, { reason: 'a\u0000b' })).message).toBe(
    'reason must not contain NUL',
  );
  expect(refusal(() => parseInput(decisionInput, { reason: 5 })).message).toBe('reason must be a string');
});

test('an OTP of another type reaches the OTP check as a code that cannot match, never as a valid one', () => {
  expect(parseInput(decisionInput, { otp: 123456 }).otp).toBe('?');
  expect(parseInput(decisionInput, { otp: '' }).otp).toBeUndefined();
  expect(parseInput(decisionInput, { otp: '012345' }).otp).toBe('012345');
});

test('ids: a UUID in any case, lower-cased; anything else is INVALID_ID naming the field', () => {
  expect(parseInput(id, '7C9E6679-7425-40DE-944B-E07FC1F90AE7', 'clientId')).toBe(
    '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  );
  expect(refusal(() => parseInput(id, 'nope', 'clientId'))).toEqual({
    code: 'INVALID_ID',
    message: 'clientId must be a UUID',
    field: 'clientId',
  });
});

describe('lists', () => {
  test('defaults, numbers from GraphQL and digits from a query string', () => {
    expect(parseInput(pageQuery, {})).toEqual({ page: 1, limit: 10 });
    expect(parseInput(pageQuery, { page: 3, limit: 100 })).toEqual({ page: 3, limit: 100 });
    expect(parseInput(pageQuery, { page: '3', limit: '7' })).toEqual({ page: 3, limit: 7 });
  });

  test.each([['0'], ['101'], ['1.5'], ['-1'], ['abc'], [['1', '2']], [1.5]])(
    'limit %p is refused',
    (limit) => {
      expect(refusal(() => parseInput(pageQuery, { limit }))).toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'limit',
      });
    },
  );

  test('status: one, a comma list or a list, any case, without repeats', () => {
    expect(parseInput(listFilters, { status: 'pending, approved,PENDING' }).status).toEqual([
      'PENDING',
      'APPROVED',
    ]);
    expect(parseInput(listFilters, { status: ['REJECTED'] }).status).toEqual(['REJECTED']);
    expect(refusal(() => parseInput(listFilters, { status: 'DONE' })).field).toBe('status');
    expect(refusal(() => parseInput(listFilters, { status: ',' })).field).toBe('status');
  });

  test('dates: a day covers the whole day; a date-time is an instant; the calendar is real', () => {
    const f = parseInput(listFilters, { from: '2026-02-28', to: '2026-02-28' });
    expect([f.from?.toISOString(), f.to?.toISOString()]).toEqual([
      '2026-02-28T00:00:00.000Z',
      '2026-02-28T23:59:59.999Z',
    ]);
    expect(parseInput(listFilters, { from: '2026-03-01T10:00:00+02:00' }).from?.toISOString()).toBe(
      '2026-03-01T08:00:00.000Z',
    );
    expect(parseInput(listFilters, { to: '9999-12-31' }).to?.toISOString()).toBe('9999-12-31T23:59:59.999Z');
    expect(parseInput(listFilters, { from: '2028-02-29' }).from).toBeDefined();
    for (const bad of [
      '2026-02-30',
      '2027-02-29',
      '0000-01-01',
      '2026-13-01',
      '2026-01-01T24:00Z',
      '2026-1-1',
      'today',
    ])
      expect(refusal(() => parseInput(listFilters, { from: bad }))).toMatchObject({ field: 'from' });
  });
});

test('Idempotency-Key: absent, or exactly one value of printable ASCII', () => {
  expect(parseInput(idempotencyKey, undefined)).toBeUndefined();
  expect(parseInput(idempotencyKey, ['k-1'])).toBe('k-1');
  expect(parseInput(idempotencyKey, 'x'.repeat(255))).toHaveLength(255);
  for (const bad of ['', 'x'.repeat(256), 'café', 'tab\there', ['a', 'b'], ['a', 'a']])
    expect(refusal(() => parseInput(idempotencyKey, bad, 'Idempotency-Key')).field).toBe('Idempotency-Key');
});

test('Last-Event-ID: a stored event id, within PostgreSQL bigint', () => {
  expect(parseInput(lastEventId, '42')).toBe(42n);
  expect(parseInput(lastEventId, '9223372036854775807')).toBe(9223372036854775807n);
  for (const bad of ['9223372036854775808', '9999999999999999999', '-1', '1.0', 'abc'])
    expect(refusal(() => parseInput(lastEventId, bad, 'Last-Event-ID')).field).toBe('Last-Event-ID');
});
