// The error catalogue: every code the service can return is listed in docs/api.md with its status, and
// what the drivers underneath mean by their errors is read in one place.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classifyFailure } from '../../src/infra/failures';
import { DomainError, ERRORS, toDomainError } from '../../src/domain/errors';

test("docs/api.md's error table lists exactly the catalogue, with the same statuses", () => {
  const readme = readFileSync(path.resolve(__dirname, '../../docs/api.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('\n## Errors'),
    readme.indexOf('\n## ', readme.indexOf('\n## Errors') + 1),
  );
  const rows = [...section.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m): [string, number] => [
    m[1],
    Number(m[2]),
  ]);
  const catalogue = Object.entries(ERRORS).map(([code, { status }]): [string, number] => [code, status]);
  expect(new Map(rows)).toEqual(new Map(catalogue));
  expect(rows).toHaveLength(catalogue.length);
});

test.each([
  [{ code: 'ECONNREFUSED' }, 'unavailable'],
  [{ code: '57P01' }, 'unavailable'],
  [{ code: '08006' }, 'unavailable'],
  [{ code: '53300' }, 'unavailable'],
  [{ code: '22003' }, 'numeric-out-of-range'],
  [{ code: '23514' }, 'check-violation'],
  [{ code: '23505' }, 'unique-violation'],
  [{ name: 'RestError', statusCode: 503 }, 'unavailable'],
  [{ name: 'RestError' }, 'unavailable'],
  [{ name: 'RestError', statusCode: 404 }, undefined],
  [{ name: 'KnexTimeoutError', message: 'Knex: Timeout acquiring a connection.' }, 'unavailable'],
  [new Error('Connection terminated unexpectedly'), 'unavailable'],
  // As MikroORM wraps knex's error when a transaction's BEGIN died with its connection (seen under failover).
  [
    {
      name: 'DriverException',
      message: 'Transaction query already complete, run with DEBUG=knex:tx for more info',
    },
    'unavailable',
  ],
  [new Error('boom'), undefined],
  ['a string', undefined],
])('%p is %p', (error, failure) => expect(classifyFailure(error)).toBe(failure));

test('anything thrown becomes a catalogue error: dependency failures by meaning, the rest a 500', () => {
  const known = new DomainError('NOT_FOUND');
  expect(toDomainError(known)).toBe(known);
  expect(toDomainError({ code: 'ECONNRESET' }).code).toBe('SERVICE_UNAVAILABLE');
  expect(toDomainError({ code: '22003' }).code).toBe('BALANCE_LIMIT_EXCEEDED');
  expect(toDomainError(new TypeError('x')).code).toBe('INTERNAL_ERROR');
  expect(toDomainError(undefined)).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
});
