// Recognises graphql-js's standard introspection query (getIntrospectionQuery(), what GraphiQL, codegen and
// graphql-inspector send), so the document limits can let it through: it nests 14 levels deep by design,
// and its size is fixed by graphql-js, not by the caller. Only the exact shapes graphql-js prints are
// recognised (any combination of its boolean options, with or without `subscriptionType` as GraphiQL's
// fallback sends it, under any operation name); anything else shaped like introspection is measured as usual.
import {
  type DocumentNode,
  getIntrospectionQuery,
  type IntrospectionOptions,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
} from 'graphql';

const OPTIONS: Array<keyof IntrospectionOptions> = [
  'descriptions',
  'specifiedByUrl',
  'directiveIsRepeatable',
  'schemaDescription',
  'inputValueDeprecation',
  'experimentalDirectiveDeprecation',
  'oneOf',
];

/** A document printed without its operation's name: the form two equal queries share. */
function canonical(document: DocumentNode): string {
  return print({
    ...document,
    definitions: document.definitions.map((def) =>
      def.kind === Kind.OPERATION_DEFINITION ? ({ ...def, name: undefined } as OperationDefinitionNode) : def,
    ),
  });
}

let standard: Set<string> | undefined;

/** Every shape graphql-js prints, made on first use (a few milliseconds), not at import time. */
function standardShapes(): Set<string> {
  if (standard) return standard;
  const shapes = new Set<string>();
  for (let bits = 0; bits < 1 << OPTIONS.length; bits++) {
    const options: IntrospectionOptions = {};
    OPTIONS.forEach((name, i) => {
      (options as Record<string, boolean>)[name] = (bits & (1 << i)) !== 0;
    });
    const query = getIntrospectionQuery(options);
    shapes.add(canonical(parse(query)));
    shapes.add(canonical(parse(query.replace('subscriptionType { name }', ''))));
  }
  standard = shapes;
  return shapes;
}

/** True when the document is one of graphql-js's standard introspection queries. */
export function isStandardIntrospection(document: DocumentNode): boolean {
  const operations = document.definitions.filter((def) => def.kind === Kind.OPERATION_DEFINITION);
  // Cheap test first: one query whose only root field is __schema.
  if (operations.length !== 1) return false;
  const [operation] = operations as OperationDefinitionNode[];
  const roots = operation.selectionSet.selections;
  if (
    operation.operation !== 'query' ||
    roots.length !== 1 ||
    roots[0].kind !== Kind.FIELD ||
    roots[0].name.value !== '__schema'
  )
    return false;
  return standardShapes().has(canonical(document));
}
