// The REST facade of SPEC section 4, under /cms/rest/app/partners/:partnerId. Thin: parse, call a service, shape.
import Router from '@koa/router';
import type { Context } from 'koa';
import { Readable } from 'node:stream';
import { lazyChild } from '../logger';
import { authenticate, credentialsOf } from '../auth/authenticate';
import type { TokenVerifier } from '../auth/token-verifier';
import { contextWithLog, type ServiceContext } from '../domain/context';
import type { Services } from '../services';
import { ProcessRequestStatus } from '../entities/process-request.entity';
import {
  balanceAt,
  bulkDecisionInput,
  policyChangesQuery,
  policyInput,
  reversalInput,
  decisionInput,
  id,
  idempotencyKey,
  listFilters,
  pageQuery,
  parseInput,
  policyHistoryQuery,
} from '../shapes/inputs';
import type { ProcessRequestView } from '../shapes/views';
import { DomainError } from '../domain/errors';
import { readJsonObject, sendJson, stringify } from '../http/json';
import type { InFlight } from '../http/in-flight';
import { receiveMultipart } from './multipart';

const ACTION_BODY_LIMIT = 16 * 1024;
/** 100 ids of 36 characters with room for a reason and an OTP. */
const BULK_BODY_LIMIT = 64 * 1024;

export const REST_BASE = '/cms/rest/app/partners/:partnerId';

/**
 * Authenticates the two headers and builds the service context for this request. `hot`: a call whose
 * service checks the operator row's version in its own statement (a read through storedRead, a decision
 * through keptWrite, a create in FILING) may be served the row this process keeps; every other call reads
 * the row afresh.
 */
export async function serviceContext(
  ctx: Context,
  services: Services,
  verifier: TokenVerifier,
  hot = false,
): Promise<ServiceContext> {
  const em = services.orm.em.fork();
  const { operator, validUntil, kept } = await authenticate(
    verifier,
    em,
    credentialsOf(ctx.headers),
    hot ? services.operators : undefined,
  );
  return contextWithLog<ServiceContext>({
    em,
    operator,
    makeLog: lazyChild(() => ctx.state.log, { operatorId: operator.id }),
    partners: services.partners,
    validUntil,
    kept,
    headOnly: ctx.method === 'HEAD',
  });
}

/** The partner of the path, as SPEC names it in errors (`clientId`: the same identifier). */
export const partnerOf = (ctx: Context): string => parseInput(id, ctx.params.partnerId, 'clientId');
const idOf = (ctx: Context): string => parseInput(id, ctx.params.id, 'id');

/**
 * The query string of a list. A parameter written with brackets (`status[]=PENDING`, `page[a]=1`, as some
 * clients encode arrays and objects) names nothing here; refused, so a filter never silently falls away
 * and the list comes back unfiltered. Several values are the same name repeated: `status=A&status=B`.
 */
export function queryOf(ctx: Context): Context['query'] {
  const bracketed = Object.keys(ctx.query).find((key) => key.includes('['));
  if (bracketed) {
    const field = bracketed.slice(0, bracketed.indexOf('['));
    throw new DomainError(
      'VALIDATION_FAILED',
      `${bracketed} is not a parameter: give ${field || 'each parameter'}= once per value (or values comma-separated), without brackets`,
      { field: field || bracketed },
    );
  }
  return ctx.query;
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
  /** The per-operator places this process shares between GraphQL and REST. */
  inFlight: InFlight,
  extend?: (router: Router) => void,
): Router {
  const router = new Router({ prefix: REST_BASE });
  /** Takes `weight` of the operator's places until the call is answered (429 when they are taken). */
  const hold = (ctx: Context, operatorId: string, weight = 1) => {
    const release = inFlight.acquire(operatorId, weight);
    (ctx.state as { releases?: Array<() => void> }).releases?.push(release);
  };
  /** The service context of a call that takes one place (`hot`: see serviceContext). */
  const svc = async (ctx: Context, hot = false) => {
    const sctx = await serviceContext(ctx, services, verifier, hot);
    hold(ctx, sctx.operator.id);
    return sctx;
  };
  const { processRequests, queries } = services;
  router.use(async (ctx, next) => {
    // A partner's balances, requests and signed download links are nobody's to keep: no cache stores them.
    ctx.set('Cache-Control', 'no-store');
    const releases: Array<() => void> = [];
    (ctx.state as { releases?: Array<() => void> }).releases = releases;
    try {
      await next();
    } finally {
      releases.forEach((release) => release());
    }
  });

  router.post('/process-request', async (ctx) => {
    // May be judged with the kept operator row: FILING checks its version before anything is stored.
    const sctx = await svc(ctx, true);
    const created = await processRequests.create(sctx, partnerOf(ctx), receiveMultipart(ctx.req), {
      expectedBytes: Number(ctx.get('content-length')) || undefined,
      idempotencyKey: parseInput(
        idempotencyKey,
        ctx.req.headersDistinct['idempotency-key'],
        'Idempotency-Key',
      ),
    });
    sendJson(ctx, 201, created);
  });

  router.get('/balance', async (ctx) => {
    const query = queryOf(ctx);
    const sctx = await svc(ctx, query.at === undefined);
    if (query.at !== undefined) {
      // The balance as it stood at an instant, from the ledger (SPEC section 19).
      const { at } = parseInput(balanceAt, query);
      sendJson(ctx, 200, await services.statements.balanceAt(sctx, partnerOf(ctx), at as Date));
      return;
    }
    sendJson(ctx, 200, await queries.balance(sctx, partnerOf(ctx)));
  });

  router.get('/process-requests', async (ctx) => {
    const sctx = await svc(ctx, true);
    sendJson(ctx, 200, await queries.page(sctx, partnerOf(ctx), parseInput(pageQuery, queryOf(ctx))));
  });

  router.get('/process-request', async (ctx) => {
    const sctx = await svc(ctx);
    const items = await queries.stream(sctx, partnerOf(ctx), parseInput(listFilters, queryOf(ctx)));
    ctx.status = 200;
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = jsonArrayStream(items, (e) => sctx.log.error({ err: e }, 'list stream failed mid-way'));
  });

  // Routes of later sections (the progress stream) register before /:id, which would otherwise take their path.
  extend?.(router);

  router.get('/process-request/:id', async (ctx) => {
    const sctx = await svc(ctx, true);
    sendJson(ctx, 200, await queries.details(sctx, partnerOf(ctx), idOf(ctx)));
  });

  router.get('/process-request/:id/evidence/download', async (ctx) => {
    const sctx = await svc(ctx);
    const link = await queries.evidenceDownloadUrl(sctx, partnerOf(ctx), idOf(ctx));
    sendJson(ctx, 200, { url: link.url, expiresAt: link.expiresAt });
  });

  const OUTCOMES = {
    approve: ProcessRequestStatus.APPROVED,
    reject: ProcessRequestStatus.REJECTED,
    cancel: ProcessRequestStatus.CANCELLED,
  } as const;
  for (const action of ['approve', 'reject', 'cancel'] as const) {
    router.patch(`/process-request/:id/${action}`, async (ctx) => {
      // May be judged with the kept operator row: the decision's statement checks its version (keptWrite).
      const sctx = await svc(ctx, true);
      const [partnerId, processRequestId] = [partnerOf(ctx), idOf(ctx)];
      const input = parseInput(decisionInput, await readJsonObject(ctx, ACTION_BODY_LIMIT));
      await processRequests.settle(sctx, partnerId, processRequestId, OUTCOMES[action], input);
      ctx.status = 204;
    });
  }

  router.post('/process-request/:id/reversal', async (ctx) => {
    const sctx = await svc(ctx);
    const [partnerId, processRequestId] = [partnerOf(ctx), idOf(ctx)];
    const input = parseInput(reversalInput, await readJsonObject(ctx, ACTION_BODY_LIMIT));
    sendJson(ctx, 201, await processRequests.reverse(sctx, partnerId, processRequestId, input));
  });

  // Bulk decisions (SPEC section 12): 200 with one result per id, in the order given.
  for (const [action, outcome] of [
    ['approve', ProcessRequestStatus.APPROVED],
    ['reject', ProcessRequestStatus.REJECTED],
  ] as const) {
    router.post(`/process-requests/${action}`, async (ctx) => {
      const sctx = await serviceContext(ctx, services, verifier);
      const partnerId = partnerOf(ctx);
      const input = parseInput(bulkDecisionInput, await readJsonObject(ctx, BULK_BODY_LIMIT));
      // Counted by its size: a batch of 100 decisions weighs on the process as 100 calls would.
      hold(ctx, sctx.operator.id, inFlight.weightOf((input.ids ?? input.items ?? []).length));
      const results = await processRequests.decideMany(sctx, partnerId, outcome, input);
      sendJson(ctx, 200, { results: results.map(({ id, statusCode, code }) => ({ id, statusCode, code })) });
    });
  }

  router.get('/approval-policy', async (ctx) => {
    const sctx = await svc(ctx);
    const { historyPage, historyLimit } = parseInput(policyHistoryQuery, queryOf(ctx));
    const page = { page: historyPage, limit: historyLimit };
    sendJson(ctx, 200, await services.policies.get(sctx, partnerOf(ctx), page));
  });

  // With four eyes on the rules (SPEC section 18): 202 { change }, a pending change; else 200 the policy.
  router.put('/approval-policy', async (ctx) => {
    const sctx = await svc(ctx);
    const partnerId = partnerOf(ctx);
    const input = parseInput(policyInput, await readJsonObject(ctx, ACTION_BODY_LIMIT));
    const result = await services.policies.set(sctx, partnerId, input);
    if ('change' in result) sendJson(ctx, 202, { change: result.change });
    else sendJson(ctx, 200, result.policy);
  });

  policyChangeRoutes(router, services, svc);

  return router;
}

/** Four eyes on the policy (SPEC section 18): list the changes, apply or reject a pending one. */
function policyChangeRoutes(
  router: Router,
  services: Services,
  svc: (ctx: Context) => Promise<ServiceContext>,
): void {
  router.get('/policy-changes', async (ctx) => {
    const sctx = await svc(ctx);
    const { status } = parseInput(policyChangesQuery, ctx.query);
    sendJson(ctx, 200, { changes: await services.policies.changes(sctx, partnerOf(ctx), status) });
  });

  router.post('/policy-changes/:changeId/approve', async (ctx) => {
    const sctx = await svc(ctx);
    const input = parseInput(decisionInput, await readJsonObject(ctx, ACTION_BODY_LIMIT));
    const changeId = String(ctx.params.changeId);
    sendJson(ctx, 200, await services.policies.approve(sctx, partnerOf(ctx), changeId, input.otp));
  });

  router.post('/policy-changes/:changeId/reject', async (ctx) => {
    const sctx = await svc(ctx);
    const input = parseInput(decisionInput, await readJsonObject(ctx, ACTION_BODY_LIMIT));
    const changeId = String(ctx.params.changeId);
    sendJson(ctx, 200, await services.policies.reject(sctx, partnerOf(ctx), changeId, input.reason));
  });
}
