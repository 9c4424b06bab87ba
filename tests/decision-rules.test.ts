// The decision rules in one table (SPEC sections 2, 4, 6, 12, 13): each row is a situation, the outcome
// tried (approve, reject, cancel) and the answer expected, run over REST through the one decision path.
// Rows that break two rules at once pin the precedence: the first refusal of the guard answers.
import type { Operator } from '../src/entities/operator.entity';
import {
  cliOperator,
  desk,
  type Desk,
  fileReversal,
  putPolicy,
  setPolicy,
  statusOf,
} from './support/lifecycle';
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
/** Every control of SPEC section 18 on: re-keyed amount, evidence opened, reject reason, caps. */
let strict: Desk;
/** A checker of `strict` with a daily approval limit of USD 150. */
let daily: { id: string; headers: Headers };

beforeAll(async () => {
  // Policies are this suite's fixtures, set at once; four eyes on policy changes: tests/policy-changes.test.ts.
  world = await createWorld({ POLICY_CHANGES_NEED_APPROVAL: 'false' });
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
  strict = await desk(world, 'Strict');
  const policy = await putPolicy(world, strict.partner.id, strict.admin, {
    tiers: [{ from: '0', approvals: 1 }],
    pendingTtlSeconds: 604800,
    dailyCreditLimit: '1000',
    maxBalance: '5000',
    requireAmountConfirmation: true,
    requireEvidenceViewed: true,
    rejectReasonRequired: true,
  });
  expect(policy.status).toBe(200);
  daily = await cliOperator(world, 'CHECKER', [strict.partner.id], '--daily-approval-limit', 'USD:150');
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

/** Issues a download link of the request's evidence to `by` (recorded as EVIDENCE_VIEWED). */
async function viewed(d: Desk, id: string, by: Headers): Promise<string> {
  const res = await world.http
    .get(`${world.rest(d.partner.id)}/process-request/${id}/evidence/download`)
    .set(by);
  expect(res.status).toBe(200);
  return id;
}

/** A strict request of 100.00 its checker has opened. */
const strictReady = async (by: Headers = strict.h.checkers[0]) => viewed(strict, await pending(strict), by);

/** The strict partner's balance figures, written as a test's starting point (credited_on: days ago). */
async function figures(available: string, creditedThatDay: string, daysAgo = 0): Promise<void> {
  await world.sql(
    `update client_balance set available = ?, credited_that_day = ?, last_change = 0,
            credited_on = (now() at time zone 'UTC')::date - ?::int where client_id = ?`,
    [available, creditedThatDay, daysAgo, strict.partner.id],
  );
}

/** What the daily-limited checker approved already, on the UTC day `daysAgo` days back. */
async function approvedToday(total: string, daysAgo = 0): Promise<void> {
  await world.sql(`delete from operator_daily_total where operator_id = ?`, [daily.id]);
  await world.sql(
    `insert into operator_daily_total (operator_id, day, currency, total, daily_limit)
     values (?, (now() at time zone 'UTC')::date - ?::int, 'USD', ?, 150)`,
    [daily.id, daysAgo, total],
  );
}

const CONFIRMED = { confirmAmount: '100' };

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
  // SPEC section 18: re-keyed amount, evidence opened (refusals of the guard, before any step-up)
  {
    situation: 'a wrong confirmAmount, without the policy asking for one (a given amount is always checked)',
    action: 'approve',
    arrange: async () => ({
      d: one,
      id: await pending(one),
      by: one.h.checkers[0],
      body: { confirmAmount: '100.01' },
    }),
    expected: [409, 'AMOUNT_CONFIRMATION_MISMATCH'],
  },
  {
    situation: 'confirmAmount 100.0 for 100.00 (compared as decimals)',
    action: 'approve',
    arrange: async () => ({
      d: one,
      id: await pending(one),
      by: one.h.checkers[0],
      body: { confirmAmount: '100.0' },
    }),
    expected: [204, null],
  },
  {
    situation: 'confirmAmount not a decimal',
    action: 'approve',
    arrange: async () => ({
      d: one,
      id: await pending(one),
      by: one.h.checkers[0],
      body: { confirmAmount: '1e2' },
    }),
    expected: [400, 'VALIDATION_FAILED'],
  },
  {
    situation: 'the policy requires confirmAmount and none is given',
    action: 'approve',
    arrange: async () => ({ d: strict, id: await strictReady(), by: strict.h.checkers[0] }),
    expected: [400, 'AMOUNT_CONFIRMATION_REQUIRED'],
  },
  {
    situation: 'the policy requires confirmAmount, a different one is given',
    action: 'approve',
    arrange: async () => ({
      d: strict,
      id: await strictReady(),
      by: strict.h.checkers[0],
      body: { confirmAmount: '1000' },
    }),
    expected: [409, 'AMOUNT_CONFIRMATION_MISMATCH'],
  },
  {
    situation: 'no confirmAmount and the evidence not opened (confirmation before evidence)',
    action: 'approve',
    arrange: async () => ({ d: strict, id: await pending(strict), by: strict.h.checkers[0] }),
    expected: [400, 'AMOUNT_CONFIRMATION_REQUIRED'],
  },
  {
    situation: 'no confirmAmount, above the approval limit (limit before confirmation)',
    action: 'approve',
    arrange: async () => {
      const small = await cliOperator(world, 'CHECKER', [strict.partner.id], '--approval-limit', 'USD:5');
      return { d: strict, id: await strictReady(small.headers), by: small.headers };
    },
    expected: [403, 'APPROVAL_LIMIT_EXCEEDED'],
  },
  {
    situation: 'the evidence never opened',
    action: 'approve',
    arrange: async () => ({
      d: strict,
      id: await pending(strict),
      by: strict.h.checkers[0],
      body: CONFIRMED,
    }),
    expected: [409, 'EVIDENCE_NOT_VIEWED'],
  },
  {
    situation: 'the evidence opened by another checker only',
    action: 'approve',
    arrange: async () => ({
      d: strict,
      id: await strictReady(strict.h.checkers[1]),
      by: strict.h.checkers[0],
      body: CONFIRMED,
    }),
    expected: [409, 'EVIDENCE_NOT_VIEWED'],
  },
  {
    situation: 'the amount re-keyed (100.000) and the evidence opened by the approver',
    action: 'approve',
    arrange: async () => {
      await figures('0', '0');
      return {
        d: strict,
        id: await strictReady(),
        by: strict.h.checkers[0],
        body: { confirmAmount: '100.000' },
      };
    },
    expected: [204, null],
  },
  // SPEC section 18: caps, decided by the approving statement's CHECKs (the request stays PENDING)
  {
    situation: "a credit taking the partner's UTC day above dailyCreditLimit (950 + 100 > 1000)",
    action: 'approve',
    arrange: async () => {
      await figures('0', '950');
      return { d: strict, id: await strictReady(), by: strict.h.checkers[0], body: CONFIRMED };
    },
    expected: [409, 'DAILY_CREDIT_LIMIT_EXCEEDED'],
  },
  {
    situation: 'a credit exactly at dailyCreditLimit (900 + 100 = 1000)',
    action: 'approve',
    arrange: async () => {
      await figures('0', '900');
      return { d: strict, id: await strictReady(), by: strict.h.checkers[0], body: CONFIRMED };
    },
    expected: [204, null],
  },
  {
    situation: 'the day rolled over: yesterday at the limit counts nothing today',
    action: 'approve',
    arrange: async () => {
      await figures('0', '1000', 1);
      return { d: strict, id: await strictReady(), by: strict.h.checkers[0], body: CONFIRMED };
    },
    expected: [204, null],
  },
  {
    situation: 'a credit leaving the balance above maxBalance (4950 + 100 > 5000)',
    action: 'approve',
    arrange: async () => {
      await figures('4950', '0');
      return { d: strict, id: await strictReady(), by: strict.h.checkers[0], body: CONFIRMED };
    },
    expected: [409, 'BALANCE_CEILING_EXCEEDED'],
  },
  {
    situation: 'a credit leaving the balance exactly at maxBalance (4900 + 100 = 5000)',
    action: 'approve',
    arrange: async () => {
      await figures('4900', '0');
      return { d: strict, id: await strictReady(), by: strict.h.checkers[0], body: CONFIRMED };
    },
    expected: [204, null],
  },
  {
    situation: "an approval taking the operator's UTC day above their daily limit (100 + 100 > 150)",
    action: 'approve',
    arrange: async () => {
      await figures('0', '0');
      await approvedToday('100');
      return { d: strict, id: await strictReady(daily.headers), by: daily.headers, body: CONFIRMED };
    },
    expected: [403, 'DAILY_LIMIT_EXCEEDED'],
  },
  {
    situation: "an approval exactly at the operator's daily limit (50 + 100 = 150)",
    action: 'approve',
    arrange: async () => {
      await figures('0', '0');
      await approvedToday('50');
      return { d: strict, id: await strictReady(daily.headers), by: daily.headers, body: CONFIRMED };
    },
    expected: [204, null],
  },
  {
    situation: "the operator's day rolled over: yesterday's 150 counts nothing today",
    action: 'approve',
    arrange: async () => {
      await figures('0', '0');
      await approvedToday('150', 1);
      return { d: strict, id: await strictReady(daily.headers), by: daily.headers, body: CONFIRMED };
    },
    expected: [204, null],
  },
  // reject
  {
    situation: 'rejectReasonRequired, without a reason (no approvals)',
    action: 'reject',
    arrange: async () => ({ d: strict, id: await pending(strict), by: strict.h.checkers[0] }),
    expected: [400, 'REASON_REQUIRED'],
  },
  {
    situation: 'rejectReasonRequired, a reason of blanks',
    action: 'reject',
    arrange: async () => ({
      d: strict,
      id: await pending(strict),
      by: strict.h.checkers[0],
      body: { reason: '   ' },
    }),
    expected: [400, 'REASON_REQUIRED'],
  },
  {
    situation: 'rejectReasonRequired, with a reason',
    action: 'reject',
    arrange: async () => ({
      d: strict,
      id: await pending(strict),
      by: strict.h.checkers[0],
      body: { reason: 'no' },
    }),
    expected: [204, null],
  },
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
