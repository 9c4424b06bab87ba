// A document the service has seen is not parsed, validated or measured again: Apollo keeps it in its
// document store once it passed every rule, the document limits included. What depends on the call (the
// credentials, the scope, the variables and their limits) is still judged on every call.
import { print } from 'graphql';
import { GRAPHQL_LIMITS } from '../src/graphql/document-limits';
import { PartnerBalanceDocument } from './generated/graphql';
import { createWorld, type World } from './support/world';

jest.mock('../src/graphql/document-limits', () => {
  const actual = jest.requireActual('../src/graphql/document-limits');
  return { ...actual, documentLimitsRule: jest.fn(actual.documentLimitsRule) };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { documentLimitsRule } = require('../src/graphql/document-limits') as { documentLimitsRule: jest.Mock };

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

test('a known document is measured once; scope and variable limits are judged on every call', async () => {
  const team = await world.team('Cached', 'USD');
  const elsewhere = await world.team('Elsewhere', 'USD');
  const query = print(PartnerBalanceDocument);
  const send = async (operator: typeof team.viewer, variables: Record<string, unknown>, text = query) =>
    world.http
      .post('/graphql')
      .set(await world.headers(operator))
      .send({ query: text, variables });

  const before = documentLimitsRule.mock.calls.length;
  for (let i = 0; i < 3; i++) {
    const res = await send(team.viewer, { clientId: team.partner.id });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.partnerBalance.clientId).toBe(team.partner.id);
  }
  expect(documentLimitsRule.mock.calls.length - before).toBe(1);

  // Another document (one more space) is measured once more.
  expect((await send(team.viewer, { clientId: team.partner.id }, `${query} `)).body.errors).toBeUndefined();
  expect(documentLimitsRule.mock.calls.length - before).toBe(2);

  // The known document, called by an operator out of scope, or with variables over their limit: refused.
  const outside = await send(elsewhere.viewer, { clientId: team.partner.id });
  expect(outside.body.errors[0].extensions.code).toBe('PARTNER_FORBIDDEN');
  const padded = await send(team.viewer, {
    clientId: team.partner.id,
    padding: 'x'.repeat(GRAPHQL_LIMITS.variablesBytes),
  });
  expect(padded.body.errors[0].extensions.code).toBe('QUERY_TOO_LARGE');
  expect(documentLimitsRule.mock.calls.length - before).toBe(2);

  // A document over a limit is never stored: it is measured, and refused, every time.
  const deep = `query { me { id } ${'x: me { id } '.repeat(GRAPHQL_LIMITS.aliases + 1)}}`;
  for (let i = 0; i < 2; i++) {
    const res = await send(team.viewer, {}, deep);
    expect(res.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  }
  expect(documentLimitsRule.mock.calls.length - before).toBe(4);
});
