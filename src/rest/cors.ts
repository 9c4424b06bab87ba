// CORS for browser apps on other origins (SPEC section 15): only the origins in CORS_ORIGINS, only on
// /graphql and the REST facade, preflight included. No origin listed: no CORS headers at all.
import cors from '@koa/cors';
import type { Context, Middleware, Next } from 'koa';
import { GRAPHQL_PATH } from '../http/paths';

/** Request headers the doors read (credentials, uploads, idempotency, Apollo's CSRF rule, SSE resume). */
export const CORS_ALLOWED_HEADERS = [
  'authorization',
  'x-user-token',
  'content-type',
  'idempotency-key',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'last-event-id',
  'x-request-id',
];
/** Every method the facade and /graphql answer (PUT: the approval policy). */
export const CORS_ALLOWED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH'];
/** Response headers a browser app may read besides the simple ones. */
export const CORS_EXPOSED_HEADERS = ['x-request-id', 'retry-after'];
export const CORS_MAX_AGE_SECONDS = 600;

const REST_PREFIX = '/cms/rest/';

export function corsMiddleware(origins: readonly string[]): Middleware {
  if (origins.length === 0) return (_ctx: Context, next: Next) => next();
  const allowed = new Set(origins);
  const handler = cors({
    // A browser sends its origin exactly as serialised (scheme://host[:port]); CORS_ORIGINS is validated so.
    origin: (ctx) => (allowed.has(ctx.get('origin')) ? ctx.get('origin') : ''),
    allowMethods: CORS_ALLOWED_METHODS,
    allowHeaders: CORS_ALLOWED_HEADERS,
    exposeHeaders: CORS_EXPOSED_HEADERS,
    maxAge: CORS_MAX_AGE_SECONDS,
    keepHeadersOnError: true,
  });
  return (ctx, next) =>
    ctx.path === GRAPHQL_PATH || ctx.path.startsWith(REST_PREFIX) ? handler(ctx, next) : next();
}
