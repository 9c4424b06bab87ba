// Statements and exports (SPEC section 19) under the partner base: JSON, CSV and camt.053 statements, and the
// streamed CSV exports of requests and events. Thin: parse, call the statement service, write the format.
import Router from '@koa/router';
import type { Context } from 'koa';
import { Readable } from 'node:stream';
import type { TokenVerifier } from '../auth/token-verifier';
import type { Services } from '../services';
import {
  eventsExportQuery,
  listFilters,
  parseInput,
  statementQuery,
  type StatementFormat,
} from '../shapes/inputs';
import { type Cell, csvStream } from '../http/csv';
import {
  EVENT_CSV_COLUMNS,
  eventRecord,
  REQUEST_CSV_COLUMNS,
  requestRecord,
  statementCamt053,
  statementCsv,
  statementJson,
} from '../http/statement-formats';
import { framed, joined } from '../domain/iterables';
import { partnerOf, queryOf, REST_BASE, serviceContext } from './process-request.routes';

const MEDIA: Record<StatementFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  camt053: 'application/xml; charset=utf-8',
};

/** Without `format`, the Accept header chooses: text/csv → CSV, application/xml → camt.053, else JSON. */
function formatOf(ctx: Context, asked: StatementFormat | undefined): StatementFormat {
  if (asked) return asked;
  const accepted = ctx.accepts('application/json', 'text/csv', 'application/xml');
  return accepted === 'text/csv' ? 'csv' : accepted === 'application/xml' ? 'camt053' : 'json';
}

function attachment(ctx: Context, fileName: string): void {
  ctx.set('Content-Disposition', `attachment; filename="${fileName}"`);
}

export function statementRouter(services: Services, verifier: TokenVerifier): Router {
  const router = new Router({ prefix: REST_BASE });
  const svc = (ctx: Context) => serviceContext(ctx, services, verifier);
  const { statements } = services;
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.get('/statement', async (ctx) => {
    // A read that checks the operator row's version in its own statement: the kept row may serve it.
    const sctx = await serviceContext(ctx, services, verifier, true);
    const partnerId = partnerOf(ctx);
    const query = parseInput(statementQuery, queryOf(ctx));
    const format = formatOf(ctx, query.format);
    const statement = await statements.stream(sctx, partnerId, query);
    // The client may go away at any moment, even before the body below is being sent: the statement stops
    // reading and gives its connection back when the response closes, whatever its stream is doing then.
    const stop = () => void statement.close();
    if (ctx.res.destroyed || ctx.req.socket.destroyed) stop();
    else ctx.res.once('close', stop);
    const onError = (e: unknown) => sctx.log.error({ err: e }, 'statement failed mid-way');
    ctx.status = 200;
    ctx.type = MEDIA[format];
    if (format === 'csv') {
      attachment(ctx, `statement-${partnerId}-${query.from}-${query.to}.csv`);
      ctx.body = csvStream(statementCsv(statement), onError);
    } else if (format === 'camt053') {
      attachment(ctx, `statement-${partnerId}-${query.from}-${query.to}.camt053.xml`);
      ctx.body = Readable.from(joined(statementCamt053(statement))).on('error', onError);
    } else {
      // A chunk per batch of 1,000 entries: one socket write each, not one per entry.
      ctx.body = statementJson(statement).on('error', onError);
    }
  });

  router.get('/process-requests/export', async (ctx) => {
    const sctx = await svc(ctx);
    const partnerId = partnerOf(ctx);
    const items = await statements.exportRequests(sctx, partnerId, parseInput(listFilters, queryOf(ctx)));
    ctx.status = 200;
    ctx.type = MEDIA.csv;
    attachment(ctx, `process-requests-${partnerId}.csv`);
    ctx.body = csvStream(framed(items, requestRecord, [REQUEST_CSV_COLUMNS as Cell[]]), (e) =>
      sctx.log.error({ err: e }, 'request export failed mid-way'),
    );
  });

  router.get('/events/export', async (ctx) => {
    const sctx = await svc(ctx);
    const partnerId = partnerOf(ctx);
    const events = await statements.exportEvents(
      sctx,
      partnerId,
      parseInput(eventsExportQuery, queryOf(ctx)),
    );
    ctx.status = 200;
    ctx.type = MEDIA.csv;
    attachment(ctx, `events-${partnerId}.csv`);
    ctx.body = csvStream(framed(events, eventRecord, [EVENT_CSV_COLUMNS as Cell[]]), (e) =>
      sctx.log.error({ err: e }, 'event export failed mid-way'),
    );
  });

  return router;
}
