// The GraphQL list's layers, for the benchmark only. Two bare node:http handlers over the service's own
// context and services: one hands the request to the app's Apollo server (no Koa), the other runs the
// document with graphql-js on the service's schema (no Koa, no Apollo). Measured beside the service (Koa's
// middleware, then Apollo) and the bare reference (no GraphQL at all), they show what each layer costs.
// Nothing here is a way in to the service: it answers only the bench's documents.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { App } from '../src/app';
import { credentialsOf } from '../src/auth/authenticate';
import { HotOperations } from '../src/graphql/hot-operation';
import { headerMapOf } from '../src/resolvers/apollo';
import { buildAppSchema } from '../src/schema';

export interface DirectGraphQL {
  origin: string;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<{ query: string; variables?: Record<string, unknown> }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** A document parsed and validated once per text, as Apollo's document store keeps it. */
function documents(schema: GraphQLSchema): (text: string) => DocumentNode {
  const known = new Map<string, DocumentNode>();
  return (text) => {
    let document = known.get(text);
    if (!document) {
      document = parse(text);
      const errors = validate(schema, document);
      if (errors.length > 0) throw new Error(`bench document is invalid: ${errors[0].message}`);
      known.set(text, document);
    }
    return document;
  };
}

export type Layer = 'apollo' | 'graphql-js';

/** The context the service's door builds for this request (with the kept operator row when the query is hot). */
const contextOf = (app: App, hot: HotOperations, req: IncomingMessage, query: string) =>
  app.graphqlContext({
    credentials: credentialsOf(req.headers),
    requestId: randomUUID(),
    hot: hot.isHot(query, undefined),
  });

/** The request handed to the app's Apollo server as the service's middleware hands it, without Koa around it. */
function throughApollo(app: App) {
  const hot = new HotOperations();
  return async (req: IncomingMessage, res: ServerResponse) => {
    const body = await bodyOf(req);
    const response = await app.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers: headerMapOf(req.headers), search: '', body },
      context: () => contextOf(app, hot, req, body.query),
    });
    if (response.body.kind !== 'complete') throw new Error('the bench sends no incremental operation');
    res.writeHead(response.status ?? 200, Object.fromEntries(response.headers));
    res.end(response.body.string);
  };
}

/** The document run by graphql-js on the service's schema, with the context a request gets. */
async function throughGraphqlJs(app: App) {
  const schema = await buildAppSchema();
  const documentOf = documents(schema);
  const hot = new HotOperations();
  return async (req: IncomingMessage, res: ServerResponse) => {
    const { query, variables } = await bodyOf(req);
    const contextValue = await contextOf(app, hot, req, query);
    const result = await execute({
      schema,
      document: documentOf(query),
      contextValue,
      variableValues: variables,
    });
    res.writeHead(result.errors ? 400 : 200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(result));
  };
}

/** Starts one layer's handler on a free loopback port, over the app's services (its pool, its kept rows). */
export async function startDirectGraphQL(app: App, layer: Layer): Promise<DirectGraphQL> {
  const handle = layer === 'apollo' ? throughApollo(app) : await throughGraphqlJs(app);
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

interface Measured {
  perSecond: number;
  p99: number;
  cpuPerRequest?: number;
}

/** One GraphQL document measured at each layer, each with its main-thread CPU per request. */
export interface GraphQLLayers {
  scenario: string;
  /** Koa's middleware, then Apollo, then graphql-js. */
  service: Measured;
  apollo: Measured;
  graphqlJs: Measured;
  /** No GraphQL at all. */
  bare: Measured;
}

/** A table per document: rate, p99 and CPU per request at each layer, and what each layer adds to the one below. */
export function graphqlLayersTable(runs: GraphQLLayers[]): string {
  if (runs.length === 0) return '';
  const cell = (r: Measured, below?: Measured) => {
    const cpu = r.cpuPerRequest === undefined ? '–' : `${r.cpuPerRequest.toFixed(0)} µs`;
    const added =
      below?.cpuPerRequest !== undefined && r.cpuPerRequest !== undefined
        ? ` (+${(r.cpuPerRequest - below.cpuPerRequest).toFixed(0)})`
        : '';
    return `${r.perSecond.toFixed(0)}/s p99 ${r.p99}, CPU ${cpu}${added}`;
  };
  return [
    'GraphQL by layer (the same document; CPU per request of the main thread, in brackets what the layer adds to the next column):',
    '',
    '| document | service (Koa + Apollo) | Apollo on node:http | graphql-js on node:http | bare (no GraphQL) |',
    '| --- | --- | --- | --- | --- |',
    ...runs.map(
      ({ scenario, service, apollo, graphqlJs, bare }) =>
        `| ${scenario} | ${cell(service, apollo)} | ${cell(apollo, graphqlJs)} | ${cell(graphqlJs, bare)} | ${cell(bare)} |`,
    ),
  ].join('\n');
}
