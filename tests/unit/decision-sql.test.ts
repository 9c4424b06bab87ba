// The decision statements as a reviewer reads them: src/sql/decision.sql is the builder's output, committed.
// When the builder changes, this fails until the file is written again:
//   UPDATE_SQL=1 npx jest tests/unit/decision-sql.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DECIDE, REFUSAL, renderedDecisionSql } from '../../src/sql/decision-sql';
import { bind, render } from '../../src/sql/statement';

const FILE = path.resolve(__dirname, '../../src/sql/decision.sql');

test('src/sql/decision.sql is what the builder renders', () => {
  const rendered = renderedDecisionSql();
  if (process.env.UPDATE_SQL === '1') writeFileSync(FILE, rendered);
  expect(readFileSync(FILE, 'utf8')).toBe(rendered);
});

test('the money is written once: one credit-or-debit and one ledger entry, in the approval only', () => {
  const count = (text: string, what: RegExp) => (text.match(what) ?? []).length;
  for (const statement of [...Object.values(DECIDE), ...Object.values(REFUSAL)]) {
    const approving = statement.name === 'decide-approve';
    expect([statement.name, count(statement.text, /update client_balance/g)]).toEqual([
      statement.name,
      approving ? 1 : 0,
    ]);
    expect([statement.name, count(statement.text, /insert into ledger_entry/g)]).toEqual([
      statement.name,
      approving ? 1 : 0,
    ]);
  }
});

describe('the named-parameter builder', () => {
  const types = { a: 'uuid', b: 'text' };

  test('one $n per name, typed once, in order of first use; casts, literals and comments untouched', () => {
    const s = render('t', `select :a, :b::text, :a, 'x:b', "c:b", x::int -- :b\n, :b`, types);
    expect(s.text).toBe(`select $1::uuid, $2::text::text, $1::uuid, 'x:b', "c:b", x::int -- :b\n, $2::text`);
    expect(s.names).toEqual(['a', 'b']);
    expect(bind(s, { a: 'A', b: null })).toEqual(['A', null]);
  });

  test('an undeclared name fails when rendering, a missing value when binding', () => {
    expect(() => render('t', 'select :zz', types)).toThrow('t: :zz has no declared type');
    const s = render('t', 'select :a', types);
    expect(() => bind(s, {} as Record<'a' | 'b', unknown>)).toThrow('t: no value for :a');
  });
});
