// A test file's world: its own database and container on the shared PostgreSQL and Azurite, a
// listening app, and helpers that set things up through the same services the CLI uses.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import supertest from 'supertest';
import { createApp, type App, type AppOptions } from '../../src/app';
import { mintToken } from '../../src/auth/dev-tokens';
import { loadConfig } from '../../src/config';
import { pgConnectionOptions } from '../../src/infra/database-url';
import { migrate } from '../../src/db';
import type { Operator } from '../../src/entities/operator.entity';
import { createOperator, createPartner } from '../../src/services/identity/admin.service';
import { createFields, newOperator, newPartner, parseInput, type NewOperator } from '../../src/shapes/inputs';
import { ProgressEventType } from '../../src/entities/process-request-event.entity';
import { ProcessRequestStatus } from '../../src/entities/process-request.entity';
import { recordEvents } from '../../src/sql/progress';
import { PDF } from './files';
import { checked } from './openapi';

export interface TestOperatorOptions extends Partial<Omit<NewOperator, 'roles' | 'partnerIds'>> {
  partnerIds?: string[] | null;
}

/** Who makes a call: an operator (its headers are minted) or headers already minted. */
export type Caller = Operator | Record<string, string>;

export type Action = 'approve' | 'reject' | 'cancel';

export interface TestPartner {
  id: string;
  balanceId: string;
  currency: string;
}

/** A partner with one MAKER, one CHECKER and one VIEWER scoped to it. */
export interface Team {
  partner: TestPartner;
  maker: Operator;
  checker: Operator;
  viewer: Operator;
}

export interface World {
  app: App;
  /** supertest against the listening server; every answer is checked against the OpenAPI document. */
  http: ReturnType<typeof supertest>;
  baseUrl: string;
  /** `http://127.0.0.1:{port}` of the app's metrics listener; undefined with METRICS_PORT=0. */
  metricsUrl?: string;
  databaseUrl: string;
  container: string;
  /** `/cms/rest/app/partners/{id}` */
  rest(partnerId: string): string;
  partner(name?: string, currency?: string): Promise<TestPartner>;
  operator(roles: string[], partnerIds: string[] | null, options?: TestOperatorOptions): Promise<Operator>;
  /** A new partner with a maker, a checker and a viewer (created in that order). */
  team(name?: string, currency?: string): Promise<Team>;
  /** Both credential headers for an operator. */
  headers(operator: Operator | string, ttlSeconds?: number): Promise<Record<string, string>>;
  /** Runs an operation in-process through Apollo with the context a real request would get. */
  gql<TData, TVars extends Record<string, unknown>>(
    operator: Operator,
    document: TypedDocumentNode<TData, TVars>,
    variables?: TVars,
  ): Promise<{
    data?: TData | null;
    errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
  }>;
  /**
   * A create over HTTP (multipart: `requestedAmount`, then the `evidence` file); expects 201 and returns the id.
   * On any other status the failure shows the response body.
   */
  createRequest(
    partnerId: string,
    caller: Caller,
    amount?: string,
    file?: Buffer,
    fileName?: string,
  ): Promise<string>;
  /** A create through the service the doors call (no HTTP), for building many rows quickly; returns the id. */
  createInProcess(partnerId: string, operator: Operator, amount?: string): Promise<string>;
  /**
   * `count` PENDING top-ups written in SQL as a create leaves them (row, CREATED event; the evidence columns
   * describe a PDF that is not uploaded), for tests where volume matters and the upload path is not the
   * subject. Required approvals and the deadline follow the partner's policy. Returns the ids, oldest first.
   */
  seedRequests(partnerId: string, operator: Operator, count: number, amount?: string): Promise<string[]>;
  /** PATCH `.../process-request/{id}/{action}`, with a JSON body if given; the caller asserts the status. */
  act(
    partnerId: string,
    id: string,
    action: Action,
    caller: Caller,
    body?: Record<string, unknown>,
  ): Promise<supertest.Response>;
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  /** How many process requests the partner has. */
  requestCount(partnerId: string): Promise<number>;
  blobNames(): Promise<string[]>;
  /** The committed blobs under the partner's prefix. */
  blobsOf(partnerId: string): Promise<string[]>;
  /**
   * Another server process's worth of app on the same database and storage, listening on 127.0.0.1 (as a
   * second replica behind a load balancer would be); closed with the world.
   */
  secondProcess(): Promise<{ app: App; url: string }>;
  close(): Promise<void>;
}

function isOperator(caller: Caller): caller is Operator {
  return typeof (caller as Operator).id === 'string' && Array.isArray((caller as Operator).roles);
}

/** Parameters: amount, partner, count, amount, creator. Rows as a create writes them (see seedRequests). */
const SEED_REQUESTS = `
  with policy as (
    select b.id as balance_id, b.client_id, b.currency, coalesce(p.pending_ttl_seconds, 604800) as ttl,
           coalesce((select (t->>'approvals')::smallint from jsonb_array_elements(p.tiers) t
                      where (t->>'from')::numeric <= ?::numeric order by (t->>'from')::numeric desc limit 1), 1) as required
      from client_balance b left join approval_policy p on p.client_id = b.client_id
     where b.client_id = ?),
  fresh as (
    select gen_random_uuid() as id, n, clock_timestamp() as at from generate_series(1, ?) n)
  insert into process_request (id, process_type_id, client_balance_id, client_id, requested_amount, currency, status,
    created_by, required_approvals, created_at, updated_at, expires_at, evidence_url, evidence_file_name,
    evidence_content_type, evidence_size, evidence_sha256, evidence_blob_name)
  select f.id, 1, p.balance_id, p.client_id, ?::numeric, p.currency, 'PENDING', ?, p.required, f.at, f.at,
         f.at + make_interval(secs => p.ttl), 'http://127.0.0.1/seeded/' || f.id, 'receipt.pdf', 'application/pdf',
         1024, encode(sha256(f.id::text::bytea), 'hex'), p.client_id || '/' || f.id || '/evidence.pdf'
    from fresh f cross join policy p order by f.n
  returning id`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface WorldOptions {
  /** The app reaches PostgreSQL through this port on 127.0.0.1 (a test's TCP proxy) instead of directly. */
  databasePort?: number;
}

export async function createWorld(
  env: Record<string, string> = {},
  options: AppOptions = {},
  worldOptions: WorldOptions = {},
): Promise<World> {
  const adminUrl = process.env.DATABASE_URL;
  const storage = process.env.AZURE_STORAGE_CONNECTION_STRING;
  if (!adminUrl || !storage)
    throw new Error('globalSetup did not provide DATABASE_URL and AZURE_STORAGE_CONNECTION_STRING');
  const suffix = randomBytes(6).toString('hex');
  const database = `test_${suffix}`;
  const container = `evidence-${suffix}`;
  const admin = new Client(pgConnectionOptions(adminUrl));
  await admin.connect();
  // Cloned from the run's migrated template (global-setup.ts); migrate() below then finds nothing to do.
  const template = process.env.TEST_TEMPLATE_DATABASE;
  await admin.query(`create database "${database}"${template ? ` template "${template}"` : ''}`);
  await admin.end();

  const databaseUrl = withDatabase(adminUrl, database);
  const appDatabaseUrl = new URL(databaseUrl);
  if (worldOptions.databasePort !== undefined) {
    appDatabaseUrl.hostname = '127.0.0.1';
    appDatabaseUrl.port = String(worldOptions.databasePort);
  }
  const loaded = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: appDatabaseUrl.toString(),
    AZURE_STORAGE_CONNECTION_STRING: storage,
    EVIDENCE_CONTAINER: container,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  // A world never takes a fixed port: its metrics listener, unless METRICS_PORT=0 turned it off, takes a free one.
  const config = { ...loaded, metricsPort: loaded.metricsPort === null ? null : 0 };
  const app = await createApp(config, options);
  const seconds: App[] = [];
  await migrate(app.orm);
  const address = await app.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const metricsAddress = app.metricsAddress();
  // Worlds verifying tokens with a JWKS or PEM key cannot mint; their tests sign their own tokens.
  const appToken =
    config.appToken.kind === 'secret' ? await mintToken(config, 'app', 'test-app', 3600) : undefined;

  const world: World = {
    app,
    http: checked(supertest(baseUrl)),
    baseUrl,
    metricsUrl: metricsAddress ? `http://127.0.0.1:${metricsAddress.port}` : undefined,
    databaseUrl,
    container,
    rest: (partnerId) => `/cms/rest/app/partners/${partnerId}`,
    async partner(name = 'Partner', currency = 'USD') {
      const { partner, balance } = await createPartner(
        app.orm.em.fork(),
        parseInput(newPartner, { name, currency }),
      );
      return { id: partner.id, balanceId: balance.id, currency: balance.currency };
    },
    operator(roles, partnerIds, options = {}) {
      const input = parseInput(newOperator, {
        email: options.email ?? `op-${randomBytes(5).toString('hex')}@test.local`,
        name: options.name ?? 'Test Operator',
        roles,
        partnerIds,
        otpRequired: options.otpRequired,
        otpSecretEncrypted: options.otpSecretEncrypted,
      });
      return createOperator(app.orm.em.fork(), input);
    },
    async team(name = 'Acme', currency = 'USD') {
      const partner = await world.partner(name, currency);
      const maker = await world.operator(['MAKER'], [partner.id]);
      const checker = await world.operator(['CHECKER'], [partner.id]);
      const viewer = await world.operator(['VIEWER'], [partner.id]);
      return { partner, maker, checker, viewer };
    },
    async headers(operator, ttlSeconds = 3600) {
      if (!appToken) throw new Error('this world verifies tokens with public keys: sign them in the test');
      const subject = typeof operator === 'string' ? operator : operator.subject;
      const userToken = await mintToken(config, 'user', subject, ttlSeconds);
      return { authorization: `Bearer ${appToken}`, 'x-user-token': `Bearer ${userToken}` };
    },
    async gql<TData, TVars extends Record<string, unknown>>(
      operator: Operator,
      document: TypedDocumentNode<TData, TVars>,
      variables?: TVars,
    ) {
      const contextValue = await app.graphqlContext({ credentials: await world.headers(operator) });
      const response = await app.apollo.executeOperation<TData, TVars>(
        { query: document, variables },
        { contextValue },
      );
      if (response.body.kind !== 'single') throw new Error('incremental responses are not used');
      return response.body.singleResult as {
        data?: TData | null;
        errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
      };
    },
    async createRequest(partnerId, caller, amount = '100.00', file = PDF, fileName = 'receipt.pdf') {
      const res = await world.http
        .post(`${world.rest(partnerId)}/process-request`)
        .set(isOperator(caller) ? await world.headers(caller) : caller)
        .field('requestedAmount', amount)
        .attach('evidence', file, fileName);
      // The body is part of the compared value so that a refusal says why.
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
      return res.body.id as string;
    },
    async createInProcess(partnerId, operator, amount = '1.00') {
      const ctx = { em: app.orm.em.fork(), operator, log: app.log };
      const view = await app.services.processRequests.create(ctx, partnerId, async (stage) => {
        await stage({ stream: Readable.from([PDF]), fileName: 'receipt.pdf' });
        return parseInput(createFields, { requestedAmount: amount });
      });
      return view.id;
    },
    async seedRequests(partnerId, operator, count, amount = '1.00') {
      const em = app.orm.em.fork();
      return em.transactional(async (tx) => {
        const rows = await tx.execute<{ id: string }[]>(SEED_REQUESTS, [
          amount,
          partnerId,
          count,
          amount,
          operator.id,
        ]);
        await recordEvents(
          tx,
          rows.map((row) => ({
            processRequestId: row.id,
            partnerId,
            type: ProgressEventType.CREATED,
            actorId: operator.id,
            toStatus: ProcessRequestStatus.PENDING,
          })),
        );
        return rows.map((row) => row.id);
      });
    },
    async act(partnerId, id, action, caller, body) {
      const req = world.http
        .patch(`${world.rest(partnerId)}/process-request/${id}/${action}`)
        .set(isOperator(caller) ? await world.headers(caller) : caller);
      return body === undefined ? req : req.send(body);
    },
    sql: (query, params = []) => app.orm.em.getConnection().execute(query, params as never[]),
    async requestCount(partnerId) {
      const [row] = await world.sql<{ n: string }>(
        'select count(*) as n from process_request where client_id = ?',
        [partnerId],
      );
      return Number(row.n);
    },
    blobNames: () => app.services.store.listBlobNames(),
    async blobsOf(partnerId) {
      return (await world.blobNames()).filter((name) => name.startsWith(`${partnerId}/`));
    },
    async secondProcess() {
      const second = await createApp(config, options);
      seconds.push(second);
      const { port } = await second.listen(0, '127.0.0.1');
      return { app: second, url: `http://127.0.0.1:${port}` };
    },
    async close() {
      await Promise.all(seconds.map((second) => second.close()));
      await app.close();
      const cleanup = new Client(pgConnectionOptions(adminUrl));
      await cleanup.connect();
      await cleanup.query(`drop database if exists "${database}" with (force)`);
      await cleanup.end();
    },
  };
  return world;
}
