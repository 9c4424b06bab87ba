// Statements (SPEC section 19) over real HTTP and GraphQL: credits, a rejection, a reversal (a debit) and
// empty periods; JSON, CSV and camt.053 agreeing with each other and with the ledger; UTC day boundaries;
// bad periods; another partner; the balance at an instant.
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import { PartnerBalanceAtDocument, StatementDocument } from './generated/graphql';
import { fileReversal } from './support/lifecycle';
import { createWorld, type Team, type World } from './support/world';

let world: World;
let team: Team;
let ids: { first: string; second: string; rejected: string; reversal: string };

/** The booking times the ledger entries are moved to: both edges of 1 March and the first instant of 2 March. */
const T = {
  first: '2026-03-01T00:00:00.000Z',
  second: '2026-03-01T23:59:59.999Z',
  reversal: '2026-03-02T00:00:00.000Z',
};

beforeAll(async () => {
  world = await createWorld();
  team = await world.team('Ledger Co');
  const { partner, maker, checker } = team;
  const approve = async (id: string) =>
    expect((await world.act(partner.id, id, 'approve', checker)).status).toBe(204);
  const first = await world.createInProcess(partner.id, maker, '100.00');
  await approve(first);
  const second = await world.createInProcess(partner.id, maker, '250.50');
  await approve(second);
  const rejected = await world.createInProcess(partner.id, maker, '40.00');
  expect((await world.act(partner.id, rejected, 'reject', checker)).status).toBe(204);
  const filed = await fileReversal(world, partner.id, first, maker, { reason: 'Recalled by the bank' });
  expect(filed.status).toBe(201);
  const reversal = filed.body.id as string;
  await approve(reversal);
  ids = { first, second, rejected, reversal };
  // Booked on fixed days, in the order they were booked, so the periods below are known exactly.
  for (const [key, at] of Object.entries(T)) {
    await world.sql('update ledger_entry set created_at = ? where process_request_id = ?', [
      at,
      ids[key as keyof typeof T],
    ]);
  }
});
afterAll(() => world?.close());

const statementUrl = (from: string, to: string, extra = '') =>
  `${world.rest(team.partner.id)}/statement?from=${from}&to=${to}${extra}`;

async function json(from: string, to: string) {
  const res = await world.http.get(statementUrl(from, to)).set(await world.headers(team.viewer));
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
  return res;
}

/** The ledger's own rows for the partner, in booking order. */
const ledger = () =>
  world.sql<{ process_request_id: string; amount: string; balance_after: string; at: Date }>(
    `select process_request_id, amount::text, balance_after::text, created_at as at from ledger_entry
      where client_balance_id = ? order by created_at, id`,
    [team.partner.balanceId],
  );

describe('GET /statement (JSON)', () => {
  test('credits, a reversal (debit) and no entry for the rejection; opening + entries = closing; exact numbers', async () => {
    const res = await json('2026-03-01', '2026-03-02');
    expect(res.body).toEqual({
      clientId: team.partner.id,
      currency: 'USD',
      from: '2026-03-01',
      to: '2026-03-02',
      openingBalance: 0,
      closingBalance: 250.5,
      entries: [
        {
          at: T.first,
          amount: 100,
          balanceAfter: 100,
          processRequestId: ids.first,
          processTypeId: 1,
          direction: 'CREDIT',
        },
        {
          at: T.second,
          amount: 250.5,
          balanceAfter: 350.5,
          processRequestId: ids.second,
          processTypeId: 1,
          direction: 'CREDIT',
        },
        {
          at: T.reversal,
          amount: -100,
          balanceAfter: 250.5,
          processRequestId: ids.reversal,
          processTypeId: 2,
          direction: 'DEBIT',
        },
      ],
    });
    // The JSON numbers are written from the exact decimals, with the currency's digits.
    expect(res.text).toContain('"openingBalance":0.00,"closingBalance":250.50');
    expect(res.text).toContain('"amount":-100.00,"balanceAfter":250.50');
    expect(res.body.entries.map((e: { processRequestId: string }) => e.processRequestId)).not.toContain(
      ids.rejected,
    );
  });

  test('UTC day boundaries: the first and the last millisecond of a day are in it, the next one is not', async () => {
    const march1 = (await json('2026-03-01', '2026-03-01')).body;
    expect(march1.entries.map((e: { at: string }) => e.at)).toEqual([T.first, T.second]);
    expect([march1.openingBalance, march1.closingBalance]).toEqual([0, 350.5]);
    const march2 = (await json('2026-03-02', '2026-03-02')).body;
    expect(march2.entries.map((e: { at: string }) => e.at)).toEqual([T.reversal]);
    expect([march2.openingBalance, march2.closingBalance]).toEqual([350.5, 250.5]);
  });

  test('empty periods: before any entry (all zero) and after the last (opening = closing = the balance)', async () => {
    expect((await json('2026-02-01', '2026-02-28')).body).toMatchObject({
      openingBalance: 0,
      closingBalance: 0,
      entries: [],
    });
    expect((await json('2026-04-01', '2026-04-30')).body).toMatchObject({
      openingBalance: 250.5,
      closingBalance: 250.5,
      entries: [],
    });
  });

  test('agrees with the ledger: entries, balances after, and the closing balance = Σ ledger = available', async () => {
    const body = (await json('2026-01-01', '2026-12-31')).body;
    const rows = await ledger();
    expect(
      body.entries.map((e: Record<string, unknown>) => [
        e.processRequestId,
        String(e.amount),
        String(e.balanceAfter),
      ]),
    ).toEqual(
      rows.map((r) => [r.process_request_id, String(Number(r.amount)), String(Number(r.balance_after))]),
    );
    const [{ available }] = await world.sql<{ available: string }>(
      'select available::text from client_balance where id = ?',
      [team.partner.balanceId],
    );
    expect(available).toBe('250.5000');
    expect(body.closingBalance).toBe(250.5);
  });
});

interface CamtEntry {
  Amt: { '#text': string; '@_Ccy': string };
  CdtDbtInd: string;
  Sts: { Cd: string };
  BookgDt: { DtTm: string };
  BkTxCd: { Prtry: { Cd: string } };
  NtryDtls: { TxDtls: { Refs: { EndToEndId: string } } };
}

describe('the three formats agree', () => {
  test('JSON, CSV (format=csv and Accept: text/csv) and camt.053 carry the same balances and entries', async () => {
    const headers = await world.headers(team.viewer);
    const [from, to] = ['2026-03-01', '2026-03-31'];
    const body = (await json(from, to)).body;

    const csv = await world.http.get(statementUrl(from, to, '&format=csv')).set(headers);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="statement-.*\.csv"$/);
    const byAccept = await world.http.get(statementUrl(from, to)).set({ ...headers, accept: 'text/csv' });
    expect(byAccept.text).toBe(csv.text);
    // RFC 4180: every record ends with CRLF.
    expect(csv.text.endsWith('\r\n')).toBe(true);
    expect(csv.text.split('\r\n').length).toBe(2 + 1 + 3 + 1);
    const records = parseCsv(csv.text, { relax_column_count: true }) as string[][];
    expect(records[0]).toEqual(['clientId', 'currency', 'from', 'to', 'openingBalance', 'closingBalance']);
    expect(records[1]).toEqual([team.partner.id, 'USD', from, to, '0.00', '250.50']);
    expect(records[2]).toEqual([
      'at',
      'amount',
      'balanceAfter',
      'processRequestId',
      'processTypeId',
      'direction',
    ]);
    // A debit is a number: written "-100.00", never prefixed as a formula would be.
    expect(records.slice(3)).toEqual(
      body.entries.map((e: Record<string, number | string>) => [
        e.at,
        Number(e.amount).toFixed(2),
        Number(e.balanceAfter).toFixed(2),
        e.processRequestId,
        String(e.processTypeId),
        e.direction,
      ]),
    );

    const xml = await world.http.get(statementUrl(from, to, '&format=camt053')).set(headers);
    expect(xml.status).toBe(200);
    expect(xml.headers['content-type']).toMatch(/^application\/xml/);
    const byXmlAccept = await world.http
      .get(statementUrl(from, to))
      .set({ ...headers, accept: 'application/xml' });
    expect(byXmlAccept.headers['content-type']).toMatch(/^application\/xml/);
    const doc = new XMLParser({
      ignoreAttributes: false,
      parseTagValue: false,
      isArray: (name) => ['Bal', 'Ntry'].includes(name),
    }).parse(xml.text);
    expect(doc.Document['@_xmlns']).toBe('urn:iso:std:iso:20022:tech:xsd:camt.053.001.08');
    const { GrpHdr, Stmt } = doc.Document.BkToCstmrStmt;
    expect(GrpHdr.MsgId).toMatch(/^[0-9a-f]{32}$/);
    expect(Date.parse(GrpHdr.CreDtTm)).not.toBeNaN();
    expect(Stmt.Id.length).toBeLessThanOrEqual(35);
    expect(Stmt.FrToDt).toEqual({ FrDtTm: `${from}T00:00:00.000Z`, ToDtTm: `${to}T23:59:59.999Z` });
    expect(Stmt.Acct).toEqual({
      Id: { Othr: { Id: team.partner.id.replace(/-/g, ''), SchmeNm: { Prtry: 'PARTNER_ID' } } },
      Ccy: 'USD',
    });
    expect(Stmt.Bal).toEqual([
      {
        Tp: { CdOrPrtry: { Cd: 'OPBD' } },
        Amt: { '#text': '0.00', '@_Ccy': 'USD' },
        CdtDbtInd: 'CRDT',
        Dt: { Dt: from },
      },
      {
        Tp: { CdOrPrtry: { Cd: 'CLBD' } },
        Amt: { '#text': '250.50', '@_Ccy': 'USD' },
        CdtDbtInd: 'CRDT',
        Dt: { Dt: to },
      },
    ]);
    expect(Stmt.TxsSummry).toEqual({
      TtlCdtNtries: { NbOfNtries: '2', Sum: '350.50' },
      TtlDbtNtries: { NbOfNtries: '1', Sum: '100.00' },
    });
    const entries = Stmt.Ntry as CamtEntry[];
    expect(entries.map((n) => Object.keys(n))).toEqual(
      entries.map(() => ['Amt', 'CdtDbtInd', 'Sts', 'BookgDt', 'ValDt', 'BkTxCd', 'NtryDtls']),
    );
    expect(
      entries.map((n) => [
        n.BookgDt.DtTm,
        (n.CdtDbtInd === 'DBIT' ? '-' : '') + n.Amt['#text'],
        n.Amt['@_Ccy'],
        n.Sts.Cd,
        n.NtryDtls.TxDtls.Refs.EndToEndId,
        n.BkTxCd.Prtry.Cd,
      ]),
    ).toEqual(
      body.entries.map((e: Record<string, number | string>) => [
        e.at,
        Number(e.amount).toFixed(2),
        'USD',
        'BOOK',
        String(e.processRequestId).replace(/-/g, ''),
        e.processTypeId === 2 ? 'BALANCE_REVERSAL' : 'BALANCE_INCREASE',
      ]),
    );
    // The camt.053 sums agree too: opening + credits - debits = closing.
    expect(0 + 350.5 - 100).toBe(Number(Stmt.Bal[1].Amt['#text']));
  });

  test('GraphQL statement is the REST statement', async () => {
    const rest = (await json('2026-03-01', '2026-03-02')).body;
    const result = await world.gql(team.viewer, StatementDocument, {
      clientId: team.partner.id,
      from: '2026-03-01',
      to: '2026-03-02',
    });
    expect(result.errors).toBeUndefined();
    const gql = result.data!.statement;
    expect([gql.openingBalance, gql.closingBalance]).toEqual(['0.00', '250.50']);
    expect(
      gql.entries.map((e) => [
        e.at,
        e.amount,
        e.balanceAfter,
        e.processRequestId,
        e.processTypeId,
        e.direction,
      ]),
    ).toEqual(
      rest.entries.map((e: Record<string, number | string>) => [
        e.at,
        Number(e.amount).toFixed(2),
        Number(e.balanceAfter).toFixed(2),
        e.processRequestId,
        e.processTypeId,
        e.direction,
      ]),
    );
  });
});

describe('refusals', () => {
  test.each([
    ['a day that does not exist', 'from=2026-02-30&to=2026-03-01', 'from'],
    ['29 February of a common year', 'from=2026-02-01&to=2026-02-29', 'to'],
    ['a reversed range', 'from=2026-03-02&to=2026-03-01', 'to'],
    ['367 days', 'from=2025-01-01&to=2026-01-02', 'to'],
    ['a missing day', 'to=2026-03-01', 'from'],
    ['a date-time instead of a day', 'from=2026-03-01T00:00:00Z&to=2026-03-02', 'from'],
    ['an unknown format', 'from=2026-03-01&to=2026-03-02&format=pdf', 'format'],
  ])('%s is 400 VALIDATION_FAILED naming the field', async (_name, query, field) => {
    const res = await world.http
      .get(`${world.rest(team.partner.id)}/statement?${query}`)
      .set(await world.headers(team.viewer));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
  });

  test('366 days (a leap year) is accepted', async () => {
    const res = await world.http
      .get(statementUrl('2024-01-01', '2024-12-31'))
      .set(await world.headers(team.viewer));
    expect(res.status).toBe(200);
  });

  test("another partner's statement and balance are 403 PARTNER_FORBIDDEN on both doors", async () => {
    const other = await world.team('Other Co');
    const headers = await world.headers(other.viewer);
    for (const url of [
      statementUrl('2026-03-01', '2026-03-02'),
      `${world.rest(team.partner.id)}/balance?at=${T.first}`,
    ]) {
      const res = await world.http.get(url).set(headers);
      expect({ url, status: res.status, code: res.body.code }).toEqual({
        url,
        status: 403,
        code: 'PARTNER_FORBIDDEN',
      });
    }
    const gql = await world.gql(other.viewer, StatementDocument, {
      clientId: team.partner.id,
      from: '2026-03-01',
      to: '2026-03-02',
    });
    expect(gql.errors?.[0].extensions).toMatchObject({ code: 'PARTNER_FORBIDDEN', status: 403 });
    const bad = await world.gql(team.viewer, StatementDocument, {
      clientId: team.partner.id,
      from: '2026-02-30',
      to: '2026-03-02',
    });
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });
});

describe('GET /balance?at= and partnerBalance(at)', () => {
  const balanceAt = async (at: string) => {
    const res = await world.http
      .get(`${world.rest(team.partner.id)}/balance?at=${encodeURIComponent(at)}`)
      .set(await world.headers(team.viewer));
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
    return res.body;
  };

  test.each([
    ['before the first entry', '2026-02-28T23:59:59.999Z', 0],
    ['the instant of the first entry (included)', T.first, 100],
    ['the last millisecond of 1 March', T.second, 350.5],
    ['the same instant in another zone', '2026-03-02T00:59:59.999+01:00', 350.5],
    ['a day: its last instant', '2026-03-02', 250.5],
    ['now', new Date().toISOString(), 250.5],
  ])('%s', async (_name, at, available) => {
    const body = await balanceAt(at);
    expect(body).toMatchObject({ clientId: team.partner.id, currency: 'USD', available });
    expect(Date.parse(body.at)).not.toBeNaN();
  });

  test('updatedAt is the last booking by then; GraphQL answers the same', async () => {
    expect((await balanceAt('2026-03-01T12:00:00Z')).updatedAt).toBe(T.first);
    const result = await world.gql(team.viewer, PartnerBalanceAtDocument, {
      clientId: team.partner.id,
      at: '2026-03-01T12:00:00Z',
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!.partnerBalance).toMatchObject({
      available: '100.00',
      updatedAt: T.first,
      at: '2026-03-01T12:00:00.000Z',
    });
    const now = await world.gql(team.viewer, PartnerBalanceAtDocument, { clientId: team.partner.id });
    expect(now.data!.partnerBalance).toMatchObject({ available: '250.50', at: null });
  });

  test('a bad instant is 400 VALIDATION_FAILED', async () => {
    for (const at of ['yesterday', '2026-02-30T00:00:00Z', '2026-03-01T25:00:00Z']) {
      const res = await world.http
        .get(`${world.rest(team.partner.id)}/balance?at=${encodeURIComponent(at)}`)
        .set(await world.headers(team.viewer));
      expect({ at, status: res.status, code: res.body.code }).toEqual({
        at,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
  });
});

describe('a statement is one snapshot, streamed', () => {
  const ENTRIES = 4000;
  const DAY = 24 * 3600 * 1000;
  /** A period from 30 days ago to today (UTC), with the seeded entries in its first days. */
  const FROM = new Date(Date.now() - 30 * DAY).toISOString().slice(0, 10);
  const TODAY = new Date().toISOString().slice(0, 10);
  let busy: Team;

  beforeAll(async () => {
    busy = await world.team('Busy Co');
    // Volume in SQL: approved requests, each with its ledger entry (a minute apart from FROM) and the running
    // balance after it.
    const ids = await world.seedRequests(busy.partner.id, busy.maker, ENTRIES, '1.25');
    await world.sql(
      `update process_request set status = 'APPROVED', approval_count = 1 where client_id = ?`,
      [busy.partner.id],
    );
    await world.sql(
      `insert into ledger_entry (id, client_balance_id, process_request_id, amount, balance_after, created_at)
       select gen_random_uuid(), ?, r.id, 1.25, 1.25 * r.n, ?::timestamptz + r.n * interval '1 minute'
         from unnest(?::uuid[]) with ordinality as r(id, n)`,
      [busy.partner.balanceId, `${FROM}T00:00:00Z`, `{${ids.join(',')}}`],
    );
    await world.sql(`update client_balance set available = ? where id = ?`, [
      1.25 * ENTRIES,
      busy.partner.balanceId,
    ]);
  });

  const open = async (controller?: AbortController) => {
    const res = await fetch(
      `${world.baseUrl}${world.rest(busy.partner.id)}/statement?from=${FROM}&to=${TODAY}`,
      { headers: await world.headers(busy.viewer), signal: controller?.signal },
    );
    expect(res.status).toBe(200);
    return res.body!.getReader();
  };

  test('an approval booked while the statement is being read is in neither its entries nor its closing balance', async () => {
    const reader = await open();
    const chunks: Uint8Array[] = [(await reader.read()).value!];
    // The reader holds its snapshot; a top-up is approved and booked meanwhile.
    const id = await world.createInProcess(busy.partner.id, busy.maker, '1000.00');
    expect((await world.act(busy.partner.id, id, 'approve', busy.checker)).status).toBe(204);
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = JSON.parse(text);
    expect(body.entries).toHaveLength(ENTRIES);
    expect(body.entries.map((e: { processRequestId: string }) => e.processRequestId)).not.toContain(id);
    expect(text).toContain('"openingBalance":0.00,"closingBalance":5000.00');
    expect(body.entries[ENTRIES - 1].balanceAfter).toBe(5000);
    // The next statement has it.
    const after = await world.http
      .get(`${world.rest(busy.partner.id)}/statement?from=${FROM}&to=${TODAY}`)
      .set(await world.headers(busy.viewer));
    expect(after.status).toBe(200);
    expect(after.body.entries).toHaveLength(ENTRIES + 1);
    expect(after.text).toContain('"closingBalance":6000.00');
  });

  test('a client that goes away mid-statement gives its database connection back', async () => {
    // The statements' own sessions still in their transaction: the last statement read the statement's
    // cursor and the session is not back to idle, whether it waits between two fetches (idle in transaction)
    // or is fetching (active): a statement whose client has gone may take one more batch before the server
    // sees the socket closed, so a check that only counted idle sessions could pass between two of its fetches.
    // (Another session of the app in a transaction a moment, e.g. a background sweep, is not one.)
    const inTransaction = () =>
      world.sql<{ pid: number; query: string; state: string; since: string }>(
        `select pid, query, state, (now() - state_change)::text as since from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'
            and query ~ 'statement_rows'`,
      );
    // More abandoned statements than the pool has connections: a leak would exhaust it.
    for (let i = 0; i < world.app.config.dbPoolSize + 2; i++) {
      const controller = new AbortController();
      const reader = await open(controller);
      await reader.read();
      controller.abort();
    }
    const deadline = Date.now() + 15000;
    while ((await inTransaction()).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await inTransaction()).toEqual([]);
    const res = await world.http
      .get(`${world.rest(busy.partner.id)}/statement?from=${FROM}&to=${FROM}`)
      .set(await world.headers(busy.viewer));
    expect(res.status).toBe(200);
  });
});
