// What a first development start prints: the demo world (created or reused) and the shell `export` lines
// the examples of docs/walkthrough.md run with. The walkthrough test evaluates these same lines.
import type { AddressInfo } from 'node:net';
import type { App } from './app';
import { mintToken } from './auth/dev-tokens';
import { DEMO_PARTNER_ID, ensureDemoWorld } from './services/identity/demo.service';

const DEMO_TOKEN_TTL_SECONDS = 24 * 3600;
/** A day, or less when MAX_TOKEN_LIFETIME_SECONDS allows less (a longer-lived token would be refused). */
const demoTtl = (app: { config: { maxTokenLifetimeSeconds: number } }) =>
  Math.min(DEMO_TOKEN_TTL_SECONDS, app.config.maxTokenLifetimeSeconds);

/** `http://host:port` of a listening address; an IPv6 address goes in brackets. */
export function originOf(address: Pick<AddressInfo, 'address' | 'port'>): string {
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * Creates the demo world when missing and returns the text to print: where the service is (and its API
 * docs page, when API_DOCS is on), and one
 * `  export NAME=value` line per variable (the service's origin, GraphQL URL, REST base, demo partner,
 * metrics URL when the listener is on, an application token and a token per demo operator).
 */
export async function demoBanner(app: App, origin: string): Promise<string> {
  const world = await ensureDemoWorld(app.orm.em.fork());
  const metrics = app.metricsAddress();
  const base = `${origin}/cms/rest/app/partners/${DEMO_PARTNER_ID}`;
  const exports: Array<[string, string]> = [
    ['API', origin],
    ['GQL', `${origin}/graphql`],
    ['BASE', base],
    ['PARTNER', DEMO_PARTNER_ID],
  ];
  if (metrics) exports.push(['METRICS', `${originOf(metrics)}/metrics`]);
  exports.push(['APP_TOKEN', await mintToken(app.config, 'app', 'demo-app', demoTtl(app))]);
  // The console reads the token from the fragment, which the browser never sends to the server.
  const consoleLinks: string[] = [];
  for (const [key, operator] of Object.entries(world.operators)) {
    const token = await mintToken(app.config, 'user', operator.subject, demoTtl(app));
    exports.push([`${key.toUpperCase()}_TOKEN`, token]);
    consoleLinks.push(`  ${key.padEnd(8)} ${origin}/console#userToken=${token}`);
  }
  const lines = [
    '',
    `  Process requests service is up (${world.created ? 'demo data created' : 'demo data reused'}).`,
    `  GraphQL:   ${origin}/graphql`,
    `  REST base: ${base}`,
    ...(app.config.apiDocs ? [`  API docs:  ${origin}/docs`] : []),
    ...(app.config.console.enabled
      ? ['', '  Checker console, signed in as each demo operator (links valid 24 h):', ...consoleLinks]
      : []),
    '',
    '  Paste these lines into your shell (tokens valid 24 h):',
    ...exports.map(([name, value]) => `  export ${name}=${value}`),
    '',
    '  Try: curl -H "Authorization: Bearer $APP_TOKEN" -H "x-user-token: Bearer $VIEWER_TOKEN" $BASE/balance',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
