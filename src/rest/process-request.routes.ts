// The REST facade of SPEC section 4, under /cms/rest/app/partners/:partnerId. Thin: parse, call a service, shape.
import Router from '@koa/router';
import type { Context } from 'koa';
import { Readable } from 'node:stream';
import { authenticate, credentialsOf } from '../auth/authenticate';
import type { TokenVerifier } from '../auth/token-verifier';
import type { ServiceContext } from '../services/context';
import type { Services } from '../services';
import type { ProcessRequestView } from '../services/views';
import { readJsonObject, sendJson, stringify } from './json';
import { receiveMultipart } from './multipart';

const ACTION_BODY_LIMIT = 16 * 1024;

export const REST_BASE = '/cms/rest/app/partners/:partnerId';

/** Authenticates the two headers and builds the service context for this request. */
export async function serviceContext(
  ctx: Context,
  services: Services,
  verifier: TokenVerifier,
): Promise<ServiceContext> {
  const em = services.orm.em.fork();
  const operator = await authenticate(verifier, em, credentialsOf(ctx.headers));
  return { em, operator, log: ctx.state.log.child({ operatorId: operator.id }) };
}

/** A JSON array written item by item: the response never holds the whole list. */
function jsonArrayStream(items: AsyncIterable<ProcessRequestView>, onError: (e: unknown) => void): Readable {
  return Readable.from(
    (async function* () {
      let first = true;
      yield '[';
      try {
        for await (const item of items) {
          yield (first ? '' : ',') + stringify(item);
          first = false;
        }
      } catch (e) {
        onError(e);
        throw e;
      }
      yield ']';
    })(),
  );
}

export function processRequestRouter(
  services: Services,
  verifier: TokenVerifier,
  extend?: (router: Router) => void,
): Router {
  const router = new Router({ prefix: REST_BASE });
  const svc = (ctx: Context) => serviceContext(ctx, services, verifier);
  const { processRequests, queries } = services;

  router.post('/process-request', async (ctx) => {
    const sctx = await svc(ctx);
    const contentLength = Number(ctx.get('content-length')) || undefined;
    const created = await processRequests.create(sctx, ctx.params.partnerId, receiveMultipart(ctx.req), {
      expectedBytes: contentLength,
      idempotencyKey: ctx.headers['idempotency-key'],
    });
    sendJson(ctx, 201, created);
  });

  router.get('/balance', async (ctx) => {
    sendJson(ctx, 200, await queries.balance(await svc(ctx), ctx.params.partnerId));
  });

  router.get('/process-requests', async (ctx) => {
    const q = ctx.query;
    sendJson(ctx, 200, await queries.page(await svc(ctx), ctx.params.partnerId, q));
  });

  router.get('/process-request', async (ctx) => {
    const sctx = await svc(ctx);
    const items = await queries.stream(sctx, ctx.params.partnerId, ctx.query);
    ctx.status = 200;
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = jsonArrayStream(items, (e) => sctx.log.error({ err: e }, 'list stream failed mid-way'));
  });

  // Routes of later sections (the progress stream) register before /:id, which would otherwise take their path.
  extend?.(router);

  router.get('/process-request/:id', async (ctx) => {
    sendJson(ctx, 200, await queries.details(await svc(ctx), ctx.params.partnerId, ctx.params.id));
  });

  router.get('/process-request/:id/evidence/download', async (ctx) => {
    const link = await queries.evidenceDownloadUrl(await svc(ctx), ctx.params.partnerId, ctx.params.id);
    sendJson(ctx, 200, { url: link.url, expiresAt: link.expiresAt });
  });

  for (const action of ['approve', 'reject', 'cancel'] as const) {
    router.patch(`/process-request/:id/${action}`, async (ctx) => {
      const sctx = await svc(ctx);
      const body = await readJsonObject(ctx, ACTION_BODY_LIMIT);
      await processRequests[action](sctx, ctx.params.partnerId, ctx.params.id, {
        reason: body.reason,
        otp: body.otp,
      });
      ctx.status = 204;
    });
  }

  return router;
}
