// The entities are the schema's one source of truth: a database built by the migrations must be exactly
// what they declare, so `schema:update` (MikroORM's own diff) would change nothing. `npm run db:check` runs
// the same comparison outside jest.
import type { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { migrate, openDatabase } from '../src/db';
import { ProcessRequest, ProcessRequestStatus } from '../src/entities/process-request.entity';
import { compareSchemas, describeSchema, pendingSchemaChanges } from '../src/infra/schema-check';
import { openThrowawayServer, type ThrowawayServer } from '../src/infra/throwaway-postgres';
import { createLogger } from '../src/logger';
import { MIGRATIONS } from '../src/migrations';
import { createOperator, createPartner } from '../src/services/identity/admin.service';
import { newOperator, newPartner, parseInput } from '../src/shapes/inputs';

const log = createLogger('silent');
let server: ThrowawayServer;
const opened: MikroORM[] = [];

beforeAll(async () => {
  server = await openThrowawayServer(process.env.DATABASE_URL, path.resolve('.cache', 'db-schema-test'), log);
});
afterAll(async () => {
  await Promise.all(opened.map((orm) => orm.close(true)));
  await server?.close();
});

async function database(prefix: string): Promise<MikroORM> {
  const orm = await openDatabase({ url: await server.createDatabase(prefix) }, log);
  opened.push(orm);
  return orm;
}

/** jest shows the array; the message says what to do about it. */
function expectNoChanges(changes: string[], what: string): void {
  if (changes.length > 0) {
    throw new Error(
      `${what} (${changes.length}):\n${changes.join('\n')}\n\nDeclare it in src/entities or add a migration (npm run migration:create -- <name>).`,
    );
  }
}

const LIST_INDEX =
  'index CREATE INDEX process_request_client_id_created_at_id_index ON public.process_request USING btree (client_id, created_at DESC, id DESC)';

describe('a freshly migrated database', () => {
  let migrated: MikroORM;
  let applied: string[];
  beforeAll(async () => {
    migrated = await database('schema_migrated');
    applied = await migrate(migrated);
  });

  test('has every migration applied', () => {
    expect(applied).toEqual(MIGRATIONS.map((m) => m.name));
  });

  test("is what the entities declare: MikroORM's schema diff is empty", async () => {
    expectNoChanges(await pendingSchemaChanges(migrated), 'schema:update would still run');
  });

  test('is, in the catalog, the database the entities create (what the diff does not compare)', async () => {
    const fromEntities = await database('schema_entities');
    await fromEntities.getSchemaGenerator().createSchema();
    const description = await describeSchema(migrated);
    expectNoChanges(
      compareSchemas(description, await describeSchema(fromEntities)),
      'the migrated database (-) and the one created from the entities (+) differ',
    );
    // The diff compares this index by name only; its column order is what makes the list fast.
    expect(description).toContain(LIST_INDEX);
    expect(description).toContain(
      'constraint process_request.process_request_requested_amount_check CHECK ((requested_amount > (0)::numeric))',
    );
    // A FAILED create's event has no request row: no foreign key on process_request_event.process_request_id.
    expect(description.filter((l) => l.startsWith('constraint process_request_event.'))).toEqual([
      'constraint process_request_event.process_request_event_actor_id_foreign FOREIGN KEY (actor_id) REFERENCES operator(id)',
      'constraint process_request_event.process_request_event_client_id_foreign FOREIGN KEY (client_id) REFERENCES partner(id)',
      'constraint process_request_event.process_request_event_pkey PRIMARY KEY (id)',
    ]);
  });

  test('is left as it is by migrating again', async () => {
    const before = await describeSchema(migrated);
    expect(await migrate(migrated)).toEqual([]);
    expect(await describeSchema(migrated)).toEqual(before);
  });

  test('keeps plain id properties on relations: create, flush, read and map a raw row', async () => {
    const { partner, balance } = await createPartner(
      migrated.em.fork(),
      parseInput(newPartner, { name: 'Schema', currency: 'EUR' }),
    );
    const operator = await createOperator(
      migrated.em.fork(),
      parseInput(newOperator, {
        email: `schema-${randomUUID()}@test.local`,
        name: 'Schema Maker',
        roles: ['MAKER'],
        partnerIds: [partner.id],
      }),
    );
    const em = migrated.em.fork();
    const created = em.create(ProcessRequest, {
      processTypeId: 1,
      clientBalanceId: balance.id,
      partnerId: partner.id,
      requestedAmount: '12.5000',
      currency: 'EUR',
      evidenceUrl: 'http://blob/x',
      evidence: {
        fileName: 'r.pdf',
        contentType: 'application/pdf',
        size: 1,
        sha256: 'a'.repeat(64),
        blobName: 'x',
      },
      createdBy: operator.id,
      expiresAt: new Date(Date.now() + 3600_000),
    });
    await em.flush();
    const ids = {
      processTypeId: 1,
      clientBalanceId: balance.id,
      partnerId: partner.id,
      createdBy: operator.id,
      status: ProcessRequestStatus.PENDING,
    };
    expect(created).toMatchObject(ids);

    const read = await migrated.em
      .fork()
      .findOneOrFail(ProcessRequest, { id: created.id, partnerId: partner.id });
    expect(read).toMatchObject({ ...ids, requestedAmount: '12.5000', reviewedBy: null });

    const fork = migrated.em.fork();
    const [row] = await fork.execute(
      `update process_request set status = 'APPROVED', reviewed_by = ? where id = ? returning *`,
      [operator.id, created.id],
    );
    const mapped = fork.map(ProcessRequest, row);
    expect(mapped).toMatchObject({ ...ids, status: ProcessRequestStatus.APPROVED, reviewedBy: operator.id });
    expect(typeof mapped.clientBalanceId).toBe('string');
  });
});

describe('a database migrated before the entities owned the schema', () => {
  const BEFORE = 'Migration20261129010000_otp_idempotency';
  let orm: MikroORM;
  const ids = { partner: randomUUID(), balance: randomUUID(), operator: randomUUID(), request: randomUUID() };

  beforeAll(async () => {
    orm = await database('schema_upgrade');
    await orm.getMigrator().up({ to: BEFORE });
    const sql = (query: string, params: unknown[] = []) => orm.em.getConnection().execute(query, params);
    await sql(`insert into partner (id, name) values (?, 'Old partner')`, [ids.partner]);
    await sql(`insert into client_balance (id, client_id, available, currency) values (?, ?, 10, 'USD')`, [
      ids.balance,
      ids.partner,
    ]);
    await sql(
      `insert into operator (id, email, name, roles) values (?, 'old@test.local', 'Old', '{MAKER}')`,
      [ids.operator],
    );
    await sql(
      `insert into process_request (id, process_type_id, client_balance_id, client_id, requested_amount, currency,
         evidence_url, evidence_file_name, evidence_content_type, evidence_size, evidence_sha256, evidence_blob_name, created_by)
       values (?, 1, ?, ?, 5, 'USD', 'u', 'r.pdf', 'application/pdf', 1, ?, 'b', ?)`,
      [ids.request, ids.balance, ids.partner, 'a'.repeat(64), ids.operator],
    );
    await sql(
      `insert into idempotency_key (id, operator_id, key, request_hash, status, process_request_id)
       values (?, ?, 'k1', ?, 'COMPLETED', ?)`,
      [randomUUID(), ids.operator, 'b'.repeat(64), ids.request],
    );
    await sql(`insert into otp_attempt (operator_id, success, counter) values (?, true, 42)`, [ids.operator]);
  });

  test('differs from the entities before the last migration (the check can fail)', async () => {
    expect(await pendingSchemaChanges(orm)).toContain(
      'alter table "operator" drop constraint "operator_email_key";',
    );
  });

  test('is upgraded in place: rows kept, rules still enforced, no difference left', async () => {
    const after = MIGRATIONS.slice(MIGRATIONS.findIndex((m) => m.name === BEFORE) + 1).map((m) => m.name);
    expect(await migrate(orm)).toEqual(after);
    const sql = (query: string, params: unknown[] = []) => orm.em.getConnection().execute(query, params);
    const counts = await sql(
      `select (select count(*) from partner)::int as partners, (select count(*) from process_request)::int as requests,
              (select count(*) from idempotency_key)::int as keys, (select count(*) from otp_attempt)::int as attempts`,
    );
    expect(counts).toEqual([{ partners: 1, requests: 1, keys: 1, attempts: 1 }]);
    await expect(
      sql(`insert into otp_attempt (operator_id, success, counter) values (?, true, 42)`, [ids.operator]),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(
      sql(
        `insert into idempotency_key (id, operator_id, key, request_hash, status) values (?, ?, 'k2', ?, 'DONE')`,
        [randomUUID(), ids.operator, 'c'.repeat(64)],
      ),
    ).rejects.toMatchObject({ code: '23514' });
    await expect(sql(`delete from partner where id = ?`, [ids.partner])).rejects.toMatchObject({
      code: '23503',
    });
    expectNoChanges(await pendingSchemaChanges(orm), 'schema:update would still run');
  });
});
