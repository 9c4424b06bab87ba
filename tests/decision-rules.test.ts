// The decision rules in one table (SPEC sections 2, 4, 6, 12, 13): each row is a situation, the outcome
// tried (approve, reject, cancel) and the answer expected, run over REST through the one decision path.
// Rows that break two rules at once pin the precedence: the first refusal of the guard answers.
import type { Operator } from '../src/entities/operator.entity';
import { cliOperator, desk, type Desk, fileReversal, setPolicy, statusOf } from './support/lifecycle';
import { enrollWithCli } from './support/step-up';
import { createWorld, type Action, type World } from './support/world';

type Headers = Record<string, string>;

let world: World;
/** One approval required. */
let one: Desk;
/** Two approvals required. */
let two: Desk;
let makerChecker: Operator;
let otherMaker: Headers;
let limited: { id: string; headers: Headers };
let otp: Headers;

beforeAll(async () => {
  world = await createWorld();
  one = await desk(world, 'One approval');
  two = await desk(world, 'Two approvals');
  await setPolicy(world, two.partner.id, two.admin, [{ from: '0', approvals: 2 }]);
  makerChecker = await world.operator(['MAKER', 'CHECKER'], [one.partner.id, two.partner.id]);
  otherMaker = await world.headers(await world.operator(['MAKER'], [one.partner.id]));
  limited = await cliOperator(
    world,
    'CHECKER',
    [one.partner.id, two.partner.id],
    '--approval-limit',
    'USD:50',
  );
  otp = (await enrollWithCli(world, 'CHECKER', [one.partner.id])).headers;
}, 120_000);
afterAll(() => world?.close());

/** A request of the desk: PENDING, filed by its maker (or by `by`). */
const pending = (d: Desk, by: Operator | Headers = d.h.maker, amount = '100.00') =>
  world.createRequest(d.partner.id, by, amount);

async function approvedBy(d: Desk, id: string, checker: Headers): Promise<string> {
  expect((await world.act(d.partner.id, id, 'approve', checker)).status).toBe(204);
  return id;
}

/** Requests put past their deadline: a refusal on one expires it. */
const dueIds = new Set<string>();

/** Past its deadline, not yet swept. */
async function due(id: string): Promise<string> {
  dueIds.add(id);
  await world.sql(`update process_request set expires_at = now() - interval '1 second' where id = ?`, [id]);
  return id;
}

/** A reversal whose final approval would debit more than the balance holds (its own partner). */
async function spentReversal(): Promise<{ d: Desk; id: string }> {
  const d = await desk(world, 'Spent', 'USD', 1);
  const original = await approvedBy(d, await pending(d, d.h.maker, '40.00'), d.h.checkers[0]);
  const reversal = await fileReversal(world, d.partner.id, original, d.h.maker, { reason: 'chargeback' });
  await world.sql('update client_balance set available = 10 where client_id = ?', [d.partner.id]);
  return { d, id: reversal.body.id as string };
}

interface Row {
  situation: string;
  action: Action;
  /** The request, its partner's desk, who acts, and the body. */
  arrange: () => Promise<{ d: Desk; id: string; by: Headers | Operator; body?: Record<string, unknown> }>;
  expected: [number, string | null];
}

const ROWS: Row[] = [
  // approve
  {
    situation: 'a VIEWER',
    action: 'approve',
    arrange: async () => ({ d: one, id: await pending(one), by: one.h.viewer }),
    expected: [403, 'FORBIDDEN'],
  },
  {
    situation: 'an unknown id',
    action: 'approve',
    arrange: async () => ({ d: one, id: '00000000-0000-4000-8000-000000000000', by: one.h.checkers[0] }),
    expected: [404, 'NOT_FOUND'],
  },
  {
    situation: 'its creator (MAKER and CHECKER)',
    action: 'approve',
    arrange: async () => ({ d: one, id: await pending(one, makerChecker), by: makerChecker }),
    expected: [403, 'SELF_REVIEW_FORBIDDEN'],
  },
  {
    situation: 'its creator, on an APPROVED request (four eyes before status)',
    action: 'approve',
    arrange: async () => ({
      d: one,
      id: await approvedBy(one, await pending(one, makerChecker), one.h.checkers[0]),
      by: makerChecker,
    }),
    expected: [403, 'SELF_REVIEW_FORBIDDEN'],
  },
  {
    situation: 'an APPROVED request',
    action: 'approve',
    arrange: async () => ({
      d: one,
      id: await approvedBy(one, await pending(one), one.h.checkers[0]),
      by: one.h.checkers[1],
    }),
    expected: [409, 'PROCESS_REQUEST_NOT_PENDING'],
  },
  {
    situation: 'a request past its deadline',
    action: 'approve',
    arrange: async () => ({ d: one, id: await due(await pending(one)), by: one.h.checkers[0] }),
    expected: [409, 'PROCESS_REQUEST_NOT_PENDING'],
  },
  {
    situation: 'an operator approving twice',
    action: 'approve',
    arrange: async () => ({
      d: two,
      id: await approvedBy(two, await pending(two), two.h.checkers[0]),
      by: two.h.checkers[0],
    }),
    expected: [409, 'ALREADY_APPROVED_BY_OPERATOR'],
  },
  {
    situation: 'an operator approving twice, past the deadline (expiry before the second approval)',
    action: 'approve',
    arrange: async () => ({
      d: two,
      id: await due(await approvedBy(two, await pending(two), two.h.checkers[0])),
      by: two.h.checkers[0],
    }),
    expected: [409, 'PROCESS_REQUEST_NOT_PENDING'],
  },
  {
    situation: 'above the approval limit',
    action: 'approve',
    arrange: async () => ({ d: one, id: await pending(one), by: limited.headers }),
    expected: [403, 'APPROVAL_LIMIT_EXCEEDED'],
  },
  {
    situation: 'above the limit, on an APPROVED request (status before limit)',
    action: 'approve',
    arrange: async () => ({
      d: one,
      id: await approvedBy(one, await pending(one), one.h.checkers[0]),
      by: limited.headers,
    }),
    expected: [409, 'PROCESS_REQUEST_NOT_PENDING'],
  },
  {
    situation: 'above the limit, having approved already (one approval before limit)',
    action: 'approve',
    arrange: async () => {
      const id = await approvedBy(two, await pending(two, two.h.maker, '40.00'), limited.headers);
      await world.sql(`update process_request set requested_amount = 60 where id = ?`, [id]);
      return { d: two, id, by: limited.headers };
    },
    expected: [409, 'ALREADY_APPROVED_BY_OPERATOR'],
  },
  {
    situation: "a reversal's final approval the balance cannot cover",
    action: 'approve',
    arrange: async () => {
      const { d, id } = await spentReversal();
      return { d, id, by: d.h.admin };
    },
    expected: [409, 'INSUFFICIENT_BALANCE'],
  },
  {
    situation: "a reversal's final approval the balance cannot cover, above the limit (limit before balance)",
    action: 'approve',
    arrange: async () => {
      const { d, id } = await spentReversal();
      const small = await cliOperator(world, 'CHECKER', [d.partner.id], '--approval-limit', 'USD:5');
      return { d, id, by: small.headers };
    },
    expected: [403, 'APPROVAL_LIMIT_EXCEEDED'],
  },
  {
    situation: 'an OTP operator without a code, on an APPROVED request (refusals before the step-up)',
    action: 'approve',
    arrange: async () => ({
      d: one,
      id: await approvedBy(one, await pending(one), one.h.checkers[0]),
      by: otp,
    }),
    expected: [409, 'PROCESS_REQUEST_NOT_PENDING'],
  },
  {
    situation: 'an OTP operator without a code',
    action: 'approve',
    arrange: async () => ({ d: one, id: await pending(one), by: otp }),
    expected: [403, 'OTP_REQUIRED'],
  },
  {
    situation: 'a CHECKER on a PENDING request',
    action: 'approve',
    arrange: async () => ({ d: one, id: await pending(one), by: one.h.checkers[0] }),
    expected: [204, null],
  },
  // reject
  {
    situation: 'its creator',
    action: 'reject',
    arrange: async () => ({
      d: one,
      id: await pending(one, makerChecker),
      by: makerChecker,
      body: { reason: 'no' },
    }),
    expected: [403, 'SELF_REVIEW_FORBIDDEN'],
  },
  {
    situation: 'an APPROVED request',
    action: 'reject',
    arrange: async () => ({
      d: one,
      id: await approvedBy(one, await pending(one), one.h.checkers[0]),
      by: one.h.checkers[1],
      body: { reason: 'no' },
    }),
    expected: [409, 'PROCESS_REQUEST_NOT_PENDING'],
  },
  {
    situation: 'a request with an approval, without a reason',
    action: 'reject',
    arrange: async () => ({
      d: two,
      id: await approvedBy(two, await pending(two), two.h.checkers[0]),
      by: two.h.checkers[1],
    }),
    expected: [400, 'REASON_REQUIRED'],
  },
  {
    situation: 'a request with an approval, without a reason, past the deadline (expiry before reason)',
    action: 'reject',
    arrange: async () => ({
      d: two,
      id: await due(await approvedBy(two, await pending(two), two.h.checkers[0])),
      by: two.h.checkers[1],
    }),
    expected: [409, 'PROCESS_REQUEST_NOT_PENDING'],
  },
  {
    situation: 'a request with an approval, with a reason',
    action: 'reject',
    arrange: async () => ({
      d: two,
      id: await approvedBy(two, await pending(two), two.h.checkers[0]),
      by: two.h.checkers[1],
      body: { reason: 'no' },
    }),
    expected: [204, null],
  },
  {
    situation: 'a request without approvals, without a reason',
    action: 'reject',
    arrange: async () => ({ d: one, id: await pending(one), by: one.h.checkers[0] }),
    expected: [204, null],
  },
  // cancel
  {
    situation: 'a CHECKER, on an APPROVED request (permission before status)',
    action: 'cancel',
    arrange: async () => ({
      d: one,
      id: await approvedBy(one, await pending(one), one.h.checkers[0]),
      by: one.h.checkers[1],
    }),
    expected: [403, 'FORBIDDEN'],
  },
  {
    situation: 'a MAKER who did not file it',
    action: 'cancel',
    arrange: async () => ({ d: one, id: await pending(one), by: otherMaker }),
    expected: [403, 'FORBIDDEN'],
  },
  {
    situation: 'its MAKER, on an APPROVED request',
    action: 'cancel',
    arrange: async () => ({
      d: one,
      id: await approvedBy(one, await pending(one), one.h.checkers[0]),
      by: one.h.maker,
    }),
    expected: [409, 'PROCESS_REQUEST_NOT_PENDING'],
  },
  {
    situation: 'its MAKER, past the deadline',
    action: 'cancel',
    arrange: async () => ({ d: one, id: await due(await pending(one)), by: one.h.maker }),
    expected: [409, 'PROCESS_REQUEST_NOT_PENDING'],
  },
  {
    situation: 'its MAKER',
    action: 'cancel',
    arrange: async () => ({ d: one, id: await pending(one), by: one.h.maker }),
    expected: [204, null],
  },
  {
    situation: 'an ADMIN',
    action: 'cancel',
    arrange: async () => ({ d: one, id: await pending(one), by: one.h.admin }),
    expected: [204, null],
  },
];

test.each(ROWS.map((row) => [row.action, row.situation, row] as const))(
  '%s: %s',
  async (action, _situation, row) => {
    const { d, id, by, body } = await row.arrange();
    const before = await world.sql<{ status: string }>('select status from process_request where id = ?', [
      id,
    ]);
    const res = await world.act(d.partner.id, id, action, by, body);
    expect([res.status, res.status === 204 ? null : res.body.code]).toEqual(row.expected);
    if (row.expected[0] === 204) return;
    // A refusal changes nothing, except that a request found past its deadline is expired then.
    if (before.length === 0) return;
    expect(await statusOf(world, id)).toBe(dueIds.has(id) ? 'EXPIRED' : before[0].status);
  },
);
