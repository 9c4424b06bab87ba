// REST JSON: money goes out as a JSON number written from its exact decimal text, never through a float.
import type { Context } from 'koa';
import { Decimal } from '../services/money';
import { DomainError } from '../services/errors';

/** JSON.stringify, except that a Decimal is written as a bare number ("10000.50" → 10000.50). */
export function stringify(value: unknown): string {
  if (value instanceof Decimal) return value.value;
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : stringify(v))).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [key, v] of Object.entries(value)) {
      if (v !== undefined) parts.push(`${JSON.stringify(key)}:${stringify(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = stringify(body);
}

/**
 * Reads an optional JSON object body with a size limit: 413 past the limit, 415 for a body that
 * is not JSON, 400 for JSON that is not an object. An empty body is an empty object.
 */
export async function readJsonObject(ctx: Context, limitBytes: number): Promise<Record<string, unknown>> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limitBytes) throw new DomainError('PAYLOAD_TOO_LARGE');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new DomainError('PAYLOAD_TOO_LARGE');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  if (!ctx.is('application/json'))
    throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DomainError('MALFORMED_JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DomainError('VALIDATION_FAILED', 'The body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
