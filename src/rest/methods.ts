// Which methods each known path answers, read from the routers themselves (plus fixed paths such as
// /graphql). Any other method on a known path is 405 with Allow, before authentication or the body.
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { DomainError } from '../domain/errors';

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const byOrder = (a: string, b: string) => ORDER.indexOf(a) - ORDER.indexOf(b);

/** The methods a path accepts, OPTIONS included, in a fixed order; undefined for a path nothing serves. */
export type AllowedMethods = (path: string) => string[] | undefined;

export function allowedMethods(routers: Router[], fixed: Record<string, string[]> = {}): AllowedMethods {
  // A fixed path's answer is the same for every call once the routes are registered (before the first
  // request): worked out on its first call, not matched against every route again on each (/graphql).
  const known = new Map<string, string[] | undefined>();
  const allowed: AllowedMethods = (path) => {
    const methods = new Set(fixed[path] ?? []);
    for (const router of routers) {
      for (const layer of router.match(path, 'GET').path) for (const m of layer.methods) methods.add(m);
    }
    if (methods.size === 0) return undefined;
    methods.add('OPTIONS');
    return [...methods].sort(byOrder);
  };
  return (path) => {
    if (!Object.hasOwn(fixed, path)) return allowed(path);
    if (!known.has(path)) known.set(path, allowed(path));
    return known.get(path);
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
