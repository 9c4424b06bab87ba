// Liveness and readiness probes; unauthenticated by design, and they reveal nothing but up/down.
import Router from '@koa/router';
import type { Services } from '../services';

const PROBE_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
    });
    return (await Promise.race([check().then(() => true), timeout])) === true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(services: Services): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const [database, storage] = await Promise.all([
      probe(() => services.orm.em.getConnection().execute('select 1')),
      probe(async () => {
        if (!(await services.store.ping())) throw new Error('container missing');
      }),
    ]);
    const ready = database && storage;
    ctx.status = ready ? 200 : 503;
    // Every 503 says when to look again (a balancer's next probe, a caller's retry).
    if (!ready) ctx.set('Retry-After', '1');
    ctx.body = {
      status: ready ? 'ready' : 'unavailable',
      database: database ? 'up' : 'down',
      storage: storage ? 'up' : 'down',
    };
  });
  return router;
}
