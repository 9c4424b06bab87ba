// A real browser for the console tests: Debian's chromium driven by playwright-core (never a downloaded
// browser), every request outside loopback recorded and refused, console errors collected, axe-core.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** The chromium binary Debian's package installs, or undefined when it is not installed. */
export function chromiumPath(): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
    return found && existsSync(found) ? found : undefined;
  } catch {
    return undefined;
  }
}

/** The flags of shared/STACK.md: headless, as root, and no calls to outside hosts of its own. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export function launch(executablePath: string): Promise<Browser> {
  // playwright-core gives the browser a fresh --user-data-dir of its own.
  return chromium.launch({ executablePath, args: FLAGS, headless: true });
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|\[::1\]|localhost)$/;

export interface Watched {
  context: BrowserContext;
  page: Page;
  /** URLs the page tried to reach outside loopback (each was aborted). */
  outside: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
}

/** A fresh context and page: outside requests aborted and recorded, errors collected. */
export async function watchedPage(browser: Browser): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const outside: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOOPBACK.test(url.hostname)) {
      outside.push(url.toString());
      return route.abort('blockedbyclient');
    }
    // A request the page gives up on while it is routed (a navigation cancels it) is already handled when
    // it is continued: nothing is left to do for it.
    return route.continue().catch((error: Error) => {
      if (!/already handled/i.test(error.message)) throw error;
    });
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, outside, errors };
}

const AXE_SOURCE = () =>
  readFileSync(path.join(path.dirname(require.resolve('axe-core/package.json')), 'axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations on the page, as "rule: target" lines. The script is
 * evaluated through the DevTools protocol, which the page's CSP does not govern (it would refuse a tag).
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE());
  const violations = await page.evaluate<Array<{ id: string; impact: string; targets: string[] }>>(
    `axe.run(document).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) })))`,
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.targets.join(', ')}`);
}

/** Builds dist/console when it is missing or older than console/ (the same step `npm start` runs). */
export function buildConsoleIfStale(): void {
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'console-if-stale.mjs')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 180_000,
  });
}
