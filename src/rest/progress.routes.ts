// The SSE door of SPEC section 7: GET …/process-request/progress as text/event-stream.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ServerResponse } from 'node:http';
import type { TokenVerifier } from '../auth/token-verifier';
import type { Services } from '../services';
import type { ProgressBus } from '../services/progress-bus';
import type { ProgressSubscription } from '../services/progress-subscription';
import { lastEventId, parseInput } from '../services/inputs';
import { stringify } from './json';
import { partnerOf, serviceContext } from './process-request.routes';

/** Registers the stream route; passed as `extend` so it sits before `/process-request/:id`. */
export function progressRoutes(services: Services, verifier: TokenVerifier, bus: ProgressBus) {
  return (router: Router) => {
    router.get('/process-request/progress', async (ctx) => {
      const sctx = await serviceContext(ctx, services, verifier);
      const resumeAfter = parseInput(
        lastEventId,
        ctx.get('last-event-id') || queryValue(ctx.query.lastEventId),
        'Last-Event-ID',
      );
      const sub = await bus.watch(sctx, 'sse', partnerOf(ctx), resumeAfter);
      sctx.log.info(
        { partnerId: sub.partnerId, lastEventId: resumeAfter?.toString() },
        'progress stream opened',
      );
      await stream(ctx, sub, services.config.sseHeartbeatSeconds * 1000);
    });
  };
}

function queryValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Writes frames while the client keeps up. When the socket's buffer is full the loop waits for
 * 'drain' and stops pulling, so events queue in the subscription's bounded buffer; past its bound
 * the subscription ends and the connection is dropped (the client resumes with Last-Event-ID).
 */
async function stream(ctx: Context, sub: ProgressSubscription, heartbeatMs: number): Promise<void> {
  const { req, res } = ctx;
  ctx.status = 200;
  ctx.set({
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    'X-Accel-Buffering': 'no',
    // The stream is the connection's last response: ending it closes the socket, so a server close never waits.
    Connection: 'close',
  });
  ctx.respond = false;
  req.socket.setTimeout(0);
  req.socket.setNoDelay(true);
  res.flushHeaders();

  let gone = false;
  const onClose = () => {
    gone = true;
    sub.close();
  };
  res.once('close', onClose);
  // A ping is skipped while the socket is backed up: it would only add to the pile.
  const ping = setInterval(() => {
    if (!gone && !res.writableNeedDrain) res.write(': ping\n\n');
  }, heartbeatMs);
  try {
    for await (const event of sub) {
      // The id line is the resume cursor: the event's own id, or for an unstored one the last stored id seen.
      const id = sub.resumeId;
      const frame = `${id === null ? '' : `id: ${id}\n`}data: ${stringify(event)}\n\n`;
      if (!res.write(frame)) await drained(res, sub);
      if (gone) break;
    }
    if (!gone) res.end();
  } catch (error) {
    ctx.state.log.info({ reason: (error as Error).message }, 'progress stream cut off');
    res.destroy();
  } finally {
    clearInterval(ping);
    res.off('close', onClose);
    sub.close();
  }
}

function drained(res: ServerResponse, sub: ProgressSubscription): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
    void sub.whenEnded.then(done);
  });
}
