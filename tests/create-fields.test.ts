// A create's declared fields (createRequest, src/shapes/inputs.ts) end to end, whichever door files it: each
// given value is stored and shown by the answer and by a later read, and a reversal takes each as
// src/sql/reversal.ts declares. SAMPLES must name every declared field (it does not compile otherwise), so a
// field added to the declaration is carried through both doors and the reversal, or this file fails.
import { PDF } from './support/files';
import { CreateProcessRequestDocument, ProcessRequestDocument } from './generated/graphql';
import { upload } from './support/upload';
import { createWorld, type Team, type World } from './support/world';
import { createRequest, type CreateRequest } from '../src/shapes/inputs';
import { COPIED, REVERSAL_TAKES } from '../src/sql/reversal';

/** A valid value for every declared field, none of them a default. */
const SAMPLES: { [K in keyof CreateRequest]-?: string } = {
  requestedAmount: '1234.50',
  observations: 'Wire transfer of 1 March',
};
const FIELDS = Object.keys(createRequest.shape) as Array<keyof CreateRequest>;

let world: World;
let team: Team;
beforeAll(async () => {
  world = await createWorld();
  team = await world.team('Fields');
});
afterAll(() => world?.close());

/** A view's value as the given text: money comes back as a JSON number (REST) or a scaled string (GraphQL). */
const shown = (view: Record<string, unknown>) =>
  Object.fromEntries(
    FIELDS.map((field) => {
      const value = view[field];
      const sample = SAMPLES[field];
      return [
        field,
        typeof value === 'number' || field === 'requestedAmount'
          ? Number(value) === Number(sample) && sample
          : value,
      ];
    }),
  );

test('SAMPLES names every declared field', () => {
  expect(Object.keys(SAMPLES).sort()).toEqual([...FIELDS].sort());
});

test('REST: every field given is stored and shown, by the answer and by a later read', async () => {
  const headers = await world.headers(team.maker);
  const req = world.http.post(`${world.rest(team.partner.id)}/process-request`).set(headers);
  for (const [field, value] of Object.entries(SAMPLES)) req.field(field, value);
  const res = await req.attach('evidence', PDF, { filename: 'receipt.pdf', contentType: 'application/pdf' });
  expect(res.status).toBe(201);
  expect(shown(res.body)).toEqual(SAMPLES);
  const read = await world.http
    .get(`${world.rest(team.partner.id)}/process-request/${res.body.id}`)
    .set(headers);
  expect(shown(read.body)).toEqual(SAMPLES);
});

test('GraphQL: every field given is stored and shown, by the answer and by a later read', async () => {
  const created = await world.gql(team.maker, CreateProcessRequestDocument, {
    clientId: team.partner.id,
    input: SAMPLES,
    evidence: upload(PDF),
  });
  expect(created.errors).toBeUndefined();
  const view = created.data!.createProcessRequest;
  expect(shown(view)).toEqual(SAMPLES);
  const read = await world.gql(team.viewer, ProcessRequestDocument, {
    clientId: team.partner.id,
    id: view.id,
  });
  expect(shown(read.data!.processRequest)).toEqual(SAMPLES);
});

test("a reversal takes each field as declared: the original's value, or its own", async () => {
  const makerHeaders = await world.headers(team.maker);
  const req = world.http.post(`${world.rest(team.partner.id)}/process-request`).set(makerHeaders);
  for (const [field, value] of Object.entries(SAMPLES)) req.field(field, value);
  const original = await req.attach('evidence', PDF, { filename: 'r.pdf', contentType: 'application/pdf' });
  expect(original.status).toBe(201);
  expect((await world.act(team.partner.id, original.body.id, 'approve', team.checker)).status).toBe(204);
  const input = { reason: 'Wire recalled by the sending bank' };
  const reversal = await world.http
    .post(`${world.rest(team.partner.id)}/process-request/${original.body.id}/reversal`)
    .set(makerHeaders)
    .send(input);
  expect(reversal.status).toBe(201);
  for (const field of FIELDS) {
    const take = REVERSAL_TAKES[field];
    const expected = take === COPIED ? original.body[field] : take({ ...input, otp: undefined });
    expect({ field, value: reversal.body[field] }).toEqual({ field, value: expected });
  }
});
