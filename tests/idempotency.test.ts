// Idempotent creates (SPEC section 4): Idempotency-Key over REST, idempotencyKey over GraphQL.
import { BlobServiceClient } from '@azure/storage-blob';
import { JPEG, PDF } from './support/files';
import { codeAt, count, enrollWithCli, gqlUpload, wrongCode } from './support/step-up';
import { createWorld, type World } from './support/world';

let world: World;
beforeAll(async () => {
  // Ten parallel retries of one operator (REST and GraphQL): more than the default calls in flight (4) it may have.
  world = await createWorld({ MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: '10' });
});
afterAll(() => world?.close());

async function setup() {
  const partner = await world.partner('Idem Partner', 'USD');
  const maker = await world.operator(['MAKER'], [partner.id]);
  return { partner, maker, headers: await world.headers(maker) };
}

interface CreateArgs {
  amount?: string;
  observations?: string;
  file?: Buffer;
  fileName?: string;
  otp?: string;
}

function createRest(
  partnerId: string,
  headers: Record<string, string>,
  key: string | undefined,
  args: CreateArgs = {},
) {
  const req = world.http.post(`${world.rest(partnerId)}/process-request`).set(headers);
  if (key !== undefined) req.set('Idempotency-Key', key);
  req.field('requestedAmount', args.amount ?? '250.00');
  if (args.observations !== undefined) req.field('observations', args.observations);
  if (args.otp !== undefined) req.field('otp', args.otp);
  return req.attach('evidence', args.file ?? PDF, args.fileName ?? 'receipt.pdf');
}

/** Every blob of the partner, committed or not (a replay must not even stage blocks). */
async function allBlobsOf(partnerId: string): Promise<string[]> {
  const container = BlobServiceClient.fromConnectionString(
    process.env.AZURE_STORAGE_CONNECTION_STRING!,
  ).getContainerClient(world.container);
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix: `${partnerId}/`, includeUncommitedBlobs: true }))
    names.push(blob.name);
  return names;
}

const rows = (partnerId: string) => count(world, 'process_request', 'client_id = ?', [partnerId]);

describe('REST Idempotency-Key', () => {
  test('the same create repeated gets the same status and body; nothing new is created or uploaded', async () => {
    const { partner, headers } = await setup();
    const first = await createRest(partner.id, headers, 'key-1', { observations: 'wire 42' });
    expect(first.status).toBe(201);
    const blobsAfterFirst = await allBlobsOf(partner.id);
    expect(blobsAfterFirst).toEqual([`${partner.id}/${first.body.id}/evidence.pdf`]);
    for (let i = 0; i < 3; i++) {
      const again = await createRest(partner.id, headers, 'key-1', { observations: 'wire 42' });
      expect(again.status).toBe(201);
      expect(again.text).toBe(first.text);
    }
    expect(await rows(partner.id)).toBe(1);
    expect(await allBlobsOf(partner.id)).toEqual(blobsAfterFirst);
    expect(
      await count(world, 'process_request_event', "client_id = ? and type = 'CREATED'", [partner.id]),
    ).toBe(1);
  });

  test('the replay is the first answer even after the request moved on (approved)', async () => {
    const { partner, headers } = await setup();
    const first = await createRest(partner.id, headers, 'approve-later');
    const checker = await world.operator(['CHECKER'], [partner.id]);
    expect((await world.act(partner.id, first.body.id, 'approve', checker)).status).toBe(204);
    const again = await createRest(partner.id, headers, 'approve-later');
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.body.status).toBe('PENDING');
    expect(await count(world, 'ledger_entry', 'client_balance_id = ?', [partner.balanceId])).toBe(1);
  });

  test('the same key with a different amount, observations, file or partner is 409 IDEMPOTENCY_KEY_REUSED', async () => {
    const { partner, headers, maker } = await setup();
    const other = await world.partner('Other', 'USD');
    await world.sql(`update operator set partner_ids = array[?::uuid, ?::uuid] where id = ?`, [
      partner.id,
      other.id,
      maker.id,
    ]);
    expect((await createRest(partner.id, headers, 'k', { observations: 'a' })).status).toBe(201);
    const variants: Array<[string, string, CreateArgs]> = [
      ['amount', partner.id, { amount: '251.00', observations: 'a' }],
      ['observations', partner.id, { observations: 'b' }],
      ['no observations', partner.id, {}],
      ['file', partner.id, { observations: 'a', file: JPEG }],
      ['partner', other.id, { observations: 'a' }],
    ];
    for (const [, partnerId, args] of variants) {
      const res = await createRest(partnerId, headers, 'k', args);
      expect([res.status, res.body.code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    }
    // Only the file name differs: the same request (the name is metadata, the hash is the content).
    expect(
      (await createRest(partner.id, headers, 'k', { observations: 'a', fileName: 'other-name.pdf' })).status,
    ).toBe(201);
    // The same amount written differently is the same amount.
    expect((await createRest(partner.id, headers, 'k', { observations: 'a', amount: '250.0' })).status).toBe(
      201,
    );
    expect(await rows(partner.id)).toBe(1);
    expect(await rows(other.id)).toBe(0);
    expect((await allBlobsOf(partner.id)).length + (await allBlobsOf(other.id)).length).toBe(1);
  });

  test('keys belong to their operator: another operator with the same key creates their own request', async () => {
    const { partner, headers } = await setup();
    const maker2 = await world.operator(['MAKER'], [partner.id]);
    const a = await createRest(partner.id, headers, 'shared-key');
    const b = await createRest(partner.id, await world.headers(maker2), 'shared-key');
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
    expect(await rows(partner.id)).toBe(2);
  });

  test('parallel retries with one key create exactly one request and all get its answer', async () => {
    const { partner, headers } = await setup();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => createRest(partner.id, headers, 'burst')),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(await rows(partner.id)).toBe(1);
    expect(await world.blobNames().then((n) => n.filter((x) => x.startsWith(`${partner.id}/`)))).toHaveLength(
      1,
    );
  });

  test('parallel different requests with one key: one is created, the others are 409', async () => {
    const { partner, headers } = await setup();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        createRest(partner.id, headers, 'contested', { amount: `${i + 1}.00` }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409 && r.body.code === 'IDEMPOTENCY_KEY_REUSED')).toHaveLength(
      5,
    );
    expect(await rows(partner.id)).toBe(1);
  });

  test('a failed create does not poison the key: a corrected retry proceeds', async () => {
    const { partner, headers } = await setup();
    const bad = await createRest(partner.id, headers, 'retry-me', { amount: '-1' });
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const badFile = await createRest(partner.id, headers, 'retry-me', {
      file: Buffer.from('plain text, not a receipt'),
    });
    expect([badFile.status, badFile.body.code]).toEqual([415, 'UNSUPPORTED_EVIDENCE_TYPE']);
    const ok = await createRest(partner.id, headers, 'retry-me');
    expect(ok.status).toBe(201);
    expect(await count(world, 'idempotency_key', 'key = ?', ['retry-me'])).toBe(1);
  });

  test('after 24 hours the key is free again', async () => {
    const { partner, headers, maker } = await setup();
    const first = await createRest(partner.id, headers, 'daily');
    await world.sql(
      `update idempotency_key set created_at = now() - interval '24 hours 1 second' where operator_id = ?`,
      [maker.id],
    );
    const second = await createRest(partner.id, headers, 'daily');
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
    expect(await rows(partner.id)).toBe(2);
  });

  test('a malformed key is 400 before the body matters', async () => {
    const { partner, headers } = await setup();
    for (const key of ['', 'x'.repeat(256), 'caf\u00e9', 'tab\there']) {
      const res = await createRest(partner.id, headers, key);
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await createRest(partner.id, headers, 'x'.repeat(255))).status).toBe(201);
    expect(
      (await createRest(partner.id, headers, ' ~!"#$%&()*+,-./:;<=>?@[\\]^_`{|}', { amount: '1' })).status,
    ).toBe(201);
    expect(await rows(partner.id)).toBe(2);
  });

  test('an OTP operator: a wrong code releases the key; the replay of a completed create needs no new code', async () => {
    const { partner } = await setup();
    const op = await enrollWithCli(world, 'MAKER', [partner.id]);
    const wrong = await createRest(partner.id, op.headers, 'otp-key', { otp: await wrongCode(op.otpSecret) });
    expect([wrong.status, wrong.body.code]).toEqual([403, 'OTP_INVALID']);
    const otp = await codeAt(op.otpSecret);
    const first = await createRest(partner.id, op.headers, 'otp-key', { otp });
    expect(first.status).toBe(201);
    // A client retrying the very same request (same, now used, code) gets the first answer.
    const retry = await createRest(partner.id, op.headers, 'otp-key', { otp });
    expect(retry.status).toBe(201);
    expect(retry.text).toBe(first.text);
    expect(await rows(partner.id)).toBe(1);
  });
});

describe('GraphQL idempotencyKey', () => {
  test('replays, refuses reuse, and shares the key space with REST', async () => {
    const { partner, headers } = await setup();
    const vars = {
      clientId: partner.id,
      input: { requestedAmount: '99.99', observations: 'gql' },
      idempotencyKey: 'g-1',
    };
    const first = await gqlUpload(world, headers, vars, PDF);
    expect(first.errors).toBeUndefined();
    const again = await gqlUpload(world, headers, vars, PDF);
    expect(again.data).toEqual(first.data);
    const reused = await gqlUpload(world, headers, { ...vars, input: { requestedAmount: '1.00' } }, PDF);
    expect(reused.errors?.[0].extensions).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 409 });
    const badKey = await gqlUpload(world, headers, { ...vars, idempotencyKey: '' }, PDF);
    expect(badKey.errors?.[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    // The same create through REST with the same key: the same request.
    const rest = await createRest(partner.id, headers, 'g-1', { amount: '99.99', observations: 'gql' });
    expect(rest.status).toBe(201);
    expect(rest.body.id).toBe((first.data?.createProcessRequest as { id: string }).id);
    expect(await rows(partner.id)).toBe(1);
  });

  test('parallel GraphQL retries create exactly one request', async () => {
    const { partner, headers } = await setup();
    const vars = { clientId: partner.id, input: { requestedAmount: '7.00' }, idempotencyKey: 'g-burst' };
    const results = await Promise.all(Array.from({ length: 6 }, () => gqlUpload(world, headers, vars, PDF)));
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    expect(new Set(results.map((r) => (r.data?.createProcessRequest as { id: string }).id)).size).toBe(1);
    expect(await rows(partner.id)).toBe(1);
  });
});
