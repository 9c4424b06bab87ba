// GraphQL documents that would cost the server more than they are worth, over real HTTP and WebSocket:
// each is refused with its code before it is walked, quickly, while another operator's balance call
// stays fast and the event loop never stalls; the cost budget; a page's histories read by one
// statement; the operations one operator may have in flight; persisted-query and suggestion leaks.
import { checkedFetch } from './support/openapi';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { GRAPHQL_LIMITS } from '../src/graphql/document-limits';
import { pdfOfSize } from './support/files';
import { openSocket, until, watchProgress } from './support/progress-ws';
import { statementsOf } from './support/statements';
import { createWorld, type Team, type World } from './support/world';

/**
 * Longest a refusal, or the victim's call made meanwhile, may take, and longest the event loop may stall
 * while it is made. Without the limits the bomb held the loop for seconds (tens of seconds on a busy
 * machine); with them a refusal takes milliseconds. The margins are for machines shared with other work.
 */
const QUICK_MS = 1_500;
const STALL_MS = 500;
const REQUESTS = 100;
const APPROVED = 50;

let world: World;
let team: Team;
let attacker: Record<string, string>;
let victim: Record<string, string>;

beforeAll(async () => {
  world = await createWorld();
  team = await world.team();
  attacker = await world.headers(team.viewer);
  victim = await world.headers(await world.operator(['VIEWER'], [team.partner.id]));
  const ids = await world.seedRequests(team.partner.id, team.maker, REQUESTS);
  for (const id of ids.slice(0, APPROVED))
    expect((await world.act(team.partner.id, id, 'approve', team.checker)).status).toBe(204);
  // The first operations of a process compile and load what later ones reuse: timings are of a warm server.
  for (let i = 0; i < 3; i++) expect((await graphql(attacker, { query: '{ me { id } }' })).status).toBe(200);
}, 180_000);
afterAll(() => world?.close());

interface Answer {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions: Record<string, unknown> }>;
  };
  ms: number;
}

async function graphql(headers: Record<string, string>, body: Record<string, unknown>): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${world.baseUrl}/graphql`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: JSON.parse(text),
    ms: performance.now() - started,
  };
}

/**
 * Runs an attack while the victim calls GET /balance over and over (always one call in flight, so a
 * stalled server shows in its latency), and the event loop's longest stall is recorded.
 */
/** One line per attack, printed at the end: how long the refusal took, the victim's worst wait, the worst stall. */
const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0)
    console.log(
      `document attacks (attack answered / victim's slowest balance / event-loop stall):\n${figures.join('\n')}`,
    );
});

async function underAttack<T>(label: string, attack: () => Promise<T>) {
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  let done = false;
  const attackStarted = performance.now();
  let attackMs = 0;
  const pending = attack().finally(() => {
    done = true;
    attackMs = performance.now() - attackStarted;
  });
  const victimMs: number[] = [];
  do {
    const started = performance.now();
    const res = await checkedFetch(`${world.baseUrl}${world.rest(team.partner.id)}/balance`, {
      headers: victim,
    });
    await res.text();
    expect(res.status).toBe(200);
    victimMs.push(performance.now() - started);
  } while (!done);
  const result = await pending;
  stalls.disable();
  const figure = { victimMs: Math.max(...victimMs), stallMs: stalls.max / 1e6 };
  figures.push(
    `${label}: ${attackMs.toFixed(0)} ms / ${figure.victimMs.toFixed(0)} ms / ${figure.stallMs.toFixed(0)} ms`,
  );
  return { result, ...figure };
}

function expectRefused(answer: Answer, code: string, limit: string) {
  expect(answer.status).toBe(400);
  expect(answer.body.data).toBeUndefined();
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors![0].extensions).toMatchObject({
    code,
    status: 400,
    details: { limit, max: GRAPHQL_LIMITS[limit as keyof typeof GRAPHQL_LIMITS] },
    requestId: answer.headers.get('x-request-id'),
  });
}

// ---- The attacks, each a document for a query (over HTTP) or a subscription (over graphql-ws). ----

type Door = 'http' | 'ws';
/** The root of an operation through each door, and the type it returns (with an `id` field). */
const root = (door: Door) =>
  door === 'http'
    ? { op: 'query', field: 'partners', type: 'Partner' }
    : {
        op: 'subscription',
        field: `processRequestProgress(clientId: "${team.partner.id}")`,
        type: 'ProgressEvent',
      };

/** The issue's bomb: each fragment spreads the next twice, 22 levels, under 1 KB. */
function fragmentBomb(door: Door, levels = 22): string {
  const { op, field, type } = root(door);
  let doc = `${op} Bomb { ${field} { ...F0 } }\n`;
  for (let i = 0; i < levels; i++) doc += `fragment F${i} on ${type} { ...F${i + 1} ...F${i + 1} }\n`;
  return `${doc}fragment F${levels} on ${type} { id }\n`;
}

/** The same doubling, each level one deeper (fields that do not exist: the limits come before that check). */
function deepBomb(door: Door, levels = 25): string {
  const { op, field, type } = root(door);
  let doc = `${op} Deep { ${field} { ...D0 } }\n`;
  for (let i = 0; i < levels; i++)
    doc += `fragment D${i} on ${type} { a { ...D${i + 1} } b { ...D${i + 1} } }\n`;
  return `${doc}fragment D${levels} on ${type} { id }\n`;
}

const ATTACKS: Array<{
  name: string;
  doc: (door: Door) => string;
  code: string;
  limit: keyof typeof GRAPHQL_LIMITS;
}> = [
  {
    name: 'fragment bomb (2^22 fields from 22 fragments)',
    doc: fragmentBomb,
    code: 'QUERY_TOO_COMPLEX',
    limit: 'fields',
  },
  { name: 'deep fragment bomb (25 levels, doubling)', doc: deepBomb, code: 'QUERY_TOO_DEEP', limit: 'depth' },
  {
    name: 'nested 12 levels without fragments',
    doc: (door) => {
      const { op, field } = root(door);
      return `${op} { ${field} { ${'a { '.repeat(11)}id${' }'.repeat(11)} } }`;
    },
    code: 'QUERY_TOO_DEEP',
    limit: 'depth',
  },
  {
    name: 'wide: the same field 150 times (300 fields)',
    doc: (door) => {
      const { op, field } = root(door);
      return `${op} { ${`${field} { id } `.repeat(150)} }`;
    },
    code: 'QUERY_TOO_COMPLEX',
    limit: 'fields',
  },
  {
    name: '31 aliases',
    doc: (door) => {
      const { op, field } = root(door);
      return `${op} { ${field} { ${Array.from({ length: 31 }, (_, i) => `a${i}: id`).join(' ')} } }`;
    },
    code: 'QUERY_TOO_COMPLEX',
    limit: 'aliases',
  },
  {
    name: '21 directives',
    doc: (door) => {
      const { op, field } = root(door);
      return `${op} { ${field} { ${'id @skip(if: false) '.repeat(21)} } }`;
    },
    code: 'QUERY_TOO_COMPLEX',
    limit: 'directives',
  },
  {
    name: '2,500 tokens',
    doc: (door) => {
      const { op, field } = root(door);
      return `${op} { ${field} { ${'id '.repeat(2500)} } }`;
    },
    code: 'QUERY_TOO_LARGE',
    limit: 'tokens',
  },
  {
    name: '20,000 bytes (a long comment: comments are not tokens)',
    doc: (door) => {
      const { op, field } = root(door);
      return `# ${'x'.repeat(20_000)}\n${op} { ${field} { id } }`;
    },
    code: 'QUERY_TOO_LARGE',
    limit: 'bytes',
  },
];

describe('over HTTP: refused quickly with a code, the victim unharmed', () => {
  test.each(ATTACKS)('$name', async ({ name, doc, code, limit }) => {
    const query = doc('http');
    const { result, victimMs, stallMs } = await underAttack(`HTTP ${name}`, () =>
      graphql(attacker, { query }),
    );
    expectRefused(result, code, limit);
    expect(result.ms).toBeLessThan(QUICK_MS);
    expect(victimMs).toBeLessThan(QUICK_MS);
    expect(stallMs).toBeLessThan(STALL_MS);
  });

  test("the fragment bomb is the issue's: under 1 KB, and its message says how far it expands", async () => {
    const query = fragmentBomb('http');
    expect(Buffer.byteLength(query)).toBeLessThan(1024);
    const res = await graphql(attacker, { query });
    // 2^22 copies of `id`, plus `partners`.
    expect(res.body.errors![0].message).toBe(
      'The document expands to 4194305 fields; at most 200 are allowed',
    );
  });

  test('variables nested 6,000 deep are QUERY_TOO_DEEP over HTTP and graphql-ws', async () => {
    // Written as text: the test's own JSON.stringify would overflow on it, as the server's once did.
    const nested = `${'['.repeat(6000)}${']'.repeat(6000)}`;
    const query = `query($x: [ProcessRequestStatus!]) { processRequests(clientId: "${team.partner.id}", status: $x) { total } }`;
    const res = await fetch(`${world.baseUrl}/graphql`, {
      method: 'POST',
      headers: { ...attacker, 'content-type': 'application/json' },
      body: `{"query":${JSON.stringify(query)},"variables":{"x":${nested}}}`,
    });
    const body = (await res.json()) as Answer['body'];
    expect([res.status, body.errors?.[0].extensions]).toEqual([
      400,
      expect.objectContaining({
        code: 'QUERY_TOO_DEEP',
        details: { limit: 'variablesDepth', max: GRAPHQL_LIMITS.variablesDepth },
      }),
    ]);

    const { socket, messages } = await openSocket(world.baseUrl, attacker);
    const subscription = `subscription($x: ID) { processRequestProgress(clientId: "${team.partner.id}", lastEventId: $x) { id } }`;
    socket.send(
      `{"id":"1","type":"subscribe","payload":{"query":${JSON.stringify(subscription)},"variables":{"x":${nested}}}}`,
    );
    await until(() => messages.some((m) => m.id === '1'));
    expect(messages.find((m) => m.id === '1')).toMatchObject({
      type: 'error',
      payload: [
        { extensions: { code: 'QUERY_TOO_DEEP', status: 400, details: { limit: 'variablesDepth' } } },
      ],
    });
    socket.close();
  });

  test('variables over 64 KiB of JSON are QUERY_TOO_LARGE', async () => {
    const query = 'query($c: ID!) { partnerBalance(clientId: $c) { available } }';
    const variables = { c: team.partner.id, padding: 'x'.repeat(GRAPHQL_LIMITS.variablesBytes) };
    const { result, victimMs } = await underAttack('HTTP variables over 64 KiB', () =>
      graphql(attacker, { query, variables }),
    );
    expectRefused(result, 'QUERY_TOO_LARGE', 'variablesBytes');
    expect(result.body.errors![0].extensions.details).toMatchObject({
      actual: Buffer.byteLength(JSON.stringify(variables)),
    });
    expect(victimMs).toBeLessThan(QUICK_MS);
    // Just under the limit, the same operation runs.
    variables.padding = 'x'.repeat(1000);
    const ok = await graphql(attacker, { query, variables });
    expect(ok.body.data).toEqual({ partnerBalance: { available: `${APPROVED}.00` } });
  });

  test('at the limits a document passes: 30 aliases, 20 directives, depth 8', async () => {
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: id`).join(' ');
    const directives = 'name @include(if: true) '.repeat(20);
    const query = `{ me { ${aliases} ${directives} }
      __schema { types { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } }`;
    const res = await graphql(attacker, { query });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.me).toMatchObject({ a0: team.viewer.id, a29: team.viewer.id });
  });

  test('a fragment cycle is refused by graphql, quickly (each fragment is measured once)', async () => {
    const query = `{ me { ...A } } fragment A on CurrentOperator { id ...B } fragment B on CurrentOperator { name ...A }`;
    const res = await graphql(attacker, { query });
    expect(res.status).toBe(400);
    expect(res.body.errors![0]).toMatchObject({
      message: expect.stringMatching(/Cannot spread fragment "A" within itself/),
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    expect(res.ms).toBeLessThan(QUICK_MS);
  });
});

describe('over graphql-ws: the same limits on subscribe', () => {
  /** Subscribes on a fresh socket and returns the server's first answer to it, timed from the subscribe. */
  async function subscribe(query: string) {
    const { socket, messages } = await openSocket(world.baseUrl, attacker);
    const started = performance.now();
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    await until(() => messages.some((m) => m.id === '1'));
    const ms = performance.now() - started;
    socket.close();
    return { message: messages.find((m) => m.id === '1')!, ms };
  }

  test.each(ATTACKS)('$name', async ({ name, doc, code, limit }) => {
    const query = doc('ws');
    const { result, victimMs, stallMs } = await underAttack(`graphql-ws ${name}`, () => subscribe(query));
    expect(result.message).toMatchObject({
      type: 'error',
      payload: [{ extensions: { code, status: 400, details: { limit, max: GRAPHQL_LIMITS[limit] } } }],
    });
    expect(result.ms).toBeLessThan(QUICK_MS);
    expect(victimMs).toBeLessThan(QUICK_MS);
    expect(stallMs).toBeLessThan(STALL_MS);
  });

  test('a subscription within the limits is still served', async () => {
    const watcher = watchProgress(world.baseUrl, attacker, team.partner.id);
    await until(() => world.app.progress.openStreams === 1);
    expect(watcher.error).toBeUndefined();
    await watcher.dispose();
    await until(() => world.app.progress.openStreams === 0);
  });
});

describe('the cost budget', () => {
  const PAGE_WITH_HISTORY = (aliases: number, limit = '100') =>
    `query Wide($c: ID!${limit === '$n' ? ', $n: Int' : ''}) { ${Array.from(
      { length: aliases },
      (_, i) => `a${i}: processRequests(clientId: $c, limit: ${limit}) { items { history { id } } }`,
    ).join(' ')} }`;

  test("the issue's attack (5 parallel queries of 40 aliases of a page of 100 with history) is refused at once", async () => {
    const { result, victimMs, stallMs } = await underAttack(
      'HTTP 5 parallel × 40 aliases of a page of 100 with history',
      () =>
        Promise.all(
          Array.from({ length: 5 }, () =>
            graphql(attacker, { query: PAGE_WITH_HISTORY(40), variables: { c: team.partner.id } }),
          ),
        ),
    );
    // Five in parallel from one operator: at most 4 run; the others are told to retry.
    const refusals = result.map((r) => r.body.errors?.[0].extensions.code).sort();
    expect(refusals.filter((c) => c === 'QUERY_TOO_COMPLEX').length).toBeGreaterThanOrEqual(4);
    expect(refusals.every((c) => c === 'QUERY_TOO_COMPLEX' || c === 'TOO_MANY_OPERATIONS')).toBe(true);
    for (const r of result) expect(r.ms).toBeLessThan(QUICK_MS);
    expect(victimMs).toBeLessThan(QUICK_MS);
    expect(stallMs).toBeLessThan(STALL_MS);
  });

  test('a page of 100 with history costs 501 objects: 5 such pages fit in 3,000, 6 do not', async () => {
    const variables = { c: team.partner.id };
    const six = await graphql(attacker, { query: PAGE_WITH_HISTORY(6), variables });
    expectRefused(six, 'QUERY_TOO_COMPLEX', 'cost');
    expect(six.body.errors![0]).toMatchObject({
      message: 'The operation may return 3006 objects; at most 3000 are allowed',
      extensions: { details: { actual: 3006 } },
    });
    const five = await graphql(attacker, { query: PAGE_WITH_HISTORY(5), variables });
    expect(five.body.errors).toBeUndefined();
    expect(Object.keys(five.body.data!)).toHaveLength(5);
    expect((five.body.data!.a4 as { items: unknown[] }).items).toHaveLength(REQUESTS);
  });

  test('a limit given by a variable counts as the largest page, a literal as itself', async () => {
    const variables = { c: team.partner.id, n: 1 };
    const byVariable = await graphql(attacker, { query: PAGE_WITH_HISTORY(6, '$n'), variables });
    expectRefused(byVariable, 'QUERY_TOO_COMPLEX', 'cost');
    const literal = await graphql(attacker, { query: PAGE_WITH_HISTORY(6, '1'), variables });
    expect(literal.body.errors).toBeUndefined();
    expect((literal.body.data!.a5 as { items: unknown[] }).items).toHaveLength(1);
  });

  test('allProcessRequests costs more than half the budget whatever it holds: a document holds one', async () => {
    const all = (n: number) =>
      Array.from({ length: n }, (_, i) => `a${i}: allProcessRequests(clientId: $c) { id }`).join(' ');
    const variables = { c: team.partner.id };
    const one = await graphql(attacker, { query: `query($c: ID!) { ${all(1)} }`, variables });
    expect(one.body.errors).toBeUndefined();
    expect((one.body.data!.a0 as unknown[]).length).toBe(REQUESTS);
    const two = await graphql(attacker, { query: `query($c: ID!) { ${all(2)} }`, variables });
    expectRefused(two, 'QUERY_TOO_COMPLEX', 'cost');
    expect(two.body.errors![0].extensions.details).toMatchObject({ actual: 3002 });
  });

  describe('a statement counts 8 entries a day of its period', () => {
    const DAY_MS = 24 * 3600 * 1000;
    const today = new Date().toISOString().slice(0, 10);
    const daysAgo = (n: number) => new Date(Date.now() - n * DAY_MS).toISOString().slice(0, 10);
    const yearAgo = daysAgo(364);
    const statements = (n: number, from: string, to: string) =>
      Array.from(
        { length: n },
        (_, i) =>
          `a${i}: statement(clientId: "${team.partner.id}", from: ${from}, to: ${to}) { entries { amount at balanceAfter processRequestId } }`,
      ).join(' ');

    test('29 aliases of a year are refused before anything reads the ledger', async () => {
      const { sql, result } = await statementsOf(world, () =>
        graphql(attacker, { query: `{ ${statements(29, '"2025-12-07"', '"2026-12-06"')} }` }),
      );
      expectRefused(result, 'QUERY_TOO_COMPLEX', 'cost');
      // 365 days: 29 × (1 + 365 × 8).
      expect(result.body.errors![0].extensions.details).toMatchObject({ actual: 84_709 });
      expect(sql.filter((q) => /\bledger_entry\b/.test(q))).toEqual([]);
    });

    test("a year's statement is served, and with it a small object; ten days more are refused", async () => {
      const year = await graphql(attacker, {
        query: `{ ${statements(1, `"${yearAgo}"`, `"${today}"`)} me { id } }`,
      });
      expect(year.body.errors).toBeUndefined();
      expect((year.body.data!.a0 as { entries: unknown[] }).entries).toHaveLength(APPROVED);
      const more = await graphql(attacker, {
        query: `{ ${statements(1, `"${yearAgo}"`, `"${today}"`)} b: statement(clientId: "${team.partner.id}", from: "${daysAgo(9)}", to: "${today}") { entries { amount } } }`,
      });
      expectRefused(more, 'QUERY_TOO_COMPLEX', 'cost');
      expect(more.body.errors![0].extensions.details).toMatchObject({ actual: 2_921 + 81 });
    });

    test('a period given by variables counts as the longest: two such statements are refused', async () => {
      const variables = { f: yearAgo, t: today };
      const query = (n: number) => `query($f: String!, $t: String!) { ${statements(n, '$f', '$t')} }`;
      const one = await graphql(attacker, { query: query(1), variables });
      expect(one.body.errors).toBeUndefined();
      const two = await graphql(attacker, { query: query(2), variables });
      expectRefused(two, 'QUERY_TOO_COMPLEX', 'cost');
      expect(two.body.errors![0].extensions.details).toMatchObject({ actual: 2 * (1 + 366 * 8) });
    });
  });
});

describe('history is read in one statement per page', () => {
  /** The SQL statements the app sends while `run` runs. */
  const statements = async (run: () => Promise<unknown>) => (await statementsOf(world, run)).sql;

  test('a page of 100 with history: one statement more than without, and the right events', async () => {
    const variables = { c: team.partner.id };
    let page: Answer | undefined;
    const withHistory = await statements(async () => {
      page = await graphql(attacker, {
        query: `query($c: ID!) { processRequests(clientId: $c, limit: 100) { items { id status history { type actorId } } } }`,
        variables,
      });
    });
    const without = await statements(() =>
      graphql(attacker, {
        query: `query($c: ID!) { processRequests(clientId: $c, limit: 100) { items { id status } } }`,
        variables,
      }),
    );
    expect(withHistory.length).toBe(without.length + 1);
    expect(withHistory.filter((sql) => sql.includes('process_request_event'))).toHaveLength(1);
    expect(withHistory.length).toBeLessThanOrEqual(8);

    const items = (page!.body.data!.processRequests as { items: Array<Record<string, unknown>> }).items;
    expect(items).toHaveLength(REQUESTS);
    const created = { type: 'CREATED', actorId: team.maker.id };
    const approved = { type: 'APPROVED', actorId: team.checker.id };
    for (const item of items) {
      expect(item.history).toEqual(item.status === 'APPROVED' ? [created, approved] : [created]);
    }
    expect(items.filter((i) => i.status === 'APPROVED')).toHaveLength(APPROVED);
  });

  test('five pages of the same requests in one operation read each history once', async () => {
    const query = `query($c: ID!) { ${Array.from(
      { length: 5 },
      (_, i) => `a${i}: processRequests(clientId: $c, limit: 100) { items { history { id } } }`,
    ).join(' ')} }`;
    const sql = await statements(() => graphql(attacker, { query, variables: { c: team.partner.id } }));
    expect(sql.filter((s) => s.includes('process_request_event'))).toHaveLength(1);
  });

  test('the batch keeps history partner-scoped', async () => {
    const other = await world.team('Other');
    const theirs = await world.createInProcess(other.partner.id, other.maker);
    const ctx = { em: world.app.orm.em.fork(), operator: team.viewer, log: world.app.log };
    const { queries } = world.app.services;
    await expect(queries.historyOf(ctx, [{ id: theirs, partnerId: other.partner.id }])).rejects.toMatchObject(
      {
        code: 'PARTNER_FORBIDDEN',
      },
    );
    // Their request named under a partner the operator may read: no event of theirs comes back.
    expect(await queries.historyOf(ctx, [{ id: theirs, partnerId: team.partner.id }])).toEqual([[]]);
  });
});

describe('operations in flight per operator', () => {
  const CREATE = `mutation($c: ID!, $input: CreateProcessRequestInput!, $file: Upload!) {
    createProcessRequest(clientId: $c, input: $input, evidence: $file) { id status } }`;
  const BOUNDARY = '----graphql-dos-test';
  const FILE = pdfOfSize(4096);
  /** Sent at once: enough of the file for an EVIDENCE_UPLOADING event, which shows the operation running. */
  const FIRST = 3072;

  /** A multipart create whose file is only partly sent until `finish` is called: the operation stays in flight. */
  function heldCreate(headers: Record<string, string>) {
    const operations = JSON.stringify({
      query: CREATE,
      variables: { c: team.partner.id, input: { requestedAmount: '1' }, file: null },
    });
    const part = (name: string, extra = '') =>
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n`;
    const head = Buffer.from(
      `${part('operations')}\r\n${operations}\r\n${part('map')}\r\n{"0":["variables.file"]}\r\n` +
        `${part('0', '; filename="receipt.pdf"')}Content-Type: application/pdf\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    const request = http.request(`${world.baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        ...headers,
        'apollo-require-preflight': 'true',
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
        'content-length': String(head.length + FILE.length + tail.length),
      },
    });
    const response = new Promise<{ status: number; body: Answer['body'] }>((resolve, reject) => {
      request.once('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      request.once('error', reject);
    });
    request.write(Buffer.concat([head, FILE.subarray(0, FIRST)]));
    return { response, finish: () => request.end(Buffer.concat([FILE.subarray(FIRST), tail])) };
  }

  test('a fifth operation of one operator is 429 with Retry-After; other operators are served', async () => {
    const maker = await world.headers(team.maker);
    const me = { query: '{ me { id } }' };
    const watcher = watchProgress(world.baseUrl, attacker, team.partner.id);
    await until(() => world.app.progress.openStreams === 1);
    const held = Array.from({ length: 4 }, () => heldCreate(maker));
    // Each upload has reached its resolver (an EVIDENCE_UPLOADING event): four operations are running.
    const uploading = () =>
      new Set(watcher.events.filter((e) => e.type === 'EVIDENCE_UPLOADING').map((e) => e.processRequestId));
    await until(() => uploading().size === 4, 10_000);

    const refused = await graphql(maker, me);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toEqual({
      errors: [
        {
          message: 'This operator already has as many calls running as allowed (4); retry shortly',
          extensions: {
            code: 'TOO_MANY_OPERATIONS',
            status: 429,
            details: { max: 4 },
            retryAfter: 1,
            requestId: refused.headers.get('x-request-id'),
          },
        },
      ],
    });
    // Other operators are not affected.
    const other = await graphql(attacker, me);
    expect(other.body.data).toEqual({ me: { id: team.viewer.id } });

    for (const h of held) h.finish();
    const created = await Promise.all(held.map((h) => h.response));
    for (const c of created)
      expect(c.body.data).toMatchObject({ createProcessRequest: { status: 'PENDING' } });
    // The places are given back when the operations end.
    const again = await graphql(maker, me);
    expect(again.body.data).toEqual({ me: { id: team.maker.id } });
    await watcher.dispose();
  });
});

describe('persisted queries and suggestions', () => {
  test('an automatic persisted query whose hash does not match is a 400 with a code, not a 500', async () => {
    const query = '{ me { id } }';
    const res = await graphql(attacker, {
      query,
      extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        message: 'provided sha does not match query',
        extensions: { code: 'BAD_REQUEST', status: 400, requestId: res.headers.get('x-request-id') },
      },
    ]);
    // With the right hash it is registered, then served by hash alone.
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const persisted = { persistedQuery: { version: 1, sha256Hash } };
    expect((await graphql(attacker, { query, extensions: persisted })).body.data).toEqual({
      me: { id: team.viewer.id },
    });
    expect((await graphql(attacker, { extensions: persisted })).body.data).toEqual({
      me: { id: team.viewer.id },
    });
  });

  /** A wrong field, a wrong enum literal and a wrong enum variable: each message would suggest a name. */
  async function wrongNames(target: World, headers: Record<string, string>, partnerId: string) {
    const field = await target.http.post('/graphql').set(headers).send({ query: '{ me { emial } }' });
    const literal = await target.http
      .post('/graphql')
      .set(headers)
      .send({ query: `{ processRequests(clientId: "${partnerId}", status: [PENDIN]) { total } }` });
    const variable = await target.http
      .post('/graphql')
      .set(headers)
      .send({
        query:
          'query($c: ID!, $s: [ProcessRequestStatus!]) { processRequests(clientId: $c, status: $s) { total } }',
        variables: { c: partnerId, s: ['PENDIN'] },
      });
    return [field, literal, variable].map((r) => ({
      status: r.status,
      code: r.body.errors[0].extensions.code,
      message: r.body.errors[0].message as string,
    }));
  }

  test('with introspection on, graphql suggests names', async () => {
    const answers = await wrongNames(world, attacker, team.partner.id);
    expect(answers.map((a) => a.code)).toEqual([
      'GRAPHQL_VALIDATION_FAILED',
      'GRAPHQL_VALIDATION_FAILED',
      'BAD_USER_INPUT',
    ]);
    for (const a of answers) expect(a.message).toMatch(/Did you mean/);
  });

  describe('with GRAPHQL_INTROSPECTION=false', () => {
    let closed: World;
    beforeAll(async () => {
      closed = await createWorld({ GRAPHQL_INTROSPECTION: 'false' });
    });
    afterAll(() => closed?.close());

    test('no error names a field or value through a suggestion, over HTTP or WebSocket', async () => {
      const partner = await closed.partner('Hidden', 'USD');
      const headers = await closed.headers(await closed.operator(['VIEWER'], [partner.id]));
      const answers = await wrongNames(closed, headers, partner.id);
      expect(answers).toEqual([
        {
          status: 400,
          code: 'GRAPHQL_VALIDATION_FAILED',
          message: 'Cannot query field "emial" on type "CurrentOperator".',
        },
        {
          status: 400,
          code: 'GRAPHQL_VALIDATION_FAILED',
          message: 'Value "PENDIN" does not exist in "ProcessRequestStatus" enum.',
        },
        {
          status: 400,
          code: 'BAD_USER_INPUT',
          message: expect.stringMatching(
            /^Variable "\$s" got invalid value "PENDIN" at "s\[0\]"; Value "PENDIN" does not exist in "ProcessRequestStatus" enum\.$/,
          ),
        },
      ]);

      const { socket, messages } = await openSocket(closed.baseUrl, headers);
      const query = `subscription { processRequestProgress(clientId: "${partner.id}") { typ } }`;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
      await until(() => messages.some((m) => m.id === '1'));
      socket.close();
      expect(messages.find((m) => m.id === '1')).toMatchObject({
        type: 'error',
        payload: [
          {
            message: 'Cannot query field "typ" on type "ProgressEvent".',
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          },
        ],
      });
    });
  });
});
