// Stray 500s (issue 8): list filters at the edges of the calendar on every list door, evidence file names
// cut inside a character, unknown methods on known paths, a repeated Idempotency-Key header. Each is a
// clear 4xx or a correct 200, never a 500 or a 200 whose body is cut. REPORT=1 prints every answer.
import { checkedFetch } from './support/openapi';
import { BlobServiceClient } from '@azure/storage-blob';
import { METHODS as METHODS_NODE } from 'node:http';
import { PDF } from './support/files';
import { headerLines, rawHttp } from './support/raw-http';
import { BOUNDARY, count, gqlHttp, gqlUpload, multipart } from './support/step-up';
import { createWorld, type World } from './support/world';

let world: World;
let partnerId: string;
let headers: Record<string, string>;
/** The partner's requests by name, their created_at moved to the edges of the calendar. */
const rows = { first: '', leap: '', last: '' };
const report: string[] = [];
const note = (line: string) => report.push(line);

beforeAll(async () => {
  world = await createWorld();
  const partner = await world.partner('Stray partner');
  partnerId = partner.id;
  const maker = await world.operator(['MAKER'], [partnerId]);
  headers = await world.headers(maker);
  const at = {
    first: '0001-01-01T00:00:00.000Z',
    leap: '2024-02-29T12:00:00.000Z',
    last: '9999-12-31T23:59:59.999Z',
  };
  for (const name of ['first', 'leap', 'last'] as const) {
    rows[name] = await world.createInProcess(partnerId, maker);
    await world.sql('update process_request set created_at = ? where id = ?', [at[name], rows[name]]);
  }
});
afterAll(async () => {
  if (process.env.REPORT) console.log(report.join('\n'));
  await world?.close();
});

// ---- 1. list filters at the edges of the calendar ------------------------------------------------

type Door = 'REST page' | 'REST stream' | 'GraphQL processRequests' | 'GraphQL allProcessRequests';
const DOORS: Door[] = ['REST page', 'REST stream', 'GraphQL processRequests', 'GraphQL allProcessRequests'];

/** What a list door answered: the ids in order, or the error; `cut` when a 200 body did not parse. */
interface ListAnswer {
  status: number;
  ids?: string[];
  code?: string;
  field?: string;
  cut?: boolean;
}

async function list(door: Door, filters: Record<string, string>): Promise<ListAnswer> {
  if (door.startsWith('REST')) {
    const path = door === 'REST page' ? 'process-requests' : 'process-request';
    const query = new URLSearchParams({ ...filters, ...(door === 'REST page' ? { limit: '100' } : {}) });
    // fetch reads the body to its end; a stream cut after its 200 fails here instead of parsing (so the
    // answer is not handed to checkedFetch, which would throw on the cut body before this can count it).
    const res = await fetch(`${world.baseUrl}${world.rest(partnerId)}/${path}?${query}`, { headers });
    let text: string;
    try {
      text = await res.text();
    } catch {
      return { status: res.status, cut: true };
    }
    let body: { items?: Array<{ id: string }>; code?: string; details?: { field?: string } } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      return { status: res.status, cut: true };
    }
    if (res.status !== 200) return { status: res.status, code: body?.code, field: body?.details?.field };
    const items = (Array.isArray(body) ? body : body?.items) as Array<{ id: string }>;
    return { status: 200, ids: items.map((i) => i.id) };
  }
  const field = door === 'GraphQL processRequests' ? 'processRequests' : 'allProcessRequests';
  const args = Object.keys(filters).map((k) => `${k}: $${k}`);
  const vars = Object.keys(filters).map((k) => `$${k}: String`);
  const selection = field === 'processRequests' ? '{ items { id } }' : '{ id }';
  const query = `query($c: ID!${vars.map((v) => `, ${v}`).join('')}) { r: ${field}(clientId: $c${args.map((a) => `, ${a}`).join('')}${field === 'processRequests' ? ', limit: 100' : ''}) ${selection} }`;
  const res = await gqlHttp(world, headers, query, { c: partnerId, ...filters });
  const error = res.errors?.[0];
  if (error)
    return {
      status: error.extensions?.status as number,
      code: error.extensions?.code as string,
      field: (error.extensions?.details as { field?: string } | undefined)?.field,
    };
  const r = res.data?.r as { items?: Array<{ id: string }> } | Array<{ id: string }>;
  return { status: 200, ids: (Array.isArray(r) ? r : (r.items ?? [])).map((i) => i.id) };
}

/** Accepted bounds and the rows they select (newest first). */
const ACCEPTED: Array<[string, Record<string, string>, Array<keyof typeof rows>]> = [
  ['to=9999-12-31 (the last day, whole)', { to: '9999-12-31' }, ['last', 'leap', 'first']],
  ['from=9999-12-31', { from: '9999-12-31' }, ['last']],
  ['to=0001-01-01 (the first day, whole)', { to: '0001-01-01' }, ['first']],
  ['from=0001-01-01', { from: '0001-01-01' }, ['last', 'leap', 'first']],
  ['to=9999-12-31T23:59:59.999Z', { to: '9999-12-31T23:59:59.999Z' }, ['last', 'leap', 'first']],
  ['to=9999-12-31T23:59:59.998Z', { to: '9999-12-31T23:59:59.998Z' }, ['leap', 'first']],
  ['from=9999-12-31T23:59:59.9991Z (inside the last millisecond)', { from: '9999-12-31T23:59:59.9991Z' }, []],
  ['to=9999-12-31T23:59:59.999999Z', { to: '9999-12-31T23:59:59.999999Z' }, ['last', 'leap', 'first']],
  [
    'to=9999-12-31T23:59-14:00 (an instant in year 10000 UTC)',
    { to: '9999-12-31T23:59-14:00' },
    ['last', 'leap', 'first'],
  ],
  ['from=9999-12-31T23:00-01:00 (year 10000 UTC)', { from: '9999-12-31T23:00-01:00' }, []],
  [
    'from=0001-01-01T00:00+14:00 (an instant in year 0 UTC)',
    { from: '0001-01-01T00:00+14:00' },
    ['last', 'leap', 'first'],
  ],
  ['to=0001-01-01T00:30+01:00 (year 0 UTC)', { to: '0001-01-01T00:30+01:00' }, []],
  ['from=2024-02-29 to=2024-02-29 (a leap day)', { from: '2024-02-29', to: '2024-02-29' }, ['leap']],
  ['from=2024-02-29T13:00+01:00 (an offset)', { from: '2024-02-29T13:00+01:00' }, ['last', 'leap']],
  ['to=2024-02-29T11:59:59.999Z', { to: '2024-02-29T11:59:59.999Z' }, ['first']],
  ['from=2000-02-29 (a leap day of a 400th year)', { from: '2000-02-29', to: '2100-02-28' }, ['leap']],
  ['from after to (nothing between)', { from: '2025-01-01', to: '2024-01-01' }, []],
  ['to=2024-02-29T12:00:00-00:00', { to: '2024-02-29T12:00:00-00:00' }, ['leap', 'first']],
];

/** Refused bounds: 400 VALIDATION_FAILED naming the field. */
const REFUSED: Array<[string, string]> = [
  ['to', '0000-01-01'],
  ['from', '0000-01-01'],
  ['from', '2026-02-30'],
  ['from', '2026-02-29'],
  ['to', '1900-02-29'],
  ['to', '2100-02-29'],
  ['from', '2026-04-31'],
  ['from', '2026-13-01'],
  ['from', '2026-00-10'],
  ['from', '2026-01-00'],
  ['to', '2026-01-32'],
  ['to', '10000-01-01'],
  ['to', '+010000-01-01'],
  ['from', '-000001-01-01'],
  ['from', '2026-02-30T10:00Z'],
  ['to', '0000-12-31T23:00Z'],
  ['to', '2026-01-01T24:00Z'],
  ['to', '2026-01-01T24:00:00Z'],
  ['from', '2026-01-01T23:60Z'],
  ['from', '2026-01-01T23:59:60Z'],
  ['from', '2026-01-01T00:00+24:00'],
  ['from', '2026-01-01T00:00+14:60'],
  ['from', '2026-01-01T00:00'],
  ['from', '2026-01-01 00:00Z'],
  ['from', '2026-1-1'],
  ['from', '20260101'],
  ['to', '9999-12-31T23:59:59.9999999Z'],
  ['to', ' 2026-01-01'],
  ['to', 'yesterday'],
];

describe('list filters at the edges of the calendar', () => {
  const accepted = DOORS.flatMap((door) =>
    ACCEPTED.map(([name, f, expected]) => [door, name, f, expected] as const),
  );
  test.each(accepted)('%s · %s → 200 with exactly the rows inside', async (door, name, filters, expected) => {
    const answer = await list(door, filters);
    note(
      `calendar · ${door} · ${name}: ${answer.status}${answer.cut ? ' (body cut)' : ''} ${answer.code ?? ''}`,
    );
    expect(answer).toEqual({ status: 200, ids: expected.map((k) => rows[k]) });
  });

  const refused = DOORS.flatMap((door) => REFUSED.map(([field, value]) => [door, field, value] as const));
  test.each(refused)('%s · %s=%s → 400 VALIDATION_FAILED', async (door, field, value) => {
    const answer = await list(door, { [field]: value });
    note(
      `calendar · ${door} · ${field}=${value}: ${answer.status}${answer.cut ? ' (body cut)' : ''} ${answer.code ?? ''}`,
    );
    expect(answer).toEqual({ status: 400, code: 'VALIDATION_FAILED', field });
  });

  test('the streamed list reads its first rows before it answers: a failing query is an error answer, never a cut 200', async () => {
    // A fault the service cannot foresee, made on purpose: the column the list reads is renamed away.
    await world.sql('alter table process_request rename column client_id to client_id_away');
    let answer: { status: number; body?: unknown };
    try {
      const res = await checkedFetch(`${world.baseUrl}${world.rest(partnerId)}/process-request`, { headers });
      answer = {
        status: res.status,
        body: await res
          .text()
          .then(JSON.parse, () => undefined)
          .catch(() => undefined),
      };
    } finally {
      await world.sql('alter table process_request rename column client_id_away to client_id');
    }
    note(`stream · first batch fails: ${answer.status}${answer.body === undefined ? ' (body cut)' : ''}`);
    expect(answer).toEqual({
      status: 500,
      body: expect.objectContaining({ statusCode: 500, code: 'INTERNAL_ERROR' }),
    });
    const again = await checkedFetch(`${world.baseUrl}${world.rest(partnerId)}/process-request`, { headers });
    expect(JSON.parse(await again.text())).toHaveLength(3);
  });
});

// ---- 2. evidence file names cut inside a character ----------------------------------------------

const A = 'a';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Name sent → name kept: at most 255 characters (code points), never a character cut in two. */
const NAMES: Array<[string, string, string]> = [
  ['254 × a + an emoji (255 characters: kept whole)', `${A.repeat(254)}😀`, `${A.repeat(254)}😀`],
  ['255 × a + an emoji', `${A.repeat(255)}😀`, A.repeat(255)],
  ['300 emoji', '😀'.repeat(300), '😀'.repeat(255)],
  ['300 CJK characters', '漢'.repeat(300), '漢'.repeat(255)],
  [
    '254 × a + a thumbs-up with a skin tone (two code points, one character)',
    `${A.repeat(254)}👍🏽`,
    A.repeat(254),
  ],
  ['100 keycaps (three code points each)', '1\uFE0F\u20E3'.repeat(100), '1\uFE0F\u20E3'.repeat(85)],
  ['200 flags (two code points each)', '🇫🇷'.repeat(200), '🇫🇷'.repeat(127)],
  ['300 × e + combining acute (NFC: é)', 'e\u0301'.repeat(300), 'é'.repeat(255)],
  [
    "quotes, parentheses and stars: it's (final) *copy*.pdf",
    "it's (final) *copy*.pdf",
    "it's (final) *copy*.pdf",
  ],
];

/** RFC 5987 value characters: encodeURIComponent leaves ' ( ) * as they are, which a parameter may not hold. */
const rfc5987 = (s: string) =>
  encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface Stored {
  status: number;
  code?: string;
  fileName?: string;
  id?: string;
}

async function createWithName(door: 'REST' | 'GraphQL', name: string): Promise<Stored> {
  if (door === 'REST') {
    // RFC 5987 extended parameter: the exact UTF-8 name, as browsers send non-ASCII names.
    const res = await world.http
      .post(`${world.rest(partnerId)}/process-request`)
      .set(headers)
      .set('content-type', `multipart/form-data; boundary=${BOUNDARY}`)
      .send(
        multipart([
          { name: 'requestedAmount', value: '1.00' },
          {
            name: 'evidence',
            file: PDF,
            rawDisposition: `form-data; name="evidence"; filename*=UTF-8''${rfc5987(name)}`,
          },
        ]),
      );
    return {
      status: res.status,
      code: res.body.code,
      fileName: res.body.evidence?.fileName,
      id: res.body.id,
    };
  }
  const res = await gqlUpload(
    world,
    headers,
    { clientId: partnerId, input: { requestedAmount: '1.00' } },
    PDF,
    name,
  );
  const created = res.data?.createProcessRequest as
    { id: string; evidence: { fileName: string } } | undefined;
  if (!created)
    return {
      status: res.errors?.[0].extensions?.status as number,
      code: res.errors?.[0].extensions?.code as string,
    };
  return { status: 201, fileName: created.evidence.fileName, id: created.id };
}

/** The name a browser saves the download under: Content-Disposition's filename* (RFC 6266), decoded. */
async function downloadedName(
  door: 'REST' | 'GraphQL',
  id: string,
): Promise<{ name?: string; ascii?: string; body: Buffer }> {
  let url: string;
  if (door === 'REST') {
    url = (
      await world.http.get(`${world.rest(partnerId)}/process-request/${id}/evidence/download`).set(headers)
    ).body.url;
  } else {
    const res = await gqlHttp(
      world,
      headers,
      'query($c: ID!, $id: ID!) { evidenceDownloadUrl(clientId: $c, id: $id) { url } }',
      { c: partnerId, id },
    );
    url = (res.data?.evidenceDownloadUrl as { url: string }).url;
  }
  const got = await fetch(url);
  const disposition = got.headers.get('content-disposition') ?? '';
  const extended = /filename\*=UTF-8''([^;]+)/.exec(disposition)?.[1];
  return {
    name: extended === undefined ? undefined : decodeURIComponent(extended),
    ascii: /filename="([^"]*)"/.exec(disposition)?.[1],
    body: Buffer.from(await got.arrayBuffer()),
  };
}

describe('evidence file names are cut by character, never inside one', () => {
  const cases = (['REST', 'GraphQL'] as const).flatMap((door) =>
    NAMES.map(([label, sent, kept]) => [door, label, sent, kept] as const),
  );
  test.each(cases)('%s · %s', async (door, _label, sent, kept) => {
    const stored = await createWithName(door, sent);
    note(`file name · ${door} · ${_label}: ${stored.status} ${stored.code ?? ''}`);
    expect({ status: stored.status, code: stored.code, fileName: stored.fileName }).toEqual({
      status: 201,
      code: undefined,
      fileName: kept,
    });
    expect([...kept].length).toBeLessThanOrEqual(255);
    expect(kept).not.toMatch(LONE_SURROGATE);
    const [row] = await world.sql<{ evidence_file_name: string }>(
      'select evidence_file_name from process_request where id = ?',
      [stored.id],
    );
    expect(row.evidence_file_name).toBe(kept);
    const blob = BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING!)
      .getContainerClient(world.container)
      .getBlockBlobClient(`${partnerId}/${stored.id}/evidence.pdf`);
    expect(decodeURIComponent((await blob.getProperties()).metadata?.filename ?? '')).toBe(kept);
    const download = await downloadedName(door, stored.id!);
    expect(download.name).toBe(kept);
    expect(download.ascii).toMatch(/^[\x20-\x7e]*$/);
    expect(download.body.equals(PDF)).toBe(true);
  });
});

// ---- 3. unknown methods on known paths ------------------------------------------------------------

/** Every method Node's parser knows, and some it does not (lower case, made up). */
const METHODS = [...METHODS_NODE.filter((m) => m !== 'OPTIONS'), 'get', 'Post', 'patch', 'BREW', 'X-CUSTOM'];

/** Each known path and what it allows (OPTIONS is answered everywhere). */
const PATHS: Array<[string, () => string, string[]]> = [
  ['/healthz', () => '/healthz', ['GET', 'HEAD']],
  ['/readyz', () => '/readyz?verbose=1', ['GET', 'HEAD']],
  ['/graphql', () => '/graphql', ['GET', 'HEAD', 'POST']],
  ['…/process-request', () => `${world.rest(partnerId)}/process-request`, ['GET', 'HEAD', 'POST']],
  ['…/process-requests', () => `${world.rest(partnerId)}/process-requests?page=1`, ['GET', 'HEAD']],
  ['…/balance', () => `${world.rest(partnerId)}/balance`, ['GET', 'HEAD']],
  ['…/process-request/progress', () => `${world.rest(partnerId)}/process-request/progress`, ['GET', 'HEAD']],
  ['…/process-request/:id', () => `${world.rest(partnerId)}/process-request/${rows.leap}`, ['GET', 'HEAD']],
  [
    '…/process-request/:id/evidence/download',
    () => `${world.rest(partnerId)}/process-request/${rows.leap}/evidence/download`,
    ['GET', 'HEAD'],
  ],
  [
    '…/process-request/:id/approve',
    () => `${world.rest(partnerId)}/process-request/${rows.leap}/approve`,
    ['PATCH'],
  ],
  [
    '…/process-request/:id/cancel',
    () => `${world.rest(partnerId)}/process-request/${rows.leap}/cancel`,
    ['PATCH'],
  ],
];

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const allowOf = (methods: string[]) =>
  [...methods, 'OPTIONS'].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)).join(', ');

const request = (method: string, path: string) =>
  rawHttp(
    world.baseUrl,
    `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  );

describe('unknown methods on known paths: 405 with Allow, before anything else is checked', () => {
  const cases = PATHS.flatMap(([label, path, allowed]) =>
    METHODS.filter((m) => !allowed.includes(m)).map((method) => [method, label, path, allowed] as const),
  );
  test.each(cases)('%s %s → 405 METHOD_NOT_ALLOWED', async (method, label, path, allowed) => {
    const res = await request(method, path());
    note(
      `method · ${method} ${label}: ${res.status} ${(res.json?.code as string) ?? ''} Allow: ${res.headers.allow ?? '-'}`,
    );
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allowOf(allowed));
    if (method !== 'HEAD') expect(res.json).toMatchObject({ statusCode: 405, code: 'METHOD_NOT_ALLOWED' });
  });

  test.each(PATHS)('OPTIONS %s → 204 with Allow', async (label, path, allowed) => {
    const res = await request('OPTIONS', path());
    note(`method · OPTIONS ${label}: ${res.status} Allow: ${res.headers.allow ?? '-'}`);
    expect([res.status, res.headers.allow]).toEqual([204, allowOf(allowed)]);
  });

  test.each([
    ['PROPFIND', '/nothing-here'],
    ['BREW', '/nothing-here'],
    ['get', '/cms/rest/app/nothing-here'],
    ['CONNECT', 'example.com:443'],
  ])('%s on an unknown path %s → 404 NOT_FOUND', async (method, path) => {
    const res = await request(method, path);
    note(`method · ${method} ${path}: ${res.status} ${(res.json?.code as string) ?? ''}`);
    expect([res.status, res.json?.code]).toEqual([404, 'NOT_FOUND']);
  });

  test('a request line that is not HTTP is still 400 MALFORMED_REQUEST', async () => {
    const res = await rawHttp(world.baseUrl, 'GE T /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect([res.status, res.json?.code]).toEqual([400, 'MALFORMED_REQUEST']);
  });

  test('allowed methods still work: GET and HEAD /healthz', async () => {
    expect((await request('GET', '/healthz')).status).toBe(200);
    expect((await request('HEAD', '/healthz')).status).toBe(200);
  });
});

// ---- 5. a repeated Idempotency-Key header ------------------------------------------------------

/** A create over a bare socket, so a header can be sent twice (client libraries merge them). */
function createWithKeys(keyLines: string[]) {
  const body = multipart([
    { name: 'requestedAmount', value: '2.00' },
    { name: 'evidence', file: PDF, fileName: 'receipt.pdf' },
  ]);
  const head =
    `POST ${world.rest(partnerId)}/process-request HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
    headerLines(headers) +
    keyLines.map((line) => `${line}\r\n`).join('') +
    `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${body.length}\r\n\r\n`;
  return rawHttp(world.baseUrl, Buffer.concat([Buffer.from(head), body]));
}

describe('Idempotency-Key sent more than once: 400, nothing created', () => {
  test.each([
    ['two different values', ['Idempotency-Key: dup-a', 'Idempotency-Key: dup-b']],
    ['two equal values', ['Idempotency-Key: dup-c', 'Idempotency-Key: dup-c']],
    ['names in different case', ['Idempotency-Key: dup-d', 'idempotency-key: dup-d']],
    ['three values', ['Idempotency-Key: e1', 'Idempotency-Key: e2', 'Idempotency-Key: e3']],
    ['an empty one and a value', ['Idempotency-Key:', 'Idempotency-Key: dup-f']],
  ])('%s', async (_label, lines) => {
    const before = await count(world, 'process_request');
    const res = await createWithKeys(lines);
    note(`Idempotency-Key · ${_label}: ${res.status} ${(res.json?.code as string) ?? ''}`);
    expect([res.status, res.json?.code, (res.json?.details as { field?: string })?.field]).toEqual([
      400,
      'VALIDATION_FAILED',
      'Idempotency-Key',
    ]);
    expect(await count(world, 'process_request')).toBe(before);
    expect(await count(world, 'idempotency_key')).toBe(0);
  });

  test('one header, even holding a comma, is one key: 201, and the same again is the same request', async () => {
    const first = await createWithKeys(['Idempotency-Key: dup-a, dup-b']);
    expect(first.status).toBe(201);
    const again = await createWithKeys(['Idempotency-Key: dup-a, dup-b']);
    expect([again.status, again.json?.id]).toEqual([201, first.json?.id]);
    // Two headers whose values joined would read the same are still refused, not taken for that key.
    const twice = await createWithKeys(['Idempotency-Key: dup-a', 'Idempotency-Key: dup-b']);
    expect(twice.status).toBe(400);
  });
});

describe('list parameters written with brackets are refused, never ignored (the list would come back unfiltered)', () => {
  test.each([
    ['/process-requests', 'status[]=PENDING', 'status'],
    ['/process-requests', 'page[a]=1', 'page'],
    ['/process-requests', 'from[]=2026-01-01', 'from'],
    ['/process-request', 'status[0]=PENDING', 'status'],
    ['/process-request', '[]=x', '[]'],
  ])('%s?%s → 400 VALIDATION_FAILED on %s', async (path, query, field) => {
    const res = await world.http.get(`${world.rest(partnerId)}${path}?${query}`).set(headers);
    expect([res.status, res.body.code, res.body.details?.field]).toEqual([400, 'VALIDATION_FAILED', field]);
  });

  test('the same filter without brackets, repeated or comma-separated, filters', async () => {
    const repeated = await world.http
      .get(`${world.rest(partnerId)}/process-requests?status=PENDING&status=APPROVED`)
      .set(headers);
    const joined = await world.http
      .get(`${world.rest(partnerId)}/process-requests?status=PENDING,APPROVED`)
      .set(headers);
    expect(repeated.status).toBe(200);
    expect(repeated.body.total).toBe(joined.body.total);
    for (const item of repeated.body.items) expect(['PENDING', 'APPROVED']).toContain(item.status);
  });
});

describe('one uploaded file handed to two fields', () => {
  test('is refused before either runs: 400 VALIDATION_FAILED naming the variable, nothing created', async () => {
    const twice = `mutation Twice($clientId: ID!, $evidence: Upload!) {
      a: createProcessRequest(clientId: $clientId, input: { requestedAmount: "6" }, evidence: $evidence) { id }
      b: createProcessRequest(clientId: $clientId, input: { requestedAmount: "7" }, evidence: $evidence) { id }
    }`;
    const rows = await count(world, 'process_request');
    const blobs = (await world.blobsOf(partnerId)).length;
    const res = await gqlUpload(world, headers, { clientId: partnerId }, PDF, 'receipt.pdf', twice);
    expect(res.data).toBeUndefined();
    expect(res.errors).toEqual([
      expect.objectContaining({
        message: 'The file in $evidence is used 2 times; an uploaded file can be read once, by one field',
        extensions: expect.objectContaining({ code: 'VALIDATION_FAILED', status: 400 }),
      }),
    ]);
    expect(await count(world, 'process_request')).toBe(rows);
    expect((await world.blobsOf(partnerId)).length).toBe(blobs);
    // The same file once is served as always.
    const once = await gqlUpload(
      world,
      headers,
      { clientId: partnerId, input: { requestedAmount: '6' } },
      PDF,
    );
    expect(once.data?.createProcessRequest).toMatchObject({ status: 'PENDING' });
  });
});

describe('a request still arriving when REQUEST_TIMEOUT_SECONDS is up: 408 REQUEST_TIMEOUT, nothing written', () => {
  let slow: World;
  let team: Awaited<ReturnType<World['team']>>;
  let auth: string;
  beforeAll(async () => {
    slow = await createWorld({ REQUEST_TIMEOUT_SECONDS: '2' });
    team = await slow.team('Slow partner');
    auth = headerLines(await slow.headers(team.checker));
  });
  afterAll(() => slow?.close());

  /** Sends `head` and the start of a body, then nothing more; the answer, and how long it took. */
  async function stall(head: string, partialBody: string | Buffer) {
    const started = Date.now();
    const res = await rawHttp(
      slow.baseUrl,
      Buffer.concat([Buffer.from(head), Buffer.from(partialBody)]),
      15_000,
    );
    return { res, ms: Date.now() - started };
  }

  test('headers that stop half-way', async () => {
    const { res, ms } = await stall(`GET ${slow.rest(team.partner.id)}/balance HTTP/1.1\r\nHost: x\r\n`, '');
    expect([res.status, res.json?.code]).toEqual([408, 'REQUEST_TIMEOUT']);
    expect(ms).toBeLessThan(5_000);
  });

  test('a JSON body that stops half-way (bulk approve)', async () => {
    const head =
      `POST ${slow.rest(team.partner.id)}/process-requests/approve HTTP/1.1\r\nHost: x\r\n${auth}` +
      'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n';
    const { res, ms } = await stall(head, '{"ids":');
    expect([res.status, res.json?.code]).toEqual([408, 'REQUEST_TIMEOUT']);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(ms).toBeGreaterThanOrEqual(1_900);
    expect(ms).toBeLessThan(5_000);
  });

  test('an upload that stops half-way: no row, no blob', async () => {
    const makerAuth = headerLines(await slow.headers(team.maker));
    const body = multipart([
      { name: 'requestedAmount', value: '5.00' },
      { name: 'evidence', file: PDF, contentType: 'application/pdf' },
    ]);
    const head =
      `POST ${slow.rest(team.partner.id)}/process-request HTTP/1.1\r\nHost: x\r\n${makerAuth}` +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${body.length + 1000}\r\n\r\n`;
    const { res } = await stall(head, body.subarray(0, body.length - 10));
    expect([res.status, res.json?.code]).toEqual([408, 'REQUEST_TIMEOUT']);
    await new Promise((r) => setTimeout(r, 500));
    expect(await slow.requestCount(team.partner.id)).toBe(0);
    expect(await slow.blobsOf(team.partner.id)).toEqual([]);
  });
});
