// GET /openapi.json (always, no credentials) and, with API_DOCS, GET /docs: the document rendered by
// Swagger UI, whose scripts and styles come from the installed swagger-ui-dist package, nothing from elsewhere.
import Router from '@koa/router';
import { DomainError } from '../domain/errors';
import { sendJson } from '../http/json';
import { openApiDocument } from './openapi/document';
import { DOCS_PATH, DOCUMENT_PATH } from './docs.paths';
import {
  assetSender,
  CSS,
  JS,
  packageFile,
  sendPage,
  withoutSourceMap,
  type Asset,
} from '../http/static-assets';

// Started by the page once the bundle defined SwaggerUIBundle. No validator badge (it would call an outside
// service); "Try it out" calls this service, with the two tokens typed into "Authorize" (not persisted).
const START_SCRIPT = `'use strict';
window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(DOCUMENT_PATH)},
  dom_id: '#docs',
  validatorUrl: null,
  deepLinking: true,
  persistAuthorization: false,
  displayRequestDuration: true
});
`;

const DOCS_ASSETS: Record<string, Asset> = {
  'swagger-ui.css': { type: CSS, load: packageFile('swagger-ui-dist', 'swagger-ui.css', withoutSourceMap) },
  'swagger-ui-bundle.js': {
    type: JS,
    load: packageFile('swagger-ui-dist', 'swagger-ui-bundle.js', withoutSourceMap),
  },
  'start.js': { type: JS, load: () => Buffer.from(START_SCRIPT) },
};

const asset = (name: string) => `${DOCS_PATH}/${name}`;

const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>REST API · Process requests</title>
    <link rel="stylesheet" href="${asset('swagger-ui.css')}" />
  </head>
  <body>
    <div id="docs">Loading the API document from <a href="${DOCUMENT_PATH}">${DOCUMENT_PATH}</a>…</div>
    <script src="${asset('swagger-ui-bundle.js')}"></script>
    <script src="${asset('start.js')}"></script>
  </body>
</html>
`;

export function docsRouter(options: { page: boolean }): Router {
  const router = new Router();
  const document = openApiDocument({ docsPage: options.page });
  router.get(DOCUMENT_PATH, (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    sendJson(ctx, 200, document);
  });
  if (!options.page) return router;
  const sendAsset = assetSender(DOCS_ASSETS);
  router.get(DOCS_PATH, (ctx) => sendPage(ctx, DOCS_PAGE));
  router.get(`${DOCS_PATH}/:asset`, (ctx) => {
    if (!sendAsset(ctx, ctx.params.asset)) throw new DomainError('NOT_FOUND', 'No such file');
  });
  return router;
}
