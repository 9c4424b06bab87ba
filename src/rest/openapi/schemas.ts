// The OpenAPI document's schemas, all derived from zod declarations: request bodies and parameters from
// src/shapes/inputs.ts, responses (and the error shape, with its codes from the catalogue) from the views
// of src/shapes/views.ts. Nothing about a shape is written here.
import { z } from 'zod';
import { ERRORS, type ErrorCode } from '../../domain/errors';
import { components, REST_ERROR_CODES } from '../../shapes/views';

export { REST_ERROR_CODES };

export type Schema = Record<string, unknown>;

/** A zod input declaration as JSON Schema: what a caller may send (transforms and refinements aside). */
export function fromInput(schema: z.ZodType, description?: string): Schema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return description ? { ...json, description } : json;
}

/** zod writes "any integer" as JavaScript's safe range; the document says just `integer`. */
const SAFE_RANGE = { minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER };
function withoutSafeRange({ jsonSchema }: { jsonSchema: Schema }): void {
  for (const [key, bound] of Object.entries(SAFE_RANGE))
    if (jsonSchema[key] === bound) delete jsonSchema[key];
}

/**
 * The views named in src/shapes/views.ts as `#/components/schemas/<id>`: each a view's output (what the
 * service sends), a view used inside another referenced by its name.
 */
export function viewSchemas(): Record<string, Schema> {
  const { schemas } = z.toJSONSchema(components, {
    io: 'output',
    // Decimal and Date are not JSON: their JSON form is the `.meta()` the views give them.
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override: withoutSafeRange,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => [id, schema]),
  );
}

/** The statuses of REST errors, each with its codes, from the catalogue. */
export function restErrorCodesByStatus(): Map<number, ErrorCode[]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of REST_ERROR_CODES) {
    const { status } = ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}
