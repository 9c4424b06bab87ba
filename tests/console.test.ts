// The checker console in a real browser (Debian's chromium through playwright-core): sign-in from the
// banner's link, the inbox of what this operator may decide, live updates, the evidence, decisions with
// and without OTP, bulk decisions, create with a file, sign-out, accessibility, and nothing loaded from
// outside. Skipped, saying why, only when chromium is not installed.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { mintToken } from '../src/auth/dev-tokens';
import { replacePolicy } from '../src/services/approval-policy.service';
import {
  axeViolations,
  buildConsoleIfStale,
  chromiumPath,
  launch,
  watchedPage,
  type Watched,
} from './support/browser';
import { png } from './support/files';
import { until } from './support/progress-ws';
import { codeAt, enrollWithCli, type Enrolled } from './support/step-up';
import { createWorld, type TestPartner, type World } from './support/world';
import type { Operator } from '../src/entities/operator.entity';

const executablePath = chromiumPath();
const suite = executablePath ? describe : describe.skip;
if (!executablePath)
  process.stderr.write(
    'console browser tests SKIPPED: chromium is not installed (apt-get install -y chromium)\n',
  );

/** With CONSOLE_SCREENSHOTS=1 the main screens are saved under docs/console/. */
const SHOTS =
  process.env.CONSOLE_SCREENSHOTS === '1' ? path.join(__dirname, '..', 'docs', 'console') : undefined;
const shot = async (page: Page, name: string) => {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
};

jest.setTimeout(120_000);

suite('checker console in chromium', () => {
  const started = Date.now();
  let world: World;
  let browser: Browser;
  let partner: TestPartner;
  let maker: Operator;
  let lead: Operator;
  let checker2: Operator;
  let otpChecker: Enrolled;
  let main: Watched;
  const ids: Record<string, string> = {};
  const watched: Watched[] = [];

  const userToken = (subject: string) => mintToken(world.app.config, 'user', subject, 3600);
  const signInAs = async (w: Watched, subject: string) => {
    await w.page.goto(`${world.baseUrl}/console#userToken=${await userToken(subject)}`);
  };
  const statusOf = async (id: string) =>
    (await world.sql<{ status: string }>('select status from process_request where id = ?', [id]))[0].status;
  const rowIds = (page: Page) =>
    page
      .locator('tbody tr[data-request-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-request-id')));

  beforeAll(async () => {
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
    buildConsoleIfStale();
    world = await createWorld();
    partner = await world.partner('Acme Payments', 'USD');
    await replacePolicy(
      world.app.orm.em.fork(),
      partner.id,
      'USD',
      {
        pendingTtlSeconds: 86400,
        tiers: [
          { from: '0', approvals: 1 },
          { from: '1000', approvals: 2 },
        ],
      },
      null,
    );
    maker = await world.operator(['MAKER'], [partner.id], { name: 'Mia Maker' });
    lead = await world.operator(['CHECKER', 'MAKER'], [partner.id], { name: 'Lee Lead' });
    checker2 = await world.operator(['CHECKER'], [partner.id], { name: 'Cy Checker' });
    await world.sql(`update operator set approval_limits = '{"USD": "5000"}' where id = ?`, [lead.id]);
    otpChecker = await enrollWithCli(world, 'CHECKER', [partner.id]);

    // What the lead may decide now: a and f. Not b (approved by them already), c (above their limit),
    // d (their own), e (cancelled).
    ids.a = await world.createRequest(partner.id, maker, '100.00');
    ids.b = await world.createRequest(partner.id, maker, '1500.00');
    expect((await world.act(partner.id, ids.b, 'approve', lead)).status).toBe(204);
    ids.c = await world.createRequest(partner.id, maker, '6000.00');
    ids.d = await world.createRequest(partner.id, lead, '200.00');
    ids.e = await world.createRequest(partner.id, maker, '300.00');
    expect((await world.act(partner.id, ids.e, 'cancel', maker)).status).toBe(204);
    ids.f = await world.createRequest(partner.id, maker, '1200.00');
    expect((await world.act(partner.id, ids.f, 'approve', checker2)).status).toBe(204);

    browser = await launch(executablePath as string);
    main = await watchedPage(browser);
    watched.push(main);
  });

  afterAll(async () => {
    await browser?.close();
    await world?.close();
    process.stdout.write(
      `console browser tests: ${((Date.now() - started) / 1000).toFixed(1)} s wall time\n`,
    );
  });

  test('signs in from the fragment link the banner prints, and takes the token off the address', async () => {
    await signInAs(main, lead.subject);
    await main.page.getByRole('heading', { name: 'Pending my decision' }).waitFor();
    expect(main.page.url()).toBe(`${world.baseUrl}/console`);
    await main.page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  test('"Pending my decision" is a table of exactly what this operator may approve now, oldest first', async () => {
    await main.page.locator(`tr[data-request-id="${ids.f}"]`).waitFor();
    expect(await rowIds(main.page)).toEqual([ids.a, ids.f]);
    const row = main.page.locator(`tr[data-request-id="${ids.f}"]`);
    await expectText(row, '1 of 2');
    await shot(main.page, 'inbox');
  });

  test("another operator's action and a new request show up without a reload", async () => {
    // The page's subscription is live once the server counts it: what commits from then on reaches it.
    await until(() => world.app.progress.openStreamsFor(lead.id) === 1, 10_000);
    expect((await world.act(partner.id, ids.a, 'approve', checker2)).status).toBe(204);
    await main.page.locator(`tr[data-request-id="${ids.a}"]`).waitFor({ state: 'detached' });
    ids.g = await world.createRequest(partner.id, maker, '25.00');
    await main.page.locator(`tr[data-request-id="${ids.g}"]`).waitFor();
    expect(await rowIds(main.page)).toEqual([ids.f, ids.g]);
  });

  test('opens a request with its evidence shown inline, and approves it (no OTP for this operator)', async () => {
    ids.h = await world.createRequest(partner.id, maker, '50.00', png(), 'receipt.png');
    await main.page.getByRole('button', { name: `Open ${ids.h.slice(0, 8)}` }).click();
    const image = main.page.getByRole('img', { name: 'Evidence: receipt.png' });
    await image.waitFor();
    // Loaded from the blob storage under the page's CSP (a 1x1 PNG). Polled from here: waitForFunction
    // evaluates its text with eval() inside the page, which this page's CSP refuses.
    const width = `document.querySelector('img[alt="Evidence: receipt.png"]')?.naturalWidth ?? 0`;
    for (const until = Date.now() + 30_000; (await main.page.evaluate<number>(width)) !== 1;) {
      if (Date.now() > until) throw new Error('the evidence image did not load');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await shot(main.page, 'request');
    await main.page.getByRole('button', { name: 'Approve', exact: true }).click();
    await expectText(main.page.getByRole('status'), 'APPROVED');
    expect(await statusOf(ids.h)).toBe('APPROVED');
  });

  test('rejecting a request that has approvals asks for a reason, then rejects it', async () => {
    await main.page.getByRole('button', { name: 'Back to the inbox' }).click();
    await main.page.getByRole('button', { name: `Open ${ids.f.slice(0, 8)}` }).click();
    await main.page.getByRole('button', { name: 'Reject', exact: true }).click();
    await expectText(main.page.getByRole('alert'), 'A reason is required');
    expect(await statusOf(ids.f)).toBe('PENDING');
    await main.page.getByLabel('Reason').fill('The receipt is for another partner');
    await main.page.getByRole('button', { name: 'Reject', exact: true }).click();
    await expectText(main.page.getByRole('status'), 'REJECTED');
    expect(await statusOf(ids.f)).toBe('REJECTED');
  });

  test("the decision buttons stay where they are while the evidence's preview arrives", async () => {
    ids.m = await world.createRequest(partner.id, maker, '40.00');
    const page = main.page;
    // The preview's address is held back until the buttons have been measured once.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(`${world.baseUrl}/graphql`, async (route) => {
      if (route.request().postDataJSON()?.operationName === 'Evidence') await held;
      await route.fallback();
    });
    try {
      await page.getByRole('button', { name: 'Back to the inbox' }).click();
      await page.getByRole('button', { name: `Open ${ids.m.slice(0, 8)}` }).click();
      const approve = page.getByRole('button', { name: 'Approve', exact: true });
      await page.getByText('Loading the receipt…').waitFor();
      const before = await approve.boundingBox();
      release();
      await page.getByRole('link', { name: 'Open receipt.pdf' }).waitFor();
      await page.locator('object[type="application/pdf"]').waitFor({ state: 'attached' });
      expect(before).not.toBeNull();
      expect(await approve.boundingBox()).toEqual(before);
    } finally {
      release();
      await page.unroute(`${world.baseUrl}/graphql`);
    }
  });

  test('an operator enrolled in OTP is asked for the code, and approves with it', async () => {
    const other = await watchedPage(browser);
    watched.push(other);
    ids.i = await world.createRequest(partner.id, maker, '80.00');
    await signInAs(other, otpChecker.id);
    await other.page.getByRole('button', { name: `Open ${ids.i.slice(0, 8)}` }).click();
    await other.page.getByRole('button', { name: 'Approve', exact: true }).click();
    await expectText(other.page.getByRole('alert'), /OTP|one-time/i);
    expect(await statusOf(ids.i)).toBe('PENDING');
    await other.page.getByLabel('OTP code').fill(await codeAt(otpChecker.otpSecret));
    await other.page.getByRole('button', { name: 'Approve', exact: true }).click();
    await expectText(other.page.getByRole('status'), 'APPROVED');
    expect(await statusOf(ids.i)).toBe('APPROVED');
    await other.context.close();
  });

  test('"Approve selected" decides each request and shows a result per item', async () => {
    ids.j = await world.createRequest(partner.id, maker, '11.00');
    ids.k = await world.createRequest(partner.id, maker, '12.00');
    ids.l = await world.createRequest(partner.id, lead, '13.00');
    const page = main.page;
    await page.getByRole('button', { name: 'Back to the inbox' }).click();
    await page.getByRole('button', { name: 'All requests' }).click();
    await page.getByLabel('Status').selectOption('PENDING');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator(`tr[data-request-id="${ids.l}"]`).waitFor();
    await page.getByRole('checkbox', { name: 'Select 11.00 USD by Mia Maker' }).check();
    await page.getByRole('checkbox', { name: 'Select 12.00 USD by Mia Maker' }).check();
    await page.getByRole('checkbox', { name: 'Select 13.00 USD by Lee Lead' }).check();
    await page.getByRole('button', { name: 'Approve selected' }).click();
    const results = page.getByRole('list', { name: 'Results' });
    await results.waitFor();
    await expectText(results.locator(`[data-result-id="${ids.j}"]`), 'done');
    await expectText(results.locator(`[data-result-id="${ids.k}"]`), 'done');
    await expectText(results.locator(`[data-result-id="${ids.l}"]`), 'SELF_REVIEW_FORBIDDEN');
    await shot(page, 'bulk');
    expect([await statusOf(ids.j), await statusOf(ids.k), await statusOf(ids.l)]).toEqual([
      'APPROVED',
      'APPROVED',
      'PENDING',
    ]);
  });

  test('files a request with a file, showing the upload progress, and opens it', async () => {
    const page = main.page;
    await page.getByRole('button', { name: 'New request' }).click();
    await page.getByLabel(/^Amount/).fill('77.70');
    await page.getByLabel('Observations').fill('Wire of 5 December');
    await page.getByLabel('Evidence file').setInputFiles({
      name: 'wire.png',
      mimeType: 'image/png',
      buffer: png(),
    });
    await shot(page, 'create');
    await page.getByRole('button', { name: 'Create request' }).click();
    await page.getByRole('heading', { name: 'Request 77.70 USD · PENDING' }).waitFor();
    const [row] = await world.sql<{ observations: string; evidence_file_name: string }>(
      `select observations, evidence_file_name from process_request where client_id = ? and requested_amount = 77.70`,
      [partner.id],
    );
    expect(row).toEqual({ observations: 'Wire of 5 December', evidence_file_name: 'wire.png' });
  });

  test('every screen passes axe-core with no serious or critical violation, and works from the keyboard', async () => {
    const page = main.page;
    const screens: Record<string, string[]> = {};
    screens.request = await axeViolations(page);
    await page.getByRole('button', { name: 'Policy' }).click();
    await page.getByRole('heading', { name: /Approval policy/ }).waitFor();
    await shot(page, 'policy');
    screens.policy = await axeViolations(page);
    await page.getByRole('button', { name: 'Inbox' }).click();
    await page.getByRole('heading', { name: 'Pending my decision' }).waitFor();
    screens.inbox = await axeViolations(page);
    await page.getByRole('button', { name: 'All requests' }).click();
    await page.locator('tbody tr').first().waitFor();
    screens.all = await axeViolations(page);
    expect(screens).toEqual({ request: [], policy: [], inbox: [], all: [] });

    // Keyboard only: Tab to a request's Open button and press Enter.
    await page.getByRole('button', { name: 'Pending my decision' }).focus();
    let focused = '';
    for (let n = 0; n < 40 && !focused.startsWith('Open '); n++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>(`document.activeElement?.textContent ?? ''`);
    }
    expect(focused).toMatch(/^Open /);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Back to the inbox' }).waitFor();
  });

  test('"Sign out" forgets the session; a reload stays signed out', async () => {
    await main.page.getByRole('button', { name: 'Sign out' }).click();
    await main.page.getByLabel('Operator token').waitFor();
    expect(await axeViolations(main.page)).toEqual([]);
    await main.page.reload();
    await main.page.getByLabel('Operator token').waitFor();
  });

  test('the inbox of a checker with 1,000 pending requests renders its first page (figure printed)', async () => {
    const busy = await world.partner('Busy Partner', 'USD');
    const filer = await world.operator(['MAKER'], [busy.id]);
    const checker = await world.operator(['CHECKER'], [busy.id]);
    const template = await world.createInProcess(busy.id, filer, '10.00');
    // 999 more rows like the first, a second apart, copied in one statement.
    const columns = (
      await world.sql<{ column_name: string }>(
        `select column_name from information_schema.columns
          where table_name = 'process_request' and table_schema = current_schema() and column_name not in ('id', 'created_at')`,
      )
    ).map((c) => `"${c.column_name}"`);
    await world.sql(
      `insert into process_request (id, created_at, ${columns.join(', ')})
       select gen_random_uuid(), now() - make_interval(secs => n), ${columns.join(', ')}
         from process_request, generate_series(1, 999) as n where id = ?`,
      [template],
    );
    expect(await world.requestCount(busy.id)).toBe(1000);
    // The reference, in the same run: a checker whose partner has one pending request.
    const quiet = await world.partner('Quiet Partner', 'USD');
    const quietChecker = await world.operator(['CHECKER'], [quiet.id]);
    await world.createInProcess(quiet.id, await world.operator(['MAKER'], [quiet.id]), '10.00');

    const firstRender = async (subject: string, rows: number) => {
      const w = await watchedPage(browser);
      watched.push(w);
      const start = Date.now();
      await signInAs(w, subject);
      await w.page.locator('tbody tr[data-request-id]').first().waitFor();
      const ms = Date.now() - start;
      expect(await w.page.locator('tbody tr[data-request-id]').count()).toBe(rows);
      return { w, ms };
    };
    const reference = await firstRender(quietChecker.subject, 1);
    await reference.w.context.close();
    const busyInbox = await firstRender(checker.subject, 100);
    await expectText(busyInbox.w.page.locator('caption'), '1000 requests, page 1 of 10');
    process.stdout.write(
      `console inbox first render (goto to first row): 1,000 pending ${busyInbox.ms} ms; 1 pending (reference) ${reference.ms} ms\n`,
    );
    await busyInbox.w.context.close();
  });

  test('no page logged an error and nothing was requested outside loopback', () => {
    expect(watched.flatMap((w) => w.errors)).toEqual([]);
    expect(watched.flatMap((w) => w.outside)).toEqual([]);
  });
});

/** Waits (up to 30 s: the machine may be busy) for the locator's first match to show the text. */
async function expectText(locator: Locator, text: string | RegExp): Promise<void> {
  try {
    await locator.filter({ hasText: text }).first().waitFor({ timeout: 30_000 });
  } catch {
    const seen = await locator
      .page()
      .locator('body')
      .innerText()
      .catch(() => '');
    throw new Error(`expected ${String(text)} in ${String(locator)}; the page showed:\n${seen}`);
  }
}
