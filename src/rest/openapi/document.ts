// The OpenAPI 3.1 document of the REST facade: built once per process from the schemas and paths beside
// it, served at GET /openapi.json, rendered at GET /docs, and used by the tests to check every answer.
import { ERRORS } from '../../domain/errors';
import { documentationPaths } from '../docs.paths';
import { healthPaths } from '../health.paths';
import { processRequestPaths } from '../process-request.paths';
import { progressPaths } from '../progress.paths';
import { statementPaths } from '../statement.paths';
import { WEBHOOK_SCHEMAS, webhookPaths } from '../webhook.paths';
import { id } from '../../shapes/inputs';
import { fromInput, restErrorCodesByStatus, viewSchemas } from './schemas';

export interface DocumentOptions {
  /** Whether GET /docs (API_DOCS) is served, and so documented. */
  docsPage: boolean;
}

const DESCRIPTION = `Partner balance top-ups: an operator files a process request (an amount and its evidence file), a
different operator approves or rejects it, and approval credits the partner's balance exactly once.

Every call under the partner base carries **two credentials**: \`Authorization: Bearer <app token>\` (the
calling application, scheme \`appToken\`) and \`x-user-token: Bearer <user token>\` (the operator acting
through it, scheme \`userToken\`). Money is a JSON number written from its exact decimal; times are ISO 8601 UTC.

Errors have one shape (\`Error\`): \`statusCode\`, \`code\` (the catalogue below, one per status), \`message\`,
\`requestId\` (also the \`X-Request-Id\` header), with \`details\` for validation errors and \`retryAfter\` (and
a \`Retry-After\` header) when waiting helps. A method a path does not accept is 405 \`METHOD_NOT_ALLOWED\` with an
\`Allow\` header; \`OPTIONS\` on a known path is 204 with \`Allow\`; \`HEAD\` is answered wherever \`GET\` is;
an unknown path is 404 \`NOT_FOUND\`. Requests Node's HTTP parser refuses before any route (malformed, headers
over 16 KiB, too slow) get the same shape without \`requestId\` (400 \`MALFORMED_REQUEST\`, 431
\`HEADERS_TOO_LARGE\`, 408 \`REQUEST_TIMEOUT\`). Browser apps on origins listed in \`CORS_ORIGINS\` may call the
partner routes.`;

function errorResponses(): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, codes] of restErrorCodesByStatus()) {
    responses[`Error${status}`] = {
      description: codes.map((code) => `\`${code}\`: ${ERRORS[code].message}`).join('; '),
      headers:
        status === 429 || status === 503
          ? { 'Retry-After': { $ref: '#/components/headers/Retry-After' } }
          : undefined,
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Error' },
              { properties: { statusCode: { const: status }, code: { enum: codes } } },
            ],
          },
        },
      },
    };
    if (status !== 429 && status !== 503)
      delete (responses[`Error${status}`] as Record<string, unknown>).headers;
  }
  return responses;
}

export function buildOpenApiDocument(options: DocumentOptions): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Process requests service — REST facade', version: '1.0.0', description: DESCRIPTION },
    servers: [{ url: '/', description: 'This service' }],
    security: [{ appToken: [], userToken: [] }],
    tags: [
      { name: 'Process requests' },
      { name: 'Decisions' },
      { name: 'Balance' },
      { name: 'Approval policy' },
      { name: 'Statements and exports' },
      { name: 'Progress' },
      { name: 'Webhooks' },
      { name: 'Health' },
      { name: 'Documentation' },
    ],
    // Each routes file's path items, declared beside it (src/rest/*.paths.ts).
    paths: {
      ...processRequestPaths(),
      ...statementPaths(),
      ...progressPaths(),
      ...webhookPaths(),
      ...healthPaths(),
      ...documentationPaths(options.docsPage),
    },
    components: {
      securitySchemes: {
        // Both as apiKey headers, so a docs page asks for both values the same way: `Bearer ` typed, then the JWT.
        appToken: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'The calling application: `Authorization: Bearer <app token>` (a JWT). Type the value whole, `Bearer ` included.',
        },
        userToken: {
          type: 'apiKey',
          in: 'header',
          name: 'x-user-token',
          description:
            'The operator acting through the application: `x-user-token: Bearer <user token>` (a JWT). Type the value whole, `Bearer ` included.',
        },
        streamTicket: {
          type: 'apiKey',
          in: 'query',
          name: 'ticket',
          description:
            'Only GET …/process-request/progress: a one-use ticket from POST …/process-request/progress/ticket, for EventSource',
        },
      },
      parameters: {
        partnerId: {
          name: 'partnerId',
          in: 'path',
          required: true,
          description: "The partner (`clientId` in bodies); another partner than the operator's is 403",
          schema: fromInput(id),
        },
        id: {
          name: 'id',
          in: 'path',
          required: true,
          description: "A process request of that partner (another partner's is 404)",
          schema: fromInput(id),
        },
      },
      headers: {
        'Retry-After': { description: 'Seconds until trying again can succeed', schema: { type: 'integer' } },
      },
      schemas: { ...viewSchemas(), ...WEBHOOK_SCHEMAS },
      responses: errorResponses(),
    },
  };
}

const built = new Map<boolean, Record<string, unknown>>();

/** The document for a configuration, built once per process. */
export function openApiDocument(options: DocumentOptions): Record<string, unknown> {
  let document = built.get(options.docsPage);
  if (!document) built.set(options.docsPage, (document = buildOpenApiDocument(options)));
  return document;
}
