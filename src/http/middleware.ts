// Request id, access log and the one mapping from domain errors to JSON responses.
import type { Context, Next } from 'koa';
import { randomUUID } from 'node:crypto';
import { lazyChild, withLazyLog, type Logger } from '../logger';
import { DomainError, toDomainError } from '../domain/errors';
import { sendJson } from './json';
import { wwwAuthenticate } from '../auth/refusals';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    log: Logger;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives every request an id (the caller's X-Request-Id when sane), a child logger, and one access-log line. */
export function requestContext(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    // `ctx.state.log`: the request's child logger, made on first use (withLazyLog).
    ctx.state = withLazyLog({ ...ctx.state, requestId, makeLog: lazyChild(log, { requestId }) });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (ctx.path !== '/healthz' && ctx.path !== '/readyz') {
        // The line a child with the request id writes, without making one for it.
        log.info(
          { requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 },
          'request',
        );
      }
    }
  };
}

/**
 * Every error becomes `{ statusCode, code, message, requestId }` (plus `details`, and `retryAfter` with
 * a Retry-After header when waiting helps); 5xx details stay in the log.
 */
export function errorHandler() {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new DomainError('NOT_FOUND', 'No such route');
    } catch (raw) {
      const error = noteFailure(ctx, raw);
      if (ctx.headerSent || !ctx.writable) return;
      const body: Record<string, unknown> = {
        statusCode: error.status,
        code: error.code,
        message: error.message,
        requestId: ctx.state.requestId,
      };
      if (error.details && error.status < 500) body.details = error.details;
      if (error.retryAfterSeconds !== undefined) {
        body.retryAfter = error.retryAfterSeconds;
        ctx.set('Retry-After', String(error.retryAfterSeconds));
      }
      if (error.code === 'UNAUTHENTICATED') ctx.set('WWW-Authenticate', wwwAuthenticate(error));
      sendJson(ctx, error.status, body);
    }
  };
}

/**
 * Any error of a request as the catalogue's DomainError, logged (5xx as an error, the rest as a refusal),
 * with what is left of the request body drained so the answer reaches the client.
 */
export function noteFailure(ctx: Context, raw: unknown): DomainError {
  const error = fromHttpError(raw) ?? toDomainError(raw);
  const log = ctx.state.log;
  if (error.status >= 500) log.error({ err: raw, code: error.code }, 'request failed');
  else
    log.info(
      { code: error.code, reason: error.message, ...(error.details ? { details: error.details } : {}) },
      'request refused',
    );
  if (!ctx.req.complete) ctx.req.resume();
  return error;
}

/**
 * Errors thrown by Koa, its router and koa-body (co-body, raw-body) carry a 4xx status of their own; a
 * body that is not JSON is co-body's SyntaxError with status 400.
 */
function fromHttpError(raw: unknown): DomainError | undefined {
  const e = raw as { status?: number; expose?: boolean } | undefined;
  if (raw instanceof SyntaxError && e?.status === 400) return new DomainError('MALFORMED_JSON');
  if (raw instanceof DomainError || !e?.expose || typeof e.status !== 'number') return undefined;
  if (e.status === 405 || e.status === 501) return new DomainError('METHOD_NOT_ALLOWED');
  if (e.status === 413) return new DomainError('PAYLOAD_TOO_LARGE');
  if (e.status === 415) return new DomainError('UNSUPPORTED_MEDIA_TYPE');
  if (e.status >= 400 && e.status < 500) return new DomainError('VALIDATION_FAILED');
  return undefined;
}
