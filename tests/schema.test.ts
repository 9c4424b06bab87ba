// schema.graphql is kept in git and read by codegen: it must be exactly what the code-first schema prints.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildAppSchema, printAppSchema } from '../src/schema';

test('schema.graphql matches the schema built from the code', async () => {
  const committed = readFileSync(path.resolve(__dirname, '../schema.graphql'), 'utf8');
  const fromCode = printAppSchema(await buildAppSchema());
  if (fromCode !== committed) {
    const was = new Set(committed.split('\n'));
    const now = new Set(fromCode.split('\n'));
    const changes = [
      ...[...was].filter((l) => !now.has(l)).map((l) => `- ${l}`),
      ...[...now].filter((l) => !was.has(l)).map((l) => `+ ${l}`),
    ];
    throw new Error(
      `schema.graphql is stale: run \`npm run schema\` (then \`npm run codegen\`) and commit the result.\n${changes.slice(0, 40).join('\n')}`,
    );
  }
});

test('the schema has the operations of SPEC sections 8 and 18', async () => {
  const schema = await buildAppSchema();
  expect(Object.keys(schema.getQueryType()!.getFields()).sort()).toEqual(
    [
      'allProcessRequests',
      'approvalPolicy',
      'evidenceDownloadUrl',
      'me',
      'partnerBalance',
      'partners',
      'policyChanges',
      'processRequest',
      'processRequests',
      'statement',
      // SPEC section 16
      'events',
      'webhookDeliveries',
      'webhookEndpoints',
    ].sort(),
  );
  expect(Object.keys(schema.getMutationType()!.getFields())).toEqual(
    expect.arrayContaining([
      'createProcessRequest',
      'approveProcessRequest',
      'rejectProcessRequest',
      'cancelProcessRequest',
      'approvePolicyChange',
      'rejectPolicyChange',
    ]),
  );
  expect(schema.getType('Decimal')).toBeDefined();
  expect(schema.getType('Upload')).toBeDefined();
});
