// An integrator's typed REST client, made by tools nobody on this project wrote: openapi-typescript turns the
// served /openapi.json into types (tests/generated/rest-api.ts, compiled by `npm run typecheck`), and
// openapi-fetch drives the main flow with them: balance, create, list, read, approve, balance again.
import createClient from 'openapi-fetch';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { paths } from './generated/rest-api';
import { PDF } from './support/files';
import { createWorld, type World } from './support/world';

const ROOT = path.resolve(__dirname, '..');

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

const BASE = '/cms/rest/app/partners/{partnerId}' as const;

test('the committed client types are what openapi-typescript makes of the served /openapi.json', async () => {
  // As a program: openapi-typescript loads ESM modules, which jest's module system cannot.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '-r',
      './tests/support/swc-register.cjs',
      'tests/support/openapi-types.ts',
      '--from',
      `${world.baseUrl}/openapi.json`,
    ],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  expect(stdout).toBe(readFileSync(path.join(ROOT, 'tests/generated/rest-api.ts'), 'utf8'));
});

test('openapi-fetch, typed by the generated paths, drives the main REST flow', async () => {
  const { partner, maker, checker } = await world.team('Typed client', 'USD');
  const as = async (operator: typeof maker) =>
    createClient<paths>({ baseUrl: world.baseUrl, headers: await world.headers(operator) });
  const makerApi = await as(maker);
  const checkerApi = await as(checker);
  const path = { partnerId: partner.id };

  const before = await makerApi.GET(`${BASE}/balance`, { params: { path } });
  expect(before.response.status).toBe(200);
  const available: number = before.data!.available;
  expect(available).toBe(0);

  // Multipart: the generated body type names the fields; FormData carries the file.
  const created = await makerApi.POST(`${BASE}/process-request`, {
    params: { path },
    body: { requestedAmount: '1250.75', observations: 'Wire 42', evidence: '' },
    bodySerializer: (body) => {
      const form = new FormData();
      form.set('requestedAmount', body.requestedAmount);
      if (body.observations) form.set('observations', body.observations);
      form.set('evidence', new Blob([PDF], { type: 'application/pdf' }), 'receipt.pdf');
      return form;
    },
  });
  expect(created.error).toBeUndefined();
  expect(created.response.status).toBe(201);
  const request = created.data!;
  const status: 'PENDING' | 'APPROVED' | 'REJECTED' | 'CANCELLED' | 'EXPIRED' | 'REVERSED' = request.status;
  expect(status).toBe('PENDING');
  expect(request.requestedAmount).toBe(1250.75);

  const page = await makerApi.GET(`${BASE}/process-requests`, {
    params: { path, query: { status: ['PENDING'], processTypeId: 1, page: 1, limit: 10 } },
  });
  expect(page.data!.items.map((item) => item.id)).toEqual([request.id]);

  const approved = await checkerApi.PATCH(`${BASE}/process-request/{id}/approve`, {
    params: { path: { ...path, id: request.id } },
    body: { reason: 'Matches the statement' },
  });
  expect(approved.response.status).toBe(204);

  const details = await makerApi.GET(`${BASE}/process-request/{id}`, {
    params: { path: { ...path, id: request.id } },
  });
  expect(details.data!.status).toBe('APPROVED');
  expect(details.data!.history.map((entry) => entry.type)).toEqual(['CREATED', 'APPROVED']);

  const after = await makerApi.GET(`${BASE}/balance`, { params: { path } });
  expect(after.data!.available).toBe(1250.75);

  // A refusal comes back typed as the Error shape, with its reason.
  const anonymous = createClient<paths>({ baseUrl: world.baseUrl });
  const refused = await anonymous.GET(`${BASE}/balance`, { params: { path } });
  expect(refused.response.status).toBe(401);
  expect(refused.error!.code).toBe('UNAUTHENTICATED');
  expect(refused.error!.details).toMatchObject({ token: 'app', reason: 'missing' });

  const ticket = await makerApi.POST(`${BASE}/process-request/progress/ticket`, { params: { path } });
  expect(ticket.data!.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
});
