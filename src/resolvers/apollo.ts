// Apollo Server mounted on Koa by hand (HeaderMap + executeHTTPGraphQLRequest), with multipart uploads.
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { processRequest } from 'graphql-upload-minimal';
import type { Context, Next } from 'koa';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { TokenVerifier } from '../auth/token-verifier';
import type { Services } from '../services';
import { DomainError } from '../domain/errors';
import { MAX_EVIDENCE_BYTES } from '../services/evidence.service';
import { GRAPHQL_PATH } from '../http/paths';
import { readJsonObject, sendJson } from '../http/json';
import { noteFailure } from '../http/middleware';
import { credentialsOf } from '../auth/authenticate';
import { buildGraphQLContext, type GraphQLContext } from '../graphql/context';
import { HotOperations } from '../graphql/hot-operation';
import { loadersPlugin } from '../graphql/loaders.plugin';
import { documentLimitsRule, PARSE_OPTIONS, variablesLimitError } from '../graphql/document-limits';
import { uploadOnceRule } from './upload-once';
import { formatGraphQLError, fromUploadError, toGraphQLError } from '../graphql/errors';
import { retryAfterPlugin } from '../graphql/retry-after.plugin';
import type { InFlight } from '../http/in-flight';
import { addRequestIdToErrorBody, requestIdPlugin } from './request-id.plugin';

const MAX_JSON_BODY = 256 * 1024;

/** Refuses variables over their size limit once the operation is known, before it runs. */
function variablesLimitPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, contextValue }) {
          const error = variablesLimitError(request.variables);
          if (error) throw toGraphQLError(error, contextValue.requestId, true);
        },
      };
    },
  };
}

export function createApollo(schema: GraphQLSchema, services: Services): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    csrfPrevention: true,
    introspection: services.config.introspection,
    allowBatchedHttpRequests: false,
    // Size and tokens while parsing, then the document limits before graphql's own rules walk it.
    parseOptions: PARSE_OPTIONS,
    validationRules: [documentLimitsRule, uploadOnceRule],
    formatError: formatGraphQLError(services.log, { hideSuggestions: !services.config.introspection }),
    // Apollo's own landing pages load scripts from its CDN and fonts from Google: never served. The
    // explorer, when on, is ours (explorer.ts), from the service's own assets.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // Apollo's cache-control plugin, installed unless disabled, wraps every field's resolver to gather
      // cache hints. The schema gives none, so every answer was uncacheable and it set no header: the
      // same answer without the per-field work.
      ApolloServerPluginCacheControlDisabled(),
      // Installed unless disabled, it traces only a federated subgraph's operations (this schema is none),
      // yet still starts on every request to find that out.
      ApolloServerPluginInlineTraceDisabled(),
      requestIdPlugin(),
      loadersPlugin(),
      variablesLimitPlugin(),
      retryAfterPlugin(),
    ],
    includeStacktraceInErrorResponses: false,
    logger: {
      debug: (m) => services.log.debug(m),
      info: (m) => services.log.info(m),
      warn: (m) => services.log.warn(m),
      error: (m) => services.log.error(m),
    },
  });
}

/** Apollo's CSRF rule for multipart: a preflight-forcing header must be present. Checked before reading the body. */
function hasPreflightHeader(ctx: Context): boolean {
  return Boolean(ctx.get('apollo-require-preflight') || ctx.get('x-apollo-operation-name'));
}

/**
 * graphql-upload-minimal listens once for its multipart parser's errors, but busboy can report two: a part
 * header it cannot read, then "Unexpected end of form" as the request ends. With no listener left, the second
 * was thrown and stopped the process. The parser the library pipes the request into keeps a listener of
 * its own; the first error still fails the upload (MALFORMED_MULTIPART), the later ones are about the same body.
 */
function keepParserErrorsHeard(req: IncomingMessage): void {
  const pipe = req.pipe;
  req.pipe = function <T extends NodeJS.WritableStream>(
    this: IncomingMessage,
    destination: T,
    options?: { end?: boolean },
  ) {
    destination.on('error', () => {});
    return pipe.call(this, destination, options) as T;
  };
}

/** A request's headers as Apollo reads them (a repeated header joined with commas). */
export function headerMapOf(incoming: IncomingHttpHeaders): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(incoming)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** The operation's body: multipart (an upload), JSON, or none (GET, or a type Apollo refuses itself). */
async function readBody(ctx: Context): Promise<{ body?: unknown; upload: boolean }> {
  if (ctx.method !== 'POST') return { upload: false };
  if (ctx.is('multipart/form-data')) {
    // Without the header Apollo refuses the request anyway: don't read a body that will be refused.
    if (!hasPreflightHeader(ctx)) return { upload: true };
    try {
      keepParserErrorsHeard(ctx.req);
      const body = await processRequest(ctx.req, ctx.res, {
        maxFileSize: MAX_EVIDENCE_BYTES + 1,
        maxFiles: 1,
        maxFieldSize: MAX_JSON_BODY,
      });
      return { body, upload: true };
    } catch (e) {
      throw fromUploadError(e) ?? new DomainError('MALFORMED_MULTIPART', (e as Error).message);
    }
  }
  if (ctx.is('application/json', 'application/graphql-response+json'))
    return { body: await readJsonObject(ctx, MAX_JSON_BODY), upload: false };
  return { upload: false };
}

/**
 * The operation's text and name as Apollo will read them: a JSON body's, or a GET's query string. A
 * multipart body is an upload, a mutation: none.
 */
function operationText(
  ctx: Context,
  body: unknown,
  upload: boolean,
): { query?: unknown; operationName?: unknown } {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return ctx.query;
  if (upload || body === null || typeof body !== 'object') return {};
  return body as { query?: unknown; operationName?: unknown };
}

export function graphqlMiddleware(
  apollo: ApolloServer<GraphQLContext>,
  services: Services,
  verifier: TokenVerifier,
  /** The per-operator places this process shares between GraphQL and REST. */
  inFlight: InFlight,
) {
  const hotOperations = new HotOperations();
  return async (ctx: Context, next: Next) => {
    // Other methods never get here (rest/methods.ts: 405 with Allow).
    if (ctx.path !== GRAPHQL_PATH) return next();
    let body: unknown;
    let upload: boolean;
    try {
      ({ body, upload } = await readBody(ctx));
    } catch (e) {
      // A body that cannot be read is refused in the shape of every other GraphQL answer.
      const error = noteFailure(ctx, e);
      const refusal = toGraphQLError(error, ctx.state.requestId).toJSON();
      if (error.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(error.retryAfterSeconds));
      sendJson(ctx, error.status, { errors: [refusal] });
      return;
    }
    const headers = headerMapOf(ctx.headers);
    const text = operationText(ctx, body, upload);
    // The operator's place among its operations in flight, taken once it is authenticated.
    let release: (() => void) | undefined;
    const response = await apollo
      .executeHTTPGraphQLRequest({
        httpGraphQLRequest: {
          // HEAD is answered as GET; Koa sends its status and headers without the body.
          method: ctx.method === 'HEAD' ? 'GET' : ctx.method,
          headers,
          search: ctx.querystring ? `?${ctx.querystring}` : '',
          body,
        },
        context: async () => {
          const context = await buildGraphQLContext(services, verifier, {
            credentials: credentialsOf(ctx.headers),
            requestId: ctx.state.requestId,
            log: () => ctx.state.log,
            expectedBytes: Number(ctx.get('content-length')) || undefined,
            hot: hotOperations.isHot(text.query, text.operationName),
            headOnly: ctx.method === 'HEAD',
          });
          try {
            release = inFlight.acquire(context.operator.id);
          } catch (refusal) {
            throw toGraphQLError(refusal as DomainError, context.requestId, true);
          }
          const first = release;
          const more: Array<() => void> = [];
          release = () => [first, ...more].forEach((give) => give());
          // The operation holds one place; a bulk decision takes one per 25 ids in all, as over REST.
          context.holdBulk = (ids) => {
            const extra = inFlight.weightOf(ids) - 1;
            if (extra > 0) more.push(inFlight.acquire(context.operator.id, extra));
          };
          return context;
        },
      })
      .finally(() => release?.());
    // An upload the operation never read (refused before it ran) is drained, so the client gets the answer.
    if (!ctx.req.complete) ctx.req.resume();
    for (const [key, value] of response.headers) ctx.set(key, value);
    ctx.status = response.status ?? 200;
    if (response.body.kind !== 'complete') ctx.body = Readable.from(response.body.asyncIterator);
    // Refused before execution (no plugin ran): the errors still name the request.
    else
      ctx.body =
        ctx.status >= 400
          ? addRequestIdToErrorBody(response.body.string, ctx.state.requestId)
          : response.body.string;
  };
}
