// Pages served entirely by the service (the GraphQL explorer, the API docs): files of installed packages
// sent from node_modules under a fixed list of names, and one Content-Security-Policy that keeps the
// browser from loading or connecting anywhere else.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Context } from 'koa';

export interface Asset {
  type: string;
  load(): Buffer;
}

export const JS = 'text/javascript; charset=utf-8';
export const CSS = 'text/css; charset=utf-8';

/** A file of an installed package (resolved through its package.json, which every package exports). */
export function packageFile(pkg: string, file: string, edit?: (text: string) => string): () => Buffer {
  return () => {
    const bytes = readFileSync(path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file));
    return edit ? Buffer.from(edit(bytes.toString('utf8'))) : bytes;
  };
}

/** Drops a bundle's `sourceMappingURL` comment: the map is not served, so nothing asks for it. */
export const withoutSourceMap = (text: string) => text.replace(/\n?\/[*/][#@] sourceMappingURL=[^\n]*$/, '');

/** The browser may load and connect to this service only. */
export const SELF_ONLY_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Sends an HTML page under SELF_ONLY_CSP; never cached, since it may change with the configuration. */
export function sendPage(ctx: Context, html: string): void {
  ctx.set('Content-Security-Policy', SELF_ONLY_CSP);
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = html;
}

/**
 * A sender for a fixed set of assets, each read once on first use. Returns false for a name that is
 * not in the set (the caller answers 404): a name is a key, never a path.
 */
export function assetSender(assets: Record<string, Asset>): (ctx: Context, name: string) => boolean {
  const cache = new Map<string, Buffer>();
  return (ctx, name) => {
    const file = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (!file) return false;
    let body = cache.get(name);
    if (!body) cache.set(name, (body = file.load()));
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = file.type;
    ctx.body = body;
    return true;
  };
}
