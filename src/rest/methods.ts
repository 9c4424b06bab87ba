// Which methods each known path answers, read from the routers themselves (plus fixed paths such as
// /graphql). Any other method on a known path is 405 with Allow, before authentication or the body.
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { DomainError } from '../domain/errors';

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const byOrder = (a: string, b: string) => ORDER.indexOf(a) - ORDER.indexOf(b);

/** The methods a path accepts, OPTIONS included, in a fixed order; undefined for a path nothing serves. */
export type AllowedMethods = (path: string) => string[] | undefined;

/** Path segments that are ids: the routes take them as parameters, so every id gets the same answer. */
const ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const ANY_ID = '00000000-0000-0000-0000-000000000000';
/** Distinct id-free paths remembered; past this the memory starts again (a client sending made-up paths). */
const KNOWN_PATHS = 512;

export function allowedMethods(routers: Router[], fixed: Record<string, string[]> = {}): AllowedMethods {
  const allowed = (path: string) => {
    const methods = new Set(fixed[path] ?? []);
    for (const router of routers) {
      for (const layer of router.match(path, 'GET').path) for (const m of layer.methods) methods.add(m);
    }
    if (methods.size === 0) return undefined;
    methods.add('OPTIONS');
    return [...methods].sort(byOrder);
  };
  // A path's answer is the same for every call once the routes are registered (before the first request),
  // and the same for every id in it (no route's parameter is narrower than a path segment, nor a literal an
  // id): worked out once per shape of path, not matched against every route of every router on each call.
  const known = new Map<string, string[] | undefined>();
  return (path) => {
    const shape = path.replace(ID, ANY_ID);
    let methods = known.get(shape);
    if (methods === undefined && !known.has(shape)) {
      methods = allowed(shape);
      if (known.size >= KNOWN_PATHS) known.clear();
      known.set(shape, methods);
    }
    return methods;
  };
}

/** The Allow header and the 405 for a method a known path does not accept. */
export function methodNotAllowed(method: string, allow: string[]): DomainError {
  return new DomainError('METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allow.join(', ')}`, {
    method,
    allow,
  });
}

/** OPTIONS on a known path is 204 with Allow; a method the path does not accept is 405 with Allow. */
export function methodGuard(allowed: AllowedMethods) {
  return async (ctx: Context, next: Next) => {
    const allow = allowed(ctx.path);
    if (!allow || (ctx.method !== 'OPTIONS' && allow.includes(ctx.method))) return next();
    ctx.set('Allow', allow.join(', '));
    if (ctx.method !== 'OPTIONS') throw methodNotAllowed(ctx.method, allow);
    ctx.status = 204;
  };
}
