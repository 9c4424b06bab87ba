// Liveness and readiness probes (SPEC section 10): unauthenticated, and readiness reflects its dependencies.
import { BlobServiceClient } from '@azure/storage-blob';
import { createWorld, type World } from './support/world';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

test('GET /healthz → 200 without credentials', async () => {
  const res = await world.http.get('/healthz');
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ status: 'ok' });
});

test('GET /readyz → 200 with the database and blob storage up', async () => {
  const res = await world.http.get('/readyz');
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ status: 'ready', database: 'up', storage: 'up' });
});

test('the probes answer while other work is in flight', async () => {
  const results = await Promise.all([
    ...Array.from({ length: 10 }, () => world.http.get('/readyz')),
    world.http.get('/healthz'),
  ]);
  expect(results.map((r) => r.status)).toEqual(Array(11).fill(200));
});

// Runs last: it takes the evidence container away.
test('GET /readyz → 503 naming storage when the evidence container is gone; /healthz stays 200', async () => {
  await BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING!)
    .getContainerClient(world.container)
    .delete();
  const res = await world.http.get('/readyz');
  expect(res.status).toBe(503);
  expect(res.body).toEqual({ status: 'unavailable', database: 'up', storage: 'down' });
  expect((await world.http.get('/healthz')).status).toBe(200);
});
