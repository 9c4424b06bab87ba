// The OpenAPI path items of docs.routes.ts: the document itself and, with API_DOCS, its page.
import { ok, param, type PathItems } from './openapi/operations';

export const DOCS_PATH = '/docs';
export const DOCUMENT_PATH = '/openapi.json';

const documentItem = {
  get: {
    operationId: 'openApiDocument',
    tags: ['Documentation'],
    summary: 'This document',
    security: [],
    responses: { '200': ok('OpenAPI 3.1', { type: 'object' }) },
  },
};

const pageItem = {
  get: {
    operationId: 'docsPage',
    tags: ['Documentation'],
    summary: 'This document as a page (API_DOCS)',
    security: [],
    responses: {
      '200': { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } },
    },
  },
};

const assetItem = {
  get: {
    operationId: 'docsAsset',
    tags: ['Documentation'],
    summary: "A script or style of the docs page, from the service's own files",
    security: [],
    parameters: [param('asset', 'path', { type: 'string' }, 'A file name the page refers to')],
    responses: {
      '200': {
        description: 'The file',
        content: {
          'text/javascript': { schema: { type: 'string' } },
          'text/css': { schema: { type: 'string' } },
        },
      },
      '404': { $ref: `#/components/responses/Error404` },
    },
  },
};

export function documentationPaths(page: boolean): PathItems {
  return {
    [DOCUMENT_PATH]: documentItem,
    ...(page ? { [DOCS_PATH]: pageItem, [`${DOCS_PATH}/{asset}`]: assetItem } : {}),
  };
}
