// Every door against bad input (issue 4, "Bad input, every door"): a table of malformed requests across
// REST and GraphQL, each answered with a stable 4xx and code; afterwards rows == blobs == 201s and the
// server still answers. The tally by class is printed at the end (TALLY=1 to see it).
import { SignJWT } from 'jose';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { JPEG, PDF, pdfOfSize, TEN_MIB } from './support/files';
import { BOUNDARY, CREATE_MUTATION, count, multipart, type Part } from './support/step-up';
import { createWorld, type World } from './support/world';

let world: World;
/** Filled in beforeAll; the table's closures read it. */
const env = {
  usd: '',
  jpy: '',
  foreign: '',
  pending: '',
  makerHeaders: {} as Record<string, string>,
  checkerHeaders: {} as Record<string, string>,
  viewerHeaders: {} as Record<string, string>,
  makerId: '',
  userSecret: new Uint8Array(),
  appSecret: new Uint8Array(),
};
let created201 = 0;

interface Answer {
  /** The HTTP status on the wire. */
  http: number;
  /** REST: the HTTP status; GraphQL: extensions.status of the first error. */
  status: number;
  code: string | undefined;
}

interface Case {
  klass: string;
  door: 'REST' | 'GraphQL' | 'HTTP';
  name: string;
  run: () => Promise<Answer>;
  expect: [number, string];
  /** The HTTP status on the wire, where it differs from the error's status. */
  http?: number;
}

/** REST's 201, or a GraphQL create that returned its request (counted as a 201: something was created). */
function answerOf(res: { status: number; body?: unknown; text?: string }): Answer {
  if (res.status === 201) created201++;
  const created = (res.body as { data?: { createProcessRequest?: { id?: string } } } | undefined)?.data
    ?.createProcessRequest?.id;
  if (created) {
    created201++;
    return { http: res.status, status: 201, code: undefined };
  }
  let body = res.body as Record<string, unknown> | undefined;
  if ((!body || Object.keys(body).length === 0) && res.text) {
    try {
      body = JSON.parse(res.text);
    } catch {
      body = undefined;
    }
  }
  const errors = body?.errors as Array<{ extensions?: { code?: string; status?: number } }> | undefined;
  if (Array.isArray(errors) && errors.length > 0) {
    return {
      http: res.status,
      status: errors[0].extensions?.status ?? res.status,
      code: errors[0].extensions?.code,
    };
  }
  return {
    http: res.status,
    status: res.status,
    code: typeof body?.code === 'string' ? body.code : undefined,
  };
}

type Who = 'maker' | 'checker' | 'viewer';
const headersOf = (who: Who) =>
  ({ maker: env.makerHeaders, checker: env.checkerHeaders, viewer: env.viewerHeaders })[who];
/** `$usd`, `$jpy`, `$foreign`, `$pending` stand for ids that exist only once the world is built. */
const sub = (text: string) =>
  text.replace(/\$(usd|jpy|foreign|pending)/g, (_m, k: 'usd' | 'jpy' | 'foreign' | 'pending') => env[k]);
const subVars = (vars: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? sub(v) : v]));
const base = (partner = '$usd') => world.rest(sub(partner));

// ---- REST helpers ------------------------------------------------------------------------------

function restCreate(
  fields: Record<string, string>,
  opts: { partner?: string; file?: Buffer | null; who?: Who; extraHeaders?: Record<string, string> } = {},
) {
  return async () => {
    const req = world.http
      .post(`${base(opts.partner)}/process-request`)
      .set(headersOf(opts.who ?? 'maker'))
      .set(opts.extraHeaders ?? {});
    for (const [k, v] of Object.entries(fields)) req.field(k, v);
    if (opts.file !== null) req.attach('evidence', opts.file ?? PDF, 'receipt.pdf');
    return answerOf(await req);
  };
}

const amountRest = (requestedAmount: string, partner?: string) =>
  restCreate({ requestedAmount }, { partner });

function restRaw(parts: Part[] | Buffer, contentType = `multipart/form-data; boundary=${BOUNDARY}`) {
  return async () => {
    const req = world.http
      .post(`${base()}/process-request`)
      .set(env.makerHeaders)
      .set('content-type', contentType);
    return answerOf(await req.send(Buffer.isBuffer(parts) ? parts : multipart(parts)));
  };
}

function restGet(path: string) {
  return async () => {
    const m = /^(\$[a-z]+)(.*)$/.exec(path);
    return answerOf(await world.http.get(m ? `${base(m[1])}${m[2]}` : path).set(env.makerHeaders));
  };
}

function restAction(
  action: string,
  id: string,
  body: string | undefined,
  opts: { contentType?: string; who?: Who } = {},
) {
  return async () => {
    const req = world.http
      .patch(`${base()}/process-request/${sub(id)}/${action}`)
      .set(headersOf(opts.who ?? 'checker'));
    if (body !== undefined) req.set('content-type', opts.contentType ?? 'application/json');
    return answerOf(await (body === undefined ? req : req.send(body)));
  };
}

// ---- GraphQL helpers ---------------------------------------------------------------------------

function gql(query: string, variables: Record<string, unknown> = {}, who: Who = 'maker') {
  return async () =>
    answerOf(
      await world.http
        .post('/graphql')
        .set(headersOf(who))
        .set('content-type', 'application/json')
        .send(JSON.stringify({ query, variables: subVars(variables) })),
    );
}

function gqlRaw(
  body: string | Buffer,
  contentType: string,
  extra: Record<string, string> = {},
  method: 'post' | 'put' | 'get' = 'post',
) {
  return async () => {
    const req = world.http[method]('/graphql').set(env.makerHeaders).set(extra);
    if (method === 'get') return answerOf(await req);
    return answerOf(await req.set('content-type', contentType).send(body));
  };
}

function gqlCreate(
  input: Record<string, unknown>,
  opts: { file?: Buffer; partner?: string; preflight?: boolean; variables?: Record<string, unknown> } = {},
) {
  return async () => {
    const req = world.http.post('/graphql').set(env.makerHeaders);
    if (opts.preflight !== false) req.set('apollo-require-preflight', 'true');
    const variables = { clientId: sub(opts.partner ?? '$usd'), input, evidence: null, ...opts.variables };
    return answerOf(
      await req
        .field('operations', JSON.stringify({ query: CREATE_MUTATION, variables }))
        .field('map', JSON.stringify({ 0: ['variables.evidence'] }))
        .attach('0', opts.file ?? PDF, 'receipt.pdf'),
    );
  };
}

const amountGql = (requestedAmount: unknown, partner?: string) => gqlCreate({ requestedAmount }, { partner });

/** A GraphQL multipart body built by hand. */
function gqlMultipart(makeParts: Part[] | (() => Part[]), { close = true, preflight = true } = {}) {
  return async () => {
    const parts = typeof makeParts === 'function' ? makeParts() : makeParts;
    const req = world.http
      .post('/graphql')
      .set(env.makerHeaders)
      .set('content-type', `multipart/form-data; boundary=${BOUNDARY}`);
    if (preflight) req.set('apollo-require-preflight', 'true');
    return answerOf(await req.send(multipart(parts, { close })));
  };
}

const operations = (variables: Record<string, unknown> = {}, query = CREATE_MUTATION) =>
  JSON.stringify({
    query,
    variables: { clientId: env.usd, input: { requestedAmount: '1.00' }, evidence: null, ...variables },
  });
const LITERAL_AMOUNT = (literal: string) =>
  `mutation($clientId: ID!, $evidence: Upload!) { createProcessRequest(clientId: $clientId, input: { requestedAmount: ${literal} }, evidence: $evidence) { id } }`;
const MAP = JSON.stringify({ 0: ['variables.evidence'] });

// ---- tokens ------------------------------------------------------------------------------------

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const exp = () => Math.floor(Date.now() / 1000) + 600;

async function signed(
  secret: Uint8Array,
  claims: Record<string, unknown>,
  alg = 'HS256',
  expires: number | null = exp(),
) {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt();
  if (expires !== null) jwt = jwt.setExpirationTime(expires);
  return jwt.sign(secret);
}

function withTokens(make: () => Promise<Record<string, string>>, door: 'REST' | 'GraphQL') {
  return async () => {
    const headers = await make();
    if (door === 'REST') return answerOf(await world.http.get(`${base()}/balance`).set(headers));
    return answerOf(
      await world.http
        .post('/graphql')
        .set(headers)
        .set('content-type', 'application/json')
        .send(JSON.stringify({ query: '{ me { id } }' })),
    );
  };
}

async function appBearer() {
  return `Bearer ${await signed(env.appSecret, { sub: 'test-app' })}`;
}

const tokenCases: Array<[string, () => Promise<Record<string, string>>]> = [
  ['no credentials', async () => ({})],
  ['only the application token', async () => ({ authorization: await appBearer() })],
  ['only the user token', async () => ({ 'x-user-token': env.makerHeaders['x-user-token'] })],
  ['junk bearer', async () => ({ authorization: 'Bearer junk', 'x-user-token': 'Bearer junk.junk.junk' })],
  [
    'Basic scheme',
    async () => ({ authorization: 'Basic dXNlcjpwYXNz', 'x-user-token': env.makerHeaders['x-user-token'] }),
  ],
  [
    'alg: none user token',
    async () => ({
      authorization: await appBearer(),
      'x-user-token': `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: env.makerId, exp: exp() })}.`,
    }),
  ],
  [
    'alg: none application token',
    async () => ({
      authorization: `Bearer ${b64url({ alg: 'none' })}.${b64url({ sub: 'x', exp: exp() })}.`,
      'x-user-token': env.makerHeaders['x-user-token'],
    }),
  ],
  [
    'user token signed with another secret',
    async () => ({
      authorization: await appBearer(),
      'x-user-token': `Bearer ${await signed(new TextEncoder().encode('x'.repeat(40)), { sub: env.makerId })}`,
    }),
  ],
  [
    'user token signed with the app secret',
    async () => ({
      authorization: await appBearer(),
      'x-user-token': `Bearer ${await signed(env.appSecret, { sub: env.makerId })}`,
    }),
  ],
  [
    'expired user token',
    async () => ({
      authorization: await appBearer(),
      'x-user-token': `Bearer ${await signed(env.userSecret, { sub: env.makerId }, 'HS256', Math.floor(Date.now() / 1000) - 120)}`,
    }),
  ],
  [
    'user token without exp',
    async () => ({
      authorization: await appBearer(),
      'x-user-token': `Bearer ${await signed(env.userSecret, { sub: env.makerId }, 'HS256', null)}`,
    }),
  ],
  [
    'HS512 instead of HS256',
    async () => ({
      authorization: await appBearer(),
      'x-user-token': `Bearer ${await signed(env.userSecret, { sub: env.makerId }, 'HS512')}`,
    }),
  ],
  [
    'sub not a UUID',
    async () => ({
      authorization: await appBearer(),
      'x-user-token': `Bearer ${await signed(env.userSecret, { sub: "' or 1=1 --" })}`,
    }),
  ],
  [
    'sub of no operator',
    async () => ({
      authorization: await appBearer(),
      'x-user-token': `Bearer ${await signed(env.userSecret, { sub: '00000000-0000-4000-8000-000000000000' })}`,
    }),
  ],
  [
    'tampered payload',
    async () => {
      const [h, , s] = env.makerHeaders['x-user-token'].slice(7).split('.');
      return {
        authorization: await appBearer(),
        'x-user-token': `Bearer ${h}.${b64url({ sub: env.makerId, exp: exp() + 99999, roles: ['ADMIN'] })}.${s}`,
      };
    },
  ],
  [
    'a 9,000-character token',
    async () => ({ authorization: await appBearer(), 'x-user-token': `Bearer ${'a'.repeat(9000)}` }),
  ],
];

// ---- raw sockets (what no HTTP client library will send) -----------------------------------------

function rawRequest(payload: string | Buffer, { endAfterWrite = false } = {}): Promise<Answer> {
  const port = new URL(world.baseUrl).port;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const body = text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      resolve(answerOf({ status, text: body }));
    });
    socket.setTimeout(15000, () => socket.destroy());
    socket.write(payload, () => {
      if (endAfterWrite) socket.end();
    });
  });
}

function oversizedHeaders(path: string) {
  return () =>
    rawRequest(
      `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Junk: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
}

// ---- the table ---------------------------------------------------------------------------------

const AMOUNTS: Array<[string, string]> = [
  ['negative', '-1'],
  ['negative with decimals', '-10.50'],
  ['zero', '0'],
  ['zero with decimals', '0.00'],
  ['exponent', '1e3'],
  ['capital exponent', '1E2'],
  ['hex', '0x10'],
  ['thousands comma', '1,000'],
  ['thousands space', '1 000'],
  ['underscore separator', '1_000'],
  ['decimal comma', '10,50'],
  ['too many decimals for USD', '10.001'],
  ['too large', '1000000000000000'],
  ['too large with decimals', '99999999999999999999.99'],
  ['empty', ''],
  ['leading space', ' 10'],
  ['plus sign', '+10'],
  ['leading dot', '.5'],
  ['trailing dot', '5.'],
  ['NaN', 'NaN'],
  ['Infinity', 'Infinity'],
  ['Arabic-Indic digits', '\u0661\u0662\u0663'],
  ['fullwidth digits', '\uff11\uff10'],
  ['NUL inside', '10\u00000'],
];

const CASES: Case[] = [
  // Amounts, both doors.
  ...AMOUNTS.map(([name, v]): Case => ({
    klass: 'amount',
    door: 'REST',
    name,
    run: amountRest(v),
    expect: [400, 'VALIDATION_FAILED'],
  })),
  ...AMOUNTS.filter(([n]) => n !== 'NUL inside').map(([name, v]): Case => ({
    klass: 'amount',
    door: 'GraphQL',
    name,
    run: amountGql(v),
    expect: [400, 'VALIDATION_FAILED'],
  })),
  {
    klass: 'amount',
    door: 'REST',
    name: 'decimals for JPY',
    run: amountRest('10.5', '$jpy'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'amount',
    door: 'GraphQL',
    name: 'decimals for JPY',
    run: amountGql('10.5', '$jpy'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'amount',
    door: 'REST',
    name: 'missing field',
    run: restCreate({}),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'amount',
    door: 'GraphQL',
    name: 'a JSON number (through a float)',
    run: amountGql(Number('999999999999999.99')),
    expect: [400, 'BAD_USER_INPUT'],
  },
  { klass: 'amount', door: 'GraphQL', name: 'null', run: amountGql(null), expect: [400, 'BAD_USER_INPUT'] },
  {
    klass: 'amount',
    door: 'GraphQL',
    name: 'an object',
    run: amountGql({ value: '1' }),
    expect: [400, 'BAD_USER_INPUT'],
  },
  {
    klass: 'amount',
    door: 'GraphQL',
    name: 'an exponent literal',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations({}, LITERAL_AMOUNT('1e3')) },
      { name: 'map', value: MAP },
      { name: '0', file: PDF },
    ]),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'amount',
    door: 'GraphQL',
    name: 'a negative literal',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations({}, LITERAL_AMOUNT('-5')) },
      { name: 'map', value: MAP },
      { name: '0', file: PDF },
    ]),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'amount',
    door: 'GraphQL',
    name: 'a boolean literal',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations({}, LITERAL_AMOUNT('true')) },
      { name: 'map', value: MAP },
      { name: '0', file: PDF },
    ]),
    expect: [400, 'GRAPHQL_VALIDATION_FAILED'],
  },

  // Other text fields.
  {
    klass: 'field',
    door: 'REST',
    name: 'observations of 2,001 characters',
    run: restCreate({ requestedAmount: '1', observations: 'x'.repeat(2001) }),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'field',
    door: 'REST',
    name: 'observations over the 16 KiB field limit',
    run: restCreate({ requestedAmount: '1', observations: 'x'.repeat(20_000) }),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'field',
    door: 'REST',
    name: 'observations with NUL',
    run: restCreate({ requestedAmount: '1', observations: 'a\u0000b' }),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'field',
    door: 'GraphQL',
    name: 'observations of 2,001 characters',
    run: gqlCreate({ requestedAmount: '1', observations: 'x'.repeat(2001) }),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'field',
    door: 'GraphQL',
    name: 'unknown input field',
    run: gqlCreate({ requestedAmount: '1', amount: '2' }),
    expect: [400, 'BAD_USER_INPUT'],
  },
  {
    klass: 'field',
    door: 'REST',
    name: 'Idempotency-Key of 256 characters',
    run: restCreate({ requestedAmount: '1' }, { extraHeaders: { 'Idempotency-Key': 'k'.repeat(256) } }),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'field',
    door: 'REST',
    name: 'Idempotency-Key empty',
    run: restCreate({ requestedAmount: '1' }, { extraHeaders: { 'Idempotency-Key': '' } }),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'field',
    door: 'REST',
    name: 'Idempotency-Key with non-ASCII',
    run: restCreate({ requestedAmount: '1' }, { extraHeaders: { 'Idempotency-Key': 'cl\u00e9' } }),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'field',
    door: 'GraphQL',
    name: 'idempotencyKey of 256 characters',
    run: gqlCreate({ requestedAmount: '1' }, { variables: { idempotencyKey: 'k'.repeat(256) } }),
    expect: [400, 'VALIDATION_FAILED'],
  },

  // Multipart structure.
  {
    klass: 'multipart',
    door: 'REST',
    name: 'no file part',
    run: restCreate({ requestedAmount: '1' }, { file: null }),
    expect: [400, 'EVIDENCE_REQUIRED'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'two evidence files',
    run: restRaw([
      { name: 'requestedAmount', value: '1' },
      { name: 'evidence', file: PDF },
      { name: 'evidence', file: PDF },
    ]),
    expect: [400, 'UNEXPECTED_FILE'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'a file under another name',
    run: restRaw([
      { name: 'requestedAmount', value: '1' },
      { name: 'receipt', file: PDF },
    ]),
    expect: [400, 'UNEXPECTED_FILE'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'a second file under another name',
    run: restRaw([
      { name: 'requestedAmount', value: '1' },
      { name: 'evidence', file: PDF },
      { name: 'extra', file: JPEG },
    ]),
    expect: [400, 'UNEXPECTED_FILE'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'evidence as a text field',
    run: restRaw([
      { name: 'requestedAmount', value: '1' },
      { name: 'evidence', value: '%PDF-1.4 not a file' },
    ]),
    expect: [400, 'EVIDENCE_REQUIRED'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'requestedAmount sent twice',
    run: restRaw([
      { name: 'requestedAmount', value: '1' },
      { name: 'requestedAmount', value: '1000' },
      { name: 'evidence', file: PDF },
    ]),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'truncated: no closing boundary',
    run: restRaw(
      multipart(
        [
          { name: 'requestedAmount', value: '1' },
          { name: 'evidence', file: PDF },
        ],
        { close: false },
      ),
    ),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'truncated inside the file',
    run: restRaw(
      multipart([
        { name: 'requestedAmount', value: '1' },
        { name: 'evidence', file: PDF },
      ]).subarray(0, 200),
    ),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'a body that is not multipart at all',
    run: restRaw(Buffer.from('hello world')),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'an empty body',
    run: restRaw(Buffer.alloc(0)),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'a boundary that never appears',
    run: restRaw(
      multipart(
        [
          { name: 'requestedAmount', value: '1' },
          { name: 'evidence', file: PDF },
        ],
        { boundary: 'other' },
      ),
    ),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: '30 parts',
    run: restRaw([
      ...Array.from({ length: 29 }, (_, i) => ({ name: `f${i}`, value: 'x' })),
      { name: 'evidence', file: PDF },
    ]),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'a raw control character in a part header',
    run: restRaw([
      { name: 'requestedAmount', value: '1' },
      { name: 'evidence', file: PDF, rawDisposition: 'form-data; name="evidence"; filename="a\u0001.pdf"' },
    ]),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'a file of 10 MiB + 1',
    run: restCreate({ requestedAmount: '1' }, { file: pdfOfSize(TEN_MIB + 1) }),
    expect: [413, 'EVIDENCE_TOO_LARGE'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'a file of another type',
    run: restCreate({ requestedAmount: '1' }, { file: Buffer.from('MZ\x90\x00 not a receipt') }),
    expect: [415, 'UNSUPPORTED_EVIDENCE_TYPE'],
  },
  {
    klass: 'multipart',
    door: 'REST',
    name: 'an empty file',
    run: restCreate({ requestedAmount: '1' }, { file: Buffer.alloc(0) }),
    expect: [415, 'UNSUPPORTED_EVIDENCE_TYPE'],
  },

  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'without apollo-require-preflight (CSRF)',
    run: gqlCreate({ requestedAmount: '1' }, { preflight: false }),
    expect: [400, 'BAD_REQUEST'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'operations is not JSON',
    run: gqlMultipart([
      { name: 'operations', value: '{nope' },
      { name: 'map', value: MAP },
      { name: '0', file: PDF },
    ]),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'no map',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations() },
      { name: '0', file: PDF },
    ]),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'map is not JSON',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations() },
      { name: 'map', value: '[' },
      { name: '0', file: PDF },
    ]),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'map names a file that never comes',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations() },
      { name: 'map', value: MAP },
    ]),
    expect: [400, 'EVIDENCE_REQUIRED'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'two files',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations() },
      { name: 'map', value: JSON.stringify({ 0: ['variables.evidence'], 1: ['variables.evidence'] }) },
      { name: '0', file: PDF },
      { name: '1', file: PDF },
    ]),
    expect: [400, 'UNEXPECTED_FILE'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'truncated: no closing boundary',
    run: gqlMultipart(
      () => [
        { name: 'operations', value: operations() },
        { name: 'map', value: MAP },
        { name: '0', file: PDF },
      ],
      { close: false },
    ),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'operations first, then nothing',
    run: gqlMultipart(() => [{ name: 'operations', value: operations() }], { close: false }),
    expect: [400, 'MALFORMED_MULTIPART'],
  },
  // A part whose header busboy cannot read: it reports the error, then "Unexpected end of form" as the
  // request ends; over GraphQL, with no listener left for the second, it was thrown and stopped the process.
  ...(
    [
      ['a part header with a control character', 'Bad\x01Header: x'],
      ['a part header line without a colon', 'no colon here'],
      ['a NUL in a part name', 'Content-Disposition: form-data; name="0\u0000"; filename="r.pdf"'],
      [
        'a filename of 100 KB',
        `Content-Disposition: form-data; name="0"; filename="${'f'.repeat(100_000)}.pdf"`,
      ],
    ] as const
  ).flatMap(([name, header]) => {
    const body = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n` +
        `--${BOUNDARY}\r\n${header}\r\n\r\nx\r\n--${BOUNDARY}--\r\n`,
    );
    const type = `multipart/form-data; boundary=${BOUNDARY}`;
    return [
      {
        klass: 'multipart',
        door: 'GraphQL',
        name,
        run: gqlRaw(body, type, { 'apollo-require-preflight': '1' }),
        expect: [400, 'MALFORMED_MULTIPART'],
      },
      // REST reads the parts it knows and refuses the rest of the form.
      { klass: 'multipart', door: 'REST', name, run: restRaw(body), expect: [400, 'VALIDATION_FAILED'] },
    ] as Case[];
  }),
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'a file of 10 MiB + 1',
    run: gqlCreate({ requestedAmount: '1' }, { file: pdfOfSize(TEN_MIB + 1) }),
    expect: [413, 'EVIDENCE_TOO_LARGE'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'a file of another type',
    run: gqlCreate({ requestedAmount: '1' }, { file: Buffer.from('<html></html>') }),
    expect: [415, 'UNSUPPORTED_EVIDENCE_TYPE'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'evidence: null without a file (JSON)',
    run: gql(CREATE_MUTATION, { clientId: '$usd', input: { requestedAmount: '1' }, evidence: null }),
    expect: [400, 'BAD_USER_INPUT'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'evidence as a string (JSON)',
    run: gql(CREATE_MUTATION, { clientId: '$usd', input: { requestedAmount: '1' }, evidence: 'JVBERi0=' }),
    expect: [400, 'BAD_USER_INPUT'],
  },
  {
    klass: 'multipart',
    door: 'GraphQL',
    name: 'a map path to a non-Upload variable',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations() },
      { name: 'map', value: JSON.stringify({ 0: ['variables.clientId'] }) },
      { name: '0', file: PDF },
    ]),
    expect: [400, 'BAD_USER_INPUT'],
  },

  // Content types.
  {
    klass: 'content-type',
    door: 'REST',
    name: 'create as JSON',
    run: restRaw(Buffer.from('{"requestedAmount":"1"}'), 'application/json'),
    expect: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  },
  {
    klass: 'content-type',
    door: 'REST',
    name: 'create as urlencoded',
    run: restRaw(Buffer.from('requestedAmount=1'), 'application/x-www-form-urlencoded'),
    expect: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  },
  {
    klass: 'content-type',
    door: 'REST',
    name: 'create as text/plain',
    run: restRaw(Buffer.from('1'), 'text/plain'),
    expect: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  },
  {
    klass: 'content-type',
    door: 'REST',
    name: 'multipart without a boundary',
    run: restRaw(multipart([{ name: 'evidence', file: PDF }]), 'multipart/form-data'),
    expect: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  },
  {
    klass: 'content-type',
    door: 'REST',
    name: 'multipart/mixed',
    run: restRaw(multipart([{ name: 'evidence', file: PDF }]), `multipart/mixed; boundary=${BOUNDARY}`),
    expect: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  },
  {
    klass: 'content-type',
    door: 'REST',
    name: 'approve body as text/plain',
    run: restAction('approve', '$pending', 'reason', { contentType: 'text/plain' }),
    expect: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  },
  {
    klass: 'content-type',
    door: 'GraphQL',
    name: 'text/plain (CSRF simple request)',
    run: gqlRaw('{ me { id } }', 'text/plain'),
    expect: [400, 'BAD_REQUEST'],
  },
  {
    klass: 'content-type',
    door: 'GraphQL',
    name: 'urlencoded',
    run: gqlRaw('query=%7Bme%7Bid%7D%7D', 'application/x-www-form-urlencoded'),
    expect: [400, 'BAD_REQUEST'],
  },
  {
    klass: 'content-type',
    door: 'GraphQL',
    name: 'application/xml',
    run: gqlRaw('<q/>', 'application/xml'),
    expect: [400, 'BAD_REQUEST'],
  },

  // JSON bodies and GraphQL documents.
  {
    klass: 'json',
    door: 'REST',
    name: 'approve with malformed JSON',
    run: restAction('approve', '$pending', '{"reason":'),
    expect: [400, 'MALFORMED_JSON'],
  },
  {
    klass: 'json',
    door: 'REST',
    name: 'approve with a JSON array',
    run: restAction('approve', '$pending', '["x"]'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'json',
    door: 'REST',
    name: 'approve with a JSON string',
    run: restAction('approve', '$pending', '"x"'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'json',
    door: 'REST',
    name: 'reject with a reason of 501 characters',
    run: restAction('reject', '$pending', JSON.stringify({ reason: 'r'.repeat(501) })),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'json',
    door: 'REST',
    name: 'reject with a numeric reason',
    run: restAction('reject', '$pending', JSON.stringify({ reason: 42 })),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'malformed JSON',
    run: gqlRaw('{"query": ', 'application/json'),
    expect: [400, 'MALFORMED_JSON'],
  },
  // A Content-Encoding the body does not have, or one the service does not decode: refused, never a 500.
  ...(
    [
      ['gzip', [400, 'MALFORMED_JSON']],
      ['deflate', [400, 'MALFORMED_JSON']],
      ['br', [400, 'MALFORMED_JSON']],
      ['zstd', [415, 'UNSUPPORTED_MEDIA_TYPE']],
      ['gzip, gzip', [415, 'UNSUPPORTED_MEDIA_TYPE']],
    ] as const
  ).flatMap(([encoding, expected]) => [
    {
      klass: 'json',
      door: 'REST' as const,
      name: `reject with a body that is not ${encoding} though Content-Encoding says so`,
      run: async () =>
        answerOf(
          await world.http
            .patch(`${base()}/process-request/${env.pending}/reject`)
            .set(env.checkerHeaders)
            .set({ 'content-type': 'application/json', 'content-encoding': encoding })
            .send('{"reason":"not compressed"}'),
        ),
      expect: [...expected] as [number, string],
    },
    {
      klass: 'json',
      door: 'GraphQL' as const,
      name: `a body that is not ${encoding} though Content-Encoding says so`,
      run: gqlRaw('{"query":"{ __typename }"}', 'application/json', { 'content-encoding': encoding }),
      expect: [...expected] as [number, string],
    },
  ]),
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'a batch (array)',
    run: gqlRaw('[{"query":"{ me { id } }"},{"query":"{ me { id } }"}]', 'application/json'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'no query',
    run: gqlRaw('{}', 'application/json'),
    expect: [400, 'BAD_REQUEST'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'query is a number',
    run: gqlRaw('{"query": 42}', 'application/json'),
    expect: [400, 'BAD_REQUEST'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'variables is a string',
    run: gqlRaw('{"query":"{ me { id } }","variables":"x"}', 'application/json'),
    expect: [400, 'BAD_REQUEST'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'a syntax error',
    run: gql('{ me { id '),
    expect: [400, 'GRAPHQL_PARSE_FAILED'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'an unknown field',
    run: gql('{ me { id password } }'),
    expect: [400, 'GRAPHQL_VALIDATION_FAILED'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'an unknown operationName',
    run: async () =>
      answerOf(
        await world.http
          .post('/graphql')
          .set(env.makerHeaders)
          .send({ query: '{ me { id } }', operationName: 'Nope' }),
      ),
    expect: [400, 'OPERATION_RESOLUTION_FAILURE'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'a mutation over GET',
    run: async () =>
      answerOf(
        await world.http
          .get('/graphql')
          .query({ query: 'mutation { cancelProcessRequest(clientId: "x", id: "y") { id } }' })
          .set(env.makerHeaders)
          .set('apollo-require-preflight', 'true'),
      ),
    expect: [400, 'BAD_REQUEST'],
    http: 405,
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'a fragment cycle',
    run: gql(
      'query { me { ...A } } fragment A on CurrentOperator { ...B } fragment B on CurrentOperator { ...A }',
    ),
    expect: [400, 'GRAPHQL_VALIDATION_FAILED'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'a query nested 10 levels (depth limit 8)',
    run: gql(
      '{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }',
    ),
    expect: [400, 'QUERY_TOO_DEEP'],
  },
  {
    klass: 'json',
    door: 'GraphQL',
    name: 'depth hidden in fragments',
    run: gql(
      '{ __schema { ...T } } fragment T on __Schema { types { fields { type { ...U } } } } fragment U on __Type { ofType { ofType { ofType { ofType { ofType { name } } } } } }',
    ),
    expect: [400, 'QUERY_TOO_DEEP'],
  },

  // Ids and query parameters.
  {
    klass: 'id',
    door: 'REST',
    name: 'partner id not a UUID',
    run: restGet('/cms/rest/app/partners/not-a-uuid/balance'),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'partner id SQL injection',
    run: restGet(`/cms/rest/app/partners/${encodeURIComponent("' or 1=1 --")}/balance`),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'partner id path traversal',
    run: restGet('/cms/rest/app/partners/..%2F..%2Fetc%2Fpasswd/balance'),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'partner id UUID with a suffix',
    run: restGet('/cms/rest/app/partners/00000000-0000-4000-8000-000000000000x/balance'),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'partner id of 5,000 characters',
    run: restGet(`/cms/rest/app/partners/${'a'.repeat(5000)}/balance`),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'partner outside the scope',
    run: restGet('$foreign/balance'),
    expect: [403, 'PARTNER_FORBIDDEN'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'request id not a UUID',
    run: restGet('$usd/process-request/123'),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'request id with NUL',
    run: restGet('$usd/process-request/%00'),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'download with a malformed id',
    run: restGet('$usd/process-request/..%2F..%2Fx/evidence/download'),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'approve a malformed id',
    run: restAction('approve', 'not-a-uuid', undefined),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'cancel an unknown id',
    run: restAction('cancel', '00000000-0000-4000-8000-000000000000', undefined, { who: 'maker' }),
    expect: [404, 'NOT_FOUND'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'create for a malformed partner',
    run: async () =>
      answerOf(
        await world.http
          .post('/cms/rest/app/partners/xyz/process-request')
          .set(env.makerHeaders)
          .field('requestedAmount', '1')
          .attach('evidence', PDF, 'r.pdf'),
      ),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'page=0',
    run: restGet('$usd/process-requests?page=0'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'limit=101',
    run: restGet('$usd/process-requests?limit=101'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'limit=1e1',
    run: restGet('$usd/process-requests?limit=1e1'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'page twice',
    run: restGet('$usd/process-requests?page=1&page=2'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'status=NOPE',
    run: restGet('$usd/process-requests?status=NOPE'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'id',
    door: 'REST',
    name: 'from=yesterday',
    run: restGet('$usd/process-requests?from=yesterday'),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'id',
    door: 'GraphQL',
    name: 'clientId not a UUID',
    run: gql('query($c: ID!) { partnerBalance(clientId: $c) { available } }', { c: 'nope' }),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'GraphQL',
    name: 'request id not a UUID',
    run: gql('query($c: ID!) { processRequest(clientId: $c, id: "1 or 1=1") { id } }', { c: '$usd' }),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'GraphQL',
    name: 'partner outside the scope',
    run: gql('query($c: ID!) { partnerBalance(clientId: $c) { available } }', { c: '$foreign' }),
    expect: [403, 'PARTNER_FORBIDDEN'],
  },
  {
    klass: 'id',
    door: 'GraphQL',
    name: 'create for a malformed partner',
    run: gqlCreate({ requestedAmount: '1' }, { partner: 'xyz' }),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'GraphQL',
    name: 'approve a malformed id',
    run: gql(
      'mutation($c: ID!) { approveProcessRequest(clientId: $c, id: "x") { id } }',
      { c: '$usd' },
      'checker',
    ),
    expect: [400, 'INVALID_ID'],
  },
  {
    klass: 'id',
    door: 'GraphQL',
    name: 'limit 101',
    run: gql('query($c: ID!) { processRequests(clientId: $c, limit: 101) { total } }', { c: '$usd' }),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'id',
    door: 'GraphQL',
    name: 'page beyond 32 bits',
    run: gql('query($c: ID!) { processRequests(clientId: $c, page: 4294967296) { total } }', { c: '$usd' }),
    expect: [400, 'GRAPHQL_VALIDATION_FAILED'],
  },
  {
    klass: 'id',
    door: 'GraphQL',
    name: 'an unknown status',
    run: gql('query($c: ID!) { processRequests(clientId: $c, status: [NOPE]) { total } }', { c: '$usd' }),
    expect: [400, 'GRAPHQL_VALIDATION_FAILED'],
  },
  {
    klass: 'id',
    door: 'GraphQL',
    name: 'from is not a date',
    run: gql('query($c: ID!) { processRequests(clientId: $c, from: "31/02/2026") { total } }', { c: '$usd' }),
    expect: [400, 'VALIDATION_FAILED'],
  },

  // Tokens, both doors.
  ...tokenCases.flatMap(([name, make]): Case[] => [
    { klass: 'token', door: 'REST', name, run: withTokens(make, 'REST'), expect: [401, 'UNAUTHENTICATED'] },
    {
      klass: 'token',
      door: 'GraphQL',
      name,
      run: withTokens(make, 'GraphQL'),
      expect: [401, 'UNAUTHENTICATED'],
    },
  ]),

  // Sizes.
  {
    klass: 'size',
    door: 'HTTP',
    name: '20 KB header on a REST route',
    run: oversizedHeaders('/cms/rest/app/partners/x/balance'),
    expect: [431, 'HEADERS_TOO_LARGE'],
  },
  {
    klass: 'size',
    door: 'HTTP',
    name: '20 KB header on /graphql',
    run: oversizedHeaders('/graphql'),
    expect: [431, 'HEADERS_TOO_LARGE'],
  },
  {
    klass: 'http',
    door: 'HTTP',
    name: 'a request line that is not HTTP',
    run: () => rawRequest('HELLO THERE\r\n\r\n'),
    expect: [400, 'MALFORMED_REQUEST'],
  },
  {
    klass: 'http',
    door: 'HTTP',
    name: 'a bad Content-Length',
    run: () =>
      rawRequest('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n'),
    expect: [400, 'MALFORMED_REQUEST'],
  },
  {
    klass: 'size',
    door: 'REST',
    name: 'approve body of 17 KB',
    run: restAction('approve', '$pending', JSON.stringify({ reason: 'x'.repeat(17_000) })),
    expect: [413, 'PAYLOAD_TOO_LARGE'],
  },
  {
    klass: 'http',
    door: 'HTTP',
    name: 'both Content-Length and Transfer-Encoding (smuggling)',
    run: () =>
      rawRequest(
        `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      ),
    expect: [400, 'MALFORMED_REQUEST'],
  },
  {
    klass: 'size',
    door: 'REST',
    name: 'approve body of 1 MB, chunked (no Content-Length)',
    run: () => {
      const chunk = Buffer.from(`{"reason":"${'x'.repeat(1_000_000)}"}`);
      const head =
        `PATCH ${base()}/process-request/${env.pending}/approve HTTP/1.1\r\nHost: x\r\nAuthorization: ${env.checkerHeaders.authorization}\r\n` +
        `x-user-token: ${env.checkerHeaders['x-user-token']}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
      return rawRequest(
        Buffer.concat([
          Buffer.from(head),
          Buffer.from(`${chunk.length.toString(16)}\r\n`),
          chunk,
          Buffer.from('\r\n0\r\n\r\n'),
        ]),
      );
    },
    expect: [413, 'PAYLOAD_TOO_LARGE'],
  },
  {
    klass: 'size',
    door: 'REST',
    name: 'a create body of 12 MB of fields',
    run: restRaw([
      { name: 'requestedAmount', value: '1' },
      ...Array.from({ length: 12 }, (_, i) => ({ name: `pad${i}`, value: 'x'.repeat(1_000_000) })),
      { name: 'evidence', file: PDF },
    ]),
    expect: [400, 'VALIDATION_FAILED'],
  },
  {
    klass: 'size',
    door: 'GraphQL',
    name: 'a JSON body of 300 KB',
    run: gql(`{ me { id } } # ${'x'.repeat(300_000)}`),
    expect: [413, 'PAYLOAD_TOO_LARGE'],
  },
  {
    klass: 'size',
    door: 'GraphQL',
    name: 'operations field of 300 KB',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations({ pad: 'x'.repeat(300_000) }) },
      { name: 'map', value: MAP },
      { name: '0', file: PDF },
    ]),
    expect: [413, 'PAYLOAD_TOO_LARGE'],
  },

  // Routes and methods.
  {
    klass: 'route',
    door: 'REST',
    name: 'an unknown route',
    run: restGet('/cms/rest/app/nothing-here'),
    expect: [404, 'NOT_FOUND'],
  },
  {
    klass: 'route',
    door: 'REST',
    name: 'DELETE a request',
    run: async () =>
      answerOf(await world.http.delete(`${base()}/process-request/${env.pending}`).set(env.makerHeaders)),
    expect: [405, 'METHOD_NOT_ALLOWED'],
  },
  {
    klass: 'route',
    door: 'REST',
    name: 'PUT the balance',
    run: async () => answerOf(await world.http.put(`${base()}/balance`).set(env.makerHeaders)),
    expect: [405, 'METHOD_NOT_ALLOWED'],
  },
  {
    klass: 'route',
    door: 'GraphQL',
    name: 'PUT /graphql',
    run: gqlRaw('{}', 'application/json', {}, 'put'),
    expect: [405, 'METHOD_NOT_ALLOWED'],
  },

  // Permissions on bad paths (a wrong role is refused before the body is read).
  {
    klass: 'permission',
    door: 'REST',
    name: 'a viewer creates',
    run: restCreate({ requestedAmount: '1' }, { who: 'viewer' }),
    expect: [403, 'FORBIDDEN'],
  },
  {
    klass: 'permission',
    door: 'GraphQL',
    name: 'a viewer creates',
    run: async () =>
      answerOf(
        await world.http
          .post('/graphql')
          .set(env.viewerHeaders)
          .set('apollo-require-preflight', 'true')
          .field('operations', operations())
          .field('map', MAP)
          .attach('0', PDF, 'r.pdf'),
      ),
    expect: [403, 'FORBIDDEN'],
  },
  {
    klass: 'permission',
    door: 'REST',
    name: 'the maker approves their own request',
    run: restAction('approve', '$pending', undefined, { who: 'maker' }),
    expect: [403, 'SELF_REVIEW_FORBIDDEN'],
  },
  {
    klass: 'permission',
    door: 'GraphQL',
    name: 'a checker cancels',
    run: gql(
      'mutation($c: ID!, $id: ID!) { cancelProcessRequest(clientId: $c, id: $id) { id } }',
      { c: '$usd', id: '$pending' },
      'checker',
    ),
    expect: [403, 'FORBIDDEN'],
  },

  // Boundaries that must still be accepted (they count in the 201s, not in the malformed tally).
  {
    klass: 'control',
    door: 'REST',
    name: 'the largest amount',
    run: amountRest('999999999999999.99'),
    expect: [201, ''],
  },
  { klass: 'control', door: 'REST', name: 'leading zeros', run: amountRest('007.50'), expect: [201, ''] },
  {
    klass: 'control',
    door: 'GraphQL',
    name: 'a body that is gzip as its Content-Encoding says',
    // fetch sends the bytes as they are (supertest would write a Buffer as JSON under this content type).
    run: async () => {
      const res = await fetch(`${world.baseUrl}/graphql`, {
        method: 'POST',
        headers: { ...env.makerHeaders, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync('{"query":"{ __typename }"}'),
      });
      return answerOf({ status: res.status, body: await res.json() });
    },
    expect: [200, ''],
  },
  { klass: 'control', door: 'REST', name: 'whole yen', run: amountRest('1000', '$jpy'), expect: [201, ''] },
  {
    klass: 'control',
    door: 'GraphQL',
    name: 'the smallest amount',
    run: amountGql('0.01'),
    expect: [201, ''],
  },
  {
    klass: 'control',
    door: 'GraphQL',
    name: 'an integer literal',
    run: gqlMultipart(() => [
      { name: 'operations', value: operations({}, LITERAL_AMOUNT('25')) },
      { name: 'map', value: MAP },
      { name: '0', file: PDF },
    ]),
    expect: [201, ''],
  },
];

beforeAll(async () => {
  world = await createWorld();
  const usd = await world.partner('Bad Input USD', 'USD');
  const jpy = await world.partner('Bad Input JPY', 'JPY');
  const foreign = await world.partner('Foreign', 'USD');
  // MAKER and CHECKER: the same person may hold both roles, but never on their own request.
  const maker = await world.operator(['MAKER', 'CHECKER'], [usd.id, jpy.id]);
  const checker = await world.operator(['CHECKER'], [usd.id]);
  const viewer = await world.operator(['VIEWER'], [usd.id]);
  Object.assign(env, {
    usd: usd.id,
    jpy: jpy.id,
    foreign: foreign.id,
    makerId: maker.id,
    makerHeaders: await world.headers(maker),
    checkerHeaders: await world.headers(checker),
    viewerHeaders: await world.headers(viewer),
    userSecret: new TextEncoder().encode((world.app.config.userToken as { secret: string }).secret),
    appSecret: new TextEncoder().encode((world.app.config.appToken as { secret: string }).secret),
  });
  env.pending = await world.createRequest(usd.id, env.makerHeaders, '10.00', PDF, 'r.pdf');
  created201++;
});
afterAll(() => world?.close());

const tally = new Map<string, Map<string, number>>();

test(`the table holds at least 100 malformed requests (${CASES.filter((c) => c.expect[0] >= 400).length})`, () => {
  expect(CASES.filter((c) => c.expect[0] >= 400).length).toBeGreaterThanOrEqual(100);
});

test.each(CASES.map((c) => [`${c.klass} · ${c.door} · ${c.name}`, c] as const))('%s', async (_title, c) => {
  const answer = await c.run();
  if (process.env.TALLY_DEBUG && (answer.status !== c.expect[0] || (answer.code ?? '') !== c.expect[1]))
    console.log(c.name, answer);
  const key = `${c.klass} (${c.door})`;
  const row = tally.get(key) ?? new Map<string, number>();
  const outcome = `${answer.status} ${answer.code ?? '-'}`;
  row.set(outcome, (row.get(outcome) ?? 0) + 1);
  tally.set(key, row);
  expect(answer.http).toBeLessThan(500);
  if (c.http !== undefined) expect(answer.http).toBe(c.http);
  expect(answer.status).toBeLessThan(500);
  expect([answer.status, answer.code ?? '']).toEqual(c.expect);
});

test('afterwards: rows == blobs == 201s, and the server still answers', async () => {
  const rows = await count(world, 'process_request');
  const blobs = (await world.blobNames()).length;
  expect({ rows, blobs }).toEqual({ rows: created201, blobs: created201 });
  expect((await world.http.get('/healthz')).status).toBe(200);
  expect((await world.http.get('/readyz')).status).toBe(200);
  const lines = [...tally.entries()].map(
    ([k, m]) => `${k}: ${[...m.entries()].map(([o, n]) => `${n}× ${o}`).join(', ')}`,
  );
  const sum = (keep: (k: string) => boolean) =>
    [...tally.entries()]
      .filter(([k]) => keep(k))
      .reduce((s, [, m]) => s + [...m.values()].reduce((a, b) => a + b, 0), 0);
  const malformed = sum((k) => !k.startsWith('control'));
  expect(malformed).toBeGreaterThanOrEqual(100);
  if (process.env.TALLY) {
    console.log(
      `bad inputs tried: ${malformed} (+${sum((k) => k.startsWith('control'))} accepted boundaries); rows=${rows} blobs=${blobs} 201s=${created201}\n${lines.join('\n')}`,
    );
  }
});

test('introspection can be turned off (as it is by default in production)', async () => {
  const closed = await createWorld({ GRAPHQL_INTROSPECTION: 'false' });
  try {
    const op = await closed.operator(['VIEWER'], null);
    const res = await closed.http
      .post('/graphql')
      .set(await closed.headers(op))
      .send({ query: '{ __schema { types { name } } }' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', status: 400 });
  } finally {
    await closed.close();
  }
});
