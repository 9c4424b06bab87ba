// The reference the benchmark compares the service with: a bare `node:http` + `pg` server answering the
// same hot paths with the statements the service sends (bench/bare-sql.ts), and nothing else — no
// framework, no ORM, no logging, a partner's currency and balance id kept after the first read. It checks
// both tokens (HS256, signature and expiry) and the operator's scope and role, as any real handler must.
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import busboy from 'busboy';
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Pool } from 'pg';
import * as SQL from './bare-sql';
import { ProcessRequestStatus } from '../src/entities/process-request.entity';
import { ADVISORY_LOCKS } from '../src/infra/locks';
import { DECIDE } from '../src/sql/decision-sql';
import { bind, toPositional } from '../src/sql/statement';
import {
  STATEMENT_ENTRIES,
  STATEMENT_TOTALS,
  statementTotalsParams,
  type StatementRow,
  type StatementTotalsRow,
} from '../src/sql/statement-sql';

export interface BareOptions {
  databaseUrl: string;
  poolSize: number;
  appSecret: string;
  userSecret: string;
  storage: string;
  container: string;
}

interface OperatorRow {
  id: string;
  roles: string[];
  partner_ids: string[] | null;
  active: boolean;
  approval_limits: Record<string, string> | null;
  daily_approval_limits: Record<string, string> | null;
}

const GRANTS: Record<string, string[]> = {
  VIEWER: ['read'],
  MAKER: ['read', 'create'],
  CHECKER: ['read', 'review'],
  ADMIN: ['read', 'create', 'review'],
};

class Refused extends Error {
  constructor(readonly status: number) {
    super(String(status));
  }
}

function verified(header: string | undefined, secret: string): Record<string, unknown> {
  const token = header?.startsWith('Bearer ') ? header.slice(7) : '';
  const [head, body, signature] = token.split('.');
  if (!signature) throw new Refused(401);
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Refused(401);
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) throw new Refused(401);
  return claims;
}

/** The service's two statement texts, in pg's $n form. */
const STATEMENT_SQL = { totals: toPositional(STATEMENT_TOTALS), entries: toPositional(STATEMENT_ENTRIES) };
const DAY = /^\d{4}-\d\d-\d\d$/;
const DAY_MS = 86_400_000;

const scale = (currency: string) => (currency === 'JPY' ? 0 : 2);
/** NUMERIC text scaled to the currency: the same digits the service writes. */
function money(text: string, currency: string): string {
  const [whole, fraction = ''] = text.split('.');
  const digits = scale(currency);
  return digits === 0 ? whole : `${whole}.${fraction.padEnd(digits, '0').slice(0, digits)}`;
}

/** A row of process_request (with its approvals as JSON) as the service's view writes it. */
function requestJson(r: Record<string, any>): string {
  const iso = (d: Date | null) => (d ? JSON.stringify(d.toISOString()) : 'null');
  const str = (s: string | null) => (s === null ? 'null' : JSON.stringify(s));
  const approvals = (r.approvals ?? []) as Array<{ operatorId: string; at: string }>;
  return (
    `{"id":"${r.id}","processTypeId":${r.process_type_id},"clientBalanceId":"${r.client_balance_id}",` +
    `"clientId":"${r.client_id}","requestedAmount":${money(r.requested_amount, r.currency)},"currency":"${r.currency}",` +
    `"observations":${str(r.observations)},"evidenceUrl":${str(r.evidence_url)},"evidence":${
      r.evidence_blob_name
        ? `{"fileName":${JSON.stringify(r.evidence_file_name)},"contentType":"${r.evidence_content_type}","size":${r.evidence_size},"sha256":"${r.evidence_sha256}"}`
        : 'null'
    },"status":"${r.status}","createdBy":"${r.created_by}","createdAt":${iso(r.created_at)},"updatedAt":${iso(r.updated_at)},` +
    `"reviewedBy":${str(r.reviewed_by)},"reviewedAt":${iso(r.reviewed_at)},"reviewReason":${str(r.review_reason)},` +
    `"cancelledBy":${str(r.cancelled_by)},"cancelledAt":${iso(r.cancelled_at)},"requiredApprovals":${r.required_approvals},` +
    `"approvals":[${approvals.map((a) => `{"operatorId":"${a.operatorId}","at":${iso(new Date(a.at))}}`).join(',')}],` +
    `"expiresAt":${iso(r.expires_at)},"reversalOf":${str(r.reversal_of)},"reversedBy":${str(r.reversed_by)},` +
    `"duplicateEvidence":${JSON.stringify(r.duplicate_evidence ?? [])}}`
  );
}

/**
 * The statement of a period as the service reads it (src/sql/statement-sql.ts): its totals, then its
 * entries from a cursor in batches of 1,000, in one REPEATABLE READ snapshot, written batch by batch.
 */
async function statement(
  pool: Pool,
  res: ServerResponse,
  partnerId: string,
  balanceId: string,
  currency: string,
  url: URL,
) {
  const [from, to] = [url.searchParams.get('from') ?? '', url.searchParams.get('to') ?? ''];
  const start = new Date(`${from}T00:00:00Z`);
  const end = new Date(new Date(`${to}T00:00:00Z`).getTime() + DAY_MS);
  const days = (end.getTime() - start.getTime()) / DAY_MS;
  if (!DAY.test(from) || !DAY.test(to) || !(days >= 1 && days <= 366)) throw new Refused(400);
  const client = await pool.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const totals = (
      await client.query<StatementTotalsRow>(
        STATEMENT_SQL.totals,
        statementTotalsParams(balanceId, start, end),
      )
    ).rows[0];
    const params = [totals.opening, balanceId, start, end];
    await client.query(`declare statement_rows no scroll cursor for ${STATEMENT_SQL.entries}`, params);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.write(
      `{"clientId":"${partnerId}","currency":"${currency}","from":"${from}","to":"${to}",` +
        `"openingBalance":${money(totals.opening, currency)},"closingBalance":${money(totals.closing, currency)},"entries":[`,
    );
    const entry = (r: StatementRow) =>
      `{"at":"${r.at}","amount":${money(r.amount, currency)},"balanceAfter":${money(r.running, currency)},` +
      `"processRequestId":"${r.process_request_id}","processTypeId":${r.process_type_id},` +
      `"direction":"${r.amount.startsWith('-') ? 'DEBIT' : 'CREDIT'}"}`;
    let batch: StatementRow[];
    let written = 0;
    do {
      batch = (await client.query<StatementRow>('fetch 1000 from statement_rows')).rows;
      if (batch.length > 0) res.write((written > 0 ? ',' : '') + batch.map(entry).join(','));
      written += batch.length;
    } while (batch.length === 1000);
    await client.query('commit');
    res.end(']}');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function startBare(options: BareOptions): Promise<{ port: number; close(): Promise<void> }> {
  const pool = new Pool({ connectionString: options.databaseUrl, max: options.poolSize });
  const container: ContainerClient = BlobServiceClient.fromConnectionString(
    options.storage,
  ).getContainerClient(options.container);
  const partners = new Map<string, { balanceId: string; currency: string }>();

  async function operatorFor(req: IncomingMessage, partnerId: string, permission: string) {
    verified(req.headers.authorization, options.appSecret);
    const { sub } = verified(req.headers['x-user-token'] as string | undefined, options.userSecret);
    const { rows } = await pool.query<OperatorRow>(SQL.OPERATOR, [sub]);
    const operator = rows[0];
    if (!operator) throw new Refused(401);
    if (!operator.active) throw new Refused(403);
    if (operator.partner_ids !== null && !operator.partner_ids.includes(partnerId)) throw new Refused(403);
    if (!operator.roles.some((role) => GRANTS[role]?.includes(permission))) throw new Refused(403);
    let partner = partners.get(partnerId);
    if (!partner) {
      const found = await pool.query<{ id: string; currency: string }>(SQL.PARTNER, [partnerId]);
      if (!found.rows[0]) throw new Refused(404);
      partner = { balanceId: found.rows[0].id, currency: found.rows[0].currency };
      partners.set(partnerId, partner);
    }
    return { operator, partner };
  }

  async function page(partnerId: string, url: URL): Promise<string> {
    const pageNo = Number(url.searchParams.get('page') ?? 1);
    const limit = Number(url.searchParams.get('limit') ?? 20);
    const { rows } = await pool.query(SQL.PAGE, [partnerId, limit, (pageNo - 1) * limit]);
    const total = Number(rows[0].total);
    const items = rows.filter((r) => r.id !== null).map(requestJson);
    return `{"items":[${items.join(',')}],"page":${pageNo},"limit":${limit},"total":${total},"totalPages":${Math.ceil(total / limit)}}`;
  }

  async function create(req: IncomingMessage, partnerId: string, operatorId: string, currency: string) {
    const fields: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let fileName = '';
    await new Promise<void>((resolve, reject) => {
      const parser = busboy({ headers: req.headers });
      parser.on('field', (name, value) => (fields[name] = value));
      parser.on('file', (_name, stream, info) => {
        fileName = info.filename ?? 'evidence.pdf';
        stream.on('data', (c: Buffer) => chunks.push(c));
      });
      parser.on('close', resolve);
      parser.on('error', reject);
      req.pipe(parser);
    });
    const file = Buffer.concat(chunks);
    const id = randomUUID();
    const blobName = `${partnerId}/${id}`;
    const blob = container.getBlockBlobClient(blobName);
    const [policy] = await Promise.all([
      pool.query<{ pending_ttl_seconds: number }>(SQL.POLICY, [partnerId]),
      blob.uploadData(file, { blobHTTPHeaders: { blobContentType: 'application/pdf' } }),
    ]);
    const ttl = policy.rows[0]?.pending_ttl_seconds ?? 604800;
    const sha256 = createHash('sha256').update(file).digest('hex');
    const { rows } = await pool.query(SQL.CREATE, [
      id,
      partnerId,
      fields.requestedAmount,
      currency,
      fields.observations ?? null,
      blob.url,
      fileName,
      file.length,
      sha256,
      blobName,
      operatorId,
      ttl,
    ]);
    return requestJson(rows[0]);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://bare');
    const match = /^\/cms\/rest\/app\/partners\/([0-9a-f-]{36})(\/.*)$/.exec(url.pathname);
    const send = (status: number, body?: string) => {
      res.writeHead(status, body ? { 'content-type': 'application/json; charset=utf-8' } : {});
      res.end(body);
    };
    if (req.method === 'POST' && url.pathname === '/graphql') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const { variables } = JSON.parse(Buffer.concat(chunks).toString()) as { variables: { c: string } };
      await operatorFor(req, variables.c, 'read');
      const search = new URL('http://bare/?page=1&limit=10');
      return send(200, `{"data":{"processRequests":${await page(variables.c, search)}}}`);
    }
    if (!match) return send(404);
    const [, partnerId, rest] = match;
    if (req.method === 'GET' && rest === '/balance') {
      await operatorFor(req, partnerId, 'read');
      const { rows } = await pool.query(SQL.BALANCE, [partnerId]);
      const b = rows[0];
      return send(
        200,
        `{"id":"${b.id}","clientId":"${b.client_id}","available":${money(b.available, b.currency)},` +
          `"pending":${money(b.pending, b.currency)},"currency":"${b.currency}",` +
          `"updatedAt":"${b.updated_at.toISOString()}","createdAt":"${b.created_at.toISOString()}"}`,
      );
    }
    if (req.method === 'GET' && rest === '/process-requests') {
      await operatorFor(req, partnerId, 'read');
      return send(200, await page(partnerId, url));
    }
    if (req.method === 'GET' && rest === '/statement') {
      const { partner } = await operatorFor(req, partnerId, 'read');
      return statement(pool, res, partnerId, partner.balanceId, partner.currency, url);
    }
    if (req.method === 'POST' && rest === '/process-request') {
      const { operator, partner } = await operatorFor(req, partnerId, 'create');
      return send(201, await create(req, partnerId, operator.id, partner.currency));
    }
    const one = /^\/process-request\/([0-9a-f-]{36})(\/approve)?$/.exec(rest);
    if (one && req.method === 'GET' && !one[2]) {
      await operatorFor(req, partnerId, 'read');
      const { rows } = await pool.query(SQL.DETAILS, [one[1], partnerId]);
      if (!rows[0]) return send(404);
      const history = (rows[0].history ?? []) as Array<Record<string, unknown>>;
      return send(200, `${requestJson(rows[0]).slice(0, -1)},"history":${JSON.stringify(history)}}`);
    }
    if (one && req.method === 'PATCH' && one[2]) {
      for await (const chunk of req) void chunk;
      const { operator, partner } = await operatorFor(req, partnerId, 'review');
      // The service's own decision statement (src/sql/decision.sql), as it renders and binds it: the same
      // writes, caps and daily totals; what the bare server leaves out is everything around it.
      const approve = DECIDE[ProcessRequestStatus.APPROVED];
      const values = bind(approve, {
        id: one[1],
        partnerId,
        operatorId: operator.id,
        reason: null,
        limit: operator.approval_limits?.[partner.currency] ?? null,
        confirmAmount: null,
        dailyLimit: operator.daily_approval_limits?.[partner.currency] ?? null,
        currency: partner.currency,
        canCancelAny: false,
        canCancelOwn: false,
        approvalId: randomUUID(),
        ledgerId: randomUUID(),
        eventOrderLock: ADVISORY_LOCKS.EVENT_ORDER,
        // Read for this call (operatorFor): no kept row's version to check.
        operatorVersion: null,
      });
      const { rows } = await pool.query({ name: approve.name, text: approve.text, values });
      if (!rows[0]) return send(404);
      return send(rows[0].decision_refusal === null ? 204 : 409);
    }
    return send(404);
  }

  let reported = false;
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof Refused ? error.status : 500;
      if (status === 500 && !reported) {
        reported = true;
        process.stderr.write(`bare: ${(error as Error)?.stack ?? error}\n`);
      }
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ statusCode: status }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}
