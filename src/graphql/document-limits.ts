// Limits on a GraphQL document, for both GraphQL doors (Apollo over HTTP, graphql-ws), checked before
// anything expensive and in time linear in the document: its size in bytes, its tokens (while parsing),
// then one pass measuring depth, fields, aliases, directives and cost in which every fragment is
// measured once, however many times it is spread. A document over a limit is refused before graphql's
// own validation rules walk it and long before anything runs.
import {
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  getNamedType,
  GraphQLError,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  parse,
} from 'graphql';
import { DomainError } from '../domain/errors';
import { isStandardIntrospection } from './standard-introspection';
import {
  DEFAULT_PAGE_LIMIT,
  MAX_APPROVALS,
  MAX_PAGE_LIMIT,
  MAX_STATEMENT_DAYS,
  MAX_TIERS,
  periodDays,
  statementPeriod,
} from '../shapes/inputs';

export const GRAPHQL_LIMITS = {
  /** UTF-8 bytes of the document text. */
  bytes: 16 * 1024,
  /** Lexical tokens (graphql's parse option `maxTokens`; comments are not tokens, bytes bound them). */
  tokens: 2_000,
  /** Nested selection sets, fragments followed. */
  depth: 8,
  /** Fields once every fragment spread is replaced by the fields it brings, over the document's operations. */
  fields: 200,
  /** Aliased fields written in the document. */
  aliases: 30,
  /** Directives written in the document. */
  directives: 20,
  /** Objects the answer may hold (see Measure.field for how they are counted). */
  cost: 3_000,
  /** UTF-8 bytes of the variables, as JSON. */
  variablesBytes: 64 * 1024,
  /** Arrays and objects nested in the variables (no variable of this schema needs more than a few). */
  variablesDepth: 32,
} as const;

export type GraphQLLimit = keyof typeof GRAPHQL_LIMITS;

/**
 * A statement's entries a day. A statement is built in memory and bounded by its period, not a page:
 * `statement` multiplies what it holds by the days of its period (the longest, 366, when they are not
 * both written in the document), so a year's entries take the budget (1 + 366 × 8 = 2,929) and the
 * statements of one document add up to a year of days at most.
 */
const STATEMENT_ENTRIES_A_DAY = Math.floor(GRAPHQL_LIMITS.cost / MAX_STATEMENT_DAYS);

/**
 * Lists that neither a page nor a period bounds, by `Type.field`: every request of a partner may be tens
 * of thousands. Whatever it holds, such a list costs more than half the budget, so a document holds one.
 */
const UNBOUNDED = new Set(['Query.allProcessRequests']);
const UNBOUNDED_LEAST_COST = Math.floor(GRAPHQL_LIMITS.cost / 2) + 1;

/**
 * Expected length of a list of objects, by `Type.field`; any other list of objects counts OTHER_LIST_LENGTH.
 * An object that is not a list (a request's `creator`, an approval's `operator`, an entry's `actor`) counts
 * 1 times the lengths of the lists around it: `approvals { operator }` is 5 × 2.
 */
const LIST_LENGTH: Record<string, number> = {
  'Query.allProcessRequests': 1_000,
  'ProcessRequest.history': 4,
  'ProcessRequest.approvals': MAX_APPROVALS,
  'ApprovalPolicy.tiers': MAX_TIERS,
  'ApprovalPolicyState.tiers': MAX_TIERS,
  // processRequests already multiplies everything under it by its `limit` (pageSize).
  'ProcessRequestPage.items': 1,
  // Webhooks (SPEC section 16): the delivery log is paged by `limit`; the events feed's limit goes to 500,
  // five times the page size the multiplier assumes; an attempt list is the schedule's length plus replays.
  'WebhookDeliveryPage.items': 1,
  'WebhookDelivery.attempts': 10,
  'EventPage.items': 5,
  'Query.webhookEndpoints': 20,
  'Statement.entries': STATEMENT_ENTRIES_A_DAY,
};
const OTHER_LIST_LENGTH = 100;

type LimitCode = 'QUERY_TOO_LARGE' | 'QUERY_TOO_DEEP' | 'QUERY_TOO_COMPLEX';

/** Each limit's code, and what its refusal says (`n`: the measured figure, absent when unknown or huge). */
const REFUSALS: Record<GraphQLLimit, [LimitCode, (n: string) => string]> = {
  bytes: ['QUERY_TOO_LARGE', (n) => `The document is ${n} bytes`],
  tokens: ['QUERY_TOO_LARGE', (n) => `The document has ${n} tokens`],
  variablesBytes: ['QUERY_TOO_LARGE', (n) => `The variables are ${n} bytes of JSON`],
  variablesDepth: ['QUERY_TOO_DEEP', (n) => `The variables nest ${n} arrays or objects`],
  depth: ['QUERY_TOO_DEEP', (n) => `The operation is nested ${n} levels deep`],
  fields: ['QUERY_TOO_COMPLEX', (n) => `The document expands to ${n} fields`],
  aliases: ['QUERY_TOO_COMPLEX', (n) => `The document has ${n} aliases`],
  directives: ['QUERY_TOO_COMPLEX', (n) => `The document has ${n} directives`],
  cost: ['QUERY_TOO_COMPLEX', (n) => `The operation may return ${n} objects`],
};

function refusal(limit: GraphQLLimit, actual?: number): DomainError {
  const max = GRAPHQL_LIMITS[limit];
  const known = actual !== undefined && actual < Number.MAX_SAFE_INTEGER;
  const [code, says] = REFUSALS[limit];
  return new DomainError(
    code,
    `${says(known ? String(actual) : `more than ${max}`)}; at most ${max} are allowed`,
    {
      limit,
      max,
      ...(known ? { actual } : {}),
    },
  );
}

const bytesOf = (text: string) => Buffer.byteLength(text, 'utf8');

/** The document text before it is parsed. */
export function sourceLimitError(source: string): DomainError | undefined {
  // A character is at most 3 UTF-8 bytes: most documents are judged without counting.
  if (source.length * 3 <= GRAPHQL_LIMITS.bytes) return undefined;
  const bytes = bytesOf(source);
  return bytes > GRAPHQL_LIMITS.bytes ? refusal('bytes', bytes) : undefined;
}

/** How deeply arrays and objects nest in a parsed JSON value, measured without recursion up to `max` + 1. */
function jsonDepth(value: unknown, max: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > max) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

export function variablesLimitError(variables: unknown): DomainError | undefined {
  if (variables === undefined || variables === null) return undefined;
  // Measured first: JSON.stringify of a value nested thousands deep overflows the stack.
  const depth = jsonDepth(variables, GRAPHQL_LIMITS.variablesDepth);
  if (depth > GRAPHQL_LIMITS.variablesDepth) return refusal('variablesDepth');
  const bytes = bytesOf(JSON.stringify(variables) ?? '');
  return bytes > GRAPHQL_LIMITS.variablesBytes ? refusal('variablesBytes', bytes) : undefined;
}

/** graphql's parse options for both doors. */
export const PARSE_OPTIONS = { maxTokens: GRAPHQL_LIMITS.tokens } as const;

// graphql 16 writes "more that"; a later release may fix the spelling.
const TOKEN_LIMIT = /^Syntax Error: Document contains more tha[nt] \d+ tokens/;

/** graphql's refusal of a document over `maxTokens` is a syntax error; it is told apart by its message. */
export function tokenLimitError(message: string): DomainError | undefined {
  return TOKEN_LIMIT.test(message) ? refusal('tokens') : undefined;
}

/** Parses within the limits: a refusal or a syntax error is a DomainError. */
export function parseWithinLimits(source: string): DocumentNode {
  const tooLarge = sourceLimitError(source);
  if (tooLarge) throw tooLarge;
  try {
    return parse(source, PARSE_OPTIONS);
  } catch (error) {
    const message = (error as Error).message;
    throw tokenLimitError(message) ?? new DomainError('GRAPHQL_PARSE_FAILED', message);
  }
}

interface Size {
  depth: number;
  fields: number;
  cost: number;
}
const NOTHING: Size = { depth: 0, fields: 0, cost: 0 };
/** Sums and products stop growing here, so a bomb's figures stay finite numbers. */
const saturate = (n: number) => Math.min(n, Number.MAX_SAFE_INTEGER);

/** How many items a field with a `limit` argument asks for: a variable may hold the largest page. */
function pageSize(def: GraphQLField<unknown, unknown> | undefined, node: FieldNode): number {
  if (!def?.args.some((arg) => arg.name === 'limit')) return 1;
  const value = node.arguments?.find((arg) => arg.name.value === 'limit')?.value;
  if (!value || value.kind === Kind.NULL) return DEFAULT_PAGE_LIMIT;
  if (value.kind !== Kind.INT) return MAX_PAGE_LIMIT;
  return Math.min(Math.max(Number(value.value), 1), MAX_PAGE_LIMIT);
}

/** The days of a statement's period when both ends are written as real days, else the longest period. */
function statementDays(node: FieldNode): number {
  const text = (name: string) => {
    const value = node.arguments?.find((arg) => arg.name.value === name)?.value;
    return value?.kind === Kind.STRING ? value.value : undefined;
  };
  const period = statementPeriod.safeParse({ from: text('from'), to: text('to') });
  return period.success ? periodDays(period.data) : MAX_STATEMENT_DAYS;
}

/**
 * One pass over a document. Each fragment is measured once (memoized, cycles counted as nothing:
 * graphql's NoFragmentCycles rule refuses them), so the work is linear in the document.
 */
class Measure {
  aliases = 0;
  directives = 0;
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  /** null while a fragment is being measured (a spread of it then is a cycle). */
  private readonly measured = new Map<string, Size | null>();

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
  ) {
    for (const def of document.definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION && !this.fragments.has(def.name.value))
        this.fragments.set(def.name.value, def);
    }
  }

  fragment(def: FragmentDefinitionNode): Size {
    const name = def.name.value;
    // A second fragment of the same name (refused by graphql later) is measured on its own.
    if (this.fragments.get(name) !== def) return this.fragmentBody(def);
    const known = this.measured.get(name);
    if (known !== undefined) return known ?? NOTHING;
    this.measured.set(name, null);
    const size = this.fragmentBody(def);
    this.measured.set(name, size);
    return size;
  }

  selections(set: SelectionSetNode, parent: GraphQLNamedType | undefined): Size {
    let depth = 0;
    let fields = 0;
    let cost = 0;
    for (const selection of set.selections) {
      this.directives += selection.directives?.length ?? 0;
      let size: Size;
      if (selection.kind === Kind.FIELD) size = this.field(selection, parent);
      else if (selection.kind === Kind.INLINE_FRAGMENT)
        size = this.selections(
          selection.selectionSet,
          this.typeNamed(selection.typeCondition?.name.value) ?? parent,
        );
      else {
        const def = this.fragments.get(selection.name.value);
        size = def ? this.fragment(def) : NOTHING;
      }
      depth = Math.max(depth, size.depth);
      fields = saturate(fields + size.fields);
      cost = saturate(cost + size.cost);
    }
    return { depth, fields, cost };
  }

  private fragmentBody(def: FragmentDefinitionNode): Size {
    this.directives += def.directives?.length ?? 0;
    return this.selections(def.selectionSet, this.typeNamed(def.typeCondition.name.value));
  }

  /**
   * A scalar costs nothing; an object costs 1, times the expected length of its list, and what it holds
   * is multiplied by its page size when it has a `limit`, by its days for a statement.
   */
  private field(node: FieldNode, parent: GraphQLNamedType | undefined): Size {
    if (node.alias) this.aliases++;
    const def =
      parent && (isObjectType(parent) || isInterfaceType(parent))
        ? parent.getFields()[node.name.value]
        : undefined;
    if (!node.selectionSet) return { depth: 0, fields: 1, cost: 0 };
    const inner = this.selections(node.selectionSet, def ? getNamedType(def.type) : undefined);
    const isList = def !== undefined && parent !== undefined && isListType(getNullableType(def.type));
    const size = { depth: 1 + inner.depth, fields: saturate(1 + inner.fields) };
    // A list with a `limit` (a policy's history) holds at most that many objects, each costing 1 and its own.
    if (isList && def.args.some((arg) => arg.name === 'limit'))
      return { ...size, cost: saturate(pageSize(def, node) * (1 + inner.cost)) };
    const key = def && parent ? `${parent.name}.${def.name}` : '';
    const length = isList ? (LIST_LENGTH[key] ?? OTHER_LIST_LENGTH) : 1;
    const times = key === 'Query.statement' ? statementDays(node) : pageSize(def, node);
    const cost = saturate(length * (1 + times * inner.cost));
    return { ...size, cost: UNBOUNDED.has(key) ? Math.max(cost, UNBOUNDED_LEAST_COST) : cost };
  }

  private typeNamed(name: string | undefined): GraphQLNamedType | undefined {
    return name === undefined ? undefined : this.schema.getType(name);
  }
}

/**
 * The first limit a parsed document breaks (none for graphql-js's standard introspection query). Operations add up (fields, cost); a fragment, used or not,
 * must fit on its own; aliases and directives are counted as written.
 */
export function documentLimitError(schema: GraphQLSchema, document: DocumentNode): DomainError | undefined {
  const body = document.loc?.source.body;
  const tooLarge = body === undefined ? undefined : sourceLimitError(body);
  if (tooLarge) return tooLarge;
  // Fixed by graphql-js and nested 14 deep on purpose: GraphQL tools cannot work without it. Whether
  // introspection is answered at all is decided elsewhere (Apollo's `introspection` option).
  if (isStandardIntrospection(document)) return undefined;
  const measure = new Measure(schema, document);
  let depth = 0;
  let fields = 0;
  let cost = 0;
  for (const def of document.definitions) {
    let size: Size;
    if (def.kind === Kind.OPERATION_DEFINITION) {
      measure.directives +=
        (def.directives?.length ?? 0) +
        (def.variableDefinitions ?? []).reduce((n, v) => n + (v.directives?.length ?? 0), 0);
      size = measure.selections(def.selectionSet, schema.getRootType(def.operation) ?? undefined);
      fields = saturate(fields + size.fields);
      cost = saturate(cost + size.cost);
    } else if (def.kind === Kind.FRAGMENT_DEFINITION) {
      size = measure.fragment(def);
      fields = Math.max(fields, size.fields);
      cost = Math.max(cost, size.cost);
    } else continue;
    depth = Math.max(depth, size.depth);
  }
  const figures: Array<[GraphQLLimit, number]> = [
    ['aliases', measure.aliases],
    ['directives', measure.directives],
    ['depth', depth],
    ['fields', fields],
    ['cost', cost],
  ];
  const broken = figures.find(([limit, actual]) => actual > GRAPHQL_LIMITS[limit]);
  return broken ? refusal(...broken) : undefined;
}

/**
 * The limits as a validation rule, for Apollo (which appends its rules to graphql's). The measuring is
 * done when the rule is created, before the traversal starts; a refused document is then removed from
 * the traversal (a visitor returning null deletes the node it is given), so graphql's own rules never
 * walk it.
 */
export function documentLimitsRule(context: ValidationContext): ASTVisitor {
  const error = documentLimitError(context.getSchema(), context.getDocument());
  if (!error) return {};
  context.reportError(new GraphQLError(error.message, { originalError: error }));
  return { Document: () => null };
}
