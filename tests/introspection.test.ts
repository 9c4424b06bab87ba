// GraphQL tools (GraphiQL, codegen, graphql-inspector) send graphql-js's standard introspection query, nested
// 14 deep: it is answered wherever introspection is on, and what it answers is the committed schema.graphql.
// Ordinary deep documents, and introspection documents that are not the standard shape, still meet the limits.
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  type IntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
} from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createWorld, type World } from './support/world';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

const sorted = (sdl: string) => printSchema(lexicographicSortSchema(buildSchema(sdl)));

async function post(target: World, query: string, operationName?: string) {
  const partner = await target.partner('Tools', 'USD');
  const viewer = await target.operator(['VIEWER'], [partner.id]);
  return target.http
    .post('/graphql')
    .set(await target.headers(viewer))
    .set('content-type', 'application/json')
    .send(JSON.stringify({ query, ...(operationName ? { operationName } : {}) }));
}

describe('the standard introspection query', () => {
  test('is answered over HTTP, and the schema it describes is schema.graphql', async () => {
    const res = await post(world, getIntrospectionQuery());
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const client = buildClientSchema(res.body.data as IntrospectionQuery);
    const committed = readFileSync(path.resolve(__dirname, '..', 'schema.graphql'), 'utf8');
    expect(printSchema(lexicographicSortSchema(client))).toBe(sorted(committed));
  });

  test("GraphiQL's variant (deprecated arguments, schema description, its own operation name) is answered", async () => {
    const query = getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true }).replace(
      'query IntrospectionQuery',
      'query ExplorerSchema',
    );
    const res = await post(world, query, 'ExplorerSchema');
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.__schema.queryType.name).toBe('Query');
  });

  test('with introspection off it is refused as introspection, not for its depth', async () => {
    const closed = await createWorld({ GRAPHQL_INTROSPECTION: 'false' });
    try {
      const res = await post(closed, getIntrospectionQuery());
      expect(res.status).toBe(400);
      expect(res.body.data).toBeUndefined();
      expect(res.body.errors[0].message).toMatch(/introspection/i);
      expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    } finally {
      await closed.close();
    }
  });
});

describe('the limits still hold for everything else', () => {
  test('an ordinary query nested too deep is QUERY_TOO_DEEP', async () => {
    const deep =
      '{ partners { id } me { id } ' +
      '__type(name: "Query") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }';
    const res = await post(world, deep);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
  });

  test('the standard query changed by one field is measured like any other document', async () => {
    const query = getIntrospectionQuery().replace('__schema {', '__schema { __typename');
    expect(query).not.toBe(getIntrospectionQuery());
    const res = await post(world, query);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
  });

  test('the standard query with a second operation beside it is measured like any other document', async () => {
    const res = await post(
      world,
      `${getIntrospectionQuery()}\nquery Other { me { id } }`,
      'IntrospectionQuery',
    );
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
  });
});
