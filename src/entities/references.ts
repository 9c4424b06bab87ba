// How every foreign key of the model is declared, so that the ORM's schema diff sees them.
import type { ManyToOneOptions } from '@mikro-orm/core';

/**
 * A relation whose property holds the referenced row's id (a plain string or number, never a loaded
 * entity: services read and write ids), stored in `column`. Deleting or re-keying a referenced row is
 * refused (PostgreSQL's NO ACTION) rather than cascaded: an audited money record never loses its
 * partner, balance or operator.
 */
export function referenceTo(column: string, options: { nullable?: boolean } = {}) {
  return {
    mapToPk: true,
    fieldName: column,
    nullable: options.nullable ?? false,
    deleteRule: 'no action',
    updateRule: 'no action',
  } satisfies Partial<ManyToOneOptions<object, object>>;
}
