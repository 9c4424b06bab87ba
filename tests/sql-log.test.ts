// LOG_LEVEL=debug shows the SQL the ORM runs (docs/operations.md, "Logs"), with placeholders and never the values;
// at info nothing of it is written.
import { PDF } from './support/files';
import { capture } from './support/logs';
import { enrollWithCli, gqlUpload, wrongCode } from './support/step-up';
import { createWorld, type World } from './support/world';

const MARKER = 'observations-marker-7f3a9c';

async function fileOne(world: World): Promise<void> {
  const team = await world.team('Logged partner');
  const res = await world.http
    .post(`${world.rest(team.partner.id)}/process-request`)
    .set(await world.headers(team.maker))
    .field('requestedAmount', '12.34')
    .field('observations', MARKER)
    .attach('evidence', PDF, 'receipt.pdf');
  expect(res.status).toBe(201);
}

describe('LOG_LEVEL=debug', () => {
  const { lines, logger } = capture('debug');
  let world: World;
  beforeAll(async () => {
    world = await createWorld({}, { logger });
  });
  afterAll(() => world?.close());

  test('writes one debug line per statement, with its placeholders and without its values', async () => {
    const before = lines.length;
    await fileOne(world);
    const sql = lines
      .slice(before)
      .filter((line) => typeof line.orm === 'string')
      .map((line) => ({ level: line.level, orm: line.orm as string }));
    // The create's row is written by one statement (src/sql/create-sql.ts), its values as placeholders.
    const insert = sql.find((line) =>
      /^\[query\] with created as \( insert into process_request\b/.test(line.orm),
    );
    expect(insert).toEqual({
      level: 20,
      orm: expect.stringMatching(/ values \(\$1::uuid, \$2::integer, .*\) .*\[took \d+ ms/),
    });
    expect(sql.some((line) => line.orm.startsWith('[query] select'))).toBe(true);
    expect(sql.map((line) => line.orm).join('\n')).not.toContain(MARKER);
    // No colour codes in a JSON log.
    expect(sql.map((line) => line.orm).join('\n')).not.toContain('\u001b[');
  });
});

describe('LOG_LEVEL=info', () => {
  const { lines, raw, logger } = capture('info');
  let world: World;
  beforeAll(async () => {
    world = await createWorld({}, { logger });
  });
  afterAll(() => world?.close());

  test('writes no SQL', async () => {
    await fileOne(world);
    expect(lines.length).toBeGreaterThan(0); // the access lines are there
    expect(lines.filter((line) => 'orm' in line)).toEqual([]);
  });

  test("one access line per request, with the request's id as the X-Request-Id it answered (REST and GraphQL)", async () => {
    const team = await world.team('Access lines');
    const headers = await world.headers(team.viewer);
    const rest = await world.http.get(`${world.rest(team.partner.id)}/balance`).set(headers);
    const gql = await world.http
      .post('/graphql')
      .set(headers)
      .send({ query: `{ partnerBalance(clientId: "${team.partner.id}") { available } }` });
    for (const res of [rest, gql]) {
      expect(res.status).toBe(200);
      const id = res.headers['x-request-id'];
      expect(lines.filter((line) => line.msg === 'request' && line.requestId === id)).toEqual([
        expect.objectContaining({ service: 'process-requests', status: 200, method: expect.any(String) }),
      ]);
    }
  });

  test('binds each field once: no line repeats requestId or operatorId (REST, GraphQL, a refused OTP)', async () => {
    const team = await world.team('Bindings');
    await fileOne(world);
    await world.http
      .post('/graphql')
      .set(await world.headers(team.viewer))
      .send({ query: `{ partnerBalance(clientId: "${team.partner.id}") { available } }` });
    const otpMaker = await enrollWithCli(world, 'MAKER', [team.partner.id]);
    const refused = await gqlUpload(
      world,
      otpMaker.headers,
      {
        clientId: team.partner.id,
        input: { requestedAmount: '1', otp: await wrongCode(otpMaker.otpSecret) },
      },
      PDF,
    );
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'OTP_INVALID' });
    const bound = raw.filter((line) => line.includes('"operatorId"'));
    expect(bound.length).toBeGreaterThan(0);
    for (const key of ['requestId', 'operatorId'])
      expect(raw.filter((line) => line.split(`"${key}":`).length > 2)).toEqual([]);
  });
});
