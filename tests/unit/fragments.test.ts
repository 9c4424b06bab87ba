// The GraphQL test fragment reads every field of the type it is on (tests/graphql/fragments.graphql), so a
// field added to ProcessRequest is read, and checked, by every test that uses the fragment. The fields other
// resolvers compute (people, history) are read by their own documents; this file checks that they are.
import {
  buildSchema,
  getNamedType,
  isObjectType,
  Kind,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const DOCUMENTS_DIR = path.join(ROOT, 'tests', 'graphql');
const schema = buildSchema(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
const documents = readdirSync(DOCUMENTS_DIR)
  .filter((f) => f.endsWith('.graphql'))
  .map((f) => parse(readFileSync(path.join(DOCUMENTS_DIR, f), 'utf8')));
const fragmentsOf = (docs: DocumentNode[]) =>
  new Map(
    docs
      .flatMap((d) => d.definitions)
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );

/** Fields resolved by their own resolvers (src/resolvers/people.resolver.ts, history), read by other documents. */
const READ_ELSEWHERE = [
  'ProcessRequest.creator',
  'ProcessRequest.reviewer',
  'ProcessRequest.canceller',
  'ProcessRequest.history',
  'Approval.operator',
];

/** The fields of `type` (and of the objects under it) a selection does not read, as Type.field. */
function unread(
  s: GraphQLSchema,
  typeName: string,
  selection: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
): string[] {
  const type = s.getType(typeName);
  if (!isObjectType(type)) throw new Error(`${typeName} is not an object type`);
  const selected = new Map<string, SelectionSetNode | undefined>();
  const collect = (set: SelectionSetNode) => {
    for (const node of set.selections) {
      if (node.kind === Kind.FIELD) selected.set(node.name.value, node.selectionSet);
      else if (node.kind === Kind.INLINE_FRAGMENT) collect(node.selectionSet);
      else collect(fragments.get(node.name.value)!.selectionSet);
    }
  };
  collect(selection);
  return Object.values(type.getFields()).flatMap((field) => {
    const name = `${typeName}.${field.name}`;
    if (READ_ELSEWHERE.includes(name)) return [];
    if (!selected.has(field.name)) return [name];
    const inner = getNamedType(field.type);
    return isObjectType(inner) ? unread(s, inner.name, selected.get(field.name)!, fragments) : [];
  });
}

/** Every Type.field some document selects. */
function selectedAnywhere(docs: DocumentNode[]): Set<string> {
  const seen = new Set<string>();
  const info = new TypeInfo(schema);
  for (const doc of docs) {
    visit(
      doc,
      visitWithTypeInfo(info, {
        Field(node) {
          const parent = info.getParentType();
          if (parent) seen.add(`${parent.name}.${node.name.value}`);
        },
      }),
    );
  }
  return seen;
}

test('ProcessRequestFields reads every field of ProcessRequest and of the objects under it', () => {
  const fragments = fragmentsOf(documents);
  const fragment = fragments.get('ProcessRequestFields')!;
  expect(fragment.typeCondition.name.value).toBe('ProcessRequest');
  expect(unread(schema, 'ProcessRequest', fragment.selectionSet, fragments)).toEqual([]);
});

test('ProcessRequestListFields reads every field but the approvals (for the streamed list cost budget)', () => {
  const fragments = fragmentsOf(documents);
  const fragment = fragments.get('ProcessRequestListFields')!;
  expect(unread(schema, 'ProcessRequest', fragment.selectionSet, fragments)).toEqual([
    'ProcessRequest.approvals',
  ]);
});

test('the fields read elsewhere are read by some test document', () => {
  const seen = selectedAnywhere(documents);
  expect(READ_ELSEWHERE.filter((field) => !seen.has(field))).toEqual([]);
});

test('the check fails: a field the fragment leaves out, on the type or under it, is named', () => {
  const fragments = fragmentsOf([
    parse(
      'fragment F on ProcessRequest { ...G evidence { size } approvals { at } } fragment G on ProcessRequest { id }',
    ),
  ]);
  const missing = unread(schema, 'ProcessRequest', fragments.get('F')!.selectionSet, fragments);
  expect(missing).toEqual(
    expect.arrayContaining(['ProcessRequest.reversedBy', 'EvidenceInfo.sha256', 'Approval.operatorId']),
  );
  expect(missing).not.toContain('ProcessRequest.id');
  expect(missing).not.toContain('ProcessRequest.creator');
});
