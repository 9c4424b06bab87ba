// Builds the whole service from a Config: database, blob store, services, the three doors, one HTTP server.
import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import Koa from 'koa';
import type Router from '@koa/router';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { createTokenVerifier, type TokenVerifier } from './auth/token-verifier';
import { openDatabase, sessionSettings } from './db';
import { pgConnectionOptions } from './infra/database-url';
import { createLogger, type Logger } from './logger';
import { createServices, type Services } from './services';
import { operatorsWithoutSubject } from './services/identity/admin.service';
import { EvidenceStore, type BlobObserver } from './storage/evidence-store';
import { healthRouter } from './rest/health.routes';
import { docsRouter } from './rest/docs.routes';
import { consoleRouter } from './rest/console.routes';
import { answerClientErrors } from './rest/client-error';
import { errorHandler, requestContext } from './http/middleware';
import { allowedMethods, methodGuard } from './rest/methods';
import { corsMiddleware } from './rest/cors';
import { processRequestRouter } from './rest/process-request.routes';
import { statementRouter } from './rest/statement.routes';
import { createApollo, graphqlMiddleware } from './resolvers/apollo';
import { GRAPHQL_PATH } from './http/paths';
import { InFlight } from './http/in-flight';
import { explorerMiddleware } from './resolvers/explorer';
import { buildGraphQLContext, type ContextInput, type GraphQLContext } from './graphql/context';
import { buildAppSchema } from './schema';
import type { ApolloServer } from '@apollo/server';
import type { TokenCredential } from '@azure/core-auth';
import type { RequestPolicyFactory } from '@azure/storage-blob';
import { StartupError } from './infra/startup-error';
import { ProcessLiveness } from './runtime/liveness';
import { defaultStorageCredential } from './storage/credentials';
import { ProgressBus } from './runtime/progress-bus';
import { forgetOnChange, OperatorCache } from './runtime/operator-cache';
import { progressRoutes } from './rest/progress.routes';
import { webhookRouter } from './rest/webhook.routes';
import { attachSubscriptions } from './subscriptions/server';
import { createMetrics, type Metrics } from './metrics/metrics';
import { observeRequests } from './metrics/http-metrics';
import { startMetricsServer, type MetricsServer } from './metrics/metrics-server';

export interface App {
  config: Config;
  log: Logger;
  orm: MikroORM;
  services: Services;
  apollo: ApolloServer<GraphQLContext>;
  /** This process's LISTEN connection and its progress watchers (SSE and subscriptions). */
  progress: ProgressBus;
  /** This process's liveness lock: what its upload intents and idempotency claims are tied to. */
  liveness: ProcessLiveness;
  server: Server;
  /** The Koa routers of the public port (the OpenAPI document must list exactly their routes). */
  routers: Router[];
  /** This app's Prometheus registry and the hooks feeding it. */
  metrics: Metrics;
  /** Where GET /metrics is served once listen() resolved; null before, after close, or with METRICS_PORT=0. */
  metricsAddress(): AddressInfo | null;
  /** Builds the GraphQL context a real request would get (for executeOperation). */
  graphqlContext(input: ContextInput): Promise<GraphQLContext>;
  /**
   * Listens on the public port, starts the evidence reconciler and the expiry sweep (a first pass of
   * each at once) and, unless config.metricsPort is null, the metrics listener.
   */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** AZURE_STORAGE_ACCOUNT_URL's credential; DefaultAzureCredential when not given. */
  storageCredential?: TokenCredential;
  /** Extra request policies for the storage client on that path (a test's trusted CA, say). */
  storagePolicies?: RequestPolicyFactory[];
}

/** Opens the blob store the configuration names; on the Azure AD path, proves the identity can sign links. */
async function openStore(config: Config, options: AppOptions, observe: BlobObserver): Promise<EvidenceStore> {
  if (config.storageConnectionString) {
    const store = EvidenceStore.fromConnectionString(
      config.storageConnectionString,
      config.evidenceContainer,
      observe,
    );
    await store.ensureContainer();
    return store;
  }
  const store = EvidenceStore.fromAccountUrl(
    config.storageAccountUrl!,
    config.evidenceContainer,
    options.storageCredential ?? (await defaultStorageCredential()),
    options.storagePolicies,
    observe,
  );
  try {
    await store.ensureContainer();
    await store.delegationKeys!.keyFor(new Date(Date.now() + config.sasTtlSeconds * 1000));
  } catch (error) {
    throw new StartupError(
      `AZURE_STORAGE_ACCOUNT_URL: the Azure AD identity cannot use ${config.storageAccountUrl} (${(error as Error).message.split('\n')[0]}); see "Azure AD storage credentials" in docs/operations.md`,
    );
  }
  return store;
}

/** Needs config.databaseUrl and a storage setting (main.ts starts embedded ones first). */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  if (!config.databaseUrl || (!config.storageConnectionString && !config.storageAccountUrl)) {
    throw new Error('createApp needs a database URL and a storage connection string or account URL');
  }
  const log = options.logger ?? createLogger(config.logLevel);
  // Every session of the server, pooled or dedicated, bounds how long a statement waits and runs.
  const limits = {
    lockTimeoutMs: config.databaseLockTimeoutMs,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
  };
  const orm = await openDatabase({ url: config.databaseUrl, sslCa: config.databaseSslCa, limits }, log, {
    pool: { min: 0, max: config.dbPoolSize },
  });
  const dedicated = {
    ...pgConnectionOptions(config.databaseUrl, config.databaseSslCa),
    ...sessionSettings(limits),
  };
  // Kept fresh by the progress bus's LISTEN connection and by this ORM's own changes to operators.
  const operators = new OperatorCache();
  orm.em.getEventManager().registerSubscriber(forgetOnChange(operators));
  const progress = new ProgressBus({
    operators,
    connection: dedicated,
    orm,
    log,
    maxStreams: config.maxProgressStreams,
    maxStreamsPerOperator: config.maxProgressStreamsPerOperator,
    recheckMs: config.operatorRecheckSeconds * 1000,
  });
  const liveness = new ProcessLiveness(dedicated, log);
  // Set once the services exist: the relay counts pending deliveries, a scrape only reads the count.
  const webhookPending = { read: () => 0 };
  const metrics = createMetrics({ orm, progress, webhookPending: () => webhookPending.read() });
  try {
    await progress.start();
    await liveness.start();
    const store = await openStore(config, options, metrics.observeBlob);
    const services = createServices(
      config,
      log,
      orm,
      store,
      liveness,
      {
        onTransition: metrics.onTransition,
        onRecorded: (events) => progress.stored(events),
        onWebhookAttempt: metrics.onWebhookAttempt,
        operators,
      },
      dedicated,
    );
    // Every stored event any process announces wakes this process's webhook relay (a no-op once stopped).
    progress.onStored(() => services.webhookRelay.eventsStored());
    webhookPending.read = () => services.webhookRelay.pendingDeliveries;
    const verifier: TokenVerifier = await createTokenVerifier(config, services.consoleSessions);
    const schema = await buildAppSchema();
    const apollo = createApollo(schema, services);
    await apollo.start();
    const parts: Parts = { config, log, orm, services, apollo, progress, liveness, metrics, verifier };
    const { koa, routers, allowed } = publicPort(parts);
    const server = httpServer(config, koa);
    const subscriptions = attachSubscriptions(server, { schema, services, verifier, bus: progress });
    answerClientErrors(server, log, allowed);
    return running({ ...parts, server, routers, subscriptions });
  } catch (error) {
    await progress.stop();
    await liveness.stop();
    await orm.close(true);
    metrics.close();
    throw error;
  }
}

/** The parts of a started app, before it listens. */
interface Parts {
  config: Config;
  log: Logger;
  orm: MikroORM;
  services: Services;
  apollo: ApolloServer<GraphQLContext>;
  progress: ProgressBus;
  liveness: ProcessLiveness;
  metrics: Metrics;
  verifier: TokenVerifier;
}

/**
 * With a subject claim other than `sub`, operators never given a subject of their own cannot sign in:
 * one line says how many there are (operator:update --subject gives them one).
 */
async function sayOperatorsWithoutSubject(config: Config, orm: MikroORM, log: Logger): Promise<void> {
  if (config.userTokenSubjectClaim === 'sub') return;
  const count = await operatorsWithoutSubject(orm.em.fork());
  const line = { claim: config.userTokenSubjectClaim, operatorsWithoutSubject: count };
  if (count > 0) log.warn(line, 'operators with no subject of their own cannot sign in with this claim');
  else log.info(line, 'every operator has a subject of its own (none with no subject)');
}

/** The public port's middleware, in order, and its routers (the OpenAPI document lists exactly their routes). */
function publicPort({ config, log, services, verifier, progress, apollo, metrics }: Parts) {
  const koa = new Koa({ proxy: false });
  koa.silent = true;
  koa.use(observeRequests(metrics.httpDuration));
  koa.use(requestContext(log));
  // Before the error handler, so refusals carry the CORS headers too (a browser app can read them).
  koa.use(corsMiddleware(config.corsOrigins));
  koa.use(errorHandler());
  const health = healthRouter(services);
  // One operator's calls in flight, GraphQL and REST together (MAX_GRAPHQL_OPERATIONS_PER_OPERATOR).
  const inFlight = new InFlight(config.maxGraphQLOperationsPerOperator);
  const rest = processRequestRouter(
    services,
    verifier,
    inFlight,
    progressRoutes(services, verifier, progress),
  );
  const statements = statementRouter(services, verifier);
  const webhooks = webhookRouter(services, verifier);
  const docs = docsRouter({ page: config.apiDocs });
  // The checker console is a page and its own session call, not part of the REST API document.
  const consoleRoutes = config.console.enabled ? [consoleRouter(services, verifier)] : [];
  const allowed = allowedMethods([health, docs, rest, statements, webhooks, ...consoleRoutes], {
    [GRAPHQL_PATH]: ['GET', 'HEAD', 'POST'],
  });
  koa.use(methodGuard(allowed));
  // GraphQL's path first: no router below serves it, and each would match the path against its routes.
  koa.use(explorerMiddleware(config.graphqlExplorer));
  koa.use(graphqlMiddleware(apollo, services, verifier, inFlight));
  koa.use(health.routes());
  koa.use(docs.routes());
  for (const router of consoleRoutes) koa.use(router.routes());
  koa.use(rest.routes());
  koa.use(statements.routes());
  koa.use(webhooks.routes());
  return { koa, routers: [health, docs, rest, statements, webhooks], allowed };
}

/** The HTTP server of the public port, with its deadlines. Every route must be registered on `koa` by now. */
function httpServer(config: Config, koa: Koa): Server {
  // Koa composes its middleware here (callback()).
  // Node checks these deadlines every connectionsCheckingInterval: a quarter of the timeout, at most 30 s.
  const requestTimeout = config.requestTimeoutSeconds * 1000;
  const server = createServer(
    { connectionsCheckingInterval: Math.min(30_000, Math.max(250, requestTimeout / 4)) },
    koa.callback(),
  );
  server.headersTimeout = Math.min(30_000, requestTimeout);
  server.requestTimeout = requestTimeout;
  server.maxHeadersCount = 100;
  return server;
}

/** The app as callers hold it: listen starts serving and the background work, close stops all in order. */
function running(
  parts: Parts & { server: Server; routers: Router[]; subscriptions: { close(): Promise<void> } },
): App {
  const { config, log, orm, services, apollo, progress, liveness, server, metrics, subscriptions } = parts;
  const closeServer = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeIdleConnections();
    });

  let closed = false;
  let metricsServer: MetricsServer | undefined;
  return {
    config,
    log,
    orm,
    services,
    apollo,
    progress,
    liveness,
    server,
    routers: parts.routers,
    metrics,
    metricsAddress: () => metricsServer?.address ?? null,
    graphqlContext: (input) => buildGraphQLContext(services, parts.verifier, input),
    async listen(port = config.port, host = config.host) {
      const address = await new Promise<AddressInfo>((resolve, reject) => {
        const onError = (e: Error) => reject(listenError(e, 'PORT', host, port));
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          resolve(server.address() as AddressInfo);
        });
      });
      if (config.metricsPort !== null) {
        try {
          metricsServer = await startMetricsServer(
            metrics.registry,
            config.metricsPort,
            config.metricsHost,
            log,
          );
        } catch (error) {
          // Half a start is no start: the public port is given back too.
          await closeServer();
          throw error;
        }
      }
      await sayOperatorsWithoutSubject(config, orm, log);
      // Serving from now on: blobs left by creates that died (here or in any process) are reclaimed,
      // and PENDING requests past their deadline expire.
      services.reconciler.start();
      services.expiry.start(config.expirySweepSeconds);
      services.webhookRelay.start();
      return address;
    },
    async close() {
      if (closed) return;
      closed = true;
      await services.expiry.stop();
      await services.webhookRelay.stop();
      // Streams end first, so their clients see a clean end rather than a dropped connection.
      await progress.stop();
      await subscriptions.close();
      await closeServer();
      await metricsServer?.close();
      metricsServer = undefined;
      await apollo.stop();
      await services.reconciler.stop();
      // After every create has finished: until now other processes must not reclaim this one's uploads.
      await liveness.stop();
      await orm.close(true);
      metrics.close();
    },
  };
}

/** A port that cannot be taken, as the one line that names the setting to change. */
export function listenError(error: Error, variable: string, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `${variable}: ${host}:${port} is already in use by another program; set ${variable} to a free port, or 0 for any free port`,
    );
  if (code === 'EACCES')
    return new StartupError(
      `${variable}: not allowed to listen on ${host}:${port}; choose a port above 1023`,
    );
  if (code === 'EADDRNOTAVAIL')
    return new StartupError(`${variable}: ${host} is not an address of this machine; change the host`);
  return error;
}
