// Which GraphQL operations may be served the operator row a process keeps: only queries whose every root
// field is a read that checks the row's version in its own statement (see storedRead).
import { GRAPHQL_LIMITS } from '../../src/graphql/document-limits';
import { HotOperations } from '../../src/graphql/hot-operation';

const hot = (query: unknown, operationName?: unknown) => new HotOperations().isHot(query, operationName);

test.each([
  ['query($c: ID!) { processRequests(clientId: $c) { total items { id creator { id } history { id } } } }'],
  ['query($c: ID!, $id: ID!) { processRequest(clientId: $c, id: $id) { id } }'],
  ['query($c: ID!) { partnerBalance(clientId: $c) { available } }'],
  [
    '{ __typename a: partnerBalance(clientId: "x") { available } b: processRequests(clientId: "x") { total } }',
  ],
  ['query Page { processRequests(clientId: "x") { ...Item } } fragment Item on ProcessRequestPage { total }'],
])('hot: %s', (query) => {
  expect(hot(query)).toBe(true);
});

test.each([
  ['a query of __typename alone checks nothing', '{ __typename }'],
  ['another query', '{ me { id } }'],
  ['a hot field beside another', '{ processRequests(clientId: "x") { total } partners { id } }'],
  [
    'the balance at an instant (from the ledger)',
    '{ partnerBalance(clientId: "x", at: "2020-01-01") { available } }',
  ],
  [
    'the balance at an instant given as a variable',
    'query($at: String) { partnerBalance(clientId: "x", at: $at) { available } }',
  ],
  ['every request (the stream)', '{ allProcessRequests(clientId: "x") { id } }'],
  ['a mutation', 'mutation { cancelProcessRequest(clientId: "x", id: "y") { id } }'],
  ['a subscription', 'subscription { processRequestProgress(clientId: "x") { status } }'],
  ['a directive at the root', '{ processRequests(clientId: "x") @include(if: true) { total } }'],
  ['an inline fragment at the root', '{ ... on Query { processRequests(clientId: "x") { total } } }'],
  [
    'a fragment spread at the root',
    '{ ...Q } fragment Q on Query { processRequests(clientId: "x") { total } }',
  ],
  ['introspection', '{ __schema { types { name } } }'],
  ['a syntax error', '{ processRequests(clientId: "x") { total }'],
  [
    'two operations and no name',
    'query A { processRequests(clientId: "x") { total } } query B { me { id } }',
  ],
])('not hot: %s', (_, query) => {
  expect(hot(query)).toBe(false);
});

test('the operation named is the one judged; a name that names none, or is not a name, is not hot', () => {
  const two =
    'query A { processRequests(clientId: "x") { total } } mutation B { cancelProcessRequest(clientId: "x", id: "y") { id } }';
  expect(hot(two, 'A')).toBe(true);
  expect(hot(two, 'B')).toBe(false);
  expect(hot(two, 'C')).toBe(false);
  expect(hot(two, 7)).toBe(false);
  expect(hot(two, 'B\nquery A')).toBe(false);
  expect(hot('{ processRequests(clientId: "x") { total } }', 'A')).toBe(false);
  expect(hot('{ processRequests(clientId: "x") { total } }', null)).toBe(true);
});

test('no text, or a text over the size limit, is not hot', () => {
  expect(hot(undefined)).toBe(false);
  expect(hot(['{ processRequests(clientId: "x") { total } }'])).toBe(false);
  const padded = `{ processRequests(clientId: "x") { total } }${' '.repeat(GRAPHQL_LIMITS.bytes)}`;
  expect(hot(padded)).toBe(false);
});

test('each distinct text is judged once, and at most `max` verdicts are kept', () => {
  const operations = new HotOperations(2);
  const verdicts = (operations as unknown as { verdicts: Map<string, boolean> }).verdicts;
  const texts = ['a', 'b', 'c'].map((alias) => `{ ${alias}: processRequests(clientId: "x") { total } }`);
  for (const text of texts) expect(operations.isHot(text, undefined)).toBe(true);
  expect(verdicts.size).toBe(2);
  expect([...verdicts.keys()]).toEqual([`\n${texts[1]}`, `\n${texts[2]}`]);
  // A verdict kept answers again without a parse: the same answer.
  expect(operations.isHot(texts[2], undefined)).toBe(true);
  expect(verdicts.size).toBe(2);
});
