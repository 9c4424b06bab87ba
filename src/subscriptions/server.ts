// graphql-ws at /graphql on the app's HTTP server. Credentials come in connection_init's payload;
// every subscribe re-authenticates and is checked before it is acknowledged with a first event.
import {
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  Kind,
  specifiedRules,
  subscribe,
  validate,
} from 'graphql';
import type { Server } from 'node:http';
import type { Context, SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';
import { authenticate, credentialsOf } from '../auth/authenticate';
import type { TokenVerifier } from '../auth/token-verifier';
import type { Services } from '../services';
import { DomainError, toDomainError } from '../domain/errors';
import type { ProgressBus } from '../runtime/progress-bus';
import { GRAPHQL_PATH } from '../http/paths';
import { buildGraphQLContext } from '../graphql/context';
import { documentLimitsRule, parseWithinLimits, variablesLimitError } from '../graphql/document-limits';
import { formatGraphQLError, toGraphQLError } from '../graphql/errors';
import type { SubscriptionContext } from './context';
import { documentKey, subscribeShared } from './shared-execution';
import type { Logger } from '../logger';

const MAX_MESSAGE_BYTES = 64 * 1024;
const TERMINATE_AFTER_MS = 1000;
const KEEP_ALIVE_MAX_MS = 12_000;

export interface SubscriptionServerDeps {
  schema: GraphQLSchema;
  services: Services;
  verifier: TokenVerifier;
  bus: ProgressBus;
}

/** A graphql-ws connection as the hooks below see it. */
type Connection = Context<Record<string, unknown>, Extra>;

export function attachSubscriptions(
  server: Server,
  deps: SubscriptionServerDeps,
): { close(): Promise<void> } {
  const { schema, services } = deps;
  const log = services.log.child({ door: 'graphql-ws' });
  const format = formatGraphQLError(log, { hideSuggestions: !services.config.introspection });
  // The stream opened while a subscribe was checked, handed to graphql-ws's own subscribe step.
  const prepared = new WeakMap<object, AsyncIterable<unknown>>();
  const wss = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: MAX_MESSAGE_BYTES });

  const handle = useServer<Record<string, unknown>>(
    {
      schema,
      onConnect: (ctx) => acceptConnection(deps, log, ctx),
      onSubscribe: async (ctx, _id, payload) => {
        const checked = await checkSubscription(deps, log, ctx, payload);
        if (!('stream' in checked)) return checked;
        prepared.set(checked.args.contextValue as object, checked.stream);
        return checked.args;
      },
      subscribe: (args) => {
        const stream = prepared.get(args.contextValue as object);
        if (!stream) return subscribe(args);
        prepared.delete(args.contextValue as object);
        return stream as Awaited<ReturnType<typeof subscribe>>;
      },
      // Same codes as the HTTP door (extensions.code and extensions.status); unexpected errors are logged, not shown.
      // A client gone in the middle of a send is no server failure: noted, not logged as an error.
      onError: (ctx, id, _payload, errors) => {
        if (ctx.extra.socket.readyState !== WebSocket.OPEN || errors.some(isTransportFailure)) {
          log.info({ id, reason: errors[0]?.message }, 'subscription cut off: the connection went away');
          return errors;
        }
        return errors.map((e) => format(e.toJSON(), e));
      },
    },
    wss,
    // A WebSocket ping every half stall bound (every 12 s at most, graphql-ws's own default); a socket
    // that leaves one unanswered as long again is terminated. A client that stopped reading cannot
    // answer (the ping waits behind what it left unread), so it frees its subscriptions within
    // PROGRESS_STALL_SECONDS.
    Math.min(KEEP_ALIVE_MAX_MS, services.config.progressStallSeconds * 500),
  );
  // ws forwards every error of the HTTP server to this one, and graphql-ws prints it with a stack on the
  // console: a port already taken would be a page of stack before the one line listen() reports. Before
  // the server listens its errors are listen()'s; after, one is logged (and sockets are told) here.
  wss.removeAllListeners('error');
  wss.on('error', (error: Error) => {
    if (!server.listening) return log.debug({ err: error }, 'HTTP server error before listening');
    log.error({ err: error }, 'HTTP server error');
    for (const socket of wss.clients) socket.close(1011, 'Internal server error');
  });

  return {
    async close() {
      const terminate = setTimeout(() => {
        for (const socket of wss.clients) socket.terminate();
      }, TERMINATE_AFTER_MS);
      try {
        await handle.dispose();
      } finally {
        clearTimeout(terminate);
      }
    },
  };
}

/**
 * connection_init: bad tokens close the socket at once (4401, which clients do not retry); the operator
 * is read again per subscribe.
 */
async function acceptConnection(
  { services, verifier }: SubscriptionServerDeps,
  log: Logger,
  ctx: Connection,
) {
  try {
    await authenticate(verifier, services.orm.em.fork(), credentialsOf(ctx.connectionParams));
    return true;
  } catch (error) {
    const domain = toDomainError(error);
    if (domain.code === 'UNAUTHENTICATED') {
      // The close reason (at most 123 bytes) says which token and why, as a 401's details do.
      const { token, reason } = (domain.details ?? {}) as { token?: string; reason?: string };
      log.info({ code: domain.code, reason: domain.message, details: domain.details }, 'connection refused');
      ctx.extra.socket.close(4401, token ? `Unauthorized: ${token} token ${reason}` : 'Unauthorized');
    } else if (domain.status >= 500) ctx.extra.socket.close(1013, 'Try again later');
    return false;
  }
}

/**
 * subscribe: the whole check (cap, limits, parse, validate, authenticate, scope) so that a refusal is an
 * `error` message, never an event; the stream it opened is handed on with the arguments. The document
 * limits are those of the HTTP door, in the same order.
 */
async function checkSubscription(
  { schema, services, verifier, bus }: SubscriptionServerDeps,
  log: Logger,
  ctx: Connection,
  payload: SubscribePayload,
): Promise<readonly GraphQLError[] | { args: ExecutionArgs; stream: AsyncIterable<unknown> }> {
  const maxPerSocket = services.config.maxSubscriptionsPerSocket;
  // graphql-ws registers the id before this hook runs, so subscriptions still being checked count too.
  if (Object.keys(ctx.subscriptions).length > maxPerSocket)
    return [toGraphQLError(new DomainError('TOO_MANY_SUBSCRIPTIONS', undefined, { limit: maxPerSocket }))];
  const document = checkedDocument(schema, payload);
  if (!('kind' in document)) return document;
  let contextValue: SubscriptionContext;
  try {
    // The context object itself, not a copy: its loaders judge with it.
    contextValue = Object.assign(
      await buildGraphQLContext(services, verifier, {
        credentials: credentialsOf(ctx.connectionParams),
        log,
      }),
      { progress: bus },
    );
  } catch (error) {
    return [error as GraphQLError];
  }
  const args: ExecutionArgs = {
    schema,
    document,
    operationName: payload.operationName,
    variableValues: payload.variables,
    contextValue,
  };
  // Each event is executed once for every watcher that sent the same document (not once per watcher).
  const result = await subscribeShared(args, documentKey(payload));
  // An error before any field ran (no path; the operation is known by now) is a variable of the
  // wrong type or missing: the HTTP door's BAD_USER_INPUT. A resolver's refusal keeps its own code.
  if (!(Symbol.asyncIterator in result))
    return (result.errors ?? []).map((e) =>
      e.path ? e : toGraphQLError(new DomainError('BAD_USER_INPUT', e.message)),
    );
  return { args, stream: result };
}

/** The subscription's document, parsed and validated within the limits, or why it is refused. */
function checkedDocument(
  schema: GraphQLSchema,
  payload: SubscribePayload,
): DocumentNode | readonly GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parseWithinLimits(payload.query);
  } catch (error) {
    return [toGraphQLError(toDomainError(error))];
  }
  const tooLarge = variablesLimitError(payload.variables);
  if (tooLarge) return [toGraphQLError(tooLarge)];
  const invalid = validate(schema, document, [...specifiedRules, documentLimitsRule]);
  // A limit keeps its code (QUERY_TOO_DEEP, …); the others are plain validation failures.
  if (invalid.length > 0)
    return invalid.map((e) =>
      e.originalError instanceof DomainError
        ? e
        : toGraphQLError(new DomainError('GRAPHQL_VALIDATION_FAILED', e.message)),
    );
  const operation = getOperationAST(document, payload.operationName);
  // As the HTTP door says it: no operation of that name, or several and no name.
  if (!operation)
    return [
      toGraphQLError(
        new DomainError(
          'OPERATION_RESOLUTION_FAILURE',
          payload.operationName
            ? `Unknown operation named "${payload.operationName}"`
            : document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)
              ? 'Must provide operation name if query contains multiple operations'
              : 'Must provide an operation',
        ),
      ),
    ];
  if (operation.operation !== 'subscription')
    return [
      toGraphQLError(
        new DomainError(
          'VALIDATION_FAILED',
          'Only subscriptions are served over WebSocket; use POST /graphql',
        ),
      ),
    ];
  return document;
}

/** A write to a connection the peer has reset or closed. */
const TRANSPORT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);
function isTransportFailure(error: GraphQLError): boolean {
  const code = (error.originalError as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && TRANSPORT_CODES.has(code);
}
