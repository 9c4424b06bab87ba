// Times every request on the public port, labelled by route template so a label never holds an id.
import type { Context, Next } from 'koa';
import type { Histogram } from 'prom-client';
import { GRAPHQL_PATH } from '../http/paths';

/** The label of a request no route took (404s, probes of random paths): one series, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

/** The route template @koa/router matched (`/cms/rest/app/partners/:partnerId/…`), `/graphql`, or `unmatched`. */
export function routeLabel(ctx: Context): string {
  if (ctx.path === GRAPHQL_PATH) return GRAPHQL_PATH;
  const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  return typeof matched === 'string' ? matched : UNMATCHED_ROUTE;
}

/**
 * Goes first, outside the error handler, so it sees the final status. The time runs until the
 * response is over ('close'): a streamed list counts its streaming, an SSE stream its whole life.
 */
export function observeRequests(histogram: Histogram<'method' | 'route' | 'status'>) {
  return async (ctx: Context, next: Next) => {
    const started = process.hrtime.bigint();
    const closed = new Promise<void>((resolve) => ctx.res.once('close', resolve));
    try {
      await next();
    } finally {
      void closed.then(() => {
        // A client that left before the answer: the status Koa settled on, since none was sent.
        const status = ctx.res.headersSent ? ctx.res.statusCode : ctx.status;
        histogram.observe(
          { method: ctx.method, route: routeLabel(ctx), status: String(status) },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
      });
    }
  };
}
