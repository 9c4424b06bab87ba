// The SSE door of SPEC section 7: GET …/process-request/progress as text/event-stream.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ServerResponse } from 'node:http';
import type { TokenVerifier } from '../auth/token-verifier';
import type { Services } from '../services';
import type { ProgressBus } from '../runtime/progress-bus';
import type { ProgressSubscription } from '../runtime/progress-subscription';
import type { ProgressEventView } from '../shapes/views';
import { DomainError } from '../domain/errors';
import { requirePartner } from '../domain/access';
import { lastEventId, parseInput } from '../shapes/inputs';
import { stringify } from '../http/json';
import { partnerOf, serviceContext } from './process-request.routes';
import { issueStreamTicket } from '../services/identity/stream-ticket.service';
import { authenticateTicket } from '../auth/stream-ticket';
import { tokenRefused } from '../auth/refusals';
import type { ServiceContext } from '../domain/context';

/** Registers the stream route; passed as `extend` so it sits before `/process-request/:id`. */
export function progressRoutes(services: Services, verifier: TokenVerifier, bus: ProgressBus) {
  const heartbeat = new Heartbeat(services.config.sseHeartbeatSeconds * 1000);
  return (router: Router) => {
    router.post('/process-request/progress/ticket', async (ctx) => {
      const sctx = await serviceContext(ctx, services, verifier);
      ctx.status = 201;
      ctx.body = await issueStreamTicket(sctx, partnerOf(ctx));
    });
    // A HEAD is judged as the GET (credentials or ticket, the partner, Last-Event-ID) and answered with its
    // headers; it opens no stream, so it spends no ticket and takes no stream's place.
    router.head('/process-request/progress', async (ctx) => {
      const sctx = await streamContext(ctx, services, verifier, false);
      resumeAfterOf(ctx);
      await requirePartner(sctx, partnerOf(ctx), 'read');
      ctx.status = 200;
      ctx.set(SSE_HEADERS);
    });
    router.get('/process-request/progress', async (ctx) => {
      const sctx = await streamContext(ctx, services, verifier);
      const resumeAfter = resumeAfterOf(ctx);
      const sub = await bus.watch(sctx, 'sse', partnerOf(ctx), resumeAfter);
      sctx.log.info(
        { partnerId: sub.partnerId, lastEventId: resumeAfter?.toString() },
        'progress stream opened',
      );
      await stream(ctx, sub, heartbeat, services.config.progressStallSeconds * 1000);
    });
  };
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
  // The stream is the connection's last response: ending it closes the socket, so a server close never waits.
  Connection: 'close',
};

/** Where the stream resumes: `Last-Event-ID` (or `?lastEventId=`, for EventSource), checked. */
function resumeAfterOf(ctx: Context): bigint | undefined {
  return parseInput(
    lastEventId,
    ctx.get('last-event-id') || queryValue(ctx.query.lastEventId),
    'Last-Event-ID',
  );
}

/** The two credential headers, or instead a one-use `?ticket=` (EventSource cannot send headers). */
async function streamContext(
  ctx: Context,
  services: Services,
  verifier: TokenVerifier,
  spendTicket = true,
): Promise<ServiceContext> {
  const ticket = ctx.query.ticket;
  if (ticket === undefined) return serviceContext(ctx, services, verifier);
  if (typeof ticket !== 'string') throw tokenRefused('ticket', 'malformed', 'must be given once');
  const partnerId = partnerOf(ctx);
  const em = services.orm.em.fork();
  const { operator, validUntil } = await authenticateTicket(em, ticket, partnerId, spendTicket);
  return {
    em,
    operator,
    log: ctx.state.log.child({ operatorId: operator.id }),
    partners: services.partners,
    validUntil,
  };
}

/**
 * One timer for every stream's `: ping` instead of one per stream: each tick writes a ping to every
 * open stream (skipping one whose socket is backed up: it would only add to the pile). The timer runs
 * only while a stream is open and never holds the process open.
 */
class Heartbeat {
  private readonly streams = new Set<ServerResponse>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly everyMs: number) {}

  add(res: ServerResponse): void {
    this.streams.add(res);
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const stream of this.streams)
        if (!stream.destroyed && !stream.writableEnded && !stream.writableNeedDrain)
          stream.write(': ping\n\n');
    }, this.everyMs);
    this.timer.unref();
  }

  delete(res: ServerResponse): void {
    this.streams.delete(res);
    if (this.streams.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** The `data:` JSON of an event, written once per event however many streams carry it (views are shared). */
const dataLines = new WeakMap<ProgressEventView, string>();
function dataOf(event: ProgressEventView): string {
  let data = dataLines.get(event);
  if (data === undefined) dataLines.set(event, (data = stringify(event)));
  return data;
}

function queryValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Writes frames while the client keeps up. When the socket's buffer is full the loop waits for
 * 'drain' and stops pulling, so events queue in the subscription's bounded buffer; past its bound
 * the subscription ends and the connection is dropped (the client resumes with Last-Event-ID). A
 * client that leaves the socket full for `stallMs` has stopped reading: its connection is dropped
 * too, so it does not hold a stream's place. A stream whose operator lost the right to read it
 * (deactivated, scope or roles changed) ends cleanly with a comment naming the code.
 */
async function stream(
  ctx: Context,
  sub: ProgressSubscription,
  heartbeat: Heartbeat,
  stallMs: number,
): Promise<void> {
  const { req, res } = ctx;
  ctx.status = 200;
  ctx.set(SSE_HEADERS);
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
  heartbeat.add(res);
  try {
    for await (const event of sub) {
      // A stored event's frame carries its own id; an unstored one (EVIDENCE_UPLOADING) the last stored
      // id delivered before it. Resuming from any frame's id thus neither skips nor repeats a stored event.
      const id = event.id ?? sub.resumeId;
      const frame = `${id === null ? '' : `id: ${id}\n`}data: ${dataOf(event)}\n\n`;
      if (!res.write(frame) && !(await drained(res, sub, stallMs))) {
        ctx.state.log.info({ stallMs }, 'progress stream closed: the client stopped reading');
        res.destroy();
        break;
      }
      if (gone) break;
    }
    if (!gone) endWithin(res, stallMs);
  } catch (error) {
    if (error instanceof DomainError && error.status < 500) {
      ctx.state.log.info({ code: error.code }, 'progress stream revoked');
      endWithin(res, stallMs, `: ${error.code}\n\n`);
    } else {
      ctx.state.log.info({ reason: (error as Error).message }, 'progress stream cut off');
      res.destroy();
    }
  } finally {
    heartbeat.delete(res);
    res.off('close', onClose);
    sub.close();
  }
}

/** Resolves true once the socket drained (or the stream or connection ended), false after `stallMs` without. */
function drained(res: ServerResponse, sub: ProgressSubscription, stallMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (result: boolean) => {
      clearTimeout(timer);
      res.off('drain', ok);
      res.off('close', ok);
      resolve(result);
    };
    const ok = () => done(true);
    const timer = setTimeout(() => done(false), stallMs);
    res.once('drain', ok);
    res.once('close', ok);
    void sub.whenEnded.then(ok);
  });
}

/** Ends the response; one whose last bytes a stalled client never takes is dropped after `stallMs`. */
function endWithin(res: ServerResponse, stallMs: number, last?: string): void {
  if (res.writableNeedDrain) {
    res.destroy();
    return;
  }
  const timer = setTimeout(() => res.destroy(), stallMs);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
  res.end(last);
}
