// REST create (SPEC sections 4 and 5) over real HTTP: the body a user gets back, the stored row, the stored
// blob, and every refusal — with nothing left behind by a refused create.
import { BlobServiceClient } from '@azure/storage-blob';
import { createHash, randomBytes } from 'node:crypto';
import { JPEG, PDF, TEN_MIB, WEBP, pdfOfSize, png } from './support/files';
import { createWorld, type World } from './support/world';

let world: World;
let usd: { id: string; balanceId: string };
let jpy: { id: string; balanceId: string };
let makerHeaders: Record<string, string>;
let jpyHeaders: Record<string, string>;
let makerId: string;
/** Every 201 this file receives; the last test compares it with rows and blobs. */
let created = 0;

beforeAll(async () => {
  world = await createWorld();
  usd = await world.partner('Create USD', 'USD');
  jpy = await world.partner('Create JPY', 'JPY');
  const maker = await world.operator(['MAKER'], [usd.id, jpy.id]);
  makerId = maker.id;
  makerHeaders = await world.headers(maker);
  jpyHeaders = makerHeaders;
});
afterAll(() => world?.close());

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const container = () =>
  BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING!).getContainerClient(
    world.container,
  );

type Part =
  { name: string; value: string } | { name: string; file: Buffer; disposition: string; contentType?: string };

/** A multipart body written by hand, for what supertest cannot express (part order, raw file names). */
function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----test-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`));
    if ('file' in part) {
      chunks.push(
        Buffer.from(
          `Content-Disposition: form-data; name="${part.name}"; ${part.disposition}\r\nContent-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
        ),
        part.file,
      );
    } else {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}`));
    }
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function postRaw(partnerId: string, parts: Part[]) {
  const { body, contentType } = multipart(parts);
  const res = await world.http
    .post(`${world.rest(partnerId)}/process-request`)
    .set(makerHeaders)
    .set('content-type', contentType)
    .send(body);
  if (res.status === 201) created++;
  return res;
}

interface CreateArgs {
  amount?: string | null;
  observations?: string;
  file?: Buffer | null;
  fileName?: string;
  contentType?: string;
  partnerId?: string;
  headers?: Record<string, string>;
}

/** A create as a form would send it: requestedAmount, observations, then the file. */
async function create(args: CreateArgs = {}) {
  const req = world.http
    .post(`${world.rest(args.partnerId ?? usd.id)}/process-request`)
    .set(args.headers ?? makerHeaders);
  if (args.amount !== null) req.field('requestedAmount', args.amount ?? '100.00');
  if (args.observations !== undefined) req.field('observations', args.observations);
  if (args.file !== null) {
    req.attach('evidence', args.file ?? PDF, {
      filename: args.fileName ?? 'receipt.pdf',
      contentType: args.contentType ?? 'application/pdf',
    });
  }
  const res = await req;
  if (res.status === 201) created++;
  return res;
}

function expectError(res: { status: number; body: Record<string, unknown> }, status: number, code: string) {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.body).toEqual({
    statusCode: status,
    code,
    message: expect.any(String),
    requestId: expect.any(String),
  });
}

describe('a created request', () => {
  test.each([
    ['PDF', PDF, 'receipt.pdf', 'pdf', 'application/pdf'],
    ['JPEG', JPEG, 'photo.jpeg', 'jpg', 'image/jpeg'],
    ['PNG', png(), 'scan.png', 'png', 'image/png'],
    ['WEBP', WEBP, 'scan.webp', 'webp', 'image/webp'],
  ])(
    '%s: 201 with the documented body, the row and the blob',
    async (_type, bytes, fileName, ext, contentType) => {
      const res = await create({
        amount: '1234.5',
        observations: 'wire 42',
        file: bytes,
        fileName,
        contentType: 'application/octet-stream',
      });
      expect(res.status).toBe(201);
      const id = res.body.id as string;
      const blobName = `${usd.id}/${id}/evidence.${ext}`;
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        processTypeId: 1,
        clientBalanceId: usd.balanceId,
        clientId: usd.id,
        requestedAmount: 1234.5,
        currency: 'USD',
        observations: 'wire 42',
        evidenceUrl: expect.stringMatching(new RegExp(`/${world.container}/${blobName}$`)),
        evidence: { fileName, contentType, size: bytes.length, sha256: sha256(bytes) },
        status: 'PENDING',
        createdBy: makerId,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        updatedAt: expect.any(String),
        reviewedBy: null,
        reviewedAt: null,
        reviewReason: null,
        cancelledBy: null,
        cancelledAt: null,
        requiredApprovals: 1,
        approvals: [],
        expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        reversalOf: null,
        reversedBy: null,
      });
      // The default policy: 7 days to be decided.
      expect(Date.parse(res.body.expiresAt) - Date.parse(res.body.createdAt)).toBe(7 * 24 * 3600 * 1000);
      // Money is a JSON number written from its exact decimal text, at the currency's digits.
      expect(res.text).toContain('"requestedAmount":1234.50');

      const [row] = await world.sql<Record<string, unknown>>(
        'select status, requested_amount::text as amount, created_by, evidence_size, evidence_sha256, evidence_content_type, evidence_blob_name from process_request where id = ?',
        [id],
      );
      expect(row).toEqual({
        status: 'PENDING',
        amount: '1234.5000',
        created_by: makerId,
        evidence_size: bytes.length,
        evidence_sha256: sha256(bytes),
        evidence_content_type: contentType,
        evidence_blob_name: blobName,
      });

      const blob = container().getBlockBlobClient(blobName);
      const props = await blob.getProperties();
      expect(props.contentType).toBe(contentType);
      expect(props.contentLength).toBe(bytes.length);
      expect(props.metadata).toMatchObject({
        sha256: sha256(bytes),
        size: String(bytes.length),
        filename: encodeURIComponent(fileName),
      });
      expect((await blob.downloadToBuffer()).equals(bytes)).toBe(true);

      // The canonical URL names a private blob: without a signature nobody reads it.
      const anonymous = await fetch(res.body.evidenceUrl as string);
      expect([403, 404]).toContain(anonymous.status);
    },
  );

  test('fields may come before or after the file', async () => {
    const file = {
      name: 'evidence',
      file: PDF,
      disposition: 'filename="receipt.pdf"',
      contentType: 'application/pdf',
    };
    const fields = [
      { name: 'requestedAmount', value: '10.00' },
      { name: 'observations', value: 'order test' },
    ];
    for (const parts of [
      [...fields, file],
      [file, ...fields],
      [fields[0], file, fields[1]],
    ]) {
      const res = await postRaw(usd.id, parts);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        requestedAmount: 10,
        observations: 'order test',
        evidence: { size: PDF.length },
      });
    }
  });

  test('a file name with path components and control characters is stored cleaned', async () => {
    const cases: Array<[string, string]> = [
      ['filename="folder/sub dir/bank receipt.pdf"', 'bank receipt.pdf'],
      [`filename*=UTF-8''..%2F..%2Fetc%2Fre%07ce%1Bipt%E2%80%AE.pdf`, 'receipt.pdf'],
      [`filename*=UTF-8''C%3A%5CUsers%5Cana%5Cextracto%20mar%C3%A7o.pdf`, 'extracto março.pdf'],
    ];
    for (const [disposition, expected] of cases) {
      const res = await postRaw(usd.id, [
        { name: 'requestedAmount', value: '5' },
        { name: 'evidence', file: PDF, disposition },
      ]);
      expect(res.status).toBe(201);
      expect(res.body.evidence.fileName).toBe(expected);
      const [row] = await world.sql<{ name: string }>(
        'select evidence_file_name as name from process_request where id = ?',
        [res.body.id],
      );
      expect(row.name).toBe(expected);
      // The blob name is the service's own, whatever the client called the file.
      expect(await world.blobNames()).toContain(`${usd.id}/${res.body.id}/evidence.pdf`);
    }
  });

  test('the amount limits are inclusive: 999999999999999.99 USD and whole JPY are accepted', async () => {
    const big = await create({ amount: '999999999999999.99' });
    expect(big.status).toBe(201);
    expect(big.text).toContain('"requestedAmount":999999999999999.99');
    const yen = await create({ partnerId: jpy.id, headers: jpyHeaders, amount: '1500' });
    expect(yen.status).toBe(201);
    expect(yen.body).toMatchObject({ requestedAmount: 1500, currency: 'JPY' });
    expect(yen.text).toContain('"requestedAmount":1500,');
  });

  test('observations of exactly 2000 characters are accepted', async () => {
    const res = await create({ observations: 'ñ'.repeat(2000) });
    expect(res.status).toBe(201);
    expect(res.body.observations).toBe('ñ'.repeat(2000));
  });
});

describe('refused creates', () => {
  test.each([
    ['negative', '-5', 'USD'],
    ['zero', '0', 'USD'],
    ['zero with decimals', '0.00', 'USD'],
    ['exponent', '1e5', 'USD'],
    ['hex', '0x10', 'USD'],
    ['thousands separator', '1,000', 'USD'],
    ['space', ' 10', 'USD'],
    ['trailing dot', '10.', 'USD'],
    ['leading dot', '.5', 'USD'],
    ['three decimals for USD', '10.123', 'USD'],
    ['any decimals for JPY', '10.5', 'JPY'],
    ['above 999999999999999', '1000000000000000', 'USD'],
    ['empty', '', 'USD'],
    ['missing', null, 'USD'],
  ])('amount %s → 400 VALIDATION_FAILED', async (_name, amount, currency) => {
    const partnerId = currency === 'JPY' ? jpy.id : usd.id;
    const res = await create({ amount, partnerId });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      details: { field: 'requestedAmount' },
    });
  });

  test('observations over 2000 characters → 400 VALIDATION_FAILED', async () => {
    const res = await create({ observations: 'x'.repeat(2001) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'observations' } });
  });

  test('a text field a create does not declare → 400 VALIDATION_FAILED naming it, and nothing stored', async () => {
    const before = created;
    for (const name of ['observation', 'externalReference', 'requestedAmount[]']) {
      const res = await postRaw(usd.id, [
        { name: 'requestedAmount', value: '5' },
        { name, value: 'x' },
        { name: 'evidence', file: PDF, disposition: 'filename="a.pdf"' },
      ]);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: name } });
      expect(res.body.message).toMatch(/requestedAmount, observations, otp/);
    }
    expect(created).toBe(before);
    // Every declared field is read: an OTP from an operator not subject to OTP is accepted and ignored.
    const res = await postRaw(usd.id, [
      { name: 'requestedAmount', value: '5' },
      { name: 'observations', value: 'all fields' },
      { name: 'otp', value: '123456' },
      { name: 'evidence', file: PDF, disposition: 'filename="a.pdf"' },
    ]);
    expect(res.status).toBe(201);
    expect(res.body.observations).toBe('all fields');
  });

  test('no file → 400 EVIDENCE_REQUIRED', async () => {
    expectError(await create({ file: null }), 400, 'EVIDENCE_REQUIRED');
    // evidence sent as a text field is not a file either
    expectError(
      await postRaw(usd.id, [
        { name: 'requestedAmount', value: '5' },
        { name: 'evidence', value: 'not a file' },
      ]),
      400,
      'EVIDENCE_REQUIRED',
    );
  });

  test('a second file, or a file part with another name → 400 UNEXPECTED_FILE', async () => {
    const evidence = { name: 'evidence', file: PDF, disposition: 'filename="a.pdf"' };
    const amount = { name: 'requestedAmount', value: '5' };
    expectError(
      await postRaw(usd.id, [amount, evidence, { ...evidence, disposition: 'filename="b.pdf"' }]),
      400,
      'UNEXPECTED_FILE',
    );
    expectError(
      await postRaw(usd.id, [
        amount,
        evidence,
        { name: 'attachment', file: PDF, disposition: 'filename="c.pdf"' },
      ]),
      400,
      'UNEXPECTED_FILE',
    );
    expectError(
      await postRaw(usd.id, [
        amount,
        { name: 'receipt', file: PDF, disposition: 'filename="d.pdf"' },
        evidence,
      ]),
      400,
      'UNEXPECTED_FILE',
    );
  });

  test('a body that is not multipart → 415', async () => {
    const json = await world.http
      .post(`${world.rest(usd.id)}/process-request`)
      .set(makerHeaders)
      .send({ requestedAmount: '10.00', evidence: PDF.toString('base64') });
    expect(json.status).toBe(415);
    expect(json.body).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    const noBoundary = await world.http
      .post(`${world.rest(usd.id)}/process-request`)
      .set(makerHeaders)
      .set('content-type', 'multipart/form-data')
      .send('x');
    expect(noBoundary.status).toBe(415);
  });

  test('exactly 10 MiB is accepted; one byte more → 413 EVIDENCE_TOO_LARGE', async () => {
    const exact = pdfOfSize(TEN_MIB);
    const ok = await create({ file: exact, fileName: 'big.pdf' });
    expect(ok.status).toBe(201);
    expect(ok.body.evidence).toMatchObject({ size: TEN_MIB, sha256: sha256(exact) });
    const stored = await container()
      .getBlockBlobClient(`${usd.id}/${ok.body.id}/evidence.pdf`)
      .getProperties();
    expect(stored.contentLength).toBe(TEN_MIB);

    const tooBig = await create({ file: pdfOfSize(TEN_MIB + 1), fileName: 'bigger.pdf' });
    expectError(tooBig, 413, 'EVIDENCE_TOO_LARGE');
  });

  test.each([
    [
      'text named .pdf',
      Buffer.from('this is just text, honest\n'.repeat(4)),
      'receipt.pdf',
      'application/pdf',
    ],
    ['HTML named .png', Buffer.from('<html><body>hello</body></html>'), 'scan.png', 'image/png'],
    ['an empty file', Buffer.alloc(0), 'empty.pdf', 'application/pdf'],
    ['a GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;'), 'anim.gif', 'image/gif'],
  ])('%s → 415 UNSUPPORTED_EVIDENCE_TYPE', async (_name, file, fileName, contentType) => {
    expectError(await create({ file, fileName, contentType }), 415, 'UNSUPPORTED_EVIDENCE_TYPE');
  });

  test('a failed create leaves a FAILED event with its code, and no row', async () => {
    const before = await world.sql<{ n: string }>('select count(*)::text as n from process_request');
    const res = await create({ file: Buffer.from('plain text, not a receipt'), fileName: 'forged.pdf' });
    expect(res.status).toBe(415);
    const events = await world.sql<{
      type: string;
      actor_id: string;
      code: string;
      process_request_id: string;
    }>(
      `select type, actor_id, data->>'code' as code, process_request_id from process_request_event
       where client_id = ? and type = 'FAILED' order by id desc limit 1`,
      [usd.id],
    );
    expect(events).toEqual([
      {
        type: 'FAILED',
        actor_id: makerId,
        code: 'UNSUPPORTED_EVIDENCE_TYPE',
        process_request_id: expect.any(String),
      },
    ]);
    const rowsForFailed = await world.sql('select id from process_request where id = ?', [
      events[0].process_request_id,
    ]);
    expect(rowsForFailed).toEqual([]);
    expect(await world.sql<{ n: string }>('select count(*)::text as n from process_request')).toEqual(before);
  });
});

// Runs last: after every success and every refusal above, nothing was left half-done.
test('rows == blobs == 201 responses, and every row names its blob', async () => {
  const rows = await world.sql<{ blob: string }>(
    'select evidence_blob_name as blob from process_request order by 1',
  );
  const blobs = (await world.blobNames()).sort();
  expect(created).toBeGreaterThan(10);
  expect(rows.length).toBe(created);
  expect(blobs.length).toBe(created);
  expect(rows.map((r) => r.blob)).toEqual(blobs);
});
