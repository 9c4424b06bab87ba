// The people behind requests and policies as GraphQL objects (SPEC section 14): creator, reviewer,
// canceller, approvals { operator }, history { actor } and policy history { actor } resolve to Operator
// (id, name, email) on every query and mutation, read in batches: a page costs the same few statements
// whether it holds 10 requests or 100; and only what a partner's reader may see is shown.
import type { Operator } from '../src/entities/operator.entity';
import { replacePolicy } from '../src/services/approval-policy.service';
import { decisionInput, parseInput, policyInput } from '../src/shapes/inputs';
import {
  AllProcessRequestPeopleDocument,
  ApproveManyWithPeopleDocument,
  ApproveWithPeopleDocument,
  CancelWithPeopleDocument,
  CreateWithPeopleDocument,
  MeDocument,
  OneProcessRequestPeopleDocument,
  PolicyPeopleDocument,
  ProcessRequestPeopleDocument,
  RejectWithPeopleDocument,
  ReverseWithPeopleDocument,
  SetPolicyPeopleDocument,
  type RequestPeopleFragment,
} from './generated/graphql';
import { PDF } from './support/files';
import { upload } from './support/upload';
import { statementsOf } from './support/statements';
import { createWorld, type Team, type World } from './support/world';

const REQUESTS = 100;
/** From this amount a request needs two approvals. */
const TWO_APPROVALS_FROM = '50.00';
const POLICY = {
  tiers: [
    { from: '0', approvals: 1 },
    { from: TWO_APPROVALS_FROM, approvals: 2 },
  ],
  pendingTtlSeconds: 86_400,
};

let world: World;
let team: Team;
let maker2: Operator;
let checker2: Operator;
let admin: Operator;
let other: Team;
/** The viewer's credentials, for documents sent over HTTP. */
let headers: Record<string, string>;
/** Every request of the page, by id: who is expected where. */
const expected = new Map<string, Expected>();

interface Expected {
  status: string;
  creator: Operator;
  reviewer: Operator | null;
  canceller: Operator | null;
  approvers: Operator[];
  /** Each history entry's type and actor (null: the service itself). */
  history: Array<[string, Operator | null]>;
}

const person = (o: Operator) => ({ id: o.id, name: o.name, email: o.email });
const ctxOf = (operator: Operator) => ({ em: world.app.orm.em.fork(), operator, log: world.app.log });
const NO_INPUT = parseInput(decisionInput, {});

/** What a request answer must say about its people. */
function expectPeople(item: RequestPeopleFragment, e: Expected) {
  expect(item).toMatchObject({
    status: e.status,
    createdBy: e.creator.id,
    creator: person(e.creator),
    reviewedBy: e.reviewer?.id ?? null,
    reviewer: e.reviewer ? person(e.reviewer) : null,
    cancelledBy: e.canceller?.id ?? null,
    canceller: e.canceller ? person(e.canceller) : null,
  });
  expect(item.approvals.map((a) => [a.operatorId, a.operator])).toEqual(
    e.approvers.map((o) => [o.id, person(o)]),
  );
  expect(item.history.map((h) => [h.type, h.actorId, h.actor])).toEqual(
    e.history.map(([type, actor]) => [type, actor?.id ?? null, actor ? person(actor) : null]),
  );
}

beforeAll(async () => {
  // Policies are this suite's fixtures, set at once; four eyes on policy changes: tests/policy-changes.test.ts.
  world = await createWorld({ POLICY_CHANGES_NEED_APPROVAL: 'false' });
  team = await world.team('People', 'USD');
  const scope = [team.partner.id];
  maker2 = await world.operator(['MAKER'], scope, { name: 'Second Maker', email: 'maker2@people.test' });
  checker2 = await world.operator(['CHECKER'], scope, { name: 'Second Checker', email: 'chk2@people.test' });
  admin = await world.operator(['ADMIN'], null, { name: 'Staff Admin', email: 'admin@people.test' });
  other = await world.team('Elsewhere', 'USD');
  headers = await world.headers(team.viewer);
  await world.createInProcess(other.partner.id, other.maker);
  await world.app.services.policies.set(ctxOf(admin), team.partner.id, parseInput(policyInput, POLICY));

  // Five kinds in turn (pending, approved, rejected, cancelled, approved by two), so the newest 10 hold
  // every kind the newest 100 do; two makers, two checkers.
  const partnerId = team.partner.id;
  const { processRequests } = world.app.services;
  for (let i = 0; i < REQUESTS; i++) {
    const creator = i % 2 === 0 ? team.maker : maker2;
    const kind = i % 5;
    const id = await world.createInProcess(partnerId, creator, kind === 4 ? '60.00' : '1.00');
    const e: Expected = {
      status: 'PENDING',
      creator,
      reviewer: null,
      canceller: null,
      approvers: [],
      history: [['CREATED', creator]],
    };
    if (kind === 1) {
      const checker = i % 2 === 0 ? team.checker : checker2;
      await processRequests.approve(ctxOf(checker), partnerId, id, NO_INPUT);
      Object.assign(e, { status: 'APPROVED', reviewer: checker, approvers: [checker] });
      e.history.push(['APPROVED', checker]);
    } else if (kind === 2) {
      await processRequests.reject(
        ctxOf(checker2),
        partnerId,
        id,
        parseInput(decisionInput, { reason: 'no' }),
      );
      Object.assign(e, { status: 'REJECTED', reviewer: checker2 });
      e.history.push(['REJECTED', checker2]);
    } else if (kind === 3) {
      await processRequests.cancel(ctxOf(creator), partnerId, id, NO_INPUT);
      Object.assign(e, { status: 'CANCELLED', canceller: creator });
      e.history.push(['CANCELLED', creator]);
    } else if (kind === 4) {
      await processRequests.approve(ctxOf(team.checker), partnerId, id, NO_INPUT);
      await processRequests.approve(ctxOf(checker2), partnerId, id, NO_INPUT);
      Object.assign(e, { status: 'APPROVED', reviewer: checker2, approvers: [team.checker, checker2] });
      e.history.push(['APPROVAL_RECORDED', team.checker], ['APPROVED', checker2]);
    }
    expected.set(id, e);
  }
}, 180_000);
afterAll(() => world?.close());

const isPeopleStatement = (sql: string) => /from operator where id = any/.test(sql);

describe('a page with its people costs a fixed number of statements', () => {
  async function page(limit: number) {
    const { sql, result } = await statementsOf(world, () =>
      world.gql(team.viewer, ProcessRequestPeopleDocument, { clientId: team.partner.id, limit }),
    );
    expect(result.errors).toBeUndefined();
    return { sql, items: result.data!.processRequests.items };
  }

  test('10 and 100 requests with creator, reviewer, canceller, approvals and history: the same 4 statements', async () => {
    // The first call of the process finds the partner (2 statements); later calls keep its currency and balance id.
    expect((await page(10)).sql.length).toBeLessThanOrEqual(6);
    const ten = await page(10);
    const hundred = await page(100);
    expect(ten.items).toHaveLength(10);
    expect(hundred.items).toHaveLength(REQUESTS);
    // Authentication, the page (with its count and approvals), histories, people: one each.
    expect(hundred.sql).toHaveLength(4);
    expect(ten.sql).toHaveLength(hundred.sql.length);
    expect(hundred.sql.filter(isPeopleStatement)).toHaveLength(1);
    expect(hundred.sql.filter((s) => s.includes('process_request_event'))).toHaveLength(1);

    // The newest 10 hold every kind; the 100 are every request, each with its people.
    expect(new Set(ten.items.map((i) => i.status))).toEqual(
      new Set(['PENDING', 'APPROVED', 'REJECTED', 'CANCELLED']),
    );
    expect(new Set(hundred.items.map((i) => i.id))).toEqual(new Set(expected.keys()));
    for (const item of hundred.items) expectPeople(item, expected.get(item.id)!);
    expect(hundred.items.filter((i) => i.approvals.length === 2)).toHaveLength(REQUESTS / 5);
  });

  test('the objects cost one statement more than the bare ids did', async () => {
    const bare = await statementsOf(world, () =>
      world.http
        .post('/graphql')
        .set(headers)
        .send({
          query: `query($c: ID!) { processRequests(clientId: $c, limit: 100) {
            items { id createdBy reviewedBy cancelledBy approvals { operatorId at } history { actorId } } } }`,
          variables: { c: team.partner.id },
        }),
    );
    expect(bare.result.body.errors).toBeUndefined();
    const full = await statementsOf(world, () =>
      world.gql(team.viewer, ProcessRequestPeopleDocument, { clientId: team.partner.id, limit: 100 }),
    );
    expect(bare.sql).toHaveLength(3);
    expect(full.sql).toHaveLength(bare.sql.length + 1);
  });

  test('allProcessRequests reads its people in one statement too', async () => {
    const { sql, result } = await statementsOf(world, () =>
      world.gql(team.viewer, AllProcessRequestPeopleDocument, { clientId: team.partner.id }),
    );
    expect(result.errors).toBeUndefined();
    const items = result.data!.allProcessRequests;
    expect(items).toHaveLength(REQUESTS);
    expect(sql.filter(isPeopleStatement)).toHaveLength(1);
    for (const item of items) {
      const e = expected.get(item.id)!;
      expect(item.creator).toEqual(person(e.creator));
      expect(item.reviewer).toEqual(e.reviewer ? person(e.reviewer) : null);
    }
  });

  test('processRequest: one request with its people', async () => {
    const [id, e] = [...expected].find(([, x]) => x.approvers.length === 2)!;
    const result = await world.gql(team.viewer, OneProcessRequestPeopleDocument, {
      clientId: team.partner.id,
      id,
    });
    expect(result.errors).toBeUndefined();
    expectPeople(result.data!.processRequest, e);
  });
});

describe('mutations answer with the people of the request they changed', () => {
  const create = async (maker: Operator, amount: string) => {
    const result = await world.gql(maker, CreateWithPeopleDocument, {
      clientId: team.partner.id,
      input: { requestedAmount: amount },
      evidence: upload(PDF),
    });
    expect(result.errors).toBeUndefined();
    return result.data!.createProcessRequest;
  };

  test('create, approve twice, reverse, approve the reversal', async () => {
    const created = await create(maker2, '75.00');
    expectPeople(created, {
      status: 'PENDING',
      creator: maker2,
      reviewer: null,
      canceller: null,
      approvers: [],
      history: [['CREATED', maker2]],
    });
    const vars = { clientId: team.partner.id, id: created.id };
    const first = await world.gql(team.checker, ApproveWithPeopleDocument, vars);
    expect(first.errors).toBeUndefined();
    expect(first.data!.approveProcessRequest).toMatchObject({
      status: 'PENDING',
      reviewer: null,
      approvals: [{ operator: person(team.checker) }],
    });
    const second = await world.gql(checker2, ApproveWithPeopleDocument, vars);
    expect(second.errors).toBeUndefined();
    expectPeople(second.data!.approveProcessRequest, {
      status: 'APPROVED',
      creator: maker2,
      reviewer: checker2,
      canceller: null,
      approvers: [team.checker, checker2],
      history: [
        ['CREATED', maker2],
        ['APPROVAL_RECORDED', team.checker],
        ['APPROVED', checker2],
      ],
    });

    const reversal = await world.gql(team.maker, ReverseWithPeopleDocument, { ...vars, reason: 'duplicate' });
    expect(reversal.errors).toBeUndefined();
    const reversalId = reversal.data!.reverseProcessRequest.id;
    expect(reversal.data!.reverseProcessRequest).toMatchObject({
      creator: person(team.maker),
      history: [{ type: 'CREATED', actor: person(team.maker) }],
    });
    // The reversal needs two approvals as well (same amount); the second reverses the top-up.
    for (const checker of [team.checker, checker2]) {
      const approved = await world.gql(checker, ApproveWithPeopleDocument, { ...vars, id: reversalId });
      expect(approved.errors).toBeUndefined();
    }
    const original = await world.gql(team.viewer, OneProcessRequestPeopleDocument, vars);
    expect(original.data!.processRequest.history.at(-1)).toEqual({
      type: 'REVERSED',
      actorId: checker2.id,
      actor: person(checker2),
    });
  });

  test('reject names the reviewer; cancel by a staff admin names them as canceller', async () => {
    const rejected = await create(team.maker, '1.00');
    const r = await world.gql(team.checker, RejectWithPeopleDocument, {
      clientId: team.partner.id,
      id: rejected.id,
      reason: 'blurry',
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.rejectProcessRequest).toMatchObject({
      reviewer: person(team.checker),
      history: [{ actor: person(team.maker) }, { type: 'REJECTED', actor: person(team.checker) }],
    });

    const cancelled = await create(team.maker, '1.00');
    const c = await world.gql(admin, CancelWithPeopleDocument, {
      clientId: team.partner.id,
      id: cancelled.id,
    });
    expect(c.errors).toBeUndefined();
    expect(c.data!.cancelProcessRequest).toMatchObject({
      canceller: person(admin),
      creator: person(team.maker),
      reviewer: null,
    });
  });

  test('a bulk approval answers each request with its people, read in one statement', async () => {
    const ids = [(await create(team.maker, '1.00')).id, (await create(maker2, '1.00')).id];
    const { sql, result } = await statementsOf(world, () =>
      world.gql(team.checker, ApproveManyWithPeopleDocument, { clientId: team.partner.id, ids }),
    );
    expect(result.errors).toBeUndefined();
    expect(
      result.data!.approveProcessRequests.map((r) => [r.ok, r.request?.creator, r.request?.reviewer]),
    ).toEqual([
      [true, person(team.maker), person(team.checker)],
      [true, person(maker2), person(team.checker)],
    ]);
    expect(sql.filter(isPeopleStatement)).toHaveLength(1);
  });
});

describe('policy changes name who made them', () => {
  test('an admin change names the admin; a CLI change has no actor', async () => {
    // The beforeAll change was the admin's; this one is the CLI's (newest first).
    await replacePolicy(
      world.app.orm.em.fork(),
      team.partner.id,
      'USD',
      parseInput(policyInput, POLICY),
      null,
    );
    const result = await world.gql(team.viewer, PolicyPeopleDocument, { clientId: team.partner.id });
    expect(result.errors).toBeUndefined();
    expect(result.data!.approvalPolicy.history).toEqual([
      { actorId: null, actor: null },
      { actorId: admin.id, actor: person(admin) },
    ]);

    const local = await world.operator(['ADMIN'], [team.partner.id], { name: 'Local Admin' });
    const set = await world.gql(local, SetPolicyPeopleDocument, { clientId: team.partner.id, input: POLICY });
    expect(set.errors).toBeUndefined();
    expect(set.data!.setApprovalPolicy.history[0]).toEqual({ actorId: local.id, actor: person(local) });
  });
});

describe('what others may see of an operator', () => {
  test('Operator has id, name and email only; roles, scope and OTP are for me (CurrentOperator)', async () => {
    const [id] = expected.keys();
    const res = await world.http
      .post('/graphql')
      .set(headers)
      .send({
        query: `query($c: ID!, $id: ID!) { processRequest(clientId: $c, id: $id) { creator { id roles partnerIds otpRequired active } } }`,
        variables: { c: team.partner.id, id },
      });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([
      'Cannot query field "roles" on type "Operator".',
      'Cannot query field "partnerIds" on type "Operator".',
      'Cannot query field "otpRequired" on type "Operator".',
      'Cannot query field "active" on type "Operator".',
    ]);
    const me = await world.gql(team.viewer, MeDocument);
    expect(me.data!.me).toMatchObject({
      id: team.viewer.id,
      roles: ['VIEWER'],
      partnerIds: [team.partner.id],
    });
  });

  test("no operator of another partner appears in a partner's answers", async () => {
    const page = await world.gql(admin, ProcessRequestPeopleDocument, {
      clientId: team.partner.id,
      limit: 100,
    });
    const text = JSON.stringify(page.data);
    for (const stranger of [other.maker, other.checker, other.viewer]) {
      expect(text).not.toContain(stranger.id);
      expect(text).not.toContain(stranger.email);
    }
  });

  test('the batch reads people only under partners the caller may read', async () => {
    const { queries } = world.app.services;
    const asked = { id: other.maker.id, partnerId: other.partner.id };
    await expect(queries.peopleOf(ctxOf(team.viewer), [asked])).rejects.toMatchObject({
      code: 'PARTNER_FORBIDDEN',
    });
    // One refused partner refuses the whole batch: nothing is read.
    const { sql, result } = await statementsOf(world, () =>
      queries
        .peopleOf(ctxOf(team.viewer), [{ id: team.maker.id, partnerId: team.partner.id }, asked])
        .catch((e: { code: string }) => e.code),
    );
    expect(result).toBe('PARTNER_FORBIDDEN');
    expect(sql).toEqual([]);
    await expect(
      queries.peopleOf(ctxOf(other.viewer), [{ id: team.maker.id, partnerId: team.partner.id }]),
    ).rejects.toMatchObject({ code: 'PARTNER_FORBIDDEN' });
  });
});

describe('the cost budget prices the people', () => {
  test('a page of 100 with every person costs 2,201 objects: one fits in 3,000, two do not', async () => {
    const pageOf = (alias: string) => `${alias}: processRequests(clientId: $c, limit: 100) { items {
      creator { id } reviewer { id } canceller { id } approvals { operator { id } } history { actor { id } } } }`;
    const send = (query: string) =>
      world.http
        .post('/graphql')
        .set(headers)
        .send({ query, variables: { c: team.partner.id } });
    const one = await send(`query($c: ID!) { ${pageOf('a')} }`);
    expect(one.body.errors).toBeUndefined();
    const two = await send(`query($c: ID!) { ${pageOf('a')} ${pageOf('b')} }`);
    expect(two.status).toBe(400);
    expect(two.body.errors[0]).toMatchObject({
      message: 'The operation may return 4402 objects; at most 3000 are allowed',
      extensions: { code: 'QUERY_TOO_COMPLEX', details: { limit: 'cost', actual: 4402 } },
    });
  });
});
