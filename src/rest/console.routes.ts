// The checker console (SPEC section 17): its page and built assets (dist/console, made by `vite build`)
// under a strict Content-Security-Policy, and POST /console/session, which trades an operator's user
// token for the console's short-lived application token.
import Router from '@koa/router';
import type { Context } from 'koa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { authenticateUser } from '../auth/authenticate';
import type { TokenVerifier } from '../auth/token-verifier';
import { DomainError } from '../domain/errors';
import { sendJson } from '../http/json';
import { assetSender, CSS, JS, type Asset } from '../http/static-assets';
import type { Services } from '../services';

export const CONSOLE_PATH = '/console';

/** The project root: the nearest folder above this file with a package.json (from src/ and dist/src/ alike). */
function projectRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** Where `vite build` puts the console (console/vite.config.mts says the same). */
export const consoleBuildDir = () => path.join(projectRoot(), 'dist', 'console');

const TYPES: Record<string, string> = {
  '.js': JS,
  '.css': CSS,
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The built assets by file name: a fixed list read from the build folder, never a path from the request. */
function builtAssets(dir: string): Record<string, Asset> {
  const assets: Record<string, Asset> = {};
  const folder = path.join(dir, 'assets');
  if (!existsSync(folder)) return assets;
  for (const name of readdirSync(folder)) {
    const type = TYPES[path.extname(name)];
    if (type) assets[name] = { type, load: () => readFileSync(path.join(folder, name)) };
  }
  return assets;
}

/**
 * Self only, except: the blob storage origin where the evidence preview needs it (an image, an embedded
 * PDF), and the identity provider's origin for the sign-in code exchange when OpenID Connect is set.
 */
export function consoleCsp(blobOrigin: string, oidcIssuer?: string): string {
  const connect = ["'self'", ...(oidcIssuer ? [new URL(oidcIssuer).origin] : [])].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: ${blobOrigin}`,
    `object-src ${blobOrigin}`,
    `frame-src ${blobOrigin}`,
    `connect-src ${connect}`,
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The page's settings, in a meta tag (no inline script runs under the CSP). */
function withSettings(html: string, settings: Record<string, unknown>): string {
  const json = JSON.stringify(settings).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return html.replace('</head>', `  <meta name="console-settings" content="${json}" />\n  </head>`);
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Console not built</title></head>
<body><main><h1>The console is not built</h1><p>Run <code>npm run build</code> (or <code>npm start</code>) and reload.</p></main></body></html>`;

export function consoleRouter(services: Services, verifier: TokenVerifier): Router {
  const router = new Router();
  const { config } = services;
  const dir = consoleBuildDir();
  const blobOrigin = new URL(services.store.url('x')).origin;
  const csp = consoleCsp(blobOrigin, config.console.oidcIssuer);
  const settings = { oidcIssuer: config.console.oidcIssuer, oidcClientId: config.console.oidcClientId };
  const sendAsset = assetSender(builtAssets(dir));
  let page: string | undefined;

  router.get(CONSOLE_PATH, (ctx: Context) => {
    const index = path.join(dir, 'index.html');
    // Read once built; until then a page that says how to build it.
    if (page === undefined && existsSync(index)) page = withSettings(readFileSync(index, 'utf8'), settings);
    ctx.set('Content-Security-Policy', csp);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'text/html; charset=utf-8';
    ctx.status = page === undefined ? 503 : 200;
    ctx.body = page ?? NOT_BUILT;
  });
  router.get(`${CONSOLE_PATH}/assets/:asset`, (ctx: Context) => {
    if (!sendAsset(ctx, ctx.params.asset)) throw new DomainError('NOT_FOUND', 'No such file');
  });
  router.post(`${CONSOLE_PATH}/session`, async (ctx: Context) => {
    // The refusals of every route (SPEC section 20): each 401 names the user token and the reason.
    const { operator, exp } = await authenticateUser(
      verifier,
      services.orm.em.fork(),
      ctx.headers['x-user-token'],
    );
    const session = await services.consoleSessions.open(operator, exp);
    ctx.set('Cache-Control', 'no-store');
    sendJson(ctx, 201, session);
  });
  return router;
}
