// OTP elevation (SPEC section 6) over real HTTP: enrolment through the CLI, codes from the printed
// secret, missing / wrong / replayed codes, lockout through GraphQL aliases and parallel requests.
import * as OTPAuth from 'otpauth';
import supertest from 'supertest';
import { checked } from './support/openapi';
import { runCli } from '../src/cli/run';
import { decryptSecret } from '../src/services/identity/secret-box';
import { PDF } from './support/files';
import {
  codeAt,
  count,
  enrollWithCli,
  gqlHttp,
  gqlUpload,
  validCodes,
  wrongCode,
  type Enrolled,
} from './support/step-up';
import { createWorld, type World } from './support/world';

let world: World;
beforeAll(async () => {
  // Races of one operator's calls at once test the OTP lockout, not the per-operator cap on calls in flight.
  world = await createWorld({ MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: '100' });
});
afterAll(() => world?.close());

async function setup() {
  const partner = await world.partner('OTP Partner', 'USD');
  const maker = await world.operator(['MAKER'], [partner.id]);
  const makerHeaders = await world.headers(maker);
  return { partner, maker, makerHeaders };
}

function createRest(partnerId: string, headers: Record<string, string>, otp?: string, file: Buffer = PDF) {
  const req = world.http
    .post(`${world.rest(partnerId)}/process-request`)
    .set(headers)
    .field('requestedAmount', '100.00');
  if (otp !== undefined) req.field('otp', otp);
  return req.attach('evidence', file, 'receipt.pdf');
}

function approveRest(partnerId: string, id: string, headers: Record<string, string>, otp?: string) {
  return world.http
    .patch(`${world.rest(partnerId)}/process-request/${id}/approve`)
    .set(headers)
    .set('content-type', 'application/json')
    .send(JSON.stringify(otp === undefined ? {} : { otp }));
}

describe('enrolment', () => {
  test('operator:create --otp prints an otpauth URI and the secret, and stores only its AES-256-GCM ciphertext', async () => {
    const { partner } = await setup();
    const op = await enrollWithCli(world, 'MAKER', [partner.id]);
    expect(op.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    const parsed = OTPAuth.URI.parse(op.otpauthUri) as OTPAuth.TOTP;
    expect(parsed).toBeInstanceOf(OTPAuth.TOTP);
    expect(parsed.secret.base32).toBe(op.otpSecret);
    expect(parsed.algorithm).toBe('SHA1');
    expect(parsed.digits).toBe(6);
    expect(parsed.period).toBe(30);
    expect(parsed.label).toBe(op.email);
    expect(op.otpSecret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits

    const [row] = await world.sql<{ otp_required: boolean; otp_secret_encrypted: string }>(
      'select otp_required, otp_secret_encrypted from operator where id = ?',
      [op.id],
    );
    expect(row.otp_required).toBe(true);
    expect(row.otp_secret_encrypted).not.toContain(op.otpSecret);
    expect(decryptSecret(world.app.config.otpEncryptionKey, row.otp_secret_encrypted)).toBe(op.otpSecret);
    // Another key cannot open it (GCM authenticates).
    expect(() => decryptSecret(Buffer.alloc(32, 1), row.otp_secret_encrypted)).toThrow();
  });

  test('without --otp no URI or secret is printed', async () => {
    const { partner } = await setup();
    const res = await runCli(
      [
        'operator:create',
        '--email',
        `plain-${Date.now()}@test.local`,
        '--name',
        'P',
        '--roles',
        'MAKER',
        '--partners',
        partner.id,
      ],
      { DATABASE_URL: world.databaseUrl, LOG_LEVEL: 'silent', NODE_ENV: 'test' },
    );
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.otpRequired).toBe(false);
    expect(out.otpauthUri).toBeUndefined();
    expect(out.otpSecret).toBeUndefined();
  });
});

describe('create', () => {
  let partnerId: string;
  let op: Enrolled;
  beforeAll(async () => {
    const { partner } = await setup();
    partnerId = partner.id;
    op = await enrollWithCli(world, 'MAKER', [partner.id]);
  });

  test('missing code: 403 OTP_REQUIRED, nothing stored', async () => {
    const before = (await world.blobNames()).length;
    const res = await createRest(partnerId, op.headers);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('OTP_REQUIRED');
    expect(await count(world, 'process_request', 'created_by = ?', [op.id])).toBe(0);
    expect((await world.blobNames()).length).toBe(before);
  });

  test('wrong code: 403 OTP_INVALID and no blob (the code is checked before the evidence is stored)', async () => {
    const before = await world.blobNames();
    for (const otp of [await wrongCode(op.otpSecret), '12345', 'abcdef', '1234567', ' 123456']) {
      const res = await createRest(partnerId, op.headers, otp);
      expect([res.status, res.body.code]).toEqual([403, 'OTP_INVALID']);
    }
    expect(await world.blobNames()).toEqual(before);
    expect(await count(world, 'process_request', 'created_by = ?', [op.id])).toBe(0);
    // Staged blocks of the refused uploads were never committed: no blob under this partner at all.
    expect((await world.blobNames()).filter((n) => n.startsWith(`${partnerId}/`))).toEqual([]);
    await world.sql('delete from otp_attempt where operator_id = ?', [op.id]); // do not carry failures into the next tests
  });

  test('a valid code from the printed secret creates; the same code again is refused (no replay)', async () => {
    const otp = await codeAt(op.otpSecret);
    const first = await createRest(partnerId, op.headers, otp);
    expect(first.status).toBe(201);
    expect(await world.blobNames()).toContain(`${partnerId}/${first.body.id}/evidence.pdf`);
    const again = await createRest(partnerId, op.headers, otp);
    expect([again.status, again.body.code]).toEqual([403, 'OTP_INVALID']);
    expect(await count(world, 'process_request', 'created_by = ?', [op.id])).toBe(1);
  });

  test('GraphQL create takes the code in input.otp', async () => {
    const missing = await gqlUpload(
      world,
      op.headers,
      { clientId: partnerId, input: { requestedAmount: '5.00' } },
      PDF,
    );
    expect(missing.errors?.[0].extensions).toMatchObject({ code: 'OTP_REQUIRED', status: 403 });
    const otp = (await validCodes(op.otpSecret))[2];
    const ok = await gqlUpload(
      world,
      op.headers,
      { clientId: partnerId, input: { requestedAmount: '5.00', otp } },
      PDF,
    );
    expect(ok.errors).toBeUndefined();
    expect((ok.data?.createProcessRequest as { status: string }).status).toBe('PENDING');
    const replay = await gqlUpload(
      world,
      op.headers,
      { clientId: partnerId, input: { requestedAmount: '6.00', otp } },
      PDF,
    );
    expect(replay.errors?.[0].extensions).toMatchObject({ code: 'OTP_INVALID', status: 403 });
  });
});

describe('approve', () => {
  test('missing, wrong, valid and replayed codes over REST and GraphQL; reject needs no code', async () => {
    const { partner, makerHeaders } = await setup();
    const checker = await enrollWithCli(world, 'CHECKER', [partner.id]);
    const id = await world.createRequest(partner.id, makerHeaders);

    const missing = await approveRest(partner.id, id, checker.headers);
    expect([missing.status, missing.body.code]).toEqual([403, 'OTP_REQUIRED']);
    const wrong = await approveRest(partner.id, id, checker.headers, await wrongCode(checker.otpSecret));
    expect([wrong.status, wrong.body.code]).toEqual([403, 'OTP_INVALID']);
    const notText = await approveRest(partner.id, id, checker.headers, 123456 as unknown as string);
    expect([notText.status, notText.body.code]).toEqual([403, 'OTP_INVALID']);

    const [c1, c2] = await validCodes(checker.otpSecret);
    expect((await approveRest(partner.id, id, checker.headers, c1)).status).toBe(204);
    const balance = await world.http.get(`${world.rest(partner.id)}/balance`).set(checker.headers);
    expect(balance.text).toContain('"available":100.00');

    // The used code on another pending request: refused, nothing credited.
    const id2 = await world.createRequest(partner.id, makerHeaders);
    const replay = await approveRest(partner.id, id2, checker.headers, c1);
    expect([replay.status, replay.body.code]).toEqual([403, 'OTP_INVALID']);

    const APPROVE = `mutation($c: ID!, $id: ID!, $otp: String) { approveProcessRequest(clientId: $c, id: $id, otp: $otp) { id status } }`;
    const gqlMissing = await gqlHttp(world, checker.headers, APPROVE, { c: partner.id, id: id2 });
    expect(gqlMissing.errors?.[0].extensions).toMatchObject({ code: 'OTP_REQUIRED', status: 403 });
    const gqlOk = await gqlHttp(world, checker.headers, APPROVE, { c: partner.id, id: id2, otp: c2 });
    expect(gqlOk.data?.approveProcessRequest).toEqual({ id: id2, status: 'APPROVED' });

    // Reject needs no code (only create and approve are elevated); neither does a maker's cancel.
    const id3 = await world.createRequest(partner.id, makerHeaders);
    const rejected = await world.act(partner.id, id3, 'reject', checker.headers);
    expect(rejected.status).toBe(204);
    expect(await count(world, 'ledger_entry', 'client_balance_id = ?', [partner.balanceId])).toBe(2);
  });

  test('the OTP check comes after the four-eyes and pending checks: those answer first and cost no attempt', async () => {
    const { partner, makerHeaders } = await setup();
    const checker = await enrollWithCli(world, 'CHECKER', [partner.id]);
    const id = await world.createRequest(partner.id, makerHeaders);
    await world.sql(`update process_request set status = 'REJECTED' where id = ?`, [id]);
    const res = await approveRest(partner.id, id, checker.headers, await wrongCode(checker.otpSecret));
    expect([res.status, res.body.code]).toEqual([409, 'PROCESS_REQUEST_NOT_PENDING']);
    expect(await count(world, 'otp_attempt', 'operator_id = ?', [checker.id])).toBe(0);
  });
});

describe('lockout', () => {
  test('GraphQL aliases: each aliased approval is checked and counted on its own; the operation stops at the first refusal', async () => {
    const { partner, makerHeaders } = await setup();
    const checker = await enrollWithCli(world, 'CHECKER', [partner.id]);
    const ids = await Promise.all(
      Array.from({ length: 4 }, () => world.createRequest(partner.id, makerHeaders)),
    );
    const [c1, c2, c3] = await validCodes(checker.otpSecret);
    // Three distinct valid codes on three requests, then c1 replayed on the fourth: one code per alias, no sharing.
    const res = await gqlHttp(
      world,
      checker.headers,
      `mutation($c: ID!, $a: ID!, $b: ID!, $d: ID!, $e: ID!, $o1: String, $o2: String, $o3: String) {
        a0: approveProcessRequest(clientId: $c, id: $a, otp: $o1) { id status }
        a1: approveProcessRequest(clientId: $c, id: $b, otp: $o2) { id status }
        a2: approveProcessRequest(clientId: $c, id: $d, otp: $o3) { id status }
        a3: approveProcessRequest(clientId: $c, id: $e, otp: $o1) { id status }
      }`,
      { c: partner.id, a: ids[0], b: ids[1], d: ids[2], e: ids[3], o1: c1, o2: c2, o3: c3 },
    );
    expect(res.errors?.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([['a3', 'OTP_INVALID']]);
    expect(await count(world, 'process_request', "client_id = ? and status = 'APPROVED'", [partner.id])).toBe(
      3,
    );
    expect(await count(world, 'otp_attempt', 'operator_id = ? and success = true', [checker.id])).toBe(3);
    expect(await count(world, 'otp_attempt', 'operator_id = ? and success = false', [checker.id])).toBe(1);
  });

  test('GraphQL aliases: wrong codes in aliased operations count every attempt made; the 6th is 429 OTP_LOCKED until the window passes', async () => {
    const { partner, makerHeaders } = await setup();
    const checker = await enrollWithCli(world, 'CHECKER', [partner.id]);
    const id = await world.createRequest(partner.id, makerHeaders);
    const bad = await wrongCode(checker.otpSecret);
    const aliases = Array.from(
      { length: 7 },
      (_, i) => `a${i}: approveProcessRequest(clientId: $c, id: $id, otp: $otp) { id }`,
    ).join('\n');
    const operation = `mutation($c: ID!, $id: ID!, $otp: String) { ${aliases} }`;
    const codes: unknown[] = [];
    for (let round = 0; round < 6; round++) {
      const res = await gqlHttp(world, checker.headers, operation, { c: partner.id, id, otp: bad });
      // The mutation's result is non-null: the first refusal ends the operation, later aliases never run.
      expect(res.data).toBeNull();
      expect(res.errors).toHaveLength(1);
      codes.push([
        res.errors?.[0].path?.[0],
        res.errors?.[0].extensions?.code,
        res.errors?.[0].extensions?.status,
      ]);
    }
    expect(codes).toEqual([...Array(5).fill(['a0', 'OTP_INVALID', 403]), ['a0', 'OTP_LOCKED', 429]]);
    expect(await count(world, 'otp_attempt', 'operator_id = ? and success = false', [checker.id])).toBe(5);

    // Locked: a right code is refused too, over REST (429).
    const good = await codeAt(checker.otpSecret);
    const locked = await approveRest(partner.id, id, checker.headers, good);
    expect([locked.status, locked.body.code]).toEqual([429, 'OTP_LOCKED']);
    // Attempts while locked are not recorded, so the lock ends when the window passes.
    expect(await count(world, 'otp_attempt', 'operator_id = ? and success = false', [checker.id])).toBe(5);

    // The window passes (the attempts move 15 minutes into the past): the right code works.
    await world.sql(`update otp_attempt set at = at - interval '15 minutes 1 second' where operator_id = ?`, [
      checker.id,
    ]);
    const after = await approveRest(partner.id, id, checker.headers, good);
    expect(after.status).toBe(204);
  });

  test('a sliding window: failures older than 15 minutes do not count towards the lock', async () => {
    const { partner, makerHeaders } = await setup();
    const checker = await enrollWithCli(world, 'CHECKER', [partner.id]);
    const id = await world.createRequest(partner.id, makerHeaders);
    const bad = await wrongCode(checker.otpSecret);
    for (let i = 0; i < 4; i++)
      expect((await approveRest(partner.id, id, checker.headers, bad)).body.code).toBe('OTP_INVALID');
    await world.sql(`update otp_attempt set at = at - interval '16 minutes' where operator_id = ?`, [
      checker.id,
    ]);
    expect((await approveRest(partner.id, id, checker.headers, bad)).body.code).toBe('OTP_INVALID');
    expect((await approveRest(partner.id, id, checker.headers, await codeAt(checker.otpSecret))).status).toBe(
      204,
    );
  });

  test('parallel REST requests: exactly 5 wrong codes are counted, the rest are locked out', async () => {
    const { partner, makerHeaders } = await setup();
    const checker = await enrollWithCli(world, 'CHECKER', [partner.id]);
    const id = await world.createRequest(partner.id, makerHeaders);
    const bad = await wrongCode(checker.otpSecret);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => approveRest(partner.id, id, checker.headers, bad)),
    );
    const tally = results.map((r) => `${r.status} ${r.body.code}`).sort();
    expect(tally).toEqual([...Array(5).fill('403 OTP_INVALID'), ...Array(7).fill('429 OTP_LOCKED')]);
    expect(await count(world, 'otp_attempt', 'operator_id = ? and success = false', [checker.id])).toBe(5);
    // Creates by a locked maker are refused before anything is stored.
    const maker = await enrollWithCli(world, 'MAKER', [partner.id]);
    await Promise.all(Array.from({ length: 5 }, () => createRest(partner.id, maker.headers, bad)));
    const lockedCreate = await createRest(partner.id, maker.headers, await codeAt(maker.otpSecret));
    expect([lockedCreate.status, lockedCreate.body.code]).toEqual([429, 'OTP_LOCKED']);
    expect((await world.blobNames()).filter((n) => n.startsWith(`${partner.id}/`))).toHaveLength(1);
  });

  test('parallel requests with one valid code: exactly one is accepted', async () => {
    const { partner, makerHeaders } = await setup();
    const checker = await enrollWithCli(world, 'CHECKER', [partner.id]);
    const ids = await Promise.all(
      Array.from({ length: 5 }, () => world.createRequest(partner.id, makerHeaders)),
    );
    const otp = await codeAt(checker.otpSecret);
    const results = await Promise.all(ids.map((id) => approveRest(partner.id, id, checker.headers, otp)));
    expect(results.filter((r) => r.status === 204)).toHaveLength(1);
    expect(results.filter((r) => r.status === 403 && r.body.code === 'OTP_INVALID')).toHaveLength(4);
    expect(await count(world, 'ledger_entry', 'client_balance_id = ?', [partner.balanceId])).toBe(1);
  });
});

describe('across processes', () => {
  test('a code used on one server process is refused on another', async () => {
    const second = await world.secondProcess();
    const { partner, makerHeaders } = await setup();
    const checker = await enrollWithCli(world, 'CHECKER', [partner.id]);
    const [a, b] = await Promise.all([
      world.createRequest(partner.id, makerHeaders),
      world.createRequest(partner.id, makerHeaders),
    ]);
    const otp = await codeAt(checker.otpSecret);
    expect((await approveRest(partner.id, a, checker.headers, otp)).status).toBe(204);
    const res = await checked(supertest(second.url))
      .patch(`${world.rest(partner.id)}/process-request/${b}/approve`)
      .set(checker.headers)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ otp }));
    expect([res.status, res.body.code]).toEqual([403, 'OTP_INVALID']);
  });
});

describe('operators not subject to OTP', () => {
  test('an otp they send is ignored, whatever it holds', async () => {
    const { partner, maker, makerHeaders } = await setup();
    const checker = await world.operator(['CHECKER'], [partner.id]);
    const created = await createRest(partner.id, makerHeaders, 'not-a-code');
    expect(created.status).toBe(201);
    const approved = await approveRest(partner.id, created.body.id, await world.headers(checker), '000000');
    expect(approved.status).toBe(204);
    const gql = await gqlUpload(
      world,
      makerHeaders,
      { clientId: partner.id, input: { requestedAmount: '1.00', otp: '999999' } },
      PDF,
    );
    expect(gql.errors).toBeUndefined();
    expect(await count(world, 'otp_attempt', 'operator_id in (?, ?)', [maker.id, checker.id])).toBe(0);
  });

  test('an operator whose stored secret cannot be decrypted gets OTP_INVALID, never a 500', async () => {
    const { partner, makerHeaders } = await setup();
    const checker = await world.operator(['CHECKER'], [partner.id], {
      otpRequired: true,
      otpSecretEncrypted: 'garbage',
    });
    const id = await world.createRequest(partner.id, makerHeaders);
    const res = await approveRest(partner.id, id, await world.headers(checker), '123456');
    expect([res.status, res.body.code]).toEqual([403, 'OTP_INVALID']);
  });
});
