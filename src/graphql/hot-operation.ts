// Which GraphQL operations may be served the operator row this process keeps (see storedRead): decided from
// the document's text, before Apollo runs it, so the context is built with or without the kept row.
import { Kind, type FieldNode, type OperationDefinitionNode, type SelectionNode } from 'graphql';
import { parseWithinLimits, sourceLimitError } from './document-limits';

/**
 * The root query fields whose service read is a storedRead: its own statement checks the kept row's version,
 * and reads again with the stored row when it changed. `partnerBalance` with `at` reads the ledger instead
 * (not a storedRead), so it is hot only without that argument.
 */
const HOT_FIELDS: Record<string, (field: FieldNode) => boolean> = {
  processRequests: () => true,
  processRequest: () => true,
  partnerBalance: (field) => !field.arguments?.some((argument) => argument.name.value === 'at'),
};

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Distinct document texts whose verdict is kept; past it the oldest goes first. */
export const HOT_DOCUMENTS_MAX_ENTRIES = 128;

/**
 * A field at the root is hot if it is one of HOT_FIELDS, or `__typename` (which reads nothing). A fragment
 * or a directive at the root is not looked into: such an operation reads the operator row afresh.
 */
function hotField(selection: SelectionNode): 'checked' | 'free' | false {
  if (selection.kind !== Kind.FIELD || selection.directives?.length) return false;
  if (selection.name.value === '__typename') return 'free';
  return HOT_FIELDS[selection.name.value]?.(selection) ? 'checked' : false;
}

/**
 * Hot: a query whose every root field is hot and at least one of them checks the row's version (an
 * operation of `__typename` alone checks nothing, so it reads the row as every other call does).
 */
function hotOperation(operation: OperationDefinitionNode): boolean {
  if (operation.operation !== 'query') return false;
  let checked = false;
  for (const selection of operation.selectionSet.selections) {
    const verdict = hotField(selection);
    if (!verdict) return false;
    if (verdict === 'checked') checked = true;
  }
  return checked;
}

/** The operation Apollo will run: the one named, or the only one. */
function operationOf(text: string, operationName: unknown): OperationDefinitionNode | undefined {
  let document;
  try {
    document = parseWithinLimits(text);
  } catch {
    return undefined; // Apollo refuses it before anything runs.
  }
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  if (typeof operationName === 'string') return operations.find((o) => o.name?.value === operationName);
  return operations.length === 1 ? operations[0] : undefined;
}

/**
 * Decides whether operations may be served the kept operator row. Each distinct text (with its operation
 * name) is parsed once; Apollo parses it again, once, into its own document store.
 */
export class HotOperations {
  private readonly verdicts = new Map<string, boolean>();

  constructor(private readonly max = HOT_DOCUMENTS_MAX_ENTRIES) {}

  /** `query` and `operationName` as the request carries them (anything else: not hot). */
  isHot(query: unknown, operationName: unknown): boolean {
    // A text over the size limit is refused by Apollo, and never kept here.
    if (typeof query !== 'string' || sourceLimitError(query)) return false;
    // A name no operation can have is Apollo's to refuse; a valid one has no line break, so the key is one pair.
    const named = operationName !== undefined && operationName !== null;
    if (named && (typeof operationName !== 'string' || !NAME.test(operationName))) return false;
    const key = `${named ? operationName : ''}\n${query}`;
    const known = this.verdicts.get(key);
    if (known !== undefined) return known;
    const operation = operationOf(query, named ? operationName : undefined);
    const hot = operation !== undefined && hotOperation(operation);
    // Maps keep insertion order: the first key is the oldest verdict.
    if (this.verdicts.size >= this.max) this.verdicts.delete(this.verdicts.keys().next().value as string);
    this.verdicts.set(key, hot);
    return hot;
  }
}
