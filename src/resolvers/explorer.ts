// The GraphQL explorer (SPEC section 15): GraphiQL served entirely by the service. GET /graphql asking for
// HTML gets a page whose scripts and styles come from node_modules through /graphql/explorer/…; a
// Content-Security-Policy keeps the browser from loading anything from elsewhere.
import type { Context, Next } from 'koa';
import { assetSender, CSS, JS, packageFile, sendPage, type Asset } from '../http/static-assets';
import { GRAPHQL_PATH } from '../http/paths';

export const EXPLORER_ASSETS_PATH = `${GRAPHQL_PATH}/explorer`;

// Run in the page once the UMD bundles have defined React, ReactDOM and GraphiQL. Credentials are typed
// into the headers tab; they are not persisted (shouldPersistHeaders: false).
const START_SCRIPT = `'use strict';
(function () {
  var headers = JSON.stringify(
    { Authorization: 'Bearer <app token>', 'x-user-token': 'Bearer <operator token>' },
    null,
    2
  );
  var fetcher = GraphiQL.createFetcher({ url: ${JSON.stringify(GRAPHQL_PATH)} });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: headers,
      shouldPersistHeaders: false,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: 'headers',
      defaultQuery: '# Both tokens go in the Headers tab below.\\n{\\n  me {\\n    id\\n    email\\n    roles\\n  }\\n}\\n'
    })
  );
})();
`;

const ASSETS: Record<string, Asset> = {
  'react.production.min.js': {
    type: JS,
    load: packageFile('react', 'umd/react.production.min.js'),
  },
  'react-dom.production.min.js': {
    type: JS,
    load: packageFile('react-dom', 'umd/react-dom.production.min.js'),
  },
  'graphiql.min.js': {
    type: JS,
    load: packageFile('graphiql', 'graphiql.min.js'),
  },
  'graphiql.min.css': { type: CSS, load: packageFile('graphiql', 'graphiql.min.css') },
  'start.js': { type: JS, load: () => Buffer.from(START_SCRIPT) },
};

const asset = (name: string) => `${EXPLORER_ASSETS_PATH}/${name}`;

const EXPLORER_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>GraphQL explorer · Process requests</title>
    <link rel="stylesheet" href="${asset('graphiql.min.css')}" />
    <style>
      html, body, #graphiql { height: 100%; margin: 0; }
    </style>
  </head>
  <body>
    <div id="graphiql">Loading the explorer…</div>
    <script src="${asset('react.production.min.js')}"></script>
    <script src="${asset('react-dom.production.min.js')}"></script>
    <script src="${asset('graphiql.min.js')}"></script>
    <script src="${asset('start.js')}"></script>
  </body>
</html>
`;

function prefersHtml(ctx: Context): boolean {
  return ctx.accepts('application/json', 'application/graphql-response+json', 'text/html') === 'text/html';
}

/** Serves the page on GET /graphql (when HTML is preferred) and its assets; does nothing when disabled. */
export function explorerMiddleware(enabled: boolean) {
  const sendAsset = assetSender(ASSETS);
  return async (ctx: Context, next: Next) => {
    if (!enabled || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    if (ctx.path === GRAPHQL_PATH && prefersHtml(ctx)) return sendPage(ctx, EXPLORER_PAGE);
    if (!ctx.path.startsWith(`${EXPLORER_ASSETS_PATH}/`)) return next();
    if (!sendAsset(ctx, ctx.path.slice(EXPLORER_ASSETS_PATH.length + 1))) return next();
  };
}
