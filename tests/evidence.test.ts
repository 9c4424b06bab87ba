// Evidence files (SPEC section 5) over real HTTP: type by content, the 10 MiB limit on both doors,
// cleaned file names, and the download link's properties (read-only, one blob, expiry, attachment).
import { BlobServiceClient } from '@azure/storage-blob';
import { JPEG, PDF, pdfOfSize, png, TEN_MIB, WEBP } from './support/files';
import { BOUNDARY, count, gqlHttp, gqlUpload, multipart, type Part } from './support/step-up';
import { createWorld, type World } from './support/world';

const SAS_TTL_SECONDS = 10;
let world: World;
let partnerId: string;
let headers: Record<string, string>;
beforeAll(async () => {
  world = await createWorld({ SAS_TTL_SECONDS: String(SAS_TTL_SECONDS) });
  const partner = await world.partner('Evidence Partner', 'USD');
  partnerId = partner.id;
  headers = await world.headers(await world.operator(['MAKER'], [partner.id]));
});
afterAll(() => world?.close());

function createRest(file: Buffer, fileName = 'receipt.pdf', contentType = 'application/octet-stream') {
  return world.http
    .post(`${world.rest(partnerId)}/process-request`)
    .set(headers)
    .field('requestedAmount', '10.00')
    .attach('evidence', file, { filename: fileName, contentType });
}

/** A create whose multipart body is built by hand (exact file names, odd headers). */
function createRaw(parts: Part[]) {
  return world.http
    .post(`${world.rest(partnerId)}/process-request`)
    .set(headers)
    .set('content-type', `multipart/form-data; boundary=${BOUNDARY}`)
    .send(multipart(parts));
}

function container() {
  return BlobServiceClient.fromConnectionString(
    process.env.AZURE_STORAGE_CONNECTION_STRING!,
  ).getContainerClient(world.container);
}

const rows = () => count(world, 'process_request', 'client_id = ?', [partnerId]);
const blobs = () => world.blobsOf(partnerId);

async function downloadUrl(id: string): Promise<{ url: string; expiresAt: string }> {
  const res = await world.http
    .get(`${world.rest(partnerId)}/process-request/${id}/evidence/download`)
    .set(headers);
  expect(res.status).toBe(200);
  return res.body;
}

describe('type by content', () => {
  const real: Array<[string, Buffer, string, string]> = [
    ['PDF', PDF, 'application/pdf', 'pdf'],
    ['PNG', png(), 'image/png', 'png'],
    ['JPEG', JPEG, 'image/jpeg', 'jpg'],
    ['WEBP', WEBP, 'image/webp', 'webp'],
  ];

  test.each(real)(
    'a real %s is accepted over REST and GraphQL, stored with its sniffed type',
    async (_label, file, contentType, ext) => {
      const rest = await createRest(file, `scan.${ext}`);
      expect(rest.status).toBe(201);
      expect(rest.body.evidence).toMatchObject({ contentType, size: file.length });
      const gql = await gqlUpload(
        world,
        headers,
        { clientId: partnerId, input: { requestedAmount: '1.00' } },
        file,
        `scan.${ext}`,
      );
      expect(gql.errors).toBeUndefined();
      const gqlId = (gql.data?.createProcessRequest as { id: string }).id;
      for (const id of [rest.body.id, gqlId]) {
        const blob = container().getBlockBlobClient(`${partnerId}/${id}/evidence.${ext}`);
        const props = await blob.getProperties();
        expect(props.contentType).toBe(contentType);
        expect(props.contentLength).toBe(file.length);
        expect(props.metadata?.sha256).toMatch(/^[0-9a-f]{64}$/);
      }
    },
  );

  test('forged names and declared types do not decide: a PNG named .pdf and declared application/pdf is stored as PNG', async () => {
    const res = await createRest(png(), 'invoice.pdf', 'application/pdf');
    expect(res.status).toBe(201);
    expect(res.body.evidence.contentType).toBe('image/png');
    expect(await blobs()).toContain(`${partnerId}/${res.body.id}/evidence.png`);
  });

  const forged: Array<[string, Buffer, string, string]> = [
    [
      'a Windows executable named .pdf',
      Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0x90)]),
      'receipt.pdf',
      'application/pdf',
    ],
    ['HTML named .jpg', Buffer.from('<html><script>alert(1)</script></html>'), 'photo.jpg', 'image/jpeg'],
    ['an SVG named .png', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'x.png', 'image/png'],
    [
      'a ZIP named .pdf',
      Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100)]),
      'doc.pdf',
      'application/pdf',
    ],
    ['a GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), 'x.gif', 'image/gif'],
    [
      'a RIFF that is not WEBP (WAV)',
      Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVEfmt '), Buffer.alloc(20)]),
      'x.webp',
      'image/webp',
    ],
    ['a truncated PDF header', Buffer.from('%PD'), 'x.pdf', 'application/pdf'],
    ['an empty file', Buffer.alloc(0), 'empty.pdf', 'application/pdf'],
    ['a PDF signature not at the start', Buffer.concat([Buffer.from(' '), PDF]), 'x.pdf', 'application/pdf'],
  ];

  test.each(forged)(
    '%s is 415 UNSUPPORTED_EVIDENCE_TYPE over REST and GraphQL, nothing stored',
    async (_label, file, name, type) => {
      const before = [await rows(), (await blobs()).length];
      const rest = await createRest(file, name, type);
      expect([rest.status, rest.body.code]).toEqual([415, 'UNSUPPORTED_EVIDENCE_TYPE']);
      const gql = await gqlUpload(
        world,
        headers,
        { clientId: partnerId, input: { requestedAmount: '1.00' } },
        file,
        name,
      );
      expect(gql.errors?.[0].extensions).toMatchObject({ code: 'UNSUPPORTED_EVIDENCE_TYPE', status: 415 });
      expect([await rows(), (await blobs()).length]).toEqual(before);
    },
  );
});

describe('10 MiB limit', () => {
  test('exactly 10 MiB is accepted over REST and GraphQL', async () => {
    const file = pdfOfSize(TEN_MIB);
    const rest = await createRest(file);
    expect(rest.status).toBe(201);
    expect(rest.body.evidence.size).toBe(TEN_MIB);
    const gql = await gqlUpload(
      world,
      headers,
      { clientId: partnerId, input: { requestedAmount: '1.00' } },
      file,
    );
    expect(gql.errors).toBeUndefined();
    expect((gql.data?.createProcessRequest as { evidence: { size: number } }).evidence.size).toBe(TEN_MIB);
  });

  test.each([1, 4096, 1024 * 1024])(
    '10 MiB + %i bytes is 413 EVIDENCE_TOO_LARGE over REST and GraphQL, nothing stored',
    async (extra) => {
      const before = [await rows(), (await blobs()).length];
      const file = pdfOfSize(TEN_MIB + extra);
      const rest = await createRest(file);
      expect([rest.status, rest.body.code]).toEqual([413, 'EVIDENCE_TOO_LARGE']);
      const gql = await gqlUpload(
        world,
        headers,
        { clientId: partnerId, input: { requestedAmount: '1.00' } },
        file,
      );
      expect(gql.errors?.[0].extensions).toMatchObject({ code: 'EVIDENCE_TOO_LARGE', status: 413 });
      expect([await rows(), (await blobs()).length]).toEqual(before);
      expect((await world.http.get('/healthz')).status).toBe(200);
    },
  );
});

describe('file names', () => {
  const names: Array<[string, string, string]> = [
    ['a Unix path', '../../etc/passwd.pdf', 'passwd.pdf'],
    ['a Windows path', 'C:\\Users\\eve\\Desktop\\receipt.pdf', 'receipt.pdf'],
    ['control characters', 're\u0007ce\u001bipt\u007f.pdf', 'receipt.pdf'],
    ['bidi overrides', 'receipt\u202egnp.pdf', 'receiptgnp.pdf'],
    ['a hidden-file dot prefix', '...hidden.pdf', 'hidden.pdf'],
    ['nothing left after cleaning', '../\u0001', 'evidence.pdf'],
    ['UTF-8 kept', 'recibo-señor-€.pdf', 'recibo-señor-€.pdf'],
  ];

  test.each(names)('%s is kept only cleaned', async (_label, raw, cleaned) => {
    // RFC 5987 extended parameter: the only way a control character reaches a parser (raw ones are a malformed header).
    const res = await createRaw([
      { name: 'requestedAmount', value: '3.00' },
      {
        name: 'evidence',
        file: PDF,
        rawDisposition: `form-data; name="evidence"; filename*=UTF-8''${encodeURIComponent(raw)}`,
      },
    ]);
    expect(res.status).toBe(201);
    expect(res.body.evidence.fileName).toBe(cleaned);
    // The blob's name is the service's own, whatever the client called the file.
    const blobName = `${partnerId}/${res.body.id}/evidence.pdf`;
    expect(await blobs()).toContain(blobName);
    const props = await container().getBlockBlobClient(blobName).getProperties();
    expect(decodeURIComponent(props.metadata?.filename ?? '')).toBe(cleaned);
    const [row] = await world.sql<{ evidence_file_name: string }>(
      'select evidence_file_name from process_request where id = ?',
      [res.body.id],
    );
    expect(row.evidence_file_name).toBe(cleaned);
  });

  test('a raw control character in the part header is a malformed body (400), nothing stored', async () => {
    const before = [await rows(), (await blobs()).length];
    const res = await createRaw([
      { name: 'requestedAmount', value: '3.00' },
      {
        name: 'evidence',
        file: PDF,
        rawDisposition: 'form-data; name="evidence"; filename="re\u0007ceipt.pdf"',
      },
    ]);
    expect([res.status, res.body.code]).toEqual([400, 'MALFORMED_MULTIPART']);
    expect([await rows(), (await blobs()).length]).toEqual(before);
  });

  test('GraphQL uploads are cleaned the same way', async () => {
    const res = await gqlUpload(
      world,
      headers,
      { clientId: partnerId, input: { requestedAmount: '1.00' } },
      PDF,
      '..\\..\\boot.ini.pdf',
    );
    expect(res.errors).toBeUndefined();
    expect((res.data?.createProcessRequest as { evidence: { fileName: string } }).evidence.fileName).toBe(
      'boot.ini.pdf',
    );
  });

  test('a file name of 1,000 characters is cut to 255', async () => {
    const res = await createRaw([
      { name: 'requestedAmount', value: '3.00' },
      { name: 'evidence', file: PDF, fileName: `${'a'.repeat(1000)}.pdf` },
    ]);
    expect(res.status).toBe(201);
    expect(res.body.evidence.fileName).toHaveLength(255);
  });
});

describe('download URL', () => {
  let first: string;
  let second: string;
  beforeAll(async () => {
    const a = await createRaw([
      { name: 'requestedAmount', value: '3.00' },
      {
        name: 'evidence',
        file: PDF,
        rawDisposition: `form-data; name="evidence"; filename*=UTF-8''${encodeURIComponent('../Factura \u00f1 \u0007"x.pdf')}`,
      },
    ]);
    expect(a.status).toBe(201);
    first = a.body.id;
    const b = await createRest(png(), 'other.png');
    second = b.body.id;
  });

  test('serves the one blob as an attachment under its cleaned name, read-only', async () => {
    const { url, expiresAt } = await downloadUrl(first);
    const sas = new URL(url);
    expect(sas.pathname.endsWith(`/${world.container}/${partnerId}/${first}/evidence.pdf`)).toBe(true);
    expect(sas.searchParams.get('sp')).toBe('r');
    expect(sas.searchParams.get('sr')).toBe('b');
    const expires = new Date(expiresAt).getTime();
    expect(Math.abs(expires - (Date.now() + SAS_TTL_SECONDS * 1000))).toBeLessThan(3000);
    expect(new Date(sas.searchParams.get('se')!).getTime()).toBe(Math.floor(expires / 1000) * 1000);

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PDF);
    const disposition = res.headers.get('content-disposition') ?? '';
    expect(disposition.startsWith('attachment;')).toBe(true);
    expect([...disposition].some((ch) => ch.charCodeAt(0) < 0x20)).toBe(false);
    const [row] = await world.sql<{ evidence_file_name: string }>(
      'select evidence_file_name from process_request where id = ?',
      [first],
    );
    expect(disposition).toContain(`filename*=UTF-8''${encodeURIComponent(row.evidence_file_name)}`);
    expect(res.headers.get('content-type')).toBe('application/pdf');

    // Read-only: writing or deleting with the link fails, and the blob is intact.
    const put = await fetch(url, {
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob', 'content-type': 'application/pdf' },
      body: 'overwritten',
    });
    expect(put.status).toBe(403);
    const del = await fetch(url, { method: 'DELETE' });
    expect(del.status).toBe(403);
    const meta = await fetch(`${url}&comp=metadata`, { method: 'PUT', headers: { 'x-ms-meta-evil': '1' } });
    expect(meta.status).toBe(403);
    expect((await fetch(url)).status).toBe(200);
    expect(await container().getBlockBlobClient(`${partnerId}/${first}/evidence.pdf`).exists()).toBe(true);
  });

  test('the link opens only its own blob: not a sibling, not the container listing', async () => {
    const { url } = await downloadUrl(first);
    const other = new URL(url);
    other.pathname = other.pathname.replace(`${first}/evidence.pdf`, `${second}/evidence.png`);
    expect((await fetch(other)).status).toBe(403);
    const list = new URL(url);
    list.pathname = `/${list.pathname.split('/')[1]}/${world.container}`;
    list.searchParams.set('restype', 'container');
    list.searchParams.set('comp', 'list');
    expect((await fetch(list)).status).toBe(403);
    // And the canonical evidenceUrl alone (no signature) is refused: the container is private.
    const [row] = await world.sql<{ evidence_url: string }>(
      'select evidence_url from process_request where id = ?',
      [first],
    );
    expect([403, 404]).toContain((await fetch(row.evidence_url)).status);
  });

  test('GraphQL evidenceDownloadUrl gives the same kind of link', async () => {
    const res = await gqlHttp(
      world,
      headers,
      'query($c: ID!, $id: ID!) { evidenceDownloadUrl(clientId: $c, id: $id) { url expiresAt } }',
      {
        c: partnerId,
        id: second,
      },
    );
    expect(res.errors).toBeUndefined();
    const link = res.data?.evidenceDownloadUrl as { url: string };
    const got = await fetch(link.url);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-disposition')).toContain('filename="other.png"');
  });

  test(`the link expires after SAS_TTL_SECONDS (${SAS_TTL_SECONDS} s here)`, async () => {
    const { url, expiresAt } = await downloadUrl(second);
    expect((await fetch(url)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, new Date(expiresAt).getTime() - Date.now() + 1500));
    expect((await fetch(url)).status).toBe(403);
  }, 30_000);
});
