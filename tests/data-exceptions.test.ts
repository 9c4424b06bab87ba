// A value the database cannot hold is the caller's mistake, never a dependency that is down: a webhook URL
// with a NUL or another control character is refused by its shape (400 on every door), and a value that
// still reaches PostgreSQL and is refused there (too long, a character it cannot store) is 400, not a 503
// that says "retry" or a 500. No log line carries the values of a failed statement, and every error line
// of a GraphQL operation carries its request id.
import { Client } from 'pg';
import { toDomainError } from '../src/domain/errors';
import { runSql } from '../src/sql/statement';
import { capture } from './support/logs';
import { gqlHttp } from './support/step-up';
import type { Operator } from '../src/entities/operator.entity';
import { createWorld, type Team, type World } from './support/world';

const LOCK_TIMEOUT_MS = 300;
const MARKER = 'value-marker-5c81e2';

const { lines, raw, logger } = capture('info');
let world: World;
let team: Team;
let admin: Operator;

beforeAll(async () => {
  world = await createWorld({ DATABASE_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS) }, { logger });
  team = await world.team('Data exceptions');
  admin = await world.operator(['ADMIN'], [team.partner.id]);
});
afterAll(() => world?.close());

const errorLines = (from: number) => lines.slice(from).filter((line) => (line.level as number) >= 50);

describe('a webhook URL holding a control character', () => {
  const CREATE = `mutation C($clientId: ID!, $input: WebhookEndpointInput!) {
    createWebhookEndpoint(clientId: $clientId, input: $input) { endpoint { id } } }`;
  const UPDATE = `mutation U($clientId: ID!, $id: ID!, $input: WebhookEndpointChanges!) {
    updateWebhookEndpoint(clientId: $clientId, id: $id, input: $input) { id } }`;
  const URLS = ['http://127.0.0.1:9/a\u0000b', 'http://127.0.0.1:9/a\u0001b', 'http://127.0.0.1:9/a\u007fb'];

  test('→ 400 VALIDATION_FAILED on POST, PATCH, createWebhookEndpoint and updateWebhookEndpoint; nothing logged as an error', async () => {
    const h = await world.headers(admin);
    const base = `${world.rest(team.partner.id)}/webhook-endpoints`;
    const created = await world.http.post(base).set(h).send({ url: 'http://127.0.0.1:9/ok' });
    expect(created.status).toBe(201);
    const from = lines.length;
    for (const url of URLS) {
      const post = await world.http.post(base).set(h).send({ url });
      expect([post.status, post.body.code, post.body.details]).toEqual([
        400,
        'VALIDATION_FAILED',
        { field: 'url' },
      ]);
      const patch = await world.http.patch(`${base}/${created.body.id}`).set(h).send({ url });
      expect([patch.status, patch.body.code, patch.body.details]).toEqual([
        400,
        'VALIDATION_FAILED',
        { field: 'url' },
      ]);
      const gqlCreate = await gqlHttp(world, h, CREATE, { clientId: team.partner.id, input: { url } });
      expect(gqlCreate.errors?.[0].extensions).toMatchObject({
        code: 'VALIDATION_FAILED',
        status: 400,
        details: { field: 'input.url' },
      });
      const gqlUpdate = await gqlHttp(world, h, UPDATE, {
        clientId: team.partner.id,
        id: created.body.id,
        input: { url },
      });
      expect(gqlUpdate.errors?.[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    }
    expect(errorLines(from)).toEqual([]);
    const [row] = await world.sql<{ url: string }>('select url from webhook_endpoint where id = ?', [
      created.body.id,
    ]);
    expect(row.url).toBe('http://127.0.0.1:9/ok');
  });
});

describe('a value PostgreSQL refuses', () => {
  /** The errors PostgreSQL answers to values it cannot hold, through the ORM (values written in) and pg ($n). */
  async function refusals(): Promise<[string, unknown][]> {
    const tooLong = await world
      .sql('create temp table if not exists short_text (v varchar(2)); insert into short_text values (?)', [
        `${MARKER}-too-long`,
      ])
      .catch((e: unknown) => e);
    const nulWrittenIn = await world.sql('select ?::text as v', [`${MARKER}\u0000`]).catch((e: unknown) => e);
    const nulBound = await runSql(world.app.orm.em.fork(), 'select ?::text as v', [`${MARKER}\u0000`]).catch(
      (e: unknown) => e,
    );
    return [
      ['22001', tooLong],
      ['08P01', nulWrittenIn],
      ['22021', nulBound],
    ];
  }

  test('is 400 VALIDATION_FAILED, not 503 or 500; the connection is still usable', async () => {
    for (const [sqlState, error] of await refusals()) {
      expect([sqlState, (error as { code?: string }).code]).toEqual([sqlState, sqlState]);
      expect([sqlState, toDomainError(error)]).toMatchObject([
        sqlState,
        { status: 400, code: 'VALIDATION_FAILED' },
      ]);
    }
    expect(await world.sql('select 1 as one')).toEqual([{ one: 1 }]);
  });

  test('is logged with its SQLSTATE and its statement with placeholders, never its values', async () => {
    const from = raw.length;
    for (const [, error] of await refusals()) logger.error({ err: error }, 'request failed');
    const written = raw.slice(from);
    expect(written).toHaveLength(3);
    expect(written.join('\n')).not.toContain(MARKER);
    expect(lines.slice(-3).map((line) => line.err)).toEqual([
      expect.objectContaining({
        code: '22001',
        statement: expect.stringContaining('insert into short_text values (?)'),
      }),
      expect.objectContaining({ code: '08P01', statement: 'select ?::text as v' }),
      expect.objectContaining({ code: '22021', statement: 'select $1::text as v' }),
    ]);
  });
});

test('a GraphQL operation that fails with a 5xx logs its error with the request id of the answer', async () => {
  const APPROVE = `mutation A($clientId: ID!, $id: ID!) { approveProcessRequest(clientId: $clientId, id: $id) { id } }`;
  const id = await world.createRequest(team.partner.id, team.maker, '5.00');
  const locker = new Client({ connectionString: world.databaseUrl });
  await locker.connect();
  const from = lines.length;
  let requestId: unknown;
  try {
    await locker.query('begin');
    await locker.query('select id from process_request where id = $1 for update', [id]);
    const res = await gqlHttp(world, await world.headers(team.checker), APPROVE, {
      clientId: team.partner.id,
      id,
    });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    requestId = res.errors?.[0].extensions?.requestId;
  } finally {
    await locker.query('rollback');
    await locker.end();
  }
  expect(typeof requestId).toBe('string');
  const failed = errorLines(from).filter((line) => line.msg === 'GraphQL operation failed');
  expect(failed).toEqual([expect.objectContaining({ requestId })]);
});
