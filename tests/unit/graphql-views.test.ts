// Each GraphQL object type and the view it carries (src/shapes/views.ts) agree field by field: the same keys
// (tsc checks that too, src/graphql/shape.ts) and, what tsc cannot see in a decorator, the same nullability: a
// view field that may be null or absent is nullable in GraphQL, and one that may not is non-null.
import { isNonNullType, type GraphQLOutputType, type GraphQLSchema } from 'graphql';
import { z } from 'zod';
import { buildAppSchema } from '../../src/schema';
import * as views from '../../src/shapes/views';

/** GraphQL type → its view, and the fields its own resolvers add (people, history). */
const PAIRS: Array<[string, z.ZodObject, string[]]> = [
  ['ProcessRequest', views.processRequestView, ['creator', 'reviewer', 'canceller', 'history']],
  ['EvidenceInfo', views.evidenceView, []],
  ['Approval', views.approvalView, ['operator']],
  ['HistoryEntry', views.historyEntryView, ['actor']],
  ['ProcessRequestPage', views.processRequestPageView, []],
  ['EvidenceDownload', views.downloadLinkView, []],
  ['ClientBalance', views.balanceView, []],
  ['Partner', views.partnerView, []],
  ['Operator', views.personView, []],
  ['CurrentOperator', views.operatorView, []],
  ['ApprovalPolicy', views.policyView, []],
  ['ApprovalPolicyChange', views.policyChangeView, ['actor']],
  ['ApprovalPolicyState', views.policyStateView, []],
  ['ApprovalTierType', views.tierView, []],
  ['ProgressEvent', views.progressEventView, []],
  ['Statement', views.statementView, []],
  ['StatementEntry', views.statementEntryView, []],
];

const mayBeMissing = (schema: z.ZodType) => ['nullable', 'optional'].includes(schema._zod.def.type);

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildAppSchema();
});

/** How the GraphQL type and the view disagree: keys on one side only, or a different nullability. */
function disagreements(name: string, view: z.ZodObject, resolved: string[]): string[] {
  const type = schema.getType(name);
  if (!type || !('getFields' in type)) return [`${name} is not an object type`];
  const fields = (type as { getFields(): Record<string, { type: GraphQLOutputType }> }).getFields();
  const keys = Object.keys(view.shape);
  return [
    ...keys.filter((key) => !fields[key]).map((key) => `${key}: not in GraphQL`),
    ...Object.keys(fields)
      .filter((key) => !keys.includes(key) && !resolved.includes(key))
      .map((key) => `${key}: not in the view`),
    ...keys
      .filter((key) => fields[key])
      .filter((key) => isNonNullType(fields[key].type) === mayBeMissing(view.shape[key] as z.ZodType))
      .map((key) => `${key}: ${isNonNullType(fields[key].type) ? 'non-null' : 'nullable'} in GraphQL only`),
  ];
}

test.each(PAIRS)('%s has the fields of its view, with the same nullability', (name, view, resolved) => {
  expect(disagreements(name, view, resolved)).toEqual([]);
});

test('the check fails: a field on one side only, or nullable on one side only, is named', () => {
  const drifted = views.processRequestView.extend({ observations: z.string(), extra: z.string() });
  expect(disagreements('ProcessRequest', drifted, ['creator', 'reviewer', 'canceller'])).toEqual([
    'extra: not in GraphQL',
    'history: not in the view',
    'observations: nullable in GraphQL only',
  ]);
});
