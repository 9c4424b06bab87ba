// The CSV exports of SPEC section 19 over real HTTP: requests (the list's filters) and history events,
// RFC 4180, no cell a spreadsheet runs as a formula, and streamed: rows are read from the database only as
// the client takes them.
import { parse as parseCsv } from 'csv-parse/sync';
import { PDF } from './support/files';
import { createWorld, type Team, type World } from './support/world';

let world: World;
let team: Team;

beforeAll(async () => {
  world = await createWorld();
  team = await world.team('Export Co');
});
afterAll(() => world?.close());

/** The cells a spreadsheet would run, and plain text around them. */
const HOSTILE = [
  '=HYPERLINK("http://127.0.0.1/x","click")',
  '+1+1',
  '-2+3',
  '@SUM(A1:A2)',
  '\tTabbed',
  '\rCarriage',
  'plain, with "quotes" and a comma',
  'two\r\nlines',
];

async function createWithObservations(observations: string, fileName = 'receipt.pdf'): Promise<string> {
  const res = await world.http
    .post(`${world.rest(team.partner.id)}/process-request`)
    .set(await world.headers(team.maker))
    .field('requestedAmount', '12.34')
    .field('observations', observations)
    .attach('evidence', PDF, fileName);
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
  return res.body.id as string;
}

const records = (text: string) => parseCsv(text, { relax_quotes: false }) as string[][];
const column = (rows: string[][], name: string) => {
  const index = rows[0].indexOf(name);
  expect(index).toBeGreaterThanOrEqual(0);
  return rows.slice(1).map((r) => r[index]);
};

describe('GET /process-requests/export', () => {
  let hostileIds: string[];

  beforeAll(async () => {
    hostileIds = [];
    for (const text of HOSTILE)
      hostileIds.push(await createWithObservations(text, `${text.slice(0, 1)}x.pdf`));
    // A rejection whose reason is a formula, by a checker whose name is one.
    const evil = await world.operator(['CHECKER'], [team.partner.id], { name: '=cmd|"/C calc"!A0' });
    const reason = "-cmd|' /C calc'!A0";
    expect((await world.act(team.partner.id, hostileIds[0], 'reject', evil, { reason })).status).toBe(204);
  });

  test('RFC 4180 with a header row; formula-like text gets a leading apostrophe; amounts and counts stay numbers', async () => {
    const res = await world.http
      .get(`${world.rest(team.partner.id)}/process-requests/export`)
      .set(await world.headers(team.viewer));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="process-requests-${team.partner.id}.csv"`,
    );
    expect(res.headers['cache-control']).toBe('no-store');
    // Records end with CRLF; a field with a quote, a comma or a line break is quoted, its quotes doubled.
    expect(res.text.endsWith('\r\n')).toBe(true);
    expect(res.text).toContain('"plain, with ""quotes"" and a comma"');
    expect(res.text).toContain('"two\r\nlines"');
    const rows = records(res.text);
    expect(rows[0].slice(0, 6)).toEqual([
      'id',
      'processTypeId',
      'status',
      'requestedAmount',
      'currency',
      'createdAt',
    ]);
    expect(rows.length).toBe(1 + HOSTILE.length);
    // Newest first, as the list.
    expect(column(rows, 'id')).toEqual([...hostileIds].reverse());
    const observations = column(rows, 'observations').reverse();
    expect(observations).toEqual([
      '\'=HYPERLINK("http://127.0.0.1/x","click")',
      "'+1+1",
      "'-2+3",
      "'@SUM(A1:A2)",
      "'\tTabbed",
      "'\rCarriage",
      'plain, with "quotes" and a comma',
      'two\r\nlines',
    ]);
    // No text cell of the export starts a formula.
    for (const row of rows.slice(1)) {
      for (const [i, cell] of row.entries()) {
        if (
          ['requestedAmount', 'processTypeId', 'evidenceSize', 'requiredApprovals', 'approvals'].includes(
            rows[0][i],
          )
        )
          continue;
        expect(cell).not.toMatch(/^[=+\-@\t\r]/);
      }
    }
    expect(column(rows, 'requestedAmount')).toEqual(HOSTILE.map(() => '12.34'));
    expect(column(rows, 'reviewReason').reverse()[0]).toBe("'-cmd|' /C calc'!A0");
    expect(column(rows, 'evidenceFileName').reverse().slice(0, 2)).toEqual(["'=x.pdf", "'+x.pdf"]);
  });

  test("the list's filters apply; a bad filter is 400, another partner 403", async () => {
    const headers = await world.headers(team.viewer);
    const base = `${world.rest(team.partner.id)}/process-requests/export`;
    const rejected = records((await world.http.get(`${base}?status=REJECTED`).set(headers)).text);
    expect(column(rejected, 'id')).toEqual([hostileIds[0]]);
    expect(column(rejected, 'status')).toEqual(['REJECTED']);
    const none = await world.http.get(`${base}?from=2000-01-01&to=2000-01-02`).set(headers);
    expect(records(none.text)).toHaveLength(1);
    const bad = await world.http.get(`${base}?status=NOPE`).set(headers);
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const other = await world.team('Elsewhere');
    const foreign = await world.http.get(base).set(await world.headers(other.viewer));
    expect([foreign.status, foreign.body.code]).toEqual([403, 'PARTNER_FORBIDDEN']);
  });
});

describe('GET /events/export', () => {
  test('who did what, when, oldest first, with the actor by name; formula-like names and reasons guarded', async () => {
    const res = await world.http
      .get(`${world.rest(team.partner.id)}/events/export`)
      .set(await world.headers(team.viewer));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const rows = records(res.text);
    expect(rows[0]).toEqual([
      'id',
      'at',
      'processRequestId',
      'type',
      'actorId',
      'actorName',
      'actorEmail',
      'fromStatus',
      'toStatus',
      'reason',
    ]);
    const ids = column(rows, 'id').map(Number);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const rejection = rows.find((r) => r[3] === 'REJECTED')!;
    expect(rejection.slice(7)).toEqual(['PENDING', 'REJECTED', "'-cmd|' /C calc'!A0"]);
    expect(rejection[5]).toBe('\'=cmd|"/C calc"!A0');
    expect(column(rows, 'type').filter((t) => t === 'CREATED').length).toBeGreaterThanOrEqual(8);
    const maker = rows.find((r) => r[3] === 'CREATED')!;
    expect(maker.slice(4, 7)).toEqual([team.maker.id, team.maker.name, team.maker.email]);
  });

  test('from and to bound the events by time; bad bounds are 400', async () => {
    const headers = await world.headers(team.viewer);
    const base = `${world.rest(team.partner.id)}/events/export`;
    const [{ at }] = await world.sql<{ at: string }>(
      `select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at
         from process_request_event where client_id = ? and type = 'REJECTED'`,
      [team.partner.id],
    );
    const since = records((await world.http.get(`${base}?from=${at}`).set(headers)).text);
    expect(column(since, 'type')).toEqual(['REJECTED']);
    const before = records((await world.http.get(`${base}?to=2000-01-01`).set(headers)).text);
    expect(before).toHaveLength(1);
    const bad = await world.http.get(`${base}?from=2026-02-30`).set(headers);
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('streaming', () => {
  const ROWS = 20000;

  test(`an export of ${ROWS} requests is read from the database as the client reads it, not all at once`, async () => {
    const partner = await world.partner('Volume Co');
    const maker = await world.operator(['MAKER'], [partner.id]);
    const viewer = await world.operator(['VIEWER'], [partner.id]);
    // Volume seeded in SQL, as a create leaves its rows; each row made about 1.6 KB (32 MB in all), so a
    // read-ahead bounded in bytes (socket buffers on both sides, one batch in hand) is a small part of it.
    await world.seedRequests(partner.id, maker, ROWS);
    const FIRST = 'o'.repeat(1500);
    await world.sql('update process_request set observations = ? where client_id = ?', [FIRST, partner.id]);
    const started = Date.now();
    const res = await fetch(`${world.baseUrl}${world.rest(partner.id)}/process-requests/export`, {
      headers: await world.headers(viewer),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstByteMs = Date.now() - started;
    expect(first.done).toBe(false);
    // The client has taken one chunk and pauses; meanwhile every row changes. A service that had read all
    // rows before answering would still write the old text in every row; a streaming one writes the new
    // text in all but the rows it had fetched ahead (a few batches, bounded by the socket's buffers).
    await new Promise((resolve) => setTimeout(resolve, 300));
    await world.sql("update process_request set observations = 'changed later' where client_id = ?", [
      partner.id,
    ]);
    const chunks: Uint8Array[] = [first.value!];
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
    const totalMs = Date.now() - started;
    const rows = records(Buffer.concat(chunks).toString('utf8'));
    expect(rows).toHaveLength(1 + ROWS);
    const observations = column(rows, 'observations');
    const early = observations.filter((o) => o === FIRST).length;
    const late = observations.filter((o) => o === 'changed later').length;
    expect(early + late).toBe(ROWS);
    // Read-ahead is bounded by bytes (socket buffers, one batch in hand), not by the row count.
    expect(early).toBeGreaterThan(0);
    expect(early).toBeLessThan(ROWS * 0.6);
    expect(late).toBeGreaterThan(ROWS * 0.4);
    // For the record: what the stream did.
    process.stdout.write(
      `export of ${ROWS} rows: first bytes after ${firstByteMs} ms, all after ${totalMs} ms; ${early} rows read ahead of the client\n`,
    );
  });
});
