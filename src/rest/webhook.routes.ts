// REST of SPEC section 16 under the partner base: webhook endpoints (ADMIN), their delivery log and
// replay, and the events feed (any reader). Thin: parse, call the webhook service, shape.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { TokenVerifier } from '../auth/token-verifier';
import type { Services } from '../services';
import { id, parseInput } from '../shapes/inputs';
import {
  deliveryQuery,
  eventsQuery,
  recoverInput,
  webhookEndpointChanges,
  webhookEndpointInput,
} from '../shapes/webhook-inputs';
import { readJsonObject, sendJson } from '../http/json';
import { partnerOf, REST_BASE, serviceContext } from './process-request.routes';

const BODY_LIMIT = 16 * 1024;

export function webhookRouter(services: Services, verifier: TokenVerifier): Router {
  const router = new Router({ prefix: REST_BASE });
  const svc = (ctx: Context) => serviceContext(ctx, services, verifier);
  const { webhooks } = services;
  const endpointOf = (ctx: Context) => parseInput(id, ctx.params.id, 'id');
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.post('/webhook-endpoints', async (ctx) => {
    const sctx = await svc(ctx);
    const partnerId = partnerOf(ctx);
    const input = parseInput(webhookEndpointInput, await readJsonObject(ctx, BODY_LIMIT));
    const { endpoint, secret } = await webhooks.createFor(sctx, partnerId, input);
    sendJson(ctx, 201, { ...endpoint, secret });
  });

  router.get('/webhook-endpoints', async (ctx) => {
    const sctx = await svc(ctx);
    sendJson(ctx, 200, { items: await webhooks.listFor(sctx, partnerOf(ctx)) });
  });

  router.get('/webhook-endpoints/:id', async (ctx) => {
    const sctx = await svc(ctx);
    sendJson(ctx, 200, await webhooks.get(sctx, partnerOf(ctx), endpointOf(ctx)));
  });

  router.patch('/webhook-endpoints/:id', async (ctx) => {
    const sctx = await svc(ctx);
    const [partnerId, endpointId] = [partnerOf(ctx), endpointOf(ctx)];
    const changes = parseInput(webhookEndpointChanges, await readJsonObject(ctx, BODY_LIMIT));
    sendJson(ctx, 200, await webhooks.update(sctx, partnerId, endpointId, changes));
  });

  router.delete('/webhook-endpoints/:id', async (ctx) => {
    const sctx = await svc(ctx);
    await webhooks.removeFor(sctx, partnerOf(ctx), endpointOf(ctx));
    ctx.status = 204;
  });

  router.post('/webhook-endpoints/:id/secret', async (ctx) => {
    const sctx = await svc(ctx);
    sendJson(ctx, 200, await webhooks.rotate(sctx, partnerOf(ctx), endpointOf(ctx)));
  });

  router.get('/webhook-endpoints/:id/deliveries', async (ctx) => {
    const sctx = await svc(ctx);
    const [partnerId, endpointId] = [partnerOf(ctx), endpointOf(ctx)];
    sendJson(
      ctx,
      200,
      await webhooks.deliveries(sctx, partnerId, endpointId, parseInput(deliveryQuery, ctx.query)),
    );
  });

  router.post('/webhook-endpoints/:id/deliveries/:deliveryId/retry', async (ctx) => {
    const sctx = await svc(ctx);
    const deliveryId = parseInput(id, ctx.params.deliveryId, 'deliveryId');
    await webhooks.retry(sctx, partnerOf(ctx), endpointOf(ctx), deliveryId);
    sendJson(ctx, 202, { requeued: 1 });
  });

  router.post('/webhook-endpoints/:id/recover', async (ctx) => {
    const sctx = await svc(ctx);
    const [partnerId, endpointId] = [partnerOf(ctx), endpointOf(ctx)];
    const { since } = parseInput(recoverInput, await readJsonObject(ctx, BODY_LIMIT));
    sendJson(ctx, 202, await webhooks.recover(sctx, partnerId, endpointId, since!));
  });

  router.get('/events', async (ctx) => {
    const sctx = await svc(ctx);
    sendJson(ctx, 200, await webhooks.events(sctx, partnerOf(ctx), parseInput(eventsQuery, ctx.query)));
  });

  return router;
}
