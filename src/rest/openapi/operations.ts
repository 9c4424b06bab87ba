// The pieces every route's OpenAPI path item is written with (the items live beside their routes, in
// src/rest/*.paths.ts, and document.ts composes them).
import type { Schema } from './schemas';

/** Path templates to their path items (`{ get: {…}, post: {…} }`). */
export type PathItems = Record<string, Record<string, unknown>>;

export const REST_BASE_PATH = '/cms/rest/app/partners/{partnerId}';

/** A component schema by its name (the views' ids, src/shapes/views.ts). */
export const schema = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (s: Schema, example?: unknown) => ({
  'application/json': example === undefined ? { schema: s } : { schema: s, example },
});
export const ok = (description: string, s: Schema) => ({ description, content: json(s) });
export const noContent = { description: 'Done; no body' };
export const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }]));

/**
 * What every call under the partner base can answer besides its own outcomes (429: its operator already
 * has as many calls in flight as allowed).
 */
export const AUTHENTICATED = [400, 401, 403, 404, 429, 500, 503];
/** Calls that read a JSON body: too large, not JSON. */
export const JSON_BODY = [413, 415];
/** Calls that check an OTP: too many wrong codes. */
export const OTP = [429];

export const param = (name: string, where: 'path' | 'query' | 'header', s: Schema, description: string) => ({
  name,
  in: where,
  required: where === 'path',
  description,
  schema: s,
});
export const partnerId = { $ref: '#/components/parameters/partnerId' };
export const requestId = { $ref: '#/components/parameters/id' };

export const jsonBody = (s: Schema, required: boolean, example: unknown) => ({
  required,
  content: json(s, example),
});
