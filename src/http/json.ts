// REST JSON: money goes out as a JSON number written from its exact decimal text, never through a float.
import type { Context } from 'koa';
import { Decimal } from '../domain/money';
import { DomainError } from '../domain/errors';
import { HttpMethodEnum, koaBody } from 'koa-body';

/** Keys written before, quoted (a view has a few dozen; made-up keys stop being remembered past the bound). */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 1024;

function quoted(key: string): string {
  let text = quotedKeys.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, text);
  }
  return text;
}

/**
 * JSON.stringify, except that a Decimal is written as a bare number ("10000.50" → 10000.50). Written out by
 * hand for the REST hot paths (one string built by appending; keys quoted once): what JSON.stringify would
 * write for everything else, an undefined property left out and an undefined array item as null.
 */
export function stringify(value: unknown): string {
  if (typeof value !== 'object') return value === undefined ? 'null' : JSON.stringify(value);
  if (value === null) return 'null';
  if (value instanceof Decimal) return value.value;
  // An ISO timestamp has nothing to escape; an invalid date is null, as Date's toJSON makes it.
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'null' : `"${value.toISOString()}"`;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += stringify(value[i]);
    }
    return out + ']';
  }
  let out = '{';
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ',';
    out += quoted(key) + ':' + stringify(item);
  }
  return out + '}';
}

export function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = stringify(body);
}

/** koa-body's JSON parser for each limit, made once: making one checks its options (with zod) every time. */
const jsonParsers = new Map<number, ReturnType<typeof koaBody>>();
function jsonParser(limitBytes: number): ReturnType<typeof koaBody> {
  let parser = jsonParsers.get(limitBytes);
  if (!parser) {
    parser = koaBody({
      json: true,
      jsonLimit: limitBytes,
      jsonStrict: false,
      multipart: false,
      urlencoded: false,
      text: false,
      parsedMethods: [HttpMethodEnum.POST, HttpMethodEnum.PUT, HttpMethodEnum.PATCH],
      patchNode: false,
      patchKoa: true,
    });
    jsonParsers.set(limitBytes, parser);
  }
  return parser;
}

/**
 * A body that could not be read, as its refusal. The reader's own (too large, aborted, not JSON) carry their
 * status and are translated with every other HTTP error (middleware.ts); a Content-Encoding it does not
 * decode is a 415, and a body that is not what its Content-Encoding says fails in zlib with no status at all.
 */
function unreadable(error: unknown): unknown {
  const e = error as { status?: unknown; message?: unknown } | undefined;
  if (
    e?.status === 415 &&
    typeof e.message === 'string' &&
    e.message.startsWith('Unsupported Content-Encoding')
  )
    return new DomainError('UNSUPPORTED_MEDIA_TYPE', e.message);
  if (error instanceof SyntaxError || typeof e?.status === 'number') return error;
  return new DomainError('MALFORMED_JSON', 'The body could not be decoded as its Content-Encoding says');
}

/**
 * Reads an optional JSON object body with koa-body: 415 for a body that is not JSON, 400 for JSON that
 * is not an object; koa-body's own refusals (too large, not JSON) are translated with every other HTTP
 * error (middleware.ts). No body is an empty object.
 */
export async function readJsonObject(ctx: Context, limitBytes: number): Promise<Record<string, unknown>> {
  const length = ctx.get('content-length');
  const hasBody = ctx.get('transfer-encoding') !== '' || (length !== '' && length !== '0');
  if (!hasBody) return {};
  if (!ctx.is('application/json'))
    throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json');
  try {
    await jsonParser(limitBytes)(ctx as never, async () => {});
  } catch (error) {
    throw unreadable(error);
  }
  const parsed: unknown = ctx.request.body;
  if (parsed === undefined || parsed === '') return {};
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DomainError('VALIDATION_FAILED', 'The body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
