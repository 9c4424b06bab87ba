import { createWorld, type World } from './support/world';
import { PDF } from './support/files';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

test('create, approve and read the balance over REST', async () => {
  const partner = await world.partner('Acme', 'USD');
  const maker = await world.operator(['MAKER'], [partner.id]);
  const checker = await world.operator(['CHECKER'], [partner.id]);
  const created = await world.http
    .post(`${world.rest(partner.id)}/process-request`)
    .set(await world.headers(maker))
    .attach('evidence', PDF, 'receipt.pdf')
    .field('requestedAmount', '10000.50');
  expect(created.status).toBe(201);
  expect(created.body.requestedAmount).toBe(10000.5);
  const approved = await world.act(partner.id, created.body.id, 'approve', checker);
  expect(approved.status).toBe(204);
  const balance = await world.http.get(`${world.rest(partner.id)}/balance`).set(await world.headers(checker));
  expect(balance.status).toBe(200);
  expect(balance.text).toContain('"available":10000.50');
  expect(await world.blobNames()).toEqual([`${partner.id}/${created.body.id}/evidence.pdf`]);
});
